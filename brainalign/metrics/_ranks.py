"""Average ranks of the rows of condensed RDMs (what Spearman comparisons correlate), one sort per
row: float32 rows on numpy pack value and position into one uint64 and rank ties in chunks
(about 20 bytes per pair); other dtypes and torch take an argsort.
"""

from __future__ import annotations

import sys
from typing import Any

import numpy as np

from ..backend import Backend
from ._arrays import device_of

__all__ = ["BLOCK_VALUES", "rankdata"]

#: Values per step of the chunked RDM kernels (row blocks of a condensed RDM, rank packing and
#: scatter): 4 MB float32 temporaries.
BLOCK_VALUES = 2**20


def rankdata(be: Backend, V: Any) -> Any:
    """Average ranks (ties get the mean of their ranks, from 1) along the last axis of ``(k, m)``.

    One sort per row: the sorted values give the runs of ties, each run's average rank is written
    back through the sort order (a scatter, not a second argsort). Equals
    :func:`scipy.stats.rankdata` (``method="average"``) on numpy and torch; float32 input gives
    float32 ranks (exact while ``m < 2**23``, beyond that rounded to float32's 24-bit precision,
    a relative error under 6e-8), anything else float64.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.backend import get_backend
    >>> rankdata(get_backend("numpy"), np.array([[3.0, 1.0, 3.0, 2.0]])).tolist()
    [[3.5, 1.0, 3.5, 2.0]]
    """
    xp = be.xp
    k, m = V.shape
    dev = device_of(V)
    dtype = V.dtype if V.dtype in (xp.float32, xp.float64) else xp.float64
    if not be.is_torch and V.dtype == np.float32 and m < 2**32 and sys.byteorder == "little":
        return _packed_ranks(V)
    order = xp.argsort(V, axis=-1)
    sv = xp.take_along_axis(V, order, axis=-1)
    distinct = sv[:, 1:] != sv[:, :-1]
    del sv
    if bool(be.to_numpy(xp.all(distinct))):  # no ties (the usual RDM): the sorted ranks are 1 … m
        ranks_sorted = xp.broadcast_to(xp.arange(1, m + 1, dtype=dtype, device=dev)[None, :], (k, m))
    elif not be.is_torch:  # row by row, each run's rank repeated over the run (no m-long int64 temporaries)
        ranks_sorted = np.stack([_run_ranks(row, dtype) for row in distinct])
    else:
        true = xp.ones((k, 1), dtype=xp.bool, device=dev)
        starts = xp.reshape(xp.concat([true, distinct], axis=-1), (-1,))  # first of each run of ties
        first = xp.nonzero(starts)[0]  # flat positions of the runs' first elements, ascending
        last = xp.concat([first[1:], xp.asarray([k * m], dtype=first.dtype, device=dev)]) - 1
        # Twice the average 1-based rank of each run, as an integer: first + last + 2 − 2·(row offset).
        twice = first + last + 2 - 2 * ((first // m) * m)
        run = xp.cumulative_sum(xp.astype(starts, xp.int64)) - 1
        ranks_sorted = xp.astype(xp.take(twice, run), dtype) / 2.0
        del run
    del distinct
    if k > 1:  # flat positions of every row's sort order (one RDM needs no offsets, nor their copy)
        order = order + xp.arange(k, dtype=order.dtype, device=dev)[:, None] * m
    out = xp.empty((k * m,), dtype=dtype, device=dev)
    out[xp.reshape(order, (-1,))] = xp.reshape(ranks_sorted, (-1,))
    return xp.reshape(out, (k, m))


def _run_ranks(distinct: np.ndarray, dtype: Any) -> np.ndarray:
    """Average ranks in sorted order from where the sorted values change (``distinct``, length m − 1)."""
    m = distinct.size + 1
    first = np.flatnonzero(np.concatenate([[True], distinct]))  # each run of ties' first position
    counts = np.empty(first.size, dtype=np.int32 if m < 2**31 else np.int64)
    np.subtract(first[1:], first[:-1], out=counts[:-1], casting="unsafe")
    counts[-1] = m - first[-1]
    first *= 2  # twice the 1-based mean position of the run, (2·first + count + 1), in place
    first += counts
    first += 1
    mean = first.astype(dtype)
    del first
    mean *= 0.5
    return np.repeat(mean, counts)


def _packed_ranks(V: np.ndarray) -> np.ndarray:
    """:func:`rankdata` of a float32 ``(k, m)`` numpy array, a row at a time, in ``12·m`` bytes
    (``16·m`` with ties).

    Each value becomes an order-preserving 32-bit key packed above its 32-bit position in one
    uint64, and the packed row is sorted (numpy's vectorised integer sort, about twice as fast as
    an argsort, with no separate index or value copies): the low words are then the sort order
    and the high words the sorted keys. The ranks are scattered back in chunks.
    """
    k, m = V.shape
    out = np.empty((k, m), dtype=np.float32)
    packed = np.empty(m, dtype=np.uint64)
    words = packed.view(np.uint32).reshape(m, 2)  # little-endian: [:, 0] low, [:, 1] high
    for r in range(k):
        bits = np.ascontiguousarray(V[r]).view(np.uint32)
        for s in range(0, m, BLOCK_VALUES):
            e = min(s + BLOCK_VALUES, m)
            key = bits[s:e] >> np.uint32(31)  # 1 for negative floats
            key *= np.uint32(0x7FFFFFFF)
            key |= np.uint32(0x80000000)  # negatives: flip every bit; the rest: set the sign bit
            key ^= bits[s:e]
            key[key == np.uint32(0x7FFFFFFF)] = np.uint32(0x80000000)  # -0.0 ties with +0.0
            words[s:e, 1] = key
            words[s:e, 0] = np.arange(s, e, dtype=np.uint32)
        packed.sort()
        twice = _twice_ranks(words[:, 1])  # None: no ties, the ranks are 1 … m
        row = out[r]
        for s in range(0, m, BLOCK_VALUES):
            e = min(s + BLOCK_VALUES, m)
            order = packed[s:e]
            order &= np.uint64(0xFFFFFFFF)  # the positions, as int64 indices in place
            if twice is None:
                row[order.view(np.int64)] = np.arange(s + 1, e + 1, dtype=np.float32)
            else:
                row[order.view(np.int64)] = twice[s:e] * np.float32(0.5)
    return out


def _twice_ranks(keys: np.ndarray, step: int = 2**16) -> np.ndarray | None:
    """Twice the average 1-based rank of each position of sorted ``keys`` (an integer array), or
    None when no two keys tie. In chunks of ``step``: each run of ties is written once its end is
    seen, as ``first + last + 2`` (0-based positions); the temporaries are a few chunks long."""
    m = keys.size
    chunks = [(s, min(s + step, m)) for s in range(0, m, step)]
    if all(np.all(keys[max(s, 1) : e] != keys[max(s, 1) - 1 : e - 1]) for s, e in chunks):
        return None
    twice = np.empty(m, dtype=np.int32 if 2 * m + 2 < 2**31 else np.int64)
    first = 0  # where the run still open at the chunk's start began
    for s, e in chunks:
        lo = max(s, 1)
        starts = np.flatnonzero(keys[lo:e] != keys[lo - 1 : e - 1])
        if starts.size:
            bounds = np.empty(starts.size + 1, dtype=np.int64)
            bounds[0] = first
            np.add(starts, lo, out=bounds[1:])
            length = np.diff(bounds)
            value = bounds[:-1] * 2
            value += length
            value += 1
            twice[first : bounds[-1]] = np.repeat(value, length)
            first = int(bounds[-1])
    twice[first:] = 2 * first + (m - first) + 1
    return twice
