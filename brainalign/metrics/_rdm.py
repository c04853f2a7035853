"""RDM kernels shared by :mod:`~brainalign.metrics.rsa`, :mod:`~brainalign.metrics.trsa`,
:mod:`~brainalign.metrics.comparisons` and :mod:`brainalign.stats` (backend arrays in and out).

Square RDMs are ``(..., n, n)`` stacks; *condensed* RDMs are their upper triangles (diagonal
excluded) ``(k, n·(n−1)/2)``, in :func:`numpy.triu_indices` order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..backend import Backend, to_numpy
from ._arrays import device_of, squared_distances, unit_rows
from ._conditioning import peak_exponent, times_power_of_two
from ._ranks import BLOCK_VALUES

__all__ = [
    "aligned_rdms",
    "as_rdm",
    "check_finite_rdm",
    "condensed_rdm",
    "double_centered",
    "group_layout",
    "labelled_rdms",
    "n_from_length",
    "pair_index",
    "rdm_kernel",
    "square",
    "unit_patterns",
    "unit_rdms",
    "upper",
    "zero_diagonal",
]


def rdm_kernel(be: Backend, X: Any, metric: str, out: np.ndarray | None = None) -> Any:
    """(n, p) patterns → (n, n) dissimilarities (backend array, X's float precision).

    ``metric`` is one of ``"correlation"``, ``"cosine"``, ``"euclidean"``, ``"sqeuclidean"``. On
    numpy, ``out`` (a float array of the right shape and precision) receives the result without an
    intermediate copy.
    """
    xp = be.xp
    if metric in ("correlation", "cosine"):
        D = _gram(be, unit_patterns(be, X, metric), out)
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
    return zero_diagonal(be, D)


def _zero_pattern(metric: str) -> str:
    """The refusal of a pattern with no correlation (constant) or cosine (all zeros) distance."""
    what = "constant (zero variance)" if metric == "correlation" else "all zeros"
    return f"Pattern {{row}} is {what}, so its {metric} distance is undefined; drop it or use metric='euclidean'."


def unit_patterns(be: Backend, X: Any, metric: str, block_values: int = BLOCK_VALUES) -> Any:
    """A copy of the patterns ``(n, p)`` whose dot products are ``1 −`` the correlation or cosine
    distance: rescaled by a power of two (exact; max-abs in [0.5, 1), so nothing overflows),
    centred (``"correlation"``) and with unit rows, a block of about ``block_values`` values at a
    time (one copy, no full-size temporaries). A row of zero norm is a ValueError naming it."""
    n, p = X.shape
    step = max(1, block_values // max(p, 1))
    zero, exponent = _zero_pattern(metric), -peak_exponent(be, X)
    Xn = be.xp.empty_like(X)
    for a in range(0, n, step):
        b = min(a + step, n)
        Xn[a:b] = times_power_of_two(X[a:b], exponent)
        if metric == "correlation":
            Xn[a:b] -= be.xp.mean(Xn[a:b], axis=1, keepdims=True)
        unit_rows(be, Xn[a:b], zero, inplace=True, first_row=a)
    return Xn


def condensed_rdm(be: Backend, X: Any, metric: str, block_values: int = BLOCK_VALUES) -> Any:
    """(n, p) patterns → the condensed RDM ``(1, n·(n−1)/2)``: :func:`rdm_kernel`'s upper triangle.

    On numpy the triangle is computed in blocks of rows (about ``block_values`` dissimilarities
    each), so the ``n × n`` square never exists and half of its products are skipped: at 8 000
    stimuli the float32 square alone would be 256 MB. On torch, the square's upper triangle.
    """
    if be.is_torch:
        return upper(be, rdm_kernel(be, X, metric)[None])
    n = X.shape[0]
    if metric in ("correlation", "cosine"):
        X = unit_patterns(be, X, metric, block_values)
    else:
        sq = np.einsum("ij,ij->i", X, X)  # no n × p temporary
    out = np.empty((1, n * (n - 1) // 2), dtype=X.dtype)
    step, pos = max(1, block_values // max(n, 1)), 0
    for a in range(0, n - 1, step):
        b = min(a + step, n - 1)
        G = X[a:b] @ X[a + 1 :].T  # rows a … b−1 against columns a+1 … n−1
        if metric in ("correlation", "cosine"):
            G *= -1.0
            G += 1.0
        else:
            G *= -2.0
            G += sq[a:b, None]
            G += sq[None, a + 1 :]
            np.maximum(G, 0.0, out=G)
            if metric == "euclidean":
                np.sqrt(G, out=G)
        for i in range(a, b):  # row i's pairs (i, j > i) start at column i − a
            out[0, pos : pos + n - 1 - i] = G[i - a, i - a :]
            pos += n - 1 - i
    return out


def _gram(be: Backend, X: Any, out: np.ndarray | None) -> Any:
    """``X @ Xᵀ``, written into ``out`` on numpy when it is given."""
    if out is not None and not be.is_torch:
        return np.matmul(X, X.T, out=out)
    return X @ be.xp.matrix_transpose(X)


def zero_diagonal(be: Backend, D: Any) -> Any:
    """``D`` with a zero diagonal (last two axes), in place."""
    diagonal = be.asarray(np.arange(D.shape[-1]))
    D[..., diagonal, diagonal] = 0.0
    return D


def upper(be: Backend, D: Any) -> Any:
    """Condensed upper triangles (diagonal excluded) of a stack of square matrices ``(..., n, n)``."""
    xp = be.xp
    n = D.shape[-1]
    if not be.is_torch:
        # Row by row: no n²-long index arrays (three int64 arrays of n·(n−1)/2 would outweigh the RDM).
        stack = np.reshape(D, (-1, n, n))
        out = np.empty((stack.shape[0], n * (n - 1) // 2), dtype=D.dtype)
        pos = 0
        for i in range(n - 1):
            out[:, pos : pos + n - 1 - i] = stack[:, i, i + 1 :]
            pos += n - 1 - i
        return out.reshape(*D.shape[:-2], n * (n - 1) // 2)
    iu0, iu1 = np.triu_indices(n, k=1)
    flat = xp.reshape(D, (*D.shape[:-2], n * n))
    return xp.take(flat, be.asarray(iu0 * n + iu1), axis=-1)


def square(be: Backend, v: Any, n: int) -> Any:
    """Condensed vectors ``(k, m)`` → symmetric matrices ``(k, n, n)`` with a zero diagonal."""
    xp = be.xp
    iu0, iu1 = np.triu_indices(n, k=1)
    M = xp.zeros((v.shape[0], n * n), dtype=v.dtype, device=device_of(v))
    M[:, be.asarray(iu0 * n + iu1)] = v
    M[:, be.asarray(iu1 * n + iu0)] = v
    return xp.reshape(M, (v.shape[0], n, n))


def n_from_length(m: int) -> int:
    """The number of stimuli ``n`` of a condensed RDM of length ``m = n·(n−1)/2``."""
    n = round(float((1 + np.sqrt(1 + 8 * m)) / 2))
    if n * (n - 1) // 2 != m:
        raise ValueError(f"{m} is not the length of a condensed RDM (n·(n−1)/2).")
    return n


def pair_index(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-triangle pairs (i < j) and the table ``cond[a, b]`` of the condensed index of pair {a, b}."""
    iu0, iu1 = np.triu_indices(n, k=1)
    cond = np.zeros((n, n), dtype=np.int64)
    cond[iu0, iu1] = np.arange(iu0.size)
    cond[iu1, iu0] = np.arange(iu0.size)
    return iu0, iu1, cond


def unit_rdms(be: Backend, V: Any, what: str, center: bool = True, inplace: bool = False) -> Any:
    """Condensed RDMs ``(k, m)`` centred (unless ``center=False``) and scaled to unit norm (in ``V``
    itself with ``inplace``, for an array the caller just made); a constant RDM is a ValueError
    naming ``what``."""
    if center:
        mean = be.xp.mean(V, axis=-1, keepdims=True)
        if inplace:
            V -= mean
        else:
            V = V - mean
            inplace = True
    return unit_rows(
        be,
        V,
        f"{what}: an RDM whose dissimilarities are all equal (or all zero) has no defined correlation or cosine.",
        inplace=inplace,
    )


def double_centered(be: Backend, v: Any, n: int) -> Any:
    """Whitening of Diedrichsen et al. (2021) under i.i.d. noise: the centred RDM as a
    double-centred second-moment matrix, flattened ``(k, n·n)``."""
    xp = be.xp
    v = v - xp.mean(v, axis=-1, keepdims=True)
    G = -0.5 * square(be, v, n)
    G = G - xp.mean(G, axis=-1, keepdims=True)
    G = G - xp.mean(G, axis=-2, keepdims=True)
    return xp.reshape(G, (G.shape[0], n * n))


# ------------------------------------------------------------------------------ labelled RDMs
def labelled_rdms(mats: np.ndarray, ids: np.ndarray, group_dim: str | None, names: list, attrs: dict) -> xr.DataArray:
    """Square RDMs ``(groups, n, n)`` → a labelled RDM (the group dim dropped when ``group_dim`` is None)."""
    coords: dict[str, Any] = {"stimulus_id": ids, "stimulus_id_2": ids}
    if group_dim is None:
        return xr.DataArray(mats[0], dims=("stimulus_id", "stimulus_id_2"), coords=coords, attrs=attrs)
    coords[group_dim] = np.asarray(names)
    return xr.DataArray(mats, dims=(group_dim, "stimulus_id", "stimulus_id_2"), coords=coords, attrs=attrs)


def as_rdm(D: Any, name: str) -> xr.DataArray:
    """A labelled RDM (or stack), from a labelled one or from square matrices ``(..., n, n)``."""
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


def aligned_rdms(rdm_a: Any, rdm_b: Any) -> tuple[xr.DataArray, xr.DataArray]:
    """Both RDMs labelled, ``rdm_b`` in ``rdm_a``'s stimulus order; checked."""
    A, B = as_rdm(rdm_a, "rdm_a"), as_rdm(rdm_b, "rdm_b")
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
        check_finite_rdm(R.values, label)
    return A, B


def group_layout(A: xr.DataArray, B: xr.DataArray) -> tuple[tuple, tuple, dict, xr.DataArray]:
    """Result dims, shape and coords of comparing every RDM of ``A`` with every RDM of ``B``; ``B``
    with its group dims that clash with ``A``'s (e.g. layer × layer) renamed with a ``_2`` suffix."""
    ga = A.dims[:-2]
    B = B.rename({d: f"{d}_2" for d in B.dims[:-2] if d in ga})
    gb = B.dims[:-2]
    coords = {d: A[d].values for d in ga if d in A.coords} | {d: B[d].values for d in gb if d in B.coords}
    shape = tuple(A.sizes[d] for d in ga) + tuple(B.sizes[d] for d in gb)
    return ga + gb, shape, coords, B


def check_finite_rdm(values: Any, label: str, be: Backend | None = None) -> None:
    """Refuse NaN/inf dissimilarities (``values`` on the backend ``be`` when given, else numpy)."""
    finite = np.all(np.isfinite(values)) if be is None else bool(be.to_numpy(be.xp.all(be.xp.isfinite(values))))
    if not finite:
        raise ValueError(
            f"{label} contains NaN or infinite dissimilarities (infinite geodesic distances mean the "
            "thresholded graph is disconnected: raise trsa's upper threshold)."
        )
