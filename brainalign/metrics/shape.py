"""Shape metrics: generalized shape metrics and stochastic shape metrics.

**Generalized shape metrics** (Williams et al. 2021) are distances between representations of
the same stimuli after removing nuisance transforms. Each representation ``X`` (stimuli ×
units) is centred (translation), partially whitened with ``α ∈ [0, 1]``
(``α = 1``: none, the metric allows only rotations; ``α = 0``: full whitening, it allows any
invertible linear map; the total variance is preserved), then aligned by the best rotation
(orthogonal Procrustes) or, for the permutation-invariant variant, the best permutation of
units. With ``φ(X)`` the centred, whitened representation and ``‖·‖_*`` the nuclear norm:

- angular:   θ(X, Y) = arccos( ‖φ(X)ᵀ φ(Y)‖_* / (‖φ(X)‖_F ‖φ(Y)‖_F) )
- Euclidean: d(X, Y) = sqrt( ‖φ(X)‖²_F + ‖φ(Y)‖²_F − 2 ‖φ(X)ᵀ φ(Y)‖_* )

Both are metrics (symmetric, zero for a rotated copy, triangle inequality). Representations
with different numbers of units are compared as if zero-padded; the whitening acts within the
span of the data (zero-variance directions are left out rather than clipped), so the result
does not depend on padding or on units beyond the data's rank. For full-rank data of equal
width this is netrep's ``LinearMetric`` (``center_columns=True``, ``preserve_variance``).

**Stochastic shape metrics** (Duong et al. 2023) compare trial-resolved (noisy) responses,
stimulus by stimulus, after the best common rotation:

- ``"gaussian"``: each stimulus's responses as a Gaussian (trial mean μ, covariance Σ); the
  squared distance is the mean over stimuli of ``α ‖μx − R μy‖² + (2 − α) B²(Σx, R Σy Rᵀ)``
  with ``B`` the Bures metric, minimised over rotations ``R``. ``α ∈ [0, 2]``: 0 compares
  covariances only, 1 is the 2-Wasserstein distance, 2 compares means only (the Euclidean shape
  metric of the trial means, scaled).
- ``"energy"``: the energy distance between the two trial distributions of each stimulus,
  averaged over stimuli, minimised over rotations (iteratively reweighted Procrustes).

Trials are centred by the grand mean of each representation (translation invariance). The
rotation is fitted by alternating closed-form steps (a local optimum; the fit's objective is the
reported distance, which for ``α ≠ 1`` differs from netrep, whose fit weighs the terms by α² and
(2 − α)²).

References
----------
Williams, A. H., Kunz, E., Kornblith, S. & Linderman, S. W. (2021). Generalized shape metrics on
neural representations. NeurIPS.
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
from ._base import (
    SimilarityMethod,
    as_list,
    as_patterns,
    common_dtype,
    device_of,
    float_dtype,
    match_ids,
    match_stimuli,
    score_groups,
    to_backend,
)

__all__ = ["Shape", "StochasticShape", "distance", "pairwise", "stochastic_distance"]

SHAPE_METHODS = ("angular", "euclidean")
STOCHASTIC_METHODS = ("gaussian", "energy")
GROUPS = ("orthogonal", "permutation")


def _check_alpha(alpha: Any, high: float = 1.0) -> float:
    validate_type("alpha", alpha, (int, float, np.integer, np.floating), "a number")
    if not (np.isfinite(alpha) and 0.0 <= alpha <= high):
        raise ValueError(f"alpha must lie in [0, {high:g}], got {alpha!r}.")
    return float(alpha)


# ----------------------------------------------------------------------- deterministic kernels
def _whitened(be: Backend, X: Any, alpha: float) -> Any:
    """Centred, partially whitened ``X`` in the basis of its principal axes: ``(n, rank)``."""
    xp = be.xp
    Xc = X - xp.mean(X, axis=0, keepdims=True)
    U, s, _ = xp.linalg.svd(Xc, full_matrices=False)
    s_host = be.to_numpy(s)
    eps = np.finfo(np.float32 if float_dtype(X) == "float32" else np.float64).eps
    rank = int(np.sum(s_host > max(Xc.shape) * eps * (s_host[0] if s_host.size else 0.0)))
    if rank == 0:
        raise ValueError("A representation with no variance across stimuli has no defined shape distance.")
    U, s = U[:, :rank], s[:rank]
    if alpha < 1.0:
        # Partial whitening d = α + (1 − α) λ^(-1/2) with λ = s², rescaled to keep the total variance.
        scaled = alpha * s + (1.0 - alpha)
        s = scaled * xp.sqrt(xp.sum(s * s) / xp.sum(scaled * scaled))
    return U * s[None, :]


def _nuclear_inner(be: Backend, A: Any, B: Any, group: str) -> np.ndarray:
    """max over the group of ⟨A, B T⟩, as float64: the nuclear norm of AᵀB (rotations) or the best
    matching of units (permutations, zero-padded to equal widths). ``B`` may be a stack ``(l, n, r)``."""
    xp = be.xp
    C = xp.matrix_transpose(A) @ B
    if group == "orthogonal":
        return np.asarray(be.to_numpy(xp.sum(xp.linalg.svdvals(C), axis=-1)), dtype=np.float64)
    from scipy.optimize import linear_sum_assignment

    C = be.to_numpy(C)
    rows, cols = linear_sum_assignment(C, maximize=True)
    return np.asarray(C[rows, cols].sum(), dtype=np.float64)


def _distance(norm_a: float, norm_b: float, inner: Any, method: str) -> np.ndarray:
    inner = np.asarray(inner, dtype=np.float64)
    if method == "angular":
        return np.arccos(np.clip(inner / (norm_a * norm_b), -1.0, 1.0))
    return np.sqrt(np.maximum(norm_a**2 + norm_b**2 - 2.0 * inner, 0.0))


class Shape(SimilarityMethod):
    """Generalized shape metric as an alignment method (a *distance*: lower is more similar).

    Parameters
    ----------
    alpha : float
        Partial whitening in [0, 1] (1: rotations only; 0: any invertible linear map).
    method : {"angular", "euclidean"}
        The ground metric.
    group : {"orthogonal", "permutation"}
        Alignment by rotations, or by permutations of units (``alpha`` must then be 1).
    backend : str, optional
        Where to compute; ``None`` follows the input arrays.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(30, 5))
    >>> Q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(5, 5)))
    >>> Shape()(X, X @ Q + 3) < 1e-6
    True
    """

    _param_names = ("alpha", "method", "group")
    _rep_ndim = 2

    def __brainalign_info__(self) -> MethodInfo:
        return MethodInfo(
            family="similarity",
            kernels="represent",
            higher_is_better=False,
            ceiling="split_half",
            score=f"{self.method} shape distance (alpha={self.alpha})",
            score_range=(0.0, np.pi / 2) if self.method == "angular" else (0.0, np.inf),
        )

    def __init__(
        self, alpha: float = 1.0, method: str = "angular", group: str = "orthogonal", backend: str | None = None
    ) -> None:
        self.alpha = alpha
        self.method = method
        self.group = group
        self.backend = backend

    def _check(self) -> None:
        _check_alpha(self.alpha)
        check_option("method", self.method, SHAPE_METHODS)
        check_option("group", self.group, GROUPS)
        if self.group == "permutation" and self.alpha != 1:
            raise ValueError(
                "group='permutation' needs alpha=1: whitening mixes units, which breaks the unit "
                "correspondence that permutations align."
            )

    def _represent(self, be: Backend, arr: Any) -> Any:
        """``(n_stimuli, n_units)`` → the centred (and whitened) representation."""
        if self.group == "permutation":
            arr = arr - be.xp.mean(arr, axis=0, keepdims=True)
            if float(be.to_numpy(be.xp.linalg.matrix_norm(arr))) == 0:
                raise ValueError("A representation with no variance across stimuli has no defined shape distance.")
            return arr
        return _whitened(be, arr, float(self.alpha))

    def compare_represented(self, A: Any, B: Any) -> np.ndarray:
        """All pairs of represented blocks → ``(len(A), len(B))`` distances."""
        la, lb = as_list(A, self._rep_ndim), as_list(B, self._rep_ndim)
        be = self._be(*la, *lb)
        xp = be.xp
        la = [to_backend(be, a) for a in la]
        lb = [to_backend(be, b) for b in lb]
        norms_a = [float(be.to_numpy(xp.linalg.matrix_norm(a))) for a in la]
        norms_b = np.array([float(be.to_numpy(xp.linalg.matrix_norm(b))) for b in lb])
        out = np.empty((len(la), len(lb)))
        batched = self.group == "orthogonal" and len({tuple(b.shape) for b in lb}) == 1
        SB = xp.stack(common_dtype(be, *lb)) if batched else None
        for i, a in enumerate(la):
            if batched:
                inner = _nuclear_inner(be, *common_dtype(be, a, SB), self.group)
            else:
                inner = np.array([_nuclear_inner(be, *common_dtype(be, a, b), self.group) for b in lb])
            out[i] = _distance(norms_a[i], norms_b, inner, self.method)
        return out


@fill_doc
def distance(
    X: xr.DataArray | np.ndarray | Any,
    Y: xr.DataArray | np.ndarray | Any,
    alpha: float = 1.0,
    method: Literal["angular", "euclidean"] = "angular",
    *,
    group: Literal["orthogonal", "permutation"] = "orthogonal",
    by: str | tuple[str | None, str | None] | None = "auto",
    backend: str | Backend | None = None,
) -> float | xr.DataArray:
    """Generalized shape distance between two representations of the same stimuli.

    Parameters
    ----------
    X, Y : xarray.DataArray or array
        Activations or recordings (matched on ``stimulus_id``), or plain
        ``(n_stimuli, n_units)`` arrays (matched by row); the numbers of units may differ.
    alpha : float
        Partial whitening in [0, 1].
    method : {"angular", "euclidean"}
        Angular distance (radians, in [0, π/2] after centring) or Euclidean Procrustes distance.
    group : {"orthogonal", "permutation"}
        Invariance to rotations, or only to permutations of units (``alpha=1``).
    %(by)s
    %(backend)s

    Returns
    -------
    float or xarray.DataArray
        The distance (0 for a rotated, shifted copy), or an array over the groups.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import shape
    >>> X = np.random.default_rng(0).normal(size=(40, 6))
    >>> Q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(6, 6)))
    >>> round(shape.distance(X, X @ Q), 6)
    0.0

    References
    ----------
    Williams et al. (2021), Generalized shape metrics on neural representations, NeurIPS.
    """
    return score_groups(Shape(alpha, method, group, backend), X, Y, by=by)


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


def _reduce(be: Backend, T: Any) -> Any:
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
    """The distance of two sets of trials already reduced (:func:`_reduce`)."""
    TX, TY = common_dtype(be, TX, TY)
    d = max(TX.shape[-1], TY.shape[-1])
    TX, TY = _pad(be, TX, d), _pad(be, TY, d)
    if method == "gaussian":
        return _gaussian(be, TX, TY, alpha, n_iter, tol)
    return _energy(be, TX, TY, n_iter, tol)


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
    backend : str, optional
        Where to compute; ``None`` follows the input arrays.

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
        _check_alpha(self.alpha, high=2.0)
        if self.method == "energy" and self.alpha != 1:
            raise ValueError("alpha applies to method='gaussian' only; leave it at 1 for method='energy'.")
        check_count("n_iter", self.n_iter, 1, "iterations of the rotation fit")
        if not (isinstance(self.tol, (int, float)) and self.tol >= 0):
            raise ValueError(f"tol must be a non-negative number, got {self.tol!r}.")

    def _reduced(self, items: Sequence[Any], names: Sequence[str]) -> tuple[Backend, list[Any]]:
        """Trial sets in the stimulus order of the first labelled one (plain arrays by position),
        checked, on one backend and reduced (:func:`_reduce`): what :func:`_stochastic` compares,
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
            reduced.append(_reduce(be, T))
        return be, reduced

    def _distance(self, be: Backend, RX: Any, RY: Any) -> float:
        return _stochastic(be, RX, RY, float(self.alpha), self.method, int(self.n_iter), float(self.tol))

    def __call__(self, X: Any, Y: Any) -> float:
        """Distance between two trial-resolved (or deterministic) representations."""
        self._check()
        be, (RX, RY) = self._reduced([X, Y], ["X_trials", "Y_trials"])
        return self._distance(be, RX, RY)


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
    backend : str, optional
        Where to compute; ``None`` follows the inputs.

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


