"""Representational similarity analysis: RDMs, their comparison and their noise ceiling.

RDMs are labelled arrays with the stimulus ids on both axes (dims ``stimulus_id`` and
``stimulus_id_2``), stacked along a group dim (``layer`` or ``region``) when several are
computed at once. Comparisons align the two RDMs on ``stimulus_id`` (any order) and refuse
different stimulus sets.

Every kernel runs on numpy or torch (CPU or CUDA) through :func:`brainalign.backend.get_backend`;
``backend=None`` follows the input (a torch tensor stays in torch, on its device).

References
----------
Kriegeskorte, N., Mur, M. & Bandettini, P. (2008). Representational similarity analysis —
connecting the branches of systems neuroscience. Front. Syst. Neurosci. 2, 4.
Walther, A. et al. (2016). Reliability of dissimilarity measures for multi-voxel pattern
analysis. NeuroImage 137, 188–200.
Nili, H. et al. (2014). A toolbox for representational similarity analysis. PLoS Comput. Biol.
10, e1003553.
Diedrichsen, J. et al. (2021). Comparing representational geometries using whitened
unbiased-distance-matrix similarity. Neurons, Behavior, Data analysis and Theory 5(3).
"""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd
import xarray as xr

from ..backend import Backend, to_numpy
from ..methods import MethodInfo
from ..utils import check_option
from ._base import (
    SimilarityMethod,
    _auto_by,
    as_patterns,
    columns,
    device_of,
    feature_groups,
    float_dtype,
    resolve_backend,
    squared_distances,
    to_backend,
    unit_rows,
)

__all__ = ["COMPARE_METHODS", "NOISE_METHODS", "RDM_METRICS", "RSA", "NoiseCeiling", "compare", "noise_ceiling", "rdm"]

RDM_METRICS = ("correlation", "cosine", "euclidean", "sqeuclidean", "crossnobis")
COMPARE_METHODS = ("spearman", "pearson", "kendall_tau_a", "cosine", "whitened_pearson")
NOISE_METHODS = ("shrinkage_diag", "shrinkage_eye", "diag", "full")


# ------------------------------------------------------------------------------------ kernels
def _rdm_kernel(be: Backend, X: Any, metric: str, out: np.ndarray | None = None) -> Any:
    """(n, p) patterns → (n, n) dissimilarities (backend array, X's float precision).

    On numpy, ``out`` (a float array of the right shape and precision) receives the result
    without an intermediate copy.
    """
    xp = be.xp
    if metric == "correlation":
        X = X - xp.mean(X, axis=1, keepdims=True)
    if metric in ("correlation", "cosine"):
        what = "constant (zero variance)" if metric == "correlation" else "all zeros"
        zero = f"Pattern {{row}} is {what}, so its {metric} distance is undefined; drop it or use metric='euclidean'."
        X = unit_rows(be, X, zero)
        D = _gram(be, X, out)
        D *= -1.0
        D += 1.0
    else:
        D = squared_distances(be, X, out=out)
        if metric == "euclidean":
            D = xp.sqrt(D)
            if out is not None and not be.is_torch:
                out[...] = D
                D = out
    if be.is_torch:
        # numpy computes X @ X.T as a symmetric rank-k update (exactly symmetric); torch may not.
        D = (D + xp.matrix_transpose(D)) / 2.0
    return _zero_diagonal(be, D)


def _gram(be: Backend, X: Any, out: np.ndarray | None) -> Any:
    """``X @ Xᵀ``, written into ``out`` on numpy when it is given."""
    if out is not None and not be.is_torch:
        return np.matmul(X, X.T, out=out)
    return X @ be.xp.matrix_transpose(X)


def _zero_diagonal(be: Backend, D: Any) -> Any:
    """``D`` with a zero diagonal (last two axes), in place."""
    diagonal = be.asarray(np.arange(D.shape[-1]))
    D[..., diagonal, diagonal] = 0.0
    return D


def _upper_flat_index(n: int) -> np.ndarray:
    iu0, iu1 = np.triu_indices(n, k=1)
    return iu0 * n + iu1


def _upper(be: Backend, D: Any) -> Any:
    """Condensed upper triangles (diagonal excluded) of a stack of square matrices ``(..., n, n)``."""
    xp = be.xp
    n = D.shape[-1]
    flat = xp.reshape(D, (*D.shape[:-2], n * n))
    return xp.take(flat, be.asarray(_upper_flat_index(n)), axis=-1)


