"""Cross-validated ridge by one eigendecomposition per fold, reused for every alpha.

For a training fold with centred features ``Xtr`` (n_train × p) and targets ``Ytr``, the ridge
prediction on the test fold for regularisation ``a`` is

    Ŷte(a) = Xte (XtrᵀXtr + a·I)⁻¹ Xtrᵀ Ytr = A · diag(1 / (λ + a)) · B,

with ``XtrᵀXtr = V diag(λ) Vᵀ``, ``A = Xte V`` and ``B = Vᵀ Xtrᵀ Ytr`` (the *primal* form, used
when p ≤ n_samples). When features outnumber samples the same identity holds for the linear
kernel ``Xtr Xtrᵀ = U diag(λ) Uᵀ`` with ``A = Xte Xtrᵀ U`` and ``B = Uᵀ Ytr`` (the *dual* form).
The decomposition and ``A`` are computed once per fold; every alpha then costs one product
``A @ (B / (λ + a))`` of size n_test × r × n_targets, the least the job allows. Features and
decompositions stay on the device; targets go through in batches that fit a memory budget.

Conventions follow himalaya's ``RidgeCV`` so that results agree with it: features and targets
centred on each training fold (intercept), the mean over folds of the negative mean squared
error (``l2_neg_loss``) as CV score, ties broken towards larger alphas, refit on all samples.

Everything is written with himalaya's backend functions, so the same code runs on numpy, torch
and torch_cuda (the caller sets himalaya's backend, see :meth:`brainalign.backend.Backend.himalaya`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..utils import logger, progress

__all__ = ["SCORINGS", "himalaya_targets_batch", "per_target_bytes", "solve_ridge_cv_eigh"]

SCORINGS = ("neg_mse", "r2", "correlation")


@dataclass
class _Operator:
    """What one fold (or the refit) needs: eigenvalues, test map ``A`` and target map ``P``."""

    eig: Any  # (r,)
    A: Any  # (n_test, r) for a fold; (p, r) weights map W for the refit
    P: Any  # (r, n_train)
    nbytes: int


def _hb() -> Any:
    from himalaya.backend import get_backend

    return get_backend()


def _columns(backend: Any, Y: Any, batch: slice, dtype: str) -> Any:
    """A contiguous *copy* of a batch of target columns on the backend's device, in ``dtype``.

    Always a copy: the batch is centred in place, and the caller's array must stay untouched.
    """
    if isinstance(Y, np.ndarray):
        return backend.asarray(np.array(Y[:, batch], dtype=dtype, order="C", copy=True))
    return backend.copy(backend.asarray(Y[:, batch], dtype=dtype))


def _scale(backend: Any, Xtr: Any, fit_intercept: bool, standardize: bool) -> tuple[Any, Any]:
    """Mean (or zeros) and standard deviation (or ones) of the training features, in float64 then cast."""
    mean = backend.mean_float64(Xtr, 0) if fit_intercept else None
    std = None
    if standardize:
        std = backend.std_float64(Xtr, 0)
        std[std == 0] = 1
    return mean, std


def _apply(X: Any, mean: Any, std: Any) -> Any:
    if mean is not None:
        X = X - mean
    if std is not None:
        X = X / std
    return X


def _eigh(backend: Any, G: Any, eigh_dtype: str | None) -> tuple[Any, Any]:
    """Eigendecomposition of a Gram matrix, in ``eigh_dtype``, returned in ``G``'s dtype."""
    if eigh_dtype is None:
        return backend.eigh(G)
    eig, V = backend.eigh(backend.asarray(G, dtype=eigh_dtype))
    return backend.asarray(eig, dtype=G.dtype), backend.asarray(V, dtype=G.dtype)


def _decompose(backend: Any, Xtr: Any, Xte: Any | None, primal: bool, eigh_dtype: str | None) -> _Operator:
    """Eigendecomposition of the fold's Gram matrix (primal) or kernel (dual)."""
    XtrT = backend.transpose(Xtr)
    if primal:
        eig, V = _eigh(backend, backend.matmul(XtrT, Xtr), eigh_dtype)
        P = backend.matmul(backend.transpose(V), XtrT)  # (p, n_train)
        A = backend.matmul(Xte, V) if Xte is not None else V  # (n_test, p), or W = V for the refit
    else:
        eig, U = _eigh(backend, backend.matmul(Xtr, XtrT), eigh_dtype)
        P = backend.transpose(U)  # (n_train, n_train)
        A = backend.matmul(backend.matmul(Xte, XtrT), U) if Xte is not None else backend.matmul(XtrT, U)
    eig = backend.clip(eig, 0, None)  # round-off can make the smallest ones slightly negative
    itemsize = np.dtype(str(Xtr.dtype).replace("torch.", "")).itemsize
    nbytes = itemsize * (int(np.prod(A.shape)) + int(np.prod(P.shape)) + int(eig.shape[0]))
    return _Operator(eig, A, P, nbytes)


