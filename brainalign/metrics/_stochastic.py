"""Stochastic shape metrics (Duong et al. 2023): distances between trial-resolved representations.

See :mod:`brainalign.metrics.shape` (which re-exports :class:`StochasticShape` and
:func:`stochastic_distance`) for the definitions.

References
----------
Duong, L. R., Zhou, J., Nassar, J., Berman, J., Olieslagers, J. & Williams, A. H. (2023).
Representational dissimilarity metric spaces for stochastic neural networks. ICLR.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from ..backend import Backend, is_tensor
from ..methods import MethodInfo
from ..utils import check_count, check_option, fill_doc, progress, validate_type
from ._arrays import common_dtype, device_of, to_backend
from ._base import SimilarityMethod, match_ids

__all__ = ["STOCHASTIC_METHODS", "StochasticShape", "check_alpha", "reduce_trials", "stochastic_distance"]

STOCHASTIC_METHODS = ("gaussian", "energy")


def check_alpha(alpha: Any, high: float = 1.0) -> float:
    """``alpha`` checked as a number in ``[0, high]`` (the shape metrics' whitening or trade-off)."""
    validate_type("alpha", alpha, (int, float, np.integer, np.floating), "a number")
    if not (np.isfinite(alpha) and 0.0 <= alpha <= high):
        raise ValueError(f"alpha must lie in [0, {high:g}], got {alpha!r}.")
    return float(alpha)


# ---------------------------------------------------------------------------- stochastic kernels
def _as_trials(X: Any, name: str) -> tuple[Any, np.ndarray | None]:
    """``X`` as trials ``(n_trials, n_stimuli, n_units)`` with its stimulus ids (None if plain)."""
    if isinstance(X, xr.DataArray):
        feature_dim = "unit" if "unit" in X.dims else "neuroid"
        extra = set(X.dims) - {"presentation", feature_dim, "repetition"}
        if extra or "presentation" not in X.dims or feature_dim not in X.dims:
            raise ValueError(
                f"{name} must have dims ('presentation', 'unit' or 'neuroid') and optionally 'repetition', "
                f"got {X.dims}."
            )
        ids = np.asarray(X["stimulus_id"].values) if "stimulus_id" in X.coords else None
        if ids is not None and pd.Index(ids).has_duplicates:
            raise ValueError(
                f"{name} has repeated stimulus_ids; put the trials on a 'repetition' dim "
                "(presentation × neuroid × repetition)."
            )
        if "repetition" in X.dims:
            values = X.transpose("repetition", "presentation", feature_dim).values
        else:
            values = X.transpose("presentation", feature_dim).values[None]
        return values, ids
    arr = X if is_tensor(X) else np.asarray(X)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3:
        raise ValueError(
            f"{name} must be (n_trials, n_stimuli, n_units), or (n_stimuli, n_units) for a deterministic "
            f"representation; got shape {tuple(arr.shape)}."
        )
    return arr, None


def _check_trials(be: Backend, T: Any, name: str) -> None:
    if T.shape[1] < 3:
        raise ValueError(f"{name} has {T.shape[1]} stimuli; stochastic shape metrics need at least 3.")
    if not bool(be.to_numpy(be.xp.all(be.xp.isfinite(T)))):
        raise ValueError(f"{name} contains NaN or infinite values; remove or impute them first.")


def reduce_trials(be: Backend, T: Any) -> Any:
    """Centre trials by the grand mean and express them in an orthonormal basis of their span."""
    xp = be.xp
    r, n, p = T.shape
    T = T - xp.mean(xp.reshape(T, (r * n, p)), axis=0)
    if p <= r * n:
        return T
    _, s, Vt = xp.linalg.svd(xp.reshape(T, (r * n, p)), full_matrices=False)
    s_host = be.to_numpy(s)
    rank = max(int(np.sum(s_host > max(r * n, p) * np.finfo(np.float64).eps * s_host[0])), 1)
    return T @ xp.matrix_transpose(Vt[:rank])


def _pad(be: Backend, T: Any, d: int) -> Any:
    xp = be.xp
    if T.shape[-1] == d:
        return T
    zeros = xp.zeros((*T.shape[:-1], d - T.shape[-1]), dtype=T.dtype, device=device_of(T))
    return xp.concat([T, zeros], axis=-1)


def _procrustes(be: Backend, C: Any) -> Any:
    """The rotation R maximising ⟨R, C⟩_F."""
    xp = be.xp
    P, _, Qt = xp.linalg.svd(C, full_matrices=False)
    return P @ Qt


def _gaussian(be: Backend, TX: Any, TY: Any, alpha: float, n_iter: int, tol: float) -> float:
    xp = be.xp
    n = TX.shape[1]

    def moments(T: Any, k: int) -> tuple[Any, Any]:
        mu = xp.mean(T, axis=0)  # (n, d)
        r = T.shape[0]
        if r > 1:
            F = (T - mu[None]) / np.sqrt(r - 1)  # covariance factors: Σ_i = F_i F_iᵀ (ddof = 1)
        else:
            F = xp.zeros_like(T)
        F = xp.permute_dims(F, (1, 2, 0))  # (n, d, r)
        if F.shape[-1] < k:
            F = xp.concat([F, xp.zeros((*F.shape[:-1], k - F.shape[-1]), dtype=F.dtype, device=device_of(F))], axis=-1)
        return mu, F

    k = max(TX.shape[0], TY.shape[0])
    MX, FX = moments(TX, k)
    MY, FY = moments(TY, k)
    a, b = alpha, 2.0 - alpha
    traces = xp.sum(FX * FX) + xp.sum(FY * FY)

    def cross(U: Any | None) -> Any:
        FYU = FY if U is None else FY @ U
        return a * (xp.matrix_transpose(MX) @ MY) + b * xp.sum(FX @ xp.matrix_transpose(FYU), axis=0)

    def loss(R: Any) -> tuple[float, Any]:
        N = xp.matrix_transpose(FY) @ (xp.matrix_transpose(R) @ FX)  # (n, k, k)
        P, S, Qt = xp.linalg.svd(N, full_matrices=False)
        mean_term = xp.sum((MX - MY @ xp.matrix_transpose(R)) ** 2)
        value = a * mean_term + b * (traces - 2.0 * xp.sum(S))
        return float(be.to_numpy(value)) / n, P @ Qt

    R = _procrustes(be, cross(None))
    best, U = loss(R)
    for _ in range(n_iter):
        R = _procrustes(be, cross(U))
        value, U = loss(R)
        improved = best - value
        best = min(best, value)
        if improved <= tol * max(abs(best), 1e-300):
            break
    return float(np.sqrt(max(best, 0.0)))


def _pair_norms(be: Backend, A: Any, B: Any) -> Any:
    """Euclidean distances between all trials of A ``(n, ra, d)`` and of B ``(n, rb, d)``: ``(n, ra, rb)``."""
    xp = be.xp
    sa, sb = xp.sum(A * A, axis=-1), xp.sum(B * B, axis=-1)
    sq = sa[:, :, None] + sb[:, None, :] - 2.0 * (A @ xp.matrix_transpose(B))
    return xp.sqrt(xp.maximum(sq, xp.zeros_like(sq[:1, :1, :1])))


def _within(be: Backend, A: Any) -> float:
    """Mean distance between distinct trials of each stimulus, averaged over stimuli."""
    r = A.shape[1]
    if r < 2:
        return 0.0
    D = be.to_numpy(_pair_norms(be, A, A))
    iu = np.triu_indices(r, k=1)
    return float(np.mean(D[:, iu[0], iu[1]]))


def _energy(be: Backend, TX: Any, TY: Any, n_iter: int, tol: float) -> float:
    xp = be.xp
    A = xp.permute_dims(TX, (1, 0, 2))  # (n, rx, d)
    B = xp.permute_dims(TY, (1, 0, 2))
    R = _procrustes(be, xp.matrix_transpose(xp.mean(A, axis=1)) @ xp.mean(B, axis=1))
    best = float("inf")
    for _ in range(n_iter):
        D = _pair_norms(be, A, B @ xp.matrix_transpose(R))
        value = float(be.to_numpy(xp.mean(D)))
        improved = best - value
        best = min(best, value)
        if improved <= tol * max(abs(value), 1e-300):
            break
        # Iteratively reweighted least squares: weights 1/‖x − R y‖ turn the mean distance into a
        # weighted Procrustes problem.
        W = 1.0 / xp.maximum(D, xp.full_like(D, 1e-12))
        R = _procrustes(be, xp.sum(xp.matrix_transpose(A) @ (W @ B), axis=0))
    value = best - 0.5 * (_within(be, A) + _within(be, B))
    return float(np.sqrt(max(value, 0.0)))


def _stochastic(be: Backend, TX: Any, TY: Any, alpha: float, method: str, n_iter: int, tol: float) -> float:
    """The distance of two sets of trials already reduced (:func:`reduce_trials`)."""
    TX, TY = common_dtype(be, TX, TY)
    d = max(TX.shape[-1], TY.shape[-1])
    TX, TY = _pad(be, TX, d), _pad(be, TY, d)
    if method == "gaussian":
        return _gaussian(be, TX, TY, alpha, n_iter, tol)
    return _energy(be, TX, TY, n_iter, tol)


@fill_doc
class StochasticShape(SimilarityMethod):
    """Stochastic shape metric as an alignment method (a *distance*: lower is more similar).

    It needs trial-resolved responses: in :func:`brainalign.alignment_map`, the recording must
    keep its trials on a ``repetition`` dim (``presentation × neuroid × repetition``); model
    activations, one response per stimulus, enter as deterministic (zero covariance).

    Parameters
    ----------
    alpha : float
        Gaussian form only: the trade-off in [0, 2] between means (2) and covariances (0).
    method : {"gaussian", "energy"}
        The ground metric.
    n_iter, tol : int, float
        Iterations and relative tolerance of the rotation fit.
    %(backend)s

    Examples
    --------
    >>> import numpy as np
    >>> trials = np.random.default_rng(0).normal(size=(5, 20, 3))
    >>> Q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(3, 3)))
    >>> StochasticShape()(trials, trials @ Q) < 1e-6
    True
    """

    _param_names = ("alpha", "method", "n_iter", "tol")

    def __brainalign_info__(self) -> MethodInfo:
        return MethodInfo(
            family="similarity",
            kernels="call",
            higher_is_better=False,
            needs_trials=True,
            score=f"{self.method} stochastic shape distance",
            score_range=(0.0, np.inf),
        )

    def __init__(
        self,
        alpha: float = 1.0,
        method: str = "gaussian",
        n_iter: int = 100,
        tol: float = 1e-10,
        backend: str | None = None,
    ) -> None:
        self.alpha = alpha
        self.method = method
        self.n_iter = n_iter
        self.tol = tol
        self.backend = backend

    def _check(self) -> None:
        check_option("method", self.method, STOCHASTIC_METHODS)
        check_alpha(self.alpha, high=2.0)
        if self.method == "energy" and self.alpha != 1:
            raise ValueError("alpha applies to method='gaussian' only; leave it at 1 for method='energy'.")
        check_count("n_iter", self.n_iter, 1, "iterations of the rotation fit")
        if not (isinstance(self.tol, (int, float)) and self.tol >= 0):
            raise ValueError(f"tol must be a non-negative number, got {self.tol!r}.")

    def _reduced(self, items: Sequence[Any], names: Sequence[str]) -> tuple[Backend, list[Any]]:
        """Trial sets in the stimulus order of the first labelled one (plain arrays by position),
        checked, on one backend and reduced (:func:`reduce_trials`): what :func:`_stochastic` compares,
        computed once per set."""
        trials = [_as_trials(X, name) for X, name in zip(items, names, strict=True)]
        ref = next((k for k, (_, ids) in enumerate(trials) if ids is not None), 0)
        (v0, ids0), name0 = trials[ref], names[ref]
        values = []
        for (v, ids), name in zip(trials, names, strict=True):
            rows = match_ids(ids0, ids, v0.shape[1], v.shape[1], (name0, name))
            values.append(v if rows is None else v[:, rows])
        be = self._be(*values)
        reduced = []
        for v, name in zip(values, names, strict=True):
            T = to_backend(be, v)
            _check_trials(be, T, name)
            reduced.append(reduce_trials(be, T))
        return be, reduced

    def _distance(self, be: Backend, RX: Any, RY: Any) -> float:
        return _stochastic(be, RX, RY, float(self.alpha), self.method, int(self.n_iter), float(self.tol))

    def pairwise_distances(self, items: Sequence[Any]) -> np.ndarray:
        """Symmetric matrix of the distances between every pair of ``items`` (each reduced once)."""
        self._check()
        be, reduced = self._reduced(items, [f"list_of_X[{k}]" for k in range(len(items))])
        D = np.zeros((len(items), len(items)))
        for i, j in progress(list(itertools.combinations(range(len(items)), 2)), desc="stochastic shape", unit="pair"):
            D[i, j] = D[j, i] = self._distance(be, reduced[i], reduced[j])
        return D

    def __call__(self, X: Any, Y: Any) -> float:
        """Distance between two trial-resolved (or deterministic) representations."""
        self._check()
        be, (RX, RY) = self._reduced([X, Y], ["X_trials", "Y_trials"])
        return self._distance(be, RX, RY)


@fill_doc
def stochastic_distance(
    X_trials: xr.DataArray | np.ndarray | Any,
    Y_trials: xr.DataArray | np.ndarray | Any,
    alpha: float = 1.0,
    method: Literal["gaussian", "energy"] = "gaussian",
    *,
    n_iter: int = 100,
    tol: float = 1e-10,
    backend: str | Backend | None = None,
) -> float:
    """Stochastic shape distance between two trial-resolved representations.

    Parameters
    ----------
    X_trials, Y_trials : xarray.DataArray or array
        Recordings with a ``repetition`` dim (``presentation × neuroid × repetition``, matched
        on ``stimulus_id``), or arrays ``(n_trials, n_stimuli, n_units)``; a 2-D array or a
        recording without trials is deterministic (zero covariance). Trial and unit counts may
        differ between the two.
    alpha : float
        Gaussian form: weight in [0, 2] of the means (the covariances get ``2 − alpha``).
    method : {"gaussian", "energy"}
        Gaussian 2-Wasserstein/Bures form, or energy distance.
    n_iter, tol : int, float
        Iterations and relative tolerance of the rotation fit.
    %(backend)s

    Returns
    -------
    float
        The distance (0 for a rotated, shifted copy).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import shape
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(8, 30, 4))
    >>> Q, _ = np.linalg.qr(rng.normal(size=(4, 4)))
    >>> shape.stochastic_distance(X, X @ Q + 1.0) < 1e-6
    True

    References
    ----------
    Duong et al. (2023), Representational dissimilarity metric spaces for stochastic neural
    networks, ICLR.
    """
    return StochasticShape(alpha, method, n_iter, tol, backend)(X_trials, Y_trials)