def _square(be: Backend, v: Any, n: int) -> Any:
    """Condensed vectors ``(k, m)`` → symmetric matrices ``(k, n, n)`` with a zero diagonal."""
    xp = be.xp
    iu0, iu1 = np.triu_indices(n, k=1)
    M = xp.zeros((v.shape[0], n * n), dtype=v.dtype, device=device_of(v))
    M[:, be.asarray(iu0 * n + iu1)] = v
    M[:, be.asarray(iu1 * n + iu0)] = v
    return xp.reshape(M, (v.shape[0], n, n))


def _n_from_length(m: int) -> int:
    n = round(float((1 + np.sqrt(1 + 8 * m)) / 2))
    if n * (n - 1) // 2 != m:
        raise ValueError(f"{m} is not the length of a condensed RDM (n·(n−1)/2).")
    return n


def rankdata(be: Backend, V: Any) -> Any:
    """Average ranks (ties get the mean of their ranks, from 1) along the last axis of ``(k, m)``.

    One array-API code path for numpy and torch; equals :func:`scipy.stats.rankdata`.
    """
    xp = be.xp
    k, m = V.shape
    order = xp.argsort(V, axis=-1, stable=True)
    sv = xp.take_along_axis(V, order, axis=-1)
    change = sv[:, 1:] != sv[:, :-1]
    true = xp.ones((k, 1), dtype=xp.bool, device=device_of(V))
    starts = xp.concat([true, change], axis=-1)  # first element of each run of ties
    ends = xp.concat([change, true], axis=-1)  # last element of each run of ties
    col = xp.broadcast_to(xp.arange(m, dtype=xp.int64, device=device_of(V))[None, :], (k, m))
    group = xp.cumulative_sum(xp.astype(starts, xp.int64), axis=-1)  # 1-based run index in its row
    n_runs = group[:, -1]
    offset = xp.cumulative_sum(n_runs) - n_runs  # runs in the rows before
    run = xp.reshape(group - 1 + offset[:, None], (-1,))
    first, last = xp.take(col[starts], run), xp.take(col[ends], run)
    ranks_sorted = xp.reshape(xp.astype(first + last, V.dtype) / 2.0 + 1.0, (k, m))
    return xp.take_along_axis(ranks_sorted, xp.argsort(order, axis=-1), axis=-1)


def _unit_rows(be: Backend, V: Any, what: str, center: bool = True) -> Any:
    if center:
        V = V - be.xp.mean(V, axis=-1, keepdims=True)
    return unit_rows(
        be, V, f"{what}: an RDM whose dissimilarities are all equal (or all zero) has no defined correlation or cosine."
    )


def _double_centered(be: Backend, v: Any, n: int) -> Any:
    """Whitening of Diedrichsen et al. (2021) under i.i.d. noise: the centred RDM as a
    double-centred second-moment matrix, flattened ``(k, n·n)``."""
    xp = be.xp
    v = v - xp.mean(v, axis=-1, keepdims=True)
    G = -0.5 * _square(be, v, n)
    G = G - xp.mean(G, axis=-1, keepdims=True)
    G = G - xp.mean(G, axis=-2, keepdims=True)
    return xp.reshape(G, (G.shape[0], n * n))


def _represent_condensed(be: Backend, v: Any, method: str, what: str = "rdm") -> Any:
    """Condensed RDMs ``(k, m)`` → what ``method`` compares (rows whose dot products are the scores)."""
    if method == "pearson":
        return _unit_rows(be, v, what)
    if method == "spearman":
        return _unit_rows(be, rankdata(be, v), what)
    if method == "cosine":
        return _unit_rows(be, v, what, center=False)
    if method == "whitened_pearson":
        return _unit_rows(be, _double_centered(be, v, _n_from_length(v.shape[-1])), what, center=False)
    _unit_rows(be, v, what)  # kendall_tau_a: refuse constant RDMs too
    return v


def _tied_pairs(x: np.ndarray) -> float:
    """Number of pairs of equal values in ``x`` (the same for any reordering of ``x``)."""
    _, counts = np.unique(x, return_counts=True)
    return float(np.sum(counts * (counts - 1) / 2))


def _tau_a(a: np.ndarray, b: np.ndarray, tx: float | None = None, ty: float | None = None) -> float:
    """Kendall's τa: (concordant − discordant) / all pairs, ties counting for neither.

    Through scipy's O(m log m) τb: τb = (C − D) / sqrt((P − Tx)(P − Ty)), so C − D follows.
    ``tx``, ``ty``: the tied pairs of ``a`` and ``b`` when already known (:func:`_tied_pairs`).
    """
    from scipy.stats import kendalltau

    m = a.size
    total = m * (m - 1) / 2
    tx = _tied_pairs(a) if tx is None else tx
    ty = _tied_pairs(b) if ty is None else ty
    if tx == total or ty == total:
        return 0.0
    tau_b = kendalltau(a, b).statistic
    return float(tau_b * np.sqrt((total - tx) * (total - ty)) / total)


