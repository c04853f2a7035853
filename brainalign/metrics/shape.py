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

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

from ..backend import Backend
from ..methods import MethodInfo
from ..utils import check_option, fill_doc, progress
from ._arrays import common_dtype, float_dtype, to_backend
from ._base import SimilarityMethod, as_list, as_patterns, match_stimuli, score_groups
from ._stochastic import STOCHASTIC_METHODS, StochasticShape, check_alpha, stochastic_distance

__all__ = ["Shape", "StochasticShape", "distance", "pairwise", "stochastic_distance"]

SHAPE_METHODS = ("angular", "euclidean")
GROUPS = ("orthogonal", "permutation")


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


@fill_doc
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
    %(backend)s

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
            # Angles between normalised shapes; partial whitening (alpha < 1) mixes in the identity.
            scale_invariant=self.method == "angular" and (self.alpha == 1 or self.group == "permutation"),
        )

    def __init__(
        self, alpha: float = 1.0, method: str = "angular", group: str = "orthogonal", backend: str | None = None
    ) -> None:
        self.alpha = alpha
        self.method = method
        self.group = group
        self.backend = backend

    def _check(self) -> None:
        check_alpha(self.alpha)
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


@fill_doc
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
    %(backend)s

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
    if method in STOCHASTIC_METHODS:
        D = StochasticShape(alpha, method, backend=backend).pairwise_distances(items)
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
