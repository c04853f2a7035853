"""Representational similarity analysis: RDMs and their comparison.

RDMs are labelled arrays with the stimulus ids on both axes (dims ``stimulus_id`` and
``stimulus_id_2``), stacked along a group dim (``layer`` or ``region``) when several are
computed at once. Comparisons align the two RDMs on ``stimulus_id`` (any order) and refuse
different stimulus sets.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy.stats import rankdata

from ..utils import check_option

__all__ = ["COMPARE_METHODS", "RDM_METRICS", "RSA", "compare", "rdm"]

RDM_METRICS = ("correlation", "cosine", "euclidean", "sqeuclidean")
COMPARE_METHODS = ("spearman", "pearson")


# ------------------------------------------------------------------------------------ kernels
def _rdm_matrix(X: np.ndarray, metric: str) -> np.ndarray:
    """(n, p) patterns → (n, n) dissimilarities, in float64."""
    X = np.asarray(X, dtype=np.float64)
    if metric == "correlation":
        X = X - X.mean(axis=1, keepdims=True)
    if metric in ("correlation", "cosine"):
        norms = np.linalg.norm(X, axis=1, keepdims=True)
        if np.any(norms == 0):
            bad = int(np.flatnonzero(norms[:, 0] == 0)[0])
            raise ValueError(
                f"Pattern {bad} is constant (zero variance), so its {metric} distance is undefined; "
                "drop it or use metric='euclidean'."
            )
        Xn = X / norms
        D = 1.0 - Xn @ Xn.T
    else:
        sq = np.einsum("ij,ij->i", X, X)
        D = np.maximum(sq[:, None] + sq[None, :] - 2.0 * (X @ X.T), 0.0)
        if metric == "euclidean":
            D = np.sqrt(D)
    np.fill_diagonal(D, 0.0)
    return (D + D.T) / 2.0


def _upper(D: np.ndarray) -> np.ndarray:
    """Condensed upper triangle (k=1) of one or a stack of square matrices (last two axes)."""
    n = D.shape[-1]
    iu = np.triu_indices(n, k=1)
    return D[..., iu[0], iu[1]]


def _zscore_rows(V: np.ndarray, what: str) -> np.ndarray:
    V = V - V.mean(axis=-1, keepdims=True)
    norm = np.linalg.norm(V, axis=-1, keepdims=True)
    if np.any(norm == 0):
        raise ValueError(f"{what}: an RDM with all dissimilarities equal has no defined correlation.")
    return V / norm


def _compare_vectors(A: np.ndarray, B: np.ndarray, method: str) -> np.ndarray:
    """(k, m) and (l, m) condensed RDMs → (k, l) similarities."""
    if method == "spearman":
        A = rankdata(A, axis=-1)
        B = rankdata(B, axis=-1)
    return _zscore_rows(A, "rdm_a") @ _zscore_rows(B, "rdm_b").T


# --------------------------------------------------------------------------------- public API
def _groups(X: xr.DataArray, by: str | None) -> tuple[list[Any], list[np.ndarray]]:
    feature_dim = "unit" if "unit" in X.dims else "neuroid"
    if by is None:
        return [None], [np.arange(X.sizes[feature_dim])]
    if by not in X.coords or X[by].dims != (feature_dim,):
        raise ValueError(f"by={by!r} must name a coordinate along {feature_dim!r}; X has {list(X.coords)}.")
    labels = np.asarray(X[by].values)
    names = list(pd.unique(labels))
    return names, [np.flatnonzero(labels == name) for name in names]


def rdm(
    X: xr.DataArray | np.ndarray,
    metric: Literal["correlation", "cosine", "euclidean", "sqeuclidean"] = "correlation",
    *,
    by: str | None = "auto",
) -> xr.DataArray:
    """Representational dissimilarity matrices of one or many representations.

    Parameters
    ----------
    X : xarray.DataArray or array
        Activations ``(presentation, unit)``, a condition-based recording
        ``(presentation, neuroid)``, or a plain ``(n_stimuli, n_features)`` array.
    metric : {"correlation", "cosine", "euclidean", "sqeuclidean"}
        Dissimilarity between two stimulus patterns: 1 − Pearson r, 1 − cosine, Euclidean
        distance, squared Euclidean distance.
    by : str or None
        Coordinate along units/neuroids to group by, one RDM per group (``"layer"``,
        ``"region"``). ``"auto"``: ``"layer"`` for activations, ``"region"`` for recordings,
        none for plain arrays.

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
    if not isinstance(X, xr.DataArray):
        arr = np.asarray(X)
        if arr.ndim != 2:
            raise ValueError(f"X must be 2-D (n_stimuli, n_features), got shape {arr.shape}.")
        X = xr.DataArray(
            arr, dims=("presentation", "unit"), coords={"stimulus_id": ("presentation", np.arange(len(arr)))}
        )
        by = None if by == "auto" else by
    feature_dim = "unit" if "unit" in X.dims else "neuroid"
    if set(X.dims) != {"presentation", feature_dim}:
        raise ValueError(f"X must have dims ('presentation', 'unit' or 'neuroid'), got {X.dims}.")
    if by == "auto":
        by = "layer" if feature_dim == "unit" and "layer" in X.coords else ("region" if "region" in X.coords else None)
    ids = np.asarray(X["stimulus_id"].values) if "stimulus_id" in X.coords else np.arange(X.sizes["presentation"])
    if X.sizes["presentation"] < 3:
        raise ValueError(f"X has {X.sizes['presentation']} stimuli; an RDM needs at least 3.")
    if pd.Index(ids).has_duplicates:
        raise ValueError("X has duplicate stimulus_id values; average repetitions first (brainalign.data.align).")
    values = X.transpose("presentation", feature_dim).values
    if not np.all(np.isfinite(values)):
        raise ValueError("X contains NaN or infinite values.")
    names, index = _groups(X, by)
    mats = np.stack([_rdm_matrix(values[:, idx], metric) for idx in index])
    coords = {"stimulus_id": ids, "stimulus_id_2": ids}
    if by is None:
        return xr.DataArray(mats[0], dims=("stimulus_id", "stimulus_id_2"), coords=coords, attrs={"metric": metric})
    coords[by] = np.asarray(names)
    return xr.DataArray(mats, dims=(by, "stimulus_id", "stimulus_id_2"), coords=coords, attrs={"metric": metric})