def _compare_represented(be: Backend, A: Any, B: Any, method: str) -> np.ndarray:
    """Represented RDMs ``(k, ·)`` and ``(l, ·)`` → ``(k, l)`` scores (numpy)."""
    if method == "kendall_tau_a":
        a, b = be.to_numpy(A).astype(np.float64), be.to_numpy(B).astype(np.float64)
        ties_a, ties_b = [_tied_pairs(x) for x in a], [_tied_pairs(y) for y in b]
        return np.array(
            [[_tau_a(x, y, tx, ty) for y, ty in zip(b, ties_b, strict=True)] for x, tx in zip(a, ties_a, strict=True)]
        )
    xp = be.xp
    return np.asarray(be.to_numpy(A @ xp.matrix_transpose(B)), dtype=np.float64)


def _compare_paired(be: Backend, A: Any, B: Any, method: str) -> np.ndarray:
    """Represented RDMs ``(k, ·)`` and ``(k, ·)`` → the ``k`` scores of row ``i`` with row ``i`` (numpy)."""
    if method == "kendall_tau_a":
        a, b = be.to_numpy(A).astype(np.float64), be.to_numpy(B).astype(np.float64)
        return np.array([_tau_a(x, y) for x, y in zip(a, b, strict=True)])
    return np.asarray(be.to_numpy(be.xp.sum(A * B, axis=-1)), dtype=np.float64)


# -------------------------------------------------------------------------------- crossnobis
def _shrinkage_covariance(R: np.ndarray, dof: int, method: str) -> np.ndarray:
    """Noise covariance from residuals ``R`` (n_obs, p) that are already centred.

    ``"shrinkage_diag"``: towards the diagonal (Schäfer & Strimmer 2005); ``"shrinkage_eye"``:
    towards a multiple of the identity (Ledoit & Wolf 2004); ``"diag"``; ``"full"``. The same
    estimators (and degrees-of-freedom convention) as rsatoolbox's ``cov_from_residuals``.
    """
    n = R.shape[0]
    S = R.T @ R
    if method == "full":
        return S / dof
    if method == "diag":
        return np.diag(np.diag(S) / dof)
    if method == "shrinkage_eye":
        s = S / n
        b2 = np.sum(((R * R).T @ (R * R)) / n - s * s) / n
        m = np.trace(s) / s.shape[0]
        d2 = np.sum((s - m * np.eye(s.shape[0])) ** 2)
        b2 = min(d2, b2)
        return (b2 / d2 * m * np.eye(s.shape[0]) + (d2 - b2) / d2 * s) * n / dof
    # shrinkage_diag
    s = S / dof
    var = np.diag(s)
    if np.any(var <= 0):
        raise ValueError("A feature has zero noise variance; drop constant features before crossnobis.")
    std = np.sqrt(var)
    s_mean = S / std[None, :] / std[:, None] / (n - 1)
    s2_mean = ((R * R).T @ (R * R)) / var[None, :] / var[:, None] / (n - 1)
    var_hat = n / dof**2 * (s2_mean - s_mean**2)
    off = ~np.eye(s.shape[0], dtype=bool)
    lamb = float(np.clip(np.sum(var_hat[off]) / np.sum(s_mean[off] ** 2), 0.0, 1.0))
    return s * (np.eye(s.shape[0]) + (1.0 - lamb) * off)


def _crossnobis(be: Backend, trials: np.ndarray, fold: np.ndarray, stim: np.ndarray, n_stim: int, noise: Any) -> Any:
    """Leave-one-fold-out crossvalidated squared Mahalanobis distances, per feature.

    ``trials`` (n_obs, p) with their fold and stimulus codes. For each fold, the training
    patterns (mean of the other folds' trials) are contrasted with the test fold's mean patterns;
    the RDMs are averaged over folds and divided by the number of features (rsatoolbox's
    convention).
    """
    xp = be.xp
    folds = np.unique(fold)
    n_obs, p = trials.shape
    sums = np.zeros((len(folds), n_stim, p))
    counts = np.zeros((len(folds), n_stim))
    fcode = np.searchsorted(folds, fold)
    np.add.at(sums, (fcode, stim), trials)
    np.add.at(counts, (fcode, stim), 1.0)
    if np.any(counts == 0):
        f, s = np.argwhere(counts == 0)[0]
        raise ValueError(
            f"crossnobis needs every stimulus in every fold; stimulus #{s} has no trial in fold {folds[f]!r}. "
            "Drop incomplete folds or stimuli."
        )
    total, total_n = sums.sum(axis=0), counts.sum(axis=0)
    test = sums / counts[..., None]
    train = (total[None] - sums) / (total_n[None] - counts)[..., None]
    if isinstance(noise, str):
        means = total / total_n[:, None]
        resid = trials - means[stim]
        cov = _shrinkage_covariance(resid, n_obs - n_stim, noise)
    else:
        cov = noise
    dtype = float_dtype(trials)
    train_b, test_b = be.asarray(train, dtype=dtype), be.asarray(test, dtype=dtype)
    if cov is not None:
        prec = be.asarray(np.linalg.inv(cov), dtype=dtype)
        train_b = train_b @ prec
    K = train_b @ xp.matrix_transpose(test_b)  # (folds, n, n)
    diag = xp.linalg.diagonal(K)
    D = diag[:, :, None] + diag[:, None, :] - K - xp.matrix_transpose(K)
    return xp.mean(D, axis=0) / p