def _test_stats(Yte: Any, scoring: str) -> Any:
    """What the score of a test fold needs from its targets alone, computed once for all alphas:
    the total sum of squares (``"r2"``), or the centred targets and their sum of squares
    (``"correlation"``)."""
    if scoring == "r2":
        return ((Yte - Yte.mean(0)) ** 2).sum(0)
    if scoring == "correlation":
        yc = Yte - Yte.mean(0)
        return yc, (yc**2).sum(0)
    return None


def _score(backend: Any, Yte: Any, pred: Any, scoring: str, stats: Any) -> Any:
    """Score per target of one prediction (n_test, n_targets); ``pred`` may be overwritten.

    ``stats`` is :func:`_test_stats` of ``Yte``.
    """
    if scoring == "neg_mse":
        pred -= Yte
        return -backend.einsum("ij,ij->j", pred, pred) / Yte.shape[0]
    if scoring == "r2":
        sst = stats
        sse = ((Yte - pred) ** 2).sum(0)
        r2 = 1 - sse / sst
        r2[sst == 0] = 0
        return r2
    yc, yss = stats
    pc = pred - pred.mean(0)
    denom = backend.sqrt(yss * (pc**2).sum(0))
    r = (yc * pc).sum(0) / denom
    r[denom == 0] = 0
    return r


def per_target_bytes(n_samples: int, n_features: int, rank: int, folds: list, n_alphas: int, itemsize: int) -> int:
    """Device bytes one target costs during the fit (targets, projections, predictions, scores)."""
    n_test = max(len(test) for _, test in folds)
    n_train = max(len(train) for train, _ in folds)
    # The batch (centred in place), one fold's train and test rows, the projected targets, one
    # alpha's prediction and error, and the refit coefficients; scores are kept per fold.
    per_item = n_samples + n_train + 4 * n_test + 3 * rank + 2 * n_features
    return itemsize * per_item + 8 * n_alphas * (len(folds) + 2)


