"""RidgeEncoder: voxelwise (neuroid-wise) ridge with one cross-validated alpha per target."""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ..backend import get_backend
from ..methods import MethodInfo
from ..utils import check_bool, check_count, check_option, fill_doc, logger
from ._base import (
    DEFAULT_ALPHAS,
    check_alphas,
    check_constant_targets,
    check_features_x,
    check_finite,
    check_fit_inputs,
    is_tensor,
    score_r2,
    to_numpy,
    unwrap,
)
from ._cv import time_folds
from ._solvers import SCORINGS, himalaya_targets_batch, solve_ridge_cv_eigh

__all__ = ["RidgeEncoder"]

_SOLVERS = ("auto", "eigh", "himalaya")


class LinearPredictMixin:
    """predict / score for fitted ``coef_`` (n_features, n_targets) and ``intercept_``."""

    def predict(self, X: Any) -> np.ndarray:
        """Predicted responses ``X @ coef_ + intercept_``.

        Parameters
        ----------
        X : array-like, torch tensor or DataArray (presentation × unit)
            Features, in the same units as during ``fit``.

        Returns
        -------
        numpy.ndarray (n_samples, n_targets), or (n_samples,) when fitted on 1-D targets
        """
        check_is_fitted(self)
        X, _ = unwrap(X, "X", ("unit",))
        X = to_numpy(check_features_x(self, X, reset=False))
        check_finite(X, "X")
        return X @ self.coef_ + self.intercept_

    def score(self, X: Any, y: Any) -> np.ndarray | float:
        """R² of the predictions, one per target (a float for 1-D targets)."""
        return score_r2(self.predict(X), y)

    def __sklearn_tags__(self) -> Any:
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags


