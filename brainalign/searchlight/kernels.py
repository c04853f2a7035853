"""Batched RDM kernels over many searchlight cells, and their comparison with many layer RDMs.

Neighbourhoods have different sizes; a chunk of centres is gathered into one padded block
``(centres, stimuli, max size)`` with a 0/1 mask, so that every centre's RDM comes out of one
batched matrix product. Padding columns are zero after centring and masking, so they change no
mean, norm, inner product or covariance (crossnobis puts ones on the padded diagonal of the
noise covariance, which leaves the inverse of the real block unchanged). Chunks are sized by a
memory budget.

Examples
--------
>>> import numpy as np
>>> from brainalign import searchlight
>>> from brainalign.metrics import rsa
>>> Y = np.random.default_rng(0).normal(size=(6, 10))
>>> nbrs = [np.array([0, 1, 2]), np.array([3, 4, 5, 6, 7])]
>>> blocks = list(searchlight.cell_rdms(Y, nbrs))
>>> blocks[0][0], blocks[0][1].shape
(slice(0, 2, None), (2, 15))
>>> D = rsa.rdm(Y[:, nbrs[1]]).values
>>> bool(np.allclose(blocks[0][1][1], D[np.triu_indices(6, 1)]))
True
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..backend import Backend, is_tensor, to_numpy
from ..methods import RDM_METRICS
from ..metrics._arrays import float_dtype, resolve_backend
from ..metrics.rsa import rankdata
from ..utils import check_option, fill_doc
from ._core import Searchlight
from ._crossnobis import crossnobis_block, crossnobis_trials

__all__ = ["CELL_CHUNK_BYTES", "CELL_COMPARE", "CELL_METRICS", "cell_rdms", "compare_cells"]

CELL_METRICS = RDM_METRICS
CELL_COMPARE = ("spearman", "pearson", "cosine")
#: Working memory of one chunk of cell RDMs on the CPU (small chunks stay in cache).
CELL_CHUNK_BYTES = 64 * 2**20


def _neighbour_list(neighbours: Searchlight | Sequence[Any], n_features: int) -> list[np.ndarray]:
    nbrs = list(neighbours.neighbours) if isinstance(neighbours, Searchlight) else list(neighbours)
    if not nbrs:
        raise ValueError("neighbours is empty: no centre to compute.")
    out = []
    for i, nb in enumerate(nbrs):
        a = np.asarray(nb)
        if a.ndim != 1 or a.size == 0 or a.dtype.kind not in "iu":
            raise ValueError(f"neighbours[{i}] must be a non-empty 1-D integer index array, got {a!r:.60}.")
        if a.min() < 0 or a.max() >= n_features:
            raise ValueError(f"neighbours[{i}] indexes feature {a.max()} but Y has {n_features} features (columns).")
        out.append(a.astype(np.int64))
    return out


def _chunks(sizes: np.ndarray, per_centre: int, budget: int, chunk: int | None) -> list[slice]:
    if chunk is None:
        chunk = max(1, int(budget // max(per_centre, 1)))
    n = len(sizes)
    return [slice(s, min(s + chunk, n)) for s in range(0, n, chunk)]


def _padded(be: Backend, nbrs: list[np.ndarray], sl: slice, dtype: str) -> tuple[Any, Any, Any]:
    """Padded indices ``(c, k)``, 0/1 mask ``(c, k)`` and sizes ``(c,)`` of the centres in ``sl``."""
    block = nbrs[sl]
    k = max(len(b) for b in block)
    idx = np.zeros((len(block), k), dtype=np.int64)
    mask = np.zeros((len(block), k))
    for r, b in enumerate(block):
        idx[r, : len(b)] = b
        mask[r, : len(b)] = 1.0
    sizes = mask.sum(axis=1)
    return be.asarray(idx), be.asarray(mask, dtype=dtype), be.asarray(sizes, dtype=dtype)


def _upper_index(n: int) -> np.ndarray:
    iu0, iu1 = np.triu_indices(n, k=1)
    return iu0 * n + iu1


def _block_rdms(be: Backend, Yt: Any, idx: Any, mask: Any, sizes: Any, metric: str, first: int) -> Any:
    """Square RDMs ``(c, n, n)`` of one padded chunk; ``Yt`` is ``(features, stimuli)``."""
    xp = be.xp
    P = Yt[idx] * mask[..., None]  # (c, k, n): features × stimuli per centre, padding zero
    if metric == "correlation":
        P = (P - (xp.sum(P, axis=1) / sizes[:, None])[:, None, :]) * mask[..., None]
    if metric in ("correlation", "cosine"):
        norms = xp.linalg.vector_norm(P, axis=1)
        bad = np.argwhere(be.to_numpy(norms) == 0)
        if bad.size:
            c, row = bad[0]
            what = "constant (zero variance)" if metric == "correlation" else "all zeros"
            raise ValueError(
                f"Centre {first + c}: the pattern of stimulus {row} is {what} on its neighbours, so its {metric} "
                "distance is undefined; drop that centre or use metric='euclidean'."
            )
        P = P / norms[:, None, :]
        return 1.0 - xp.matrix_transpose(P) @ P
    sq = xp.sum(P * P, axis=1)
    D = -2.0 * (xp.matrix_transpose(P) @ P)
    D = D + sq[:, :, None] + sq[:, None, :]
    D = xp.where(D < 0, xp.zeros_like(D), D)
    return xp.sqrt(D) if metric == "euclidean" else D


@fill_doc
def cell_rdms(
    Y: Any,
    neighbours: Searchlight | Sequence[Any],
    metric: str = "correlation",
    *,
    noise: str | None = "shrinkage_diag",
    backend: str | Backend | None = None,
    memory_budget: float | int | str | None = None,
    chunk: int | None = None,
) -> Iterator[tuple[slice, Any]]:
    """Condensed RDMs of every searchlight cell, in chunks of centres.

    Each centre's RDM equals :func:`brainalign.metrics.rsa.rdm` on its neighbours' columns
    (``metric="crossnobis"``: with folds = repetitions and the same ``noise`` estimate, computed
    from that neighbourhood's residuals).

    Parameters
    ----------
    Y : array or xarray.DataArray
        ``(n_stimuli, n_features)`` patterns (a recording ``(presentation, neuroid)``; for
        space × latency cells, :func:`latency_patterns`). ``"crossnobis"``: trials
        ``(n_stimuli, n_features, n_repetitions)`` (a recording with a ``repetition`` dim), each
        repetition a fold; every stimulus needs every repetition.
    neighbours : Searchlight or sequence of int arrays
        Column indices of each cell.
    metric : {"correlation", "cosine", "euclidean", "sqeuclidean", "crossnobis"}
    noise : {"shrinkage_diag", "diag", "full"} or None
        Crossnobis noise covariance per cell (as :func:`~brainalign.metrics.rsa.rdm`); ``None``:
        identity.
    %(backend)s
    memory_budget : float, int, str or None
        Working memory per chunk (a fraction of free memory, bytes, or a size such as
        ``"1GB"``); the chunk size follows from it. ``None``: ``"64MB"`` on the CPU (small
        chunks stay in cache: several times faster than one large chunk), half the free GPU
        memory on CUDA.
    chunk : int, optional
        Centres per chunk (overrides ``memory_budget``).

    Yields
    ------
    slice, array
        The centres of the chunk (positions in ``neighbours``) and their condensed RDMs
        ``(n_centres_in_chunk, n_stimuli·(n_stimuli−1)/2)`` (upper triangle, row-major) on the
        backend.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import searchlight
    >>> Y = np.random.default_rng(0).normal(size=(5, 8))
    >>> [(s.start, r.shape) for s, r in searchlight.cell_rdms(Y, [[0, 1, 2]] * 3, chunk=2)]
    [(0, (2, 10)), (2, (1, 10))]
    """
    check_option("metric", metric, CELL_METRICS)
    if metric == "crossnobis":
        check_option("noise", noise, ("shrinkage_diag", "diag", "full", None))
    if isinstance(Y, xr.DataArray):
        dims = ("presentation", "neuroid", "repetition") if metric == "crossnobis" else ("presentation",)
        feat = [d for d in Y.dims if d not in dims]
        Y = Y.transpose("presentation", *feat, *dims[2:]).values if len(feat) == 1 else Y.values
    be = resolve_backend(backend, Y)
    dtype = float_dtype(Y)
    ndim = 3 if metric == "crossnobis" else 2
    if len(Y.shape) != ndim:
        want = "(n_stimuli, n_features, n_repetitions)" if ndim == 3 else "(n_stimuli, n_features)"
        raise ValueError(f"Y must be {want} for metric={metric!r}, got shape {tuple(Y.shape)}.")
    n = Y.shape[0]
    if n < 3:
        raise ValueError(f"Y has {n} stimuli; an RDM needs at least 3.")
    arr = be.asarray(Y, dtype=dtype)
    if not bool(be.to_numpy(be.xp.all(be.xp.isfinite(arr)))):
        raise ValueError("Y contains NaN or infinite values.")
    nbrs = _neighbour_list(neighbours, Y.shape[1])
    sizes = np.array([len(b) for b in nbrs])
    k, item = int(sizes.max()), np.dtype(dtype).itemsize
    upper = be.asarray(_upper_index(n))
    if metric == "crossnobis":
        Tt, reps = crossnobis_trials(be, arr)
        per = item * (3 * reps * n * k + 6 * k * k + 3 * reps * n * n + n * n)
    else:
        Tt = be.xp.asarray(be.xp.matrix_transpose(arr))  # (features, stimuli)
        per = item * (3 * n * k + 3 * n * n)
    if memory_budget is None:
        memory_budget = 0.5 if be.name == "torch_cuda" else CELL_CHUNK_BYTES
    budget = be.memory_budget(memory_budget)
    for sl in _chunks(sizes, per, budget, chunk):
        idx, mask, size = _padded(be, nbrs, sl, dtype)
        if metric == "crossnobis":
            D = crossnobis_block(be, Tt, idx, mask, size, noise, sl.start)
        else:
            D = _block_rdms(be, Tt, idx, mask, size, metric, sl.start)
        yield sl, be.xp.take(be.xp.reshape(D, (D.shape[0], n * n)), upper, axis=1)


def _represent(be: Backend, V: Any, method: str, what: str, first: int = 0) -> Any:
    """Rows ``(k, m)`` → unit rows whose dot products are the ``method`` scores."""
    xp = be.xp
    if method == "spearman":
        V = rankdata(be, V)  # one sort per row; ties averaged
    if method in ("spearman", "pearson"):
        V = V - xp.mean(V, axis=-1, keepdims=True)
    norms = xp.linalg.vector_norm(V, axis=-1, keepdims=True)
    bad = np.flatnonzero(be.to_numpy(norms) == 0)
    if bad.size:
        raise ValueError(
            f"{what} {first + int(bad[0])} has all dissimilarities equal (or all zero), so its {method} "
            "comparison is undefined; drop it."
        )
    return V / norms


def _as_condensed(be: Backend, R: Any) -> Any:
    """Layer RDMs (layers, m) / (layers, n, n) / one RDM / a DataArray from rsa.rdm → (layers, m)."""
    arr = to_numpy(R.values if isinstance(R, xr.DataArray) else R).astype(np.float64, copy=False)
    if arr.ndim >= 2 and arr.shape[-1] == arr.shape[-2] and arr.shape[-1] > 1:
        n = arr.shape[-1]
        arr = arr.reshape(-1, n * n)[:, _upper_index(n)]
    elif arr.ndim == 1:
        arr = arr[None]
    elif arr.ndim != 2:
        raise ValueError(f"layer_rdms must be condensed (layers, m) or square (layers, n, n), got shape {arr.shape}.")
    if not np.all(np.isfinite(arr)):
        raise ValueError("layer_rdms contains NaN or infinite dissimilarities.")
    return be.asarray(arr)


@fill_doc
def compare_cells(
    cell_rdms: Any | Iterable[tuple[slice, Any]],
    layer_rdms: Any,
    compare: str = "spearman",
    *,
    backend: str | Backend | None = None,
) -> np.ndarray:
    """Compare every cell's RDM with every layer's RDM: ``(n_centres, n_layers)`` scores.

    Ranks (Spearman: average ties, equal to :func:`scipy.stats.rankdata`) are computed once per
    RDM, and all layers are compared with a chunk of cells in one matrix product. The scores
    equal :func:`brainalign.metrics.rsa.compare` of each pair. Both sides must list the
    stimuli in the same order (the rows of ``Y`` given to :func:`cell_rdms`).

    Parameters
    ----------
    cell_rdms : array or iterable of (slice, array)
        Condensed cell RDMs ``(n_centres, m)``, or the chunks that :func:`cell_rdms` yields
        (consumed one at a time: the cells' RDMs are never all held in memory).
    layer_rdms : array or xarray.DataArray
        Condensed ``(n_layers, m)``, square ``(n_layers, n, n)``, or one RDM.
    compare : {"spearman", "pearson", "cosine"}
    %(backend)s

    Returns
    -------
    numpy.ndarray
        ``(n_centres, n_layers)`` float64.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import searchlight
    >>> rng = np.random.default_rng(0)
    >>> Y, layers = rng.normal(size=(6, 9)), rng.normal(size=(2, 15))
    >>> searchlight.compare_cells(searchlight.cell_rdms(Y, [[0, 1, 2], [3, 4, 5, 6]]), layers).shape
    (2, 2)
    """
    check_option("compare", compare, CELL_COMPARE)
    single = isinstance(cell_rdms, np.ndarray) or is_tensor(cell_rdms)
    blocks = [(slice(0, cell_rdms.shape[0]), cell_rdms)] if single else cell_rdms
    out: list[tuple[slice, np.ndarray]] = []
    L = None
    for sl, block in blocks:
        be = resolve_backend(backend, block)
        block = be.asarray(block, dtype="float64")
        if L is None:
            L = _represent(be, _as_condensed(be, layer_rdms), compare, "layer RDM")
            if L.shape[1] != block.shape[1]:
                raise ValueError(
                    f"The cell RDMs have {block.shape[1]} pairs but layer_rdms have {L.shape[1]}: compute both on "
                    "the same stimuli."
                )
        rep = _represent(be, block, compare, "Cell", sl.start)
        out.append((sl, be.to_numpy(rep @ be.xp.matrix_transpose(L))))
    if not out:
        raise ValueError("cell_rdms is empty.")
    n = max(s.stop for s, _ in out)
    scores = np.empty((n, out[0][1].shape[1]))
    for s, v in out:
        scores[s] = v
    return scores