def himalaya_targets_batch(
    n_samples: int, n_features: int, folds: list, n_alphas: int, itemsize: int, budget: int
) -> int:
    """Targets per batch for himalaya's solvers, which hold every alpha's predictions of a batch at once."""
    n_test = max(len(test) for _, test in folds)
    rank = min(n_samples, n_features)
    per_target = per_target_bytes(n_samples, n_features, rank, folds, n_alphas, itemsize) + itemsize * n_alphas * n_test
    return max(1, int(budget // per_target))


def solve_ridge_cv_eigh(
    X: Any,
    Y: Any,
    alphas: np.ndarray,
    folds: list[tuple[np.ndarray, np.ndarray]],
    *,
    fit_intercept: bool = True,
    standardize: bool = False,
    scoring: str = "neg_mse",
    primal: bool | None = None,
    memory_budget: int,
    n_targets_batch: int | None = None,
    eigh_dtype: str | None = "float64",
) -> dict[str, Any]:
    """Ridge with a per-target alpha chosen by cross-validation (see the module docstring).

    Parameters
    ----------
    X : backend array (n_samples, n_features)
        Features, already on the device, float32 or float64.
    Y : numpy or backend array (n_samples, n_targets)
        Targets; batches of columns are moved to the device and cast to ``X``'s dtype.
    alphas : numpy array (n_alphas,)
        Positive regularisation strengths.
    folds : list of (train, test) index arrays
        Inner cross-validation folds.
    fit_intercept, standardize : bool
        Centre (and scale) features and targets with statistics of each training fold.
    scoring : {"neg_mse", "r2", "correlation"}
        The CV score per fold (averaged over folds; the best alpha maximises it).
    primal : bool, optional
        Decompose XᵀX (True) or the kernel XXᵀ (False); default: primal when p ≤ n_samples.
    memory_budget : int
        Bytes the fit may use on the device; sets the target batch size.
    n_targets_batch : int, optional
        Force the batch size.
    eigh_dtype : {"float64", "float32"} or None
        Precision of the eigendecompositions (the Gram matrices are formed, and the large
        products done, in ``X``'s dtype). float64 keeps float32 fits as accurate as himalaya's
        float32 SVD (XᵀX squares the condition number); None uses ``X``'s dtype.

    Returns
    -------
    dict
        ``best_alphas`` (n_targets,), ``cv_scores`` (n_alphas, n_targets), ``coef``
        (n_features, n_targets), ``intercept`` (n_targets,) (numpy arrays on the host),
        ``primal`` and ``n_targets_batch``.
    """
    backend = _hb()
    n_samples, n_features = X.shape
    n_targets = Y.shape[1]
    if primal is None:
        primal = n_features <= n_samples
    dtype = str(X.dtype).replace("torch.", "")
    itemsize = np.dtype(dtype).itemsize
    alphas_b = backend.asarray(np.asarray(alphas, dtype=dtype))

    # One decomposition per fold, and one for the refit on all samples.
    fold_index = [(backend.asarray(train), backend.asarray(test)) for train, test in folds]
    ops = []
    for tr, te in fold_index:
        Xtr = X[tr]
        mean, std = _scale(backend, Xtr, fit_intercept, standardize)
        ops.append(_decompose(backend, _apply(Xtr, mean, std), _apply(X[te], mean, std), primal, eigh_dtype))
        del Xtr
    x_mean, x_std = _scale(backend, X, fit_intercept, standardize)
    refit = _decompose(backend, _apply(X, x_mean, x_std), None, primal, eigh_dtype)
    fixed = sum(op.nbytes for op in ops) + refit.nbytes

    rank = int(refit.eig.shape[0])
    per_target = per_target_bytes(n_samples, n_features, rank, folds, len(alphas), itemsize)
    if n_targets_batch is None:
        room = memory_budget - fixed
        if room < per_target:
            logger.warning(
                "ridge: the memory budget (%.2f GiB) hardly covers the decompositions (%.2f GiB); "
                "processing targets 1024 at a time. Raise memory_budget if this runs out of memory.",
                memory_budget / 2**30,
                fixed / 2**30,
            )
            n_targets_batch = 1024
        else:
            n_targets_batch = int(room // per_target)
    n_targets_batch = max(1, min(int(n_targets_batch), n_targets))

    best_alphas = np.empty(n_targets, dtype=dtype)
    cv_scores = np.empty((len(alphas), n_targets), dtype=np.float64)
    coef = np.empty((n_features, n_targets), dtype=dtype)
    intercept = np.zeros(n_targets, dtype=dtype)
    log_alphas = backend.log(alphas_b) * 1e-10  # himalaya's tie-break towards larger alphas
    starts = range(0, n_targets, n_targets_batch)
    for start in progress(starts, desc="ridge: targets", total=len(starts), disable=None if len(starts) > 1 else True):
        batch = slice(start, min(start + n_targets_batch, n_targets))
        Yb = _columns(backend, Y, batch, dtype)
        scores = backend.zeros_like(Yb, shape=(len(folds), len(alphas), Yb.shape[1]))
        for f, ((tr, te), op) in enumerate(zip(fold_index, ops, strict=True)):
            Ytr, Yte = Yb[tr], Yb[te]  # copies (advanced indexing)
            if fit_intercept:
                y_mean = backend.mean_float64(Ytr, 0)
                Ytr -= y_mean
                Yte -= y_mean
            B = backend.matmul(op.P, Ytr)
            del Ytr
            stats = _test_stats(Yte, scoring)
            for a in range(len(alphas)):
                pred = backend.matmul(op.A, B / (op.eig[:, None] + alphas_b[a]))
                scores[f, a] = _score(backend, Yte, pred, scoring, stats)
                del pred
            del B, Yte, stats
        mean_scores = backend.mean_float64(scores, 0)
        del scores
        best = backend.argmax(mean_scores + log_alphas[:, None], 0)
        chosen = alphas_b[best]
        cv_scores[:, batch] = backend.to_numpy(mean_scores).astype(np.float64)
        best_alphas[batch] = backend.to_numpy(chosen)

        # Refit on all samples with each target's alpha.
        if fit_intercept:
            y_mean = backend.mean_float64(Yb, 0)
            Yb -= y_mean
        w = backend.matmul(refit.A, backend.matmul(refit.P, Yb) / (refit.eig[:, None] + chosen[None, :]))
        del Yb
        if x_std is not None:
            w = w / x_std[:, None]
        coef[:, batch] = backend.to_numpy(w)
        if fit_intercept:
            intercept[batch] = backend.to_numpy(y_mean - backend.matmul(x_mean[None, :], w)[0])
        del w
    return {
        "best_alphas": best_alphas,
        "cv_scores": cv_scores,
        "coef": coef,
        "intercept": intercept,
        "primal": primal,
        "n_targets_batch": n_targets_batch,
    }