# --------------------------------------------------------------------------------- public API
def _crossnobis_inputs(X: Any, cv: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Any]:
    """(trials, fold codes, stimulus codes, stimulus ids, labelled source or None) for crossnobis."""
    if not isinstance(X, xr.DataArray):
        arr = to_numpy(X)
        if arr.ndim != 3:
            raise ValueError(
                "metric='crossnobis' on a plain array needs shape (n_folds, n_stimuli, n_features) (one pattern per "
                f"fold and stimulus), got shape {arr.shape}. A labelled recording with repeated stimulus_ids and a "
                "'run' coordinate works too."
            )
        k, n, p = arr.shape
        return (arr.reshape(k * n, p), np.repeat(np.arange(k), n), np.tile(np.arange(n), k), np.arange(n), None)
    if "repetition" in X.dims:
        if cv not in ("auto", "repetition"):
            raise ValueError(f"X has a 'repetition' dim, so the folds are its repetitions; got cv={cv!r}.")
        feature_dim = "unit" if "unit" in X.dims else "neuroid"
        R = X.transpose("repetition", "presentation", feature_dim)
        k, n, p = R.shape
        ids = np.asarray(X["stimulus_id"].values)
        if pd.Index(ids).has_duplicates:
            raise ValueError("X has both a 'repetition' dim and repeated stimulus_ids; use one or the other.")
        return (R.values.reshape(k * n, p), np.repeat(np.arange(k), n), np.tile(np.arange(n), k), ids, X)
    feature_dim = "unit" if "unit" in X.dims else "neuroid"
    if cv == "auto":
        cv = next((c for c in ("run", "repetition") if c in X.coords and X[c].dims == ("presentation",)), None)
        if cv is None:
            raise ValueError(
                "metric='crossnobis' needs trials in folds: a 'repetition' dim, or repeated stimulus_ids with a "
                "'run' (or 'repetition') coordinate on presentation. Keep the trials apart "
                "(data.align(..., repetitions='keep')) and name the fold coordinate with cv=..."
            )
    if cv not in X.coords or X[cv].dims != ("presentation",):
        raise ValueError(f"cv={cv!r} must name a coordinate along 'presentation'; X has {list(X.coords)}.")
    ids_all = np.asarray(X["stimulus_id"].values)
    codes, ids = pd.factorize(ids_all)
    folds = pd.factorize(np.asarray(X[cv].values))[0]
    if len(np.unique(folds)) < 2:
        raise ValueError(f"crossnobis needs at least 2 folds; the coordinate {cv!r} has one value.")
    return X.transpose("presentation", feature_dim).values, folds, codes, np.asarray(ids), X