def _as_rdm(D: xr.DataArray | np.ndarray, name: str) -> xr.DataArray:
    if isinstance(D, xr.DataArray):
        if D.dims[-2:] != ("stimulus_id", "stimulus_id_2"):
            raise ValueError(f"{name} must end with dims ('stimulus_id', 'stimulus_id_2'), got {D.dims}.")
        return D
    arr = np.asarray(D, dtype=float)
    if arr.ndim < 2 or arr.shape[-1] != arr.shape[-2]:
        raise ValueError(f"{name} must be a square matrix (or a stack of them), got shape {arr.shape}.")
    ids = np.arange(arr.shape[-1])
    dims = (*(f"{name}_group_{i}" for i in range(arr.ndim - 2)), "stimulus_id", "stimulus_id_2")
    return xr.DataArray(arr, dims=dims, coords={"stimulus_id": ids, "stimulus_id_2": ids})


def compare(
    rdm_a: xr.DataArray | np.ndarray,
    rdm_b: xr.DataArray | np.ndarray,
    method: Literal["spearman", "pearson"] = "spearman",
) -> xr.DataArray | float:
    """Compare RDMs: every RDM of ``rdm_a`` with every RDM of ``rdm_b``.

    The upper triangles (diagonal excluded) are correlated. ``rdm_b`` is reordered to
    ``rdm_a``'s stimulus ids; different stimulus sets are an error.

    Parameters
    ----------
    rdm_a, rdm_b : xarray.DataArray or array
        From :func:`rdm` (optionally stacked along a group dim) or square matrices.
    method : {"spearman", "pearson"}
        Rank correlation (ties averaged) or linear correlation.

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
    A, B = _as_rdm(rdm_a, "rdm_a"), _as_rdm(rdm_b, "rdm_b")
    ids_a, ids_b = pd.Index(A["stimulus_id"].values), pd.Index(B["stimulus_id"].values)
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
        if not np.all(np.isfinite(R.values)):
            raise ValueError(f"{label} contains NaN or infinite dissimilarities.")
    ga = A.dims[:-2]
    # Group dims of rdm_b that clash with rdm_a's (e.g. layer × layer) get a "_2" suffix.
    B = B.rename({d: f"{d}_2" for d in B.dims[:-2] if d in ga})
    gb = B.dims[:-2]
    va = _upper(A.values).reshape(-1, len(ids_a) * (len(ids_a) - 1) // 2)
    vb = _upper(B.values).reshape(-1, va.shape[1])
    scores = _compare_vectors(va, vb, method)
    if not ga and not gb:
        return float(scores[0, 0])
    shape = tuple(A.sizes[d] for d in ga) + tuple(B.sizes[d] for d in gb)
    coords = {d: A[d].values for d in ga if d in A.coords} | {d: B[d].values for d in gb if d in B.coords}
    return xr.DataArray(scores.reshape(shape), dims=ga + gb, coords=coords, attrs={"method": method})


class RSA:
    """RSA as an alignment method: RDM of each representation, then their correlation.

    Parameters
    ----------
    metric : str
        RDM dissimilarity (see :func:`rdm`).
    compare : str
        RDM comparison (see :func:`compare`).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(8, 5))
    >>> round(RSA()(X, X @ np.diag([1, 2, 3, 4, 5.0])), 3) < 1
    True
    """

    def __init__(self, metric: str = "correlation", compare: str = "spearman") -> None:
        self.metric = metric
        self.compare = compare

    def get_params(self) -> dict[str, Any]:
        return {"metric": self.metric, "compare": self.compare}

    def _check(self) -> None:
        check_option("metric", self.metric, RDM_METRICS)
        check_option("compare", self.compare, COMPARE_METHODS)

    def represent(self, X: np.ndarray) -> np.ndarray:
        """Condensed RDM of one ``(n_stimuli, n_features)`` representation."""
        self._check()
        return _upper(_rdm_matrix(X, self.metric))

    def compare_represented(self, A: np.ndarray, B: np.ndarray) -> np.ndarray:
        """All pairs of ``(k, m)`` and ``(l, m)`` condensed RDMs → ``(k, l)`` scores."""
        return _compare_vectors(np.atleast_2d(A), np.atleast_2d(B), self.compare)

    def __call__(self, X: Any, Y: Any) -> float:
        return float(self.compare_represented(self.represent(np.asarray(X)), self.represent(np.asarray(Y)))[0, 0])
