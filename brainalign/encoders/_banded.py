"""BandedRidgeEncoder: several feature spaces, one regularisation per space (himalaya's solvers)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, MultiOutputMixin, RegressorMixin
from sklearn.utils.validation import check_is_fitted

from ..backend import get_backend
from ..methods import MethodInfo
from ..utils import check_bool, check_count, check_option, check_random_state, fill_doc, logger
from ._base import (
    DEFAULT_ALPHAS,
    check_alphas,
    check_constant_targets,
    check_features_x,
    check_finite,
    check_fit_targets,
    check_same_rows,
    is_dataarray,
    to_numpy,
    unwrap,
)
from ._cv import time_folds
from ._ridge import LinearPredictMixin
from ._solvers import himalaya_targets_batch

__all__ = ["BandedRidgeEncoder", "r2_split"]

_SOLVERS = ("auto", "primal", "kernel")


def r2_split(Y: np.ndarray, parts: np.ndarray) -> np.ndarray:
    """Split R² into one share per band (the product measure; the shares sum to the joint R²).

    ``R²_b = Σ_i (2 y_i ŷ_bi − ŷ_bi Σ_c ŷ_ci) / Σ_i y_i²`` on targets and band predictions centred
    over samples, so that ``Σ_b R²_b = 1 − ‖y − Σ_b ŷ_b‖² / ‖y‖²``: himalaya's
    ``r2_score_split`` on the centred inputs (0 for a target without variance).

    Parameters
    ----------
    Y : ndarray (n_samples, n_targets)
    parts : ndarray (n_bands, n_samples, n_targets)
        Each band's part of the prediction.

    Returns
    -------
    ndarray (n_bands, n_targets)

    References
    ----------
    .. [1] Dupré la Tour, T. et al. (2022). Feature-space selection with banded ridge
       regression. NeuroImage 264 (the product measure, himalaya's ``r2_score_split``).
    """
    from himalaya.scoring import r2_score_split

    Yc = Y - Y.mean(0)
    parts = parts - parts.mean(1, keepdims=True)  # a copy: himalaya zeroes non-finite values in place
    with get_backend("numpy").himalaya(), warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        # Centred here; himalaya's check of the mean flags the round-off of float32 data.
        warnings.filterwarnings("ignore", message="y_true has to be zero-mean", category=UserWarning)
        out = r2_score_split(Yc, parts)
    return np.where((Yc**2).sum(0) > 0, out, 0.0)


@fill_doc
class BandedRidgeEncoder(LinearPredictMixin, MultiOutputMixin, RegressorMixin, BaseEstimator):
    """Ridge over several feature spaces ("bands"), with one regularisation per band and target.

    Bands are, e.g., two layers of a network, or a layer plus low-level features (word rate,
    motion energy). Each target gets its own penalty for each band, found by random search over
    band weights (Dirichlet samples on the simplex) times a grid of alphas, scored by
    cross-validation that respects time. A band that does not help a target is shrunk away,
    which is what makes the variance partition (:meth:`score` with ``split=True``) meaningful.

    Solved by himalaya: banded ridge (``GroupRidgeCV``) when samples outnumber features,
    multiple-kernel ridge on linear kernels (``MultipleKernelRidgeCV``) otherwise.

    Parameters
    ----------
    bands : sequence of labels, str, or None
        Which band each feature column belongs to when ``X`` is one 2-D array (a label per
        column), or the name of a ``unit`` coordinate of a DataArray ``X`` (default: its
        ``layer`` coordinate). Not needed when ``X`` is a list or dict of per-band arrays.
    alphas : sequence of float
        Overall regularisation strengths combined with each band weighting.
    n_iter : int
        Number of band weightings tried (the first is equal weights).
    concentration : float or tuple of float
        Concentration of the Dirichlet distribution of band weights (cycled when several).
    cv : int, "runs", splitter or list of (train, test)
        Inner cross-validation (see :func:`brainalign.encoders.time_folds`).
    fit_intercept : bool
    solver : {"auto", "primal", "kernel"}
        ``"auto"``: primal when n_samples ≥ n_features, else kernel.
    %(encoder_backend)s
    memory_budget : float, int or str
        Device memory the fit may use (fraction of free memory, bytes, or "8GB").
    n_targets_batch : int, optional
    random_state : int, numpy Generator or None
        Seed of the random search.

    Attributes
    ----------
    coef_ : ndarray (n_features, n_targets)
        Coefficients for the features in their input order.
    intercept_ : ndarray (n_targets,)
    band_names_ : list of str
    band_alphas_ : ndarray (n_bands, n_targets)
        The effective ridge penalty of each band for each target (``exp(-deltas_)``).
    deltas_ : ndarray (n_bands, n_targets)
        himalaya's log band weights.
    best_alphas_ : ndarray (n_targets,)
    cv_scores_ : ndarray (n_iter, n_targets)
        Mean CV score (negative MSE) of each band weighting, at its best alpha.
    solver_, backend_ : str

    References
    ----------
    .. [1] Nunez-Elizalde, A. O., Huth, A. G. & Gallant, J. L. (2019). Voxelwise encoding models
       with non-spherical multivariate normal priors. NeuroImage 197.
    .. [2] Dupré la Tour, T., Eickenberg, M., Nunez-Elizalde, A. O. & Gallant, J. L. (2022).
       Feature-space selection with banded ridge regression. NeuroImage 264.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.encoders import BandedRidgeEncoder
    >>> rng = np.random.default_rng(0)
    >>> X1, X2 = rng.normal(size=(300, 5)), rng.normal(size=(300, 5))
    >>> Y = X1 @ rng.normal(size=(5, 4)) + 0.5 * rng.normal(size=(300, 4))
    >>> enc = BandedRidgeEncoder(n_iter=10, random_state=0, backend="numpy")
    >>> enc = enc.fit({"a": X1[:200], "b": X2[:200]}, Y[:200])
    >>> share = enc.score({"a": X1[200:], "b": X2[200:]}, Y[200:], split=True)
    >>> share.shape, bool((share[0] > share[1]).all())
    ((2, 4), True)
    """

    def __init__(
        self,
        bands: Any = None,
        alphas: Any = DEFAULT_ALPHAS,
        n_iter: int = 100,
        concentration: Any = (0.1, 1.0),
        cv: Any = 5,
        *,
        fit_intercept: bool = True,
        solver: str = "auto",
        backend: str = "auto",
        memory_budget: float | int | str = 0.6,
        n_targets_batch: int | None = None,
        random_state: Any = None,
    ) -> None:
        self.bands = bands
        self.alphas = alphas
        self.n_iter = n_iter
        self.concentration = concentration
        self.cv = cv
        self.fit_intercept = fit_intercept
        self.solver = solver
        self.backend = backend
        self.memory_budget = memory_budget
        self.n_targets_batch = n_targets_batch
        self.random_state = random_state

    # ------------------------------------------------------------------ inputs
    def _features(self, X: Any, reset: bool) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, list[str]]:
        """(X as one (n, p) array, row ids, band code per column, band names)."""
        ids = None
        if isinstance(X, Mapping) or (isinstance(X, (list, tuple)) and X and all(np.ndim(b) == 2 for b in X)):
            names = [str(k) for k in X] if isinstance(X, Mapping) else [f"band{i}" for i in range(len(X))]
            blocks = list(X.values()) if isinstance(X, Mapping) else list(X)
            if not blocks:
                raise ValueError("X is an empty list of bands; give at least one feature array.")
            arrays = []
            for name, block in zip(names, blocks, strict=True):
                values, block_ids = unwrap(block, f"X[{name!r}]", ("unit",))
                values = to_numpy(values)
                if values.ndim != 2:
                    raise ValueError(f"X[{name!r}] must be 2-D (samples × features), got shape {values.shape}.")
                if arrays and values.shape[0] != arrays[0].shape[0]:
                    raise ValueError(
                        f"All bands need the same samples: X[{name!r}] has {values.shape[0]} rows, the first band "
                        f"{arrays[0].shape[0]}."
                    )
                check_same_rows(ids, block_ids)
                ids = block_ids if ids is None else ids
                arrays.append(values)
            codes = np.concatenate([np.full(a.shape[1], i) for i, a in enumerate(arrays)])
            X = check_features_x(self, np.concatenate(arrays, axis=1), reset=reset)
            return X, ids, codes, names
        labels = self.bands
        if is_dataarray(X):
            coord = labels if isinstance(labels, str) else ("layer" if labels is None else None)
            if coord is not None:
                if coord not in X.coords or X[coord].dims != ("unit",):
                    if isinstance(labels, str) or "unit" not in X.dims:
                        raise ValueError(f"bands={coord!r} names no coordinate on X's 'unit' dim.")
                else:
                    labels = np.asarray(X[coord].values)
        elif isinstance(labels, str):
            raise ValueError(f"bands={labels!r} names a coordinate, but X is not a DataArray.")
        values, ids = unwrap(X, "X", ("unit",))
        values = to_numpy(check_features_x(self, values, reset=reset))
        if labels is None or (isinstance(labels, str)):
            labels = np.zeros(values.shape[1], dtype=int)
        labels = np.asarray(labels)
        if labels.shape != (values.shape[1],):
            raise ValueError(
                f"bands must give one band label per feature column ({values.shape[1]}), got shape {labels.shape}."
            )
        codes, uniques = pd.factorize(labels)
        return values, ids, codes, [str(u) for u in uniques]

    # ------------------------------------------------------------------ fit
    def __brainalign_info__(self) -> MethodInfo:
        """One fit over all bands; each band's share of the held-out variance (no resampling)."""
        return MethodInfo(
            family="encoder",
            kernels="fit",
            ceiling="reliability",
            resampling=False,
            multi_layer=True,
            score="each band's held-out R²",
            score_range=(-np.inf, 1.0),
        )

    def fit(self, X: Any, Y: Any, groups: Any = None) -> BandedRidgeEncoder:
        """Fit the band penalties by cross-validation and refit on all samples.

        Parameters
        ----------
        X : dict or list of arrays (one per band), a 2-D array with ``bands``, or a DataArray
            (presentation × unit) whose ``layer`` coordinate (or ``bands``) names the bands.
        Y : array-like or DataArray (presentation × neuroid)
        groups : array-like, optional
            The run of each sample (runs contiguous); inner folds keep runs whole.

        Returns
        -------
        self
        """
        Xv, x_ids, codes, names = self._features(X, reset=True)
        Yv, ravel = check_fit_targets(self, Y, Xv, x_ids)
        Yv = to_numpy(Yv)
        check_finite(Xv, "X")
        folds = time_folds(Xv.shape[0], self.cv, groups)
        check_constant_targets(Yv)
        alphas = check_alphas(self.alphas)
        n_iter = check_count("n_iter", self.n_iter)
        concentration = np.atleast_1d(np.asarray(self.concentration, dtype=float))
        if concentration.ndim != 1 or not np.all(concentration > 0):
            raise ValueError(
                f"concentration must be positive: a number or a sequence of numbers, got {self.concentration!r}."
            )
        fit_intercept = check_bool("fit_intercept", self.fit_intercept)
        solver = check_option("solver", self.solver, _SOLVERS)
        n_targets_batch = check_count("n_targets_batch", self.n_targets_batch, optional=True)
        seed = self.random_state
        if seed is not None and not isinstance(seed, (int, np.integer)):
            seed = int(check_random_state(seed).integers(2**31 - 1))
        if solver == "auto":
            solver = "primal" if Xv.shape[1] <= Xv.shape[0] else "kernel"

        be = get_backend(self.backend)
        budget = be.memory_budget(self.memory_budget)
        dtype = Xv.dtype
        Yv = Yv.astype(dtype, copy=False)
        if n_targets_batch is None:
            n_targets_batch = himalaya_targets_batch(*Xv.shape, folds, len(alphas), dtype.itemsize, budget)
        n_targets_batch = min(n_targets_batch, Yv.shape[1])
        params = {
            "n_iter": n_iter,
            "concentration": concentration.tolist(),
            "alphas": alphas.astype(dtype),
            "n_targets_batch": n_targets_batch,
            "n_targets_batch_refit": n_targets_batch,
            "progress_bar": False,
        }
        perm = np.concatenate([np.flatnonzero(codes == b) for b in range(len(names))])
        y_in_cpu = be.name == "torch_cuda" and Yv.nbytes > budget / 2
        with be.himalaya() as hb:
            Xs = [be.asarray(np.ascontiguousarray(Xv[:, codes == b])) for b in range(len(names))]
            if solver == "primal":
                from himalaya.ridge import GroupRidgeCV

                model = GroupRidgeCV(
                    groups="input",
                    solver_params={**params, "warn": False},
                    fit_intercept=fit_intercept,
                    cv=folds,
                    random_state=seed,
                    Y_in_cpu=y_in_cpu,
                ).fit(Xs, Yv)
                coef_by_band = be.to_numpy(model.coef_)
            else:
                from himalaya.kernel_ridge import MultipleKernelRidgeCV

                Ks = hb.stack([hb.matmul(x, hb.transpose(x)) for x in Xs])
                model = MultipleKernelRidgeCV(
                    kernels="precomputed",
                    solver_params=params,
                    fit_intercept=fit_intercept,
                    cv=folds,
                    random_state=seed,
                    Y_in_cpu=y_in_cpu,
                ).fit(Ks, Yv)
                del Ks
                coef_by_band = np.concatenate([be.to_numpy(c) for c in model.get_primal_coef(Xs)], axis=0)
            deltas = be.to_numpy(model.deltas_)
            cv_scores = be.to_numpy(model.cv_scores_)
            best_alphas = be.to_numpy(model.best_alphas_)
            intercept = be.to_numpy(model.intercept_) if fit_intercept else np.zeros(Yv.shape[1], dtype)
        coef = np.empty_like(coef_by_band)
        coef[perm] = coef_by_band
        self.band_names_ = names
        self.band_index_ = codes
        self.deltas_ = deltas.reshape(len(names), -1)
        self.band_alphas_ = np.exp(-self.deltas_)
        self.best_alphas_ = np.atleast_1d(best_alphas)
        self.cv_scores_ = cv_scores
        self.coef_ = coef.astype(dtype, copy=False)
        self.intercept_ = np.atleast_1d(intercept).astype(dtype, copy=False)
        self.solver_ = "himalaya_GroupRidgeCV" if solver == "primal" else "himalaya_MultipleKernelRidgeCV"
        self.backend_ = be.describe()
        self.n_targets_batch_ = n_targets_batch
        if ravel:
            self.coef_, self.intercept_ = self.coef_[:, 0], self.intercept_[0]
        # One line per fit, i.e. per outer fold of an encode: DEBUG, so that INFO stays one line per run.
        logger.debug(
            "BandedRidgeEncoder: %d bands (%s), %d samples × %d features → %d targets, %s on %s",
            len(names),
            ", ".join(names),
            Xv.shape[0],
            Xv.shape[1],
            Yv.shape[1],
            self.solver_,
            self.backend_,
        )
        return self

    # ------------------------------------------------------------------ predict
    def predict(self, X: Any, split: bool = False) -> np.ndarray:
        """Predicted responses; with ``split=True`` one part per band, ``(n_bands, n_samples, n_targets)``.

        The parts sum to the prediction minus ``intercept_``.
        """
        check_is_fitted(self)
        Xv, _, codes, _ = self._features(X, reset=False)
        if not np.array_equal(codes, self.band_index_):
            raise ValueError("X's bands are not laid out as during fit; give the same bands in the same order.")
        check_finite(Xv, "X")
        if not split:
            return Xv @ self.coef_ + self.intercept_
        coef = self.coef_ if self.coef_.ndim == 2 else self.coef_[:, None]
        parts = np.stack([Xv[:, codes == b] @ coef[codes == b] for b in range(len(self.band_names_))])
        return parts if self.coef_.ndim == 2 else parts[..., 0]

    def score(self, X: Any, y: Any, split: bool = False) -> np.ndarray | float:
        """R² per target, or with ``split=True`` its partition into bands, ``(n_bands, n_targets)``.

        The split is the product measure (:func:`r2_split`): each band's share of the held-out
        explained variance, summing to the R² of the mean-centred prediction.
        """
        if not split:
            return super().score(X, y)
        parts = self.predict(X, split=True)
        Yv, _ = unwrap(y, "Y", ("neuroid",))
        Yv = to_numpy(Yv).astype(parts.dtype, copy=False)
        if parts.ndim == 2:
            return r2_split(Yv.reshape(-1, 1), parts[..., None])[:, 0]
        return r2_split(Yv, parts)