def rdm(
    X: xr.DataArray | np.ndarray | Any,
    metric: Literal["correlation", "cosine", "euclidean", "sqeuclidean", "crossnobis"] = "correlation",
    *,
    by: str | None = "auto",
    noise: str | np.ndarray | None = "shrinkage_diag",
    cv: str = "auto",
    backend: str | Backend | None = None,
) -> xr.DataArray:
    """Representational dissimilarity matrices of one or many representations.

    Parameters
    ----------
    X : xarray.DataArray or array
        Activations ``(presentation, unit)``, a condition-based recording
        ``(presentation, neuroid)``, or a plain ``(n_stimuli, n_features)`` numpy/torch array.
        For ``"crossnobis"``: a recording whose trials fall in folds — a ``repetition`` dim
        (each repetition a fold), or repeated ``stimulus_id``s with a ``run`` (or
        ``repetition``) coordinate on ``presentation`` — or a plain array
        ``(n_folds, n_stimuli, n_features)``.
    metric : {"correlation", "cosine", "euclidean", "sqeuclidean", "crossnobis"}
        Dissimilarity between two stimulus patterns: 1 − Pearson r, 1 − cosine, Euclidean
        distance, squared Euclidean distance, or the crossvalidated squared Mahalanobis
        distance (Walther et al. 2016): leave one fold out, contrast the mean pattern of the
        other folds with the left-out fold's (whitened by the noise precision), average over
        folds and divide by the number of features (rsatoolbox's convention). It is unbiased:
        pure noise gives distances around 0, some negative.
    by : str or None
        Coordinate along units/neuroids to group by, one RDM per group (``"layer"``,
        ``"region"``). ``"auto"``: ``"layer"`` for activations, ``"region"`` for recordings,
        none for plain arrays.
    noise : {"shrinkage_diag", "shrinkage_eye", "diag", "full"}, array or None
        Crossnobis only: the noise covariance. A name estimates it from the trials' residuals
        around their stimulus means (dof = n_trials − n_stimuli), shrunk towards its diagonal
        (Schäfer & Strimmer 2005) or a multiple of the identity (Ledoit & Wolf 2004); an array
        is the ``(n_features, n_features)`` covariance itself; ``None`` uses the identity
        (crossvalidated squared Euclidean distance).
    cv : str
        Crossnobis only: the presentation coordinate that defines the folds (``"auto"``: the
        ``repetition`` dim, else ``run``, else a ``repetition`` coordinate).
    backend : {"numpy", "torch", "torch_cuda", "auto"}, optional
        Where to compute; ``None`` follows ``X`` (numpy unless it is a torch tensor).
        Float32 input is computed in float32, anything else in float64.

    Returns
    -------
    xarray.DataArray
        Dims ``(stimulus_id, stimulus_id_2)``, with a leading group dim named after ``by``
        when grouping.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import rsa
    >>> D = rsa.rdm(np.random.default_rng(0).normal(size=(5, 20)))
    >>> D.dims, float(D[0, 0])
    (('stimulus_id', 'stimulus_id_2'), 0.0)
    """
    check_option("metric", metric, RDM_METRICS)
    if metric == "crossnobis":
        return _rdm_crossnobis(X, by, noise, cv, backend)
    p = as_patterns(X, "X", by)
    ids = p.ids if p.ids is not None else np.arange(p.n_stimuli)
    be = resolve_backend(backend, p.values)
    arr = to_backend(be, p.values)
    out = np.empty((len(p.index), arr.shape[0], arr.shape[0]), dtype=float_dtype(arr))
    for k, idx in enumerate(p.index):
        D = _rdm_kernel(be, columns(be, arr, idx), metric, out=out[k])
        if be.is_torch:
            out[k] = be.to_numpy(D)
    return _labelled_rdms(out, ids, p.group_dim, p.names, {"metric": metric})


def _labelled_rdms(mats: np.ndarray, ids: np.ndarray, group_dim: str | None, names: list, attrs: dict) -> xr.DataArray:
    coords: dict[str, Any] = {"stimulus_id": ids, "stimulus_id_2": ids}
    if group_dim is None:
        return xr.DataArray(mats[0], dims=("stimulus_id", "stimulus_id_2"), coords=coords, attrs=attrs)
    coords[group_dim] = np.asarray(names)
    return xr.DataArray(mats, dims=(group_dim, "stimulus_id", "stimulus_id_2"), coords=coords, attrs=attrs)


def _rdm_crossnobis(X: Any, by: str | None, noise: Any, cv: str, backend: Any) -> xr.DataArray:
    be = resolve_backend(backend, X)
    trials, fold, stim, ids, source = _crossnobis_inputs(X, cv)
    if len(ids) < 3:
        raise ValueError(f"X has {len(ids)} stimuli; an RDM needs at least 3.")
    if not np.all(np.isfinite(trials)):
        raise ValueError("X contains NaN or infinite values.")
    if len(np.unique(fold)) < 2:
        raise ValueError("crossnobis needs at least 2 folds (runs or repetitions).")
    if isinstance(noise, str):
        check_option("noise", noise, NOISE_METHODS)
    elif noise is not None:
        noise = np.asarray(noise, dtype=np.float64)
    if source is not None:
        feature_dim = "unit" if "unit" in source.dims else "neuroid"
        if by == "auto":
            by = _auto_by(source, feature_dim)
        group_dim, names, index = feature_groups(source, feature_dim, by)
    else:
        if by not in ("auto", None):
            raise ValueError(f"by={by!r} needs a labelled X (an xarray.DataArray with a {by!r} coordinate).")
        group_dim, names, index = None, [None], [np.arange(trials.shape[1])]
    if isinstance(noise, np.ndarray) and len(index) > 1:
        raise ValueError("noise as an array applies to one group of features; pass by=None or a noise method name.")
    mats = []
    for idx in index:
        cov = noise
        if isinstance(noise, np.ndarray) and noise.shape != (len(idx), len(idx)):
            raise ValueError(f"noise must be a ({len(idx)}, {len(idx)}) covariance matrix, got shape {noise.shape}.")
        mats.append(be.to_numpy(_crossnobis(be, trials[:, idx], fold, stim, len(ids), cov)))
    attrs = {
        "metric": "crossnobis",
        "noise": noise if isinstance(noise, str) else ("identity" if noise is None else "given"),
    }
    return _labelled_rdms(np.stack(mats), ids, group_dim, names, attrs)