@fill_doc
class RidgeEncoder(LinearPredictMixin, MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Ridge regression from features to every target, one regularisation per target.

    Each target (voxel, channel, neuron) gets the alpha of ``alphas`` with the best
    cross-validated score; the model is then refit on all samples. All targets are fitted
    together: one eigendecomposition per fold serves every alpha and every target, and the
    targets go through the device in batches that fit ``memory_budget``.

    The cross-validation respects time: contiguous blocks of samples, or whole runs when
    ``groups`` is given to :meth:`fit`; samples are never shuffled.

    Parameters
    ----------
    alphas : sequence of float
        Regularisation strengths to try (default ``np.logspace(-2, 8, 11)``).
    cv : int, "runs", splitter or list of (train, test)
        Inner cross-validation (see :func:`brainalign.encoders.time_folds`): an int is that many
        contiguous blocks (of whole runs when ``groups`` is given), ``"runs"`` is
        leave-one-run-out.
    fit_intercept : bool
        Centre features and targets (with training-fold means) and fit an intercept.
    standardize : bool
        Also scale each feature to unit variance, with statistics of each training fold only
        (and of all samples for the refit). ``coef_`` is given for the unscaled features.
    scoring : {"neg_mse", "r2", "correlation"}
        The per-fold CV score whose mean over folds picks each target's alpha. ``"neg_mse"``
        (the negative mean squared error) is himalaya's default.
    solver : {"auto", "eigh", "himalaya"}
        ``"eigh"`` (and ``"auto"``): brainalign's solver, one eigendecomposition of XᵀX per fold
        (of the kernel XXᵀ when features outnumber samples) reused for every alpha.
        ``"himalaya"``: himalaya's ``RidgeCV`` (n_samples ≥ n_features) or ``KernelRidgeCV``,
        same results, slower; no ``standardize``.
    %(encoder_backend)s
    memory_budget : float, int or str
        Device memory the fit may use: a fraction of free memory (default 0.6), bytes, or a
        size such as ``"8GB"``. Targets are processed in batches that fit it.
    n_targets_batch : int, optional
        Force the number of targets per batch.
    tf32 : bool
        On CUDA, allow TensorFloat-32 matrix products (faster, ~1e-3 relative error). Off by
        default.
    eigh_dtype : {"float64", "float32"} or None
        Precision of the eigendecompositions (solver ``"eigh"``). Gram matrices and the large
        products stay in the data's dtype; the decompositions default to float64, which keeps
        float32 fits as accurate as himalaya's float32 SVD (XᵀX squares the condition number).
        None: the data's dtype (faster on GPUs with slow float64).

    Attributes
    ----------
    coef_ : ndarray (n_features, n_targets)
    intercept_ : ndarray (n_targets,)
    best_alphas_ : ndarray (n_targets,)
        The alpha chosen for each target.
    cv_scores_ : ndarray (n_alphas, n_targets)
        Mean CV score of every alpha for every target.
    alphas_ : ndarray (n_alphas,)
    solver_ : str
        ``"eigh_primal"``, ``"eigh_dual"``, ``"himalaya_RidgeCV"`` or ``"himalaya_KernelRidgeCV"``.
    backend_ : str
        The backend used, in words.
    n_targets_batch_ : int
    n_features_in_ : int

    See Also
    --------
    BandedRidgeEncoder : one regularisation per feature space.

    References
    ----------
    .. [1] Hoerl, A. E. & Kennard, R. W. (1970). Ridge regression: biased estimation for
       nonorthogonal problems. Technometrics 12(1).
    .. [2] Dupré la Tour, T., Eickenberg, M., Nunez-Elizalde, A. O. & Gallant, J. L. (2022).
       Feature-space selection with banded ridge regression. NeuroImage 264 (himalaya).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.encoders import RidgeEncoder
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 10))
    >>> Y = X @ rng.normal(size=(10, 3)) + rng.normal(size=(200, 3))
    >>> enc = RidgeEncoder(alphas=np.logspace(-2, 4, 7), cv=5, backend="numpy").fit(X[:150], Y[:150])
    >>> enc.coef_.shape, enc.cv_scores_.shape
    ((10, 3), (7, 3))
    >>> bool((enc.score(X[150:], Y[150:]) > 0.5).all())
    True
    """

    def __init__(
        self,
        alphas: Any = DEFAULT_ALPHAS,
        cv: Any = 5,
        *,
        fit_intercept: bool = True,
        standardize: bool = False,
        scoring: str = "neg_mse",
        solver: str = "auto",
        backend: str = "auto",
        memory_budget: float | int | str = 0.6,
        n_targets_batch: int | None = None,
        tf32: bool = False,
        eigh_dtype: str | None = "float64",
    ) -> None:
        self.alphas = alphas
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.standardize = standardize
        self.scoring = scoring
        self.solver = solver
        self.backend = backend
        self.memory_budget = memory_budget
        self.n_targets_batch = n_targets_batch
        self.tf32 = tf32
        self.eigh_dtype = eigh_dtype

    def __brainalign_info__(self) -> MethodInfo:
        return MethodInfo(
            family="encoder",
            kernels="fit",
            ceiling="reliability",
            score="mean held-out Pearson r of the cell's neuroids",
        )

    def fit(self, X: Any, Y: Any, groups: Any = None) -> RidgeEncoder:
        """Pick each target's alpha by cross-validation, then refit on all samples.

        Parameters
        ----------
        X : array-like, torch tensor or DataArray (presentation or time × unit)
            Features.
        Y : array-like, torch tensor or DataArray (presentation or time × neuroid)
            Targets, one column per neuroid (a 1-D array for one target).
        groups : array-like, optional
            The run of each sample: inner folds then keep runs whole. Runs must be contiguous.

        Returns
        -------
        self
        """
        X, Y, ravel = check_fit_inputs(self, X, Y)
        folds = time_folds(X.shape[0], self.cv, groups)
        check_constant_targets(Y)
        alphas = check_alphas(self.alphas)
        fit_intercept = check_bool("fit_intercept", self.fit_intercept)
        standardize = check_bool("standardize", self.standardize)
        tf32 = check_bool("tf32", self.tf32)
        check_option("scoring", self.scoring, SCORINGS)
        solver = check_option("solver", self.solver, _SOLVERS)
        check_option("eigh_dtype", self.eigh_dtype, ("float64", "float32", None))
        n_targets_batch = check_count("n_targets_batch", self.n_targets_batch, optional=True)
        if solver == "himalaya" and standardize:
            raise ValueError(
                "standardize=True scales features within each training fold, which himalaya's solvers "
                "cannot do; use solver='eigh' (or 'auto'), or standardize the features yourself."
            )
        be = get_backend(self.backend)
        budget = be.memory_budget(self.memory_budget)
        primal = X.shape[1] <= X.shape[0]
        if not be.is_torch and is_tensor(Y):
            Y = to_numpy(Y)  # e.g. targets on a GPU, fitted with numpy
        with be.himalaya(), be.tf32(tf32):
            Xb = be.asarray(X)
            if solver == "himalaya":
                res = _solve_himalaya(
                    Xb, Y, alphas, folds, fit_intercept, self.scoring, primal, budget, n_targets_batch
                )
                self.solver_ = "himalaya_RidgeCV" if primal else "himalaya_KernelRidgeCV"
            else:
                res = solve_ridge_cv_eigh(
                    Xb,
                    Y,
                    alphas,
                    folds,
                    fit_intercept=fit_intercept,
                    standardize=standardize,
                    scoring=self.scoring,
                    primal=primal,
                    memory_budget=budget,
                    n_targets_batch=n_targets_batch,
                    eigh_dtype=self.eigh_dtype,
                )
                self.solver_ = "eigh_primal" if primal else "eigh_dual"
        self.alphas_ = alphas
        self.best_alphas_ = res["best_alphas"]
        self.cv_scores_ = res["cv_scores"]
        self.coef_ = res["coef"]
        self.intercept_ = res["intercept"]
        self.n_targets_batch_ = res["n_targets_batch"]
        self.backend_ = be.describe()
        if ravel:
            self.coef_, self.intercept_ = self.coef_[:, 0], self.intercept_[0]
        # One line per fit, i.e. per outer fold of an encode: DEBUG, so that INFO stays one line per run.
        logger.debug(
            "RidgeEncoder: %d samples × %d features → %d targets, %d alphas × %d folds, solver %s on %s, "
            "%d targets per batch",
            X.shape[0],
            X.shape[1],
            Y.shape[1],
            len(alphas),
            len(folds),
            self.solver_,
            self.backend_,
            self.n_targets_batch_,
        )
        return self


class _ScoreRecorder:
    """A himalaya ``score_func`` that also keeps every (fold, alpha, target) score it returns."""

    def __init__(self, func: Any) -> None:
        self.func = func
        self.calls: list[np.ndarray] = []

    def __call__(self, y_true: Any, y_pred: Any) -> Any:
        from himalaya.backend import get_backend as hb

        out = self.func(y_true, y_pred)
        self.calls.append(np.asarray(hb().to_numpy(out), dtype=np.float64))
        return out

    def grid(self, n_folds: int, n_targets: int, batch: int) -> np.ndarray:
        """Mean over folds of the scores, (n_alphas, n_targets): calls come fold by fold, batch by batch."""
        n_batches = -(-n_targets // batch)
        if len(self.calls) != n_folds * n_batches:
            raise RuntimeError(
                f"himalaya called the score function {len(self.calls)} times, expected {n_folds * n_batches}; "
                "this himalaya version is not supported by solver='himalaya', use solver='eigh'."
            )
        per_fold = [np.concatenate(self.calls[f * n_batches : (f + 1) * n_batches], axis=1) for f in range(n_folds)]
        return np.mean(per_fold, axis=0)


def _solve_himalaya(
    X: Any,
    Y: Any,
    alphas: np.ndarray,
    folds: list,
    fit_intercept: bool,
    scoring: str,
    primal: bool,
    budget: int,
    n_targets_batch: int | None,
) -> dict[str, Any]:
    """himalaya's own RidgeCV / KernelRidgeCV on the same folds (the reference implementation)."""
    from himalaya.backend import get_backend as hb
    from himalaya.kernel_ridge import KernelRidgeCV
    from himalaya.ridge import RidgeCV
    from himalaya.scoring import correlation_score, l2_neg_loss, r2_score

    backend = hb()
    func = {"neg_mse": l2_neg_loss, "r2": r2_score, "correlation": correlation_score}[scoring]
    itemsize = np.dtype(str(X.dtype).replace("torch.", "")).itemsize
    if n_targets_batch is None:
        n_targets_batch = himalaya_targets_batch(*X.shape, folds, len(alphas), itemsize, budget)
    n_targets_batch = min(n_targets_batch, Y.shape[1])
    recorder = _ScoreRecorder(func)
    params = {"score_func": recorder, "n_targets_batch": n_targets_batch, "n_targets_batch_refit": n_targets_batch}
    y_in_cpu = backend.is_in_gpu(X) and Y.shape[0] * Y.shape[1] * itemsize > budget / 2
    Yb = Y if isinstance(Y, np.ndarray) else to_numpy(Y)
    Yb = Yb.astype(str(X.dtype).replace("torch.", ""), copy=False)
    if primal:
        model = RidgeCV(
            alphas=alphas,
            fit_intercept=fit_intercept,
            cv=folds,
            solver_params={**params, "warn": False},
            Y_in_cpu=y_in_cpu,
        ).fit(X, Yb)
        coef = backend.to_numpy(model.coef_)
    else:
        model = KernelRidgeCV(
            alphas=alphas,
            kernel="linear",
            fit_intercept=fit_intercept,
            cv=folds,
            solver_params=params,
            Y_in_cpu=y_in_cpu,
            warn=False,
        ).fit(X, Yb)
        Xc = backend.to_numpy(X)
        if fit_intercept:
            Xc = Xc - Xc.mean(0)
        coef = Xc.T @ backend.to_numpy(model.dual_coef_)
    intercept = backend.to_numpy(model.intercept_) if fit_intercept else np.zeros(Y.shape[1], coef.dtype)
    # himalaya reports exp(-log(alpha)); snap it back onto the grid.
    best = backend.to_numpy(model.best_alphas_).astype(np.float64)
    best = alphas[np.abs(np.log(best)[:, None] - np.log(alphas)[None, :]).argmin(1)].astype(coef.dtype)
    return {
        "best_alphas": best,
        "cv_scores": recorder.grid(len(folds), Y.shape[1], n_targets_batch),
        "coef": coef,
        "intercept": intercept,
        "n_targets_batch": n_targets_batch,
    }
