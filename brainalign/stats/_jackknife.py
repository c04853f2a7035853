"""Leave-one-stimulus-out (jackknife) scores of RDM comparisons, all stimuli at once."""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr

from ..backend import Backend
from ..metrics._arrays import resolve_backend
from ..metrics._rdm import aligned_rdms, group_layout, pair_index, upper
from ..metrics.comparisons import get_comparison
from ..utils import check_count, check_option, check_random_state, fill_doc
from ._rdms import BOOTSTRAP_METHODS

__all__ = ["jackknife_stimuli", "leave_one_out_counts"]


def leave_one_out_counts(n: int, stimuli: np.ndarray | None = None) -> np.ndarray:
    """The pairs kept when each stimulus is left out: ``(len(stimuli), n·(n−1)/2)`` zeros and ones.

    Row ``r`` is 0 on the ``n − 1`` condensed pairs that hold stimulus ``stimuli[r]`` and 1 on the
    others (``stimuli``: all ``n`` by default).

    Examples
    --------
    >>> leave_one_out_counts(3).tolist()  # pairs (0, 1), (0, 2), (1, 2)
    [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    """
    iu0, iu1, _ = pair_index(n)
    left = np.arange(n) if stimuli is None else np.asarray(stimuli)
    return ((iu0[None] != left[:, None]) & (iu1[None] != left[:, None])).astype(np.float64)


@fill_doc
def jackknife_stimuli(
    rdm_a: xr.DataArray | np.ndarray,
    rdm_b: xr.DataArray | np.ndarray,
    method: Literal["spearman", "pearson", "kendall_tau_a", "cosine"] = "spearman",
    *,
    n_half: int = 200,
    random_state: int | np.random.Generator | None = None,
    batch_size: int = 64,
    backend: str | Backend | None = None,
) -> xr.Dataset:
    """Leave-one-stimulus-out scores of RDM comparisons: every RDM pair without each stimulus in turn.

    Leaving stimulus ``i`` out removes its row and column of both RDMs, i.e. its ``n − 1`` pairs;
    the score is the comparison on the remaining ``(n − 1)(n − 2)/2`` pairs, computed from the
    pairs' weighted sums (the comparison's ``weighted`` rule, with weight 0 on the removed pairs),
    all left-out stimuli in a few batched products. Spearman re-ranks the remaining pairs of each
    left-out stimulus (exact, as ``scipy.stats.spearmanr`` on the reduced RDMs, ties averaged).

    The jackknife variance ``J = (n − 1)/n · Σ_i (θ_(i) − θ_(·))²`` of a score (or of a difference
    of two scores over the same stimuli) counts twice the part of the variance that comes from the
    pairs themselves (the second-order, pair-specific term of the score as a statistic of stimulus
    pairs): on equal layers it is about 2 × the variance over stimulus sets. ``half`` holds the
    scores on ``n_half`` random halves of the stimuli (drawn without replacement, the same halves
    for every RDM), whose spread measures that part again with another weight;
    :func:`pairwise` combines both into a nearly unbiased variance.

    Parameters
    ----------
    rdm_a, rdm_b : xarray.DataArray or array
        RDMs as for :func:`brainalign.metrics.rsa.compare` (at least 4 stimuli).
    method : {"spearman", "pearson", "kendall_tau_a", "cosine"}
        The comparison (those :func:`bootstrap_stimuli` resamples).
    n_half : int
        Random half-samples of the stimuli (``n // 2`` each) for ``half`` (0: none).
    %(random_state)s
    batch_size : int
        Left-out stimuli computed at once (memory: ``batch_size × n²/2`` values per RDM).
    %(backend)s

    Returns
    -------
    xarray.Dataset
        ``score`` (on all stimuli) and ``jackknife`` (leading dim ``stimulus``: the score without
        that stimulus, in ``rdm_a``'s stimulus order, labelled by its ``stimulus_id``) and, with
        ``n_half``, ``half`` (leading dim ``half``: the scores on random halves of the stimuli).

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats as sps
    >>> from brainalign import stats
    >>> from brainalign.metrics import rsa
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(12, 5))
    >>> a, b = rsa.rdm(X), rsa.rdm(X + rng.normal(size=X.shape))
    >>> res = stats.jackknife_stimuli(a, b)
    >>> res["jackknife"].dims
    ('stimulus',)
    >>> keep = np.arange(1, 12)  # stimulus 0 left out
    >>> va, vb = (r.values[np.ix_(keep, keep)][np.triu_indices(11, 1)] for r in (a, b))
    >>> bool(np.isclose(res["jackknife"][0], sps.spearmanr(va, vb).statistic))
    True
    """
    check_option("method", method, BOOTSTRAP_METHODS)
    comparison = get_comparison(method)
    batch_size = check_count("batch_size", batch_size)
    if isinstance(n_half, bool) or not isinstance(n_half, (int, np.integer)) or n_half < 0:
        raise ValueError(f"n_half must be a non-negative integer (0: none), got {n_half!r}.")
    rng = check_random_state(random_state)
    be = resolve_backend(backend, rdm_a, rdm_b)
    A, B = aligned_rdms(rdm_a, rdm_b)
    dims, shape, coords, B = group_layout(A, B)
    n = A.sizes["stimulus_id"]
    if n < 4:
        raise ValueError(f"rdm_a, rdm_b: the jackknife leaves one stimulus out and needs at least 4 stimuli, got {n}.")
    va = upper(be, be.asarray(A.values.reshape(-1, n, n), dtype="float64"))
    vb = upper(be, be.asarray(B.values.reshape(-1, n, n), dtype="float64"))
    # Also refuses constant RDMs.
    observed = comparison.all_pairs(be, comparison.represent(be, va, "rdm_a"), comparison.represent(be, vb, "rdm_b"))
    jack = np.empty((n, va.shape[0], vb.shape[0]))
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        C = be.asarray(leave_one_out_counts(n, np.arange(start, stop)))
        jack[start:stop] = be.to_numpy(comparison.weighted(be, va, vb, C))
    if not np.all(np.isfinite(jack)):
        raise ValueError(
            "rdm_a, rdm_b: an RDM is constant once a stimulus is left out (all its other pairs equal); "
            "its jackknife scores are undefined."
        )
    out = _dataset(dims, shape, coords, observed, jack, A["stimulus_id"].values, method)
    if n_half:
        inside = np.argsort(rng.random((n_half, n)), axis=1) < n // 2  # a random half of the stimuli per row
        iu0, iu1, _ = pair_index(n)
        half = np.empty((n_half, va.shape[0], vb.shape[0]))
        for start in range(0, n_half, batch_size):
            rows = inside[start : start + batch_size]
            C = be.asarray((rows[:, iu0] & rows[:, iu1]).astype(np.float64))
            half[start : start + len(rows)] = be.to_numpy(comparison.weighted(be, va, vb, C))
        out["half"] = (("half", *dims), half.reshape((n_half, *shape)))
    return out


def _dataset(
    dims: tuple, shape: tuple, coords: dict, observed: np.ndarray, jack: np.ndarray, ids: Any, method: str
) -> xr.Dataset:
    data_vars = {
        "score": (dims, np.asarray(observed).reshape(shape)),
        "jackknife": (("stimulus", *dims), jack.reshape((len(jack), *shape))),
    }
    coords = {**coords, "stimulus": np.asarray(ids)}
    return xr.Dataset(data_vars, coords=coords, attrs={"method": method, "resampled": "leave one stimulus out"})