def _as_rdm(D: Any, name: str) -> xr.DataArray:
    if isinstance(D, xr.DataArray):
        if D.dims[-2:] != ("stimulus_id", "stimulus_id_2"):
            raise ValueError(f"{name} must end with dims ('stimulus_id', 'stimulus_id_2'), got {D.dims}.")
        return D
    arr = to_numpy(D).astype(float, copy=False)
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"{name} must be a square matrix (or a stack of them), got shape {arr.shape}.")
    ids = np.arange(arr.shape[-1])
    dims = (*(f"{name}_group_{i}" for i in range(arr.ndim - 2)), "stimulus_id", "stimulus_id_2")
    return xr.DataArray(arr, dims=dims, coords={"stimulus_id": ids, "stimulus_id_2": ids})


def _aligned_rdms(rdm_a: Any, rdm_b: Any) -> tuple[xr.DataArray, xr.DataArray]:
    """Both RDMs labelled, ``rdm_b`` in ``rdm_a``'s stimulus order; checked."""
    A, B = _as_rdm(rdm_a, "rdm_a"), _as_rdm(rdm_b, "rdm_b")
    ids_a, ids_b = pd.Index(A["stimulus_id"].values), pd.Index(B["stimulus_id"].values)
    for label, R, ids in (("rdm_a", A, ids_a), ("rdm_b", B, ids_b)):
        if not ids.equals(pd.Index(R["stimulus_id_2"].values)):
            raise ValueError(f"{label} must have the same stimulus ids, in the same order, on both axes.")
    if len(ids_a) != len(ids_b) or not ids_a.sort_values().equals(ids_b.sort_values()):
        raise ValueError(
            f"rdm_a and rdm_b have different stimuli ({len(ids_a)} vs {len(ids_b)}; e.g. "
            f"{list(ids_a.difference(ids_b)[:3]) or list(ids_b.difference(ids_a)[:3])} not in both). "
            "Compute both RDMs on the same stimuli."
        )
    if not ids_a.equals(ids_b):
        B = B.sel(stimulus_id=ids_a.values, stimulus_id_2=ids_a.values)
    if len(ids_a) < 3:
        raise ValueError("RDMs need at least 3 stimuli to be compared.")
    for label, R in (("rdm_a", A), ("rdm_b", B)):
        _check_finite_rdm(R.values, label)
    return A, B


def _check_finite_rdm(values: Any, label: str, be: Backend | None = None) -> None:
    """Refuse NaN/inf dissimilarities (``values`` on the backend ``be`` when given, else numpy)."""
    finite = np.all(np.isfinite(values)) if be is None else bool(be.to_numpy(be.xp.all(be.xp.isfinite(values))))
    if not finite:
        raise ValueError(
            f"{label} contains NaN or infinite dissimilarities (infinite geodesic distances mean the "
            "thresholded graph is disconnected: raise trsa's upper threshold)."
        )