def pairwise(
    list_of_X: Sequence[Any],
    alpha: float = 1.0,
    method: Literal["angular", "euclidean", "gaussian", "energy"] = "angular",
    *,
    group: Literal["orthogonal", "permutation"] = "orthogonal",
    names: Sequence[Any] | None = None,
    backend: str | Backend | None = None,
) -> xr.DataArray:
    """Shape distances between every pair of many representations (networks, subjects).

    Each representation is centred and whitened once; all pairs are then compared.

    Parameters
    ----------
    list_of_X : sequence of arrays or DataArrays
        Representations of the same stimuli ``(n_stimuli, n_units)`` (labelled ones are matched
        on ``stimulus_id``), or trials ``(n_trials, n_stimuli, n_units)`` for the stochastic
        methods.
    alpha, group
        See :func:`distance` (and :func:`stochastic_distance` for ``alpha`` in [0, 2]).
    method : {"angular", "euclidean", "gaussian", "energy"}
        A generalized shape metric, or a stochastic one.
    names : sequence, optional
        Labels of the representations (default ``0 … N−1``).
    backend : str, optional
        Where to compute; ``None`` follows the inputs.

    Returns
    -------
    xarray.DataArray
        Dims ``(network, network_2)``: symmetric, zero on the diagonal.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import shape
    >>> rng = np.random.default_rng(0)
    >>> D = shape.pairwise([rng.normal(size=(20, 5)) for _ in range(3)], names=["a", "b", "c"])
    >>> D.dims, float(D.sel(network="a", network_2="a"))
    (('network', 'network_2'), 0.0)
    """
    check_option("method", method, SHAPE_METHODS + STOCHASTIC_METHODS)
    items = list(list_of_X)
    if len(items) < 2:
        raise ValueError(f"list_of_X must hold at least 2 representations, got {len(items)}.")
    names = list(range(len(items))) if names is None else list(names)
    if len(names) != len(items) or len(set(map(str, names))) != len(names):
        raise ValueError(f"names must give {len(items)} distinct labels, got {names!r}.")
    D = np.zeros((len(items), len(items)))
    pairs = list(itertools.combinations(range(len(items)), 2))
    if method in STOCHASTIC_METHODS:
        metric = StochasticShape(alpha, method, backend=backend)
        metric._check()
        be, reduced = metric._reduced(items, [f"list_of_X[{k}]" for k in range(len(items))])
        for i, j in progress(pairs, desc="stochastic shape", unit="pair"):
            D[i, j] = D[j, i] = metric._distance(be, reduced[i], reduced[j])
    else:
        metric = Shape(alpha, method, group, backend)
        metric._check()
        patterns = [as_patterns(X, f"list_of_X[{k}]", None) for k, X in enumerate(items)]
        ref = next((k for k, p in enumerate(patterns) if p.ids is not None), 0)  # the first labelled one
        reps = []
        for k, p in enumerate(patterns):
            rows = match_stimuli(patterns[ref], p, (f"list_of_X[{ref}]", f"list_of_X[{k}]"))
            values = p.values if rows is None else p.values[rows]
            reps.append(metric.represent(values))
        for i in progress(range(len(items) - 1), desc="shape distances", unit="network"):
            D[i, i + 1 :] = metric.compare_represented([reps[i]], reps[i + 1 :])[0]
        D = np.triu(D, 1) + np.triu(D, 1).T
    labels = np.asarray(names)
    return xr.DataArray(
        D,
        dims=("network", "network_2"),
        coords={"network": labels, "network_2": labels},
        attrs={"method": method, "alpha": float(alpha)},
    )