def compare(
    rdm_a: xr.DataArray | np.ndarray | Any,
    rdm_b: xr.DataArray | np.ndarray | Any,
    method: Literal["spearman", "pearson", "kendall_tau_a", "cosine", "whitened_pearson"] = "spearman",
    *,
    backend: str | Backend | None = None,
) -> xr.DataArray | float:
    """Compare RDMs: every RDM of ``rdm_a`` with every RDM of ``rdm_b``.

    The upper triangles (diagonal excluded) are compared. ``rdm_b`` is reordered to ``rdm_a``'s
    stimulus ids; different stimulus sets are an error.

    Parameters
    ----------
    rdm_a, rdm_b : xarray.DataArray or array
        From :func:`rdm` (optionally stacked along a group dim) or square matrices.
    method : {"spearman", "pearson", "kendall_tau_a", "cosine", "whitened_pearson"}
        Rank correlation (ties averaged); linear correlation; Kendall's τa (concordant minus
        discordant pairs over all pairs, ties counting for neither, as advised by Nili et al.
        2014 for models that predict tied dissimilarities; computed on the CPU in
        O(m log m)); cosine similarity (no centring); Pearson correlation after whitening the
        RDMs under i.i.d. pattern noise (Diedrichsen et al. 2021; rsatoolbox's ``corr_cov``):
        the correlation of the double-centred second-moment matrices of the centred RDMs.
    backend : str, optional
        Where to compute; ``None`` follows the inputs.

    Returns
    -------
    float or xarray.DataArray
        A float for two single RDMs; otherwise an array over the group dims of ``rdm_a``
        then ``rdm_b`` (e.g. ``layer × region``).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import rsa
    >>> X = np.random.default_rng(0).normal(size=(6, 10))
    >>> round(rsa.compare(rsa.rdm(X), rsa.rdm(2 * X)), 6)
    1.0
    """
    check_option("method", method, COMPARE_METHODS)
    be = resolve_backend(backend, rdm_a, rdm_b)
    A, B = _aligned_rdms(rdm_a, rdm_b)
    ga = A.dims[:-2]
    # Group dims of rdm_b that clash with rdm_a's (e.g. layer × layer) get a "_2" suffix.
    B = B.rename({d: f"{d}_2" for d in B.dims[:-2] if d in ga})
    gb = B.dims[:-2]
    n = A.sizes["stimulus_id"]
    va = _upper(be, be.asarray(A.values.reshape(-1, n, n), dtype="float64"))
    vb = _upper(be, be.asarray(B.values.reshape(-1, n, n), dtype="float64"))
    scores = _compare_represented(
        be, _represent_condensed(be, va, method, "rdm_a"), _represent_condensed(be, vb, method, "rdm_b"), method
    )
    if not ga and not gb:
        return float(scores[0, 0])
    shape = tuple(A.sizes[d] for d in ga) + tuple(B.sizes[d] for d in gb)
    coords = {d: A[d].values for d in ga if d in A.coords} | {d: B[d].values for d in gb if d in B.coords}
    return xr.DataArray(scores.reshape(shape), dims=ga + gb, coords=coords, attrs={"method": method})


class NoiseCeiling(NamedTuple):
    """Lower and upper bounds of the noise ceiling of an RDM comparison."""

    lower: float
    upper: float


def _pool(be: Backend, V: Any, method: str) -> Any:
    """Each subject's condensed RDM transformed so that their mean is the best-fitting RDM
    for ``method`` (rsatoolbox's ``pool_rdm``): z-scores, ranks or unit-RMS vectors."""
    xp = be.xp
    if method in ("spearman", "kendall_tau_a"):
        return rankdata(be, V)
    if method == "cosine":
        return V / xp.sqrt(xp.mean(V * V, axis=-1, keepdims=True))
    V = V - xp.mean(V, axis=-1, keepdims=True)
    return V / xp.std(V, axis=-1, keepdims=True)


def noise_ceiling(
    rdms: xr.DataArray | np.ndarray,
    method: Literal["spearman", "pearson", "kendall_tau_a", "cosine", "whitened_pearson"] = "spearman",
    *,
    dim: str | None = None,
    backend: str | Backend | None = None,
) -> NoiseCeiling:
    """Noise ceiling of RDM comparisons across subjects (Nili et al. 2014).

    Each subject's RDM is compared with the best-fitting RDM of the others (leave-one-out: the
    **lower bound**) and with that of all subjects including itself (the **upper bound**); both
    are averaged over subjects. The true model's expected score lies between them. The best
    fitting RDM is the mean of the subjects' RDMs after the transform that ``method`` is
    invariant to (ranks for Spearman and τa, z-scores for Pearson, unit root-mean-square for
    cosine), as in rsatoolbox's ``boot_noise_ceiling``.

    Parameters
    ----------
    rdms : xarray.DataArray or array
        One RDM per subject: ``(subject, stimulus_id, stimulus_id_2)`` or an array
        ``(n_subjects, n_stimuli, n_stimuli)``.
    method : str
        The comparison (see :func:`compare`).
    dim : str, optional
        The subject dim (default: the one dim besides the stimulus dims).

    Returns
    -------
    NoiseCeiling
        ``(lower, upper)``.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import rsa
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(10, 30))
    >>> subjects = np.stack([rsa.rdm(X + rng.normal(size=X.shape)).values for _ in range(4)])
    >>> nc = rsa.noise_ceiling(subjects, "pearson")
    >>> bool(0 < nc.lower < nc.upper < 1)
    True
    """
    check_option("method", method, COMPARE_METHODS)
    be = resolve_backend(backend, rdms)
    R = _as_rdm(rdms, "rdms")
    groups = R.dims[:-2]
    if dim is None:
        if len(groups) != 1:
            raise ValueError(f"rdms must have one subject dim besides the stimulus dims, got dims {R.dims}; pass dim=.")
        dim = groups[0]
    if dim not in groups or len(groups) != 1:
        raise ValueError(f"dim={dim!r} must be the one dim of rdms besides the stimulus dims {R.dims[-2:]}.")
    n_sub = R.sizes[dim]
    if n_sub < 2:
        raise ValueError(f"A noise ceiling needs at least 2 subjects along {dim!r}, got {n_sub}.")
    if R.sizes["stimulus_id"] < 3:
        raise ValueError("RDMs need at least 3 stimuli.")
    _check_finite_rdm(R.values, "rdms")
    V = _upper(be, be.asarray(R.transpose(dim, ...).values, dtype="float64"))
    P = _pool(be, V, method)
    total = be.xp.sum(P, axis=0, keepdims=True)
    loo = (total - P) / (n_sub - 1)
    rep_subjects = _represent_condensed(be, V, method, "rdms")
    # Lower: subject s against the mean of the others (row s with row s); upper: every subject
    # against the mean of all.
    lower = _compare_paired(be, _represent_condensed(be, loo, method), rep_subjects, method)
    upper = _compare_represented(be, _represent_condensed(be, total / n_sub, method), rep_subjects, method)
    return NoiseCeiling(float(np.mean(lower)), float(np.mean(upper)))


class RSA(SimilarityMethod):
    """RSA as an alignment method: RDM of each representation, then their comparison.

    Parameters
    ----------
    metric : str
        RDM dissimilarity (see :func:`rdm`; ``"crossnobis"`` needs trials, which the map
        averages, so it is not available here).
    compare : str
        RDM comparison (see :func:`compare`).
    backend : str, optional
        Where to compute; ``None`` follows the input arrays.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(8, 5))
    >>> round(RSA()(X, X @ np.diag([1, 2, 3, 4, 5.0])), 3) < 1
    True
    """

    _param_names = ("metric", "compare")

    def __brainalign_info__(self) -> MethodInfo:
        """Scores are correlations of RDMs: split-half ceilings are Spearman–Brown corrected."""
        return MethodInfo(
            family="similarity",
            kernels="rdm",
            ceiling="split_half_spearman_brown",
            accepts_rdms=True,
            score=f"{self.compare} correlation of the {self.metric} RDMs",
        )

    @property
    def comparison(self) -> str:
        """The RDM comparison (a name in :mod:`brainalign.metrics.rsa`'s comparison table)."""
        return self.compare

    def __init__(self, metric: str = "correlation", compare: str = "spearman", backend: str | None = None) -> None:
        self.metric = metric
        self.compare = compare
        self.backend = backend

    def _check(self) -> None:
        check_option("metric", self.metric, RDM_METRICS)
        check_option("compare", self.compare, COMPARE_METHODS)
        if self.metric == "crossnobis":
            raise ValueError(
                "RSA(metric='crossnobis') needs trial-resolved data; compute crossvalidated RDMs with "
                "rsa.rdm(recording, metric='crossnobis') and compare them with rsa.compare."
            )

    def _rdms(self, be: Backend, arr: Any) -> Any:
        """The square RDM ``(1, n, n)`` of one block, before the comparison's transform (the hook
        that :class:`~brainalign.metrics.trsa.TRSA` extends)."""
        return _rdm_kernel(be, arr, self.metric)[None]

    def _represent(self, be: Backend, arr: Any) -> Any:
        """One ``(n_stimuli, n_features)`` block → its RDM, ready for the comparison."""
        v = _upper(be, self._rdms(be, arr))
        return _represent_condensed(be, v, self.compare, "the RDM")[0]

    def rdm_matrix(self, X: Any) -> np.ndarray:
        """The square RDM of one representation (numpy), before the comparison's transform.

        What :mod:`brainalign.stats` resamples and permutes for the map's statistics.
        """
        self._check()
        be, arr = self._prepare(X)
        return be.to_numpy(self._rdms(be, arr)[0])

    def compare_represented(self, A: Any, B: Any) -> np.ndarray:
        """All pairs of represented RDMs (stacks ``(k, ·)`` and ``(l, ·)``) → ``(k, l)`` scores."""
        be, SA, SB = self._stack_pair(A, B)
        return _compare_represented(be, SA, SB, self.compare)
