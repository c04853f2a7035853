"""Statistics of cross-validated encoding scores: the fold-averaged Pearson r of held-out predictions.

A map's encoding score is the mean over folds of each target's Pearson r between its held-out
responses and their predictions. :func:`fold_bootstrap` resamples each fold's held-out samples;
:func:`fold_permutation` shuffles the predictions within each fold (the null of no relation).
"""

from __future__ import annotations

import numpy as np

from ..utils import check_count, check_random_state, fill_doc, validate_type

__all__ = ["fold_bootstrap", "fold_jackknife", "fold_permutation"]


def weighted_r(C: np.ndarray, Y: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Pearson r of every column, for every row of sample weights ``C`` (draws × samples)."""
    w = C.sum(axis=1, keepdims=True)
    my, mp = (C @ Y) / w, (C @ P) / w
    cov = (C @ (Y * P)) / w - my * mp
    vy = (C @ (Y * Y)) / w - my * my
    vp = (C @ (P * P)) / w - mp * mp
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.sqrt(np.clip(vy, 0, None) * np.clip(vp, 0, None))


def _check_inputs(Y: np.ndarray, P: np.ndarray, folds: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    Y, P = np.asarray(Y, dtype=np.float64), np.asarray(P, dtype=np.float64)
    if Y.ndim != 2 or Y.shape != P.shape:
        raise ValueError(f"Y and P must be 2-D arrays of one shape (samples × targets), got {Y.shape} and {P.shape}.")
    if not len(folds):
        raise ValueError("folds must list at least one fold (the held-out sample indices of each).")
    return Y, P


@fill_doc
def fold_bootstrap(
    Y: np.ndarray,
    P: np.ndarray,
    folds: list[np.ndarray],
    n_boot: int,
    random_state: int | np.random.Generator | None = None,
    blocks: bool = False,
    block: int = 1,
    batch: int = 64,
) -> np.ndarray:
    """Bootstrap of the fold-averaged Pearson r: resample each fold's held-out samples (or blocks).

    Each draw resamples, within every fold, its held-out samples with replacement (or, with
    ``blocks`` and a fold longer than ``block``, ``ceil(m / block)`` contiguous blocks of ``block``
    samples at random starts: a moving-block bootstrap for time series), computes every target's r
    on the resampled rows, and averages over folds. The resampled r is a weighted r with each
    sample weighing the times it was drawn, so a batch of draws is a few matrix products.

    Parameters
    ----------
    %(held_out)s
    n_boot : int
        Bootstrap draws.
    %(random_state)s
    blocks : bool
        Resample contiguous blocks (continuous recordings) instead of single samples.
    block : int
        Block length in samples.
    batch : int
        Draws computed at once.

    Returns
    -------
    numpy.ndarray
        ``(n_boot, n_targets)`` fold-averaged r (NaN for a target constant in a resample).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.normal(size=(40, 3)); P = Y + rng.normal(size=(40, 3))
    >>> r = stats.fold_bootstrap(Y, P, [np.arange(20), np.arange(20, 40)], n_boot=200, random_state=0)
    >>> r.shape, bool(0.4 < np.median(r) < 0.9)
    ((200, 3), True)
    """
    Y, P = _check_inputs(Y, P, folds)
    n_boot = check_count("n_boot", n_boot)
    block = check_count("block", block)
    validate_type("blocks", blocks, (bool, np.bool_), "True or False")
    batch = check_count("batch", batch)
    rng = check_random_state(random_state)
    total = np.zeros((n_boot, Y.shape[1]))
    for idx in folds:
        m = len(idx)
        Yf, Pf = Y[idx], P[idx]
        for start in range(0, n_boot, batch):
            b = min(batch, n_boot - start)
            if blocks and m > block:
                n_blocks = -(-m // block)
                starts = rng.integers(0, m - block + 1, size=(b, n_blocks))
                rows = (starts[..., None] + np.arange(block)).reshape(b, -1)
            else:
                rows = rng.integers(0, m, size=(b, m))
            C = np.zeros((b, m))
            np.add.at(C, (np.repeat(np.arange(b), rows.shape[1]), rows.ravel()), 1.0)
            total[start : start + b] += weighted_r(C, Yf, Pf)
    return total / len(folds)


@fill_doc
def fold_jackknife(Y: np.ndarray, P: np.ndarray, folds: list[np.ndarray]) -> np.ndarray:
    """Delete-one jackknife of the fold-averaged Pearson r: each held-out sample left out in turn.

    Row ``j`` is the fold-averaged r of every target with the ``j``-th held-out sample (in the
    order of ``folds``) left out of its fold; the acceleration of BCa intervals
    (:func:`bootstrap_interval`) is computed from these values.

    Parameters
    ----------
    %(held_out)s

    Returns
    -------
    numpy.ndarray
        ``(n_held_out, n_targets)`` delete-one fold-averaged r (NaN where a target is constant).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.normal(size=(20, 2)); P = Y + rng.normal(size=(20, 2))
    >>> stats.fold_jackknife(Y, P, [np.arange(10), np.arange(10, 20)]).shape
    (20, 2)
    """
    Y, P = _check_inputs(Y, P, folds)
    full = np.stack([weighted_r(np.ones((1, len(idx))), Y[idx], P[idx])[0] for idx in folds])
    rows = []
    for f, idx in enumerate(folds):
        C = 1.0 - np.eye(len(idx))  # one row per left-out sample
        rows.append((full.sum(axis=0) - full[f] + weighted_r(C, Y[idx], P[idx])) / len(folds))
    return np.concatenate(rows)


@fill_doc
def fold_permutation(
    Y: np.ndarray,
    P: np.ndarray,
    folds: list[np.ndarray],
    groups: list[np.ndarray],
    n_perm: int,
    random_state: int | np.random.Generator | None = None,
    circular: bool = False,
    batch: int = 256,
) -> np.ndarray:
    """Null group scores: held-out predictions shuffled (or circularly shifted) within each fold.

    A group's score is the mean over its targets of the fold-averaged r. Under a permutation ``π``
    of a fold's rows only the cross products change, so with ``G = (Ŷ/‖Ŷ‖‖P̂‖) P̂ᵀ / n_targets``
    (``Ŷ``, ``P̂`` centred) computed once per fold and group, the permuted score is
    ``Σ_i G[i, π(i)]``: one matrix product per fold, then ``O(rows)`` per permutation instead of a
    pass over every target. Targets constant in a fold are left out of that fold's group mean; a
    group with no such target gets NaN.

    Parameters
    ----------
    %(held_out)s
    groups : list of numpy.ndarray
        Target columns of each group (e.g. the neuroids of a region and subject).
    n_perm : int
        Permutations.
    %(random_state)s
    circular : bool
        Shift the predictions circularly by a random lag between 10 %% and 90 %% of the fold
        (continuous recordings keep their autocorrelation) instead of shuffling them.
    batch : int
        Permutations summed at once.

    Returns
    -------
    numpy.ndarray
        ``(n_perm, n_groups)`` null scores.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> rng = np.random.default_rng(0)
    >>> Y = rng.normal(size=(40, 4)); P = rng.normal(size=(40, 4))
    >>> null = stats.fold_permutation(Y, P, [np.arange(40)], [np.arange(2), np.arange(2, 4)], 500, random_state=0)
    >>> null.shape, bool(abs(null.mean()) < 0.05)
    ((500, 2), True)
    """
    Y, P = _check_inputs(Y, P, folds)
    n_perm = check_count("n_perm", n_perm)
    validate_type("circular", circular, (bool, np.bool_), "True or False")
    batch = check_count("batch", batch)
    rng = check_random_state(random_state)
    total = np.zeros((n_perm, len(groups)))
    for idx in folds:
        m = len(idx)
        if circular:
            shifts = rng.integers(max(1, m // 10), max(2, m - m // 10), size=n_perm)
            perms = (np.arange(m)[None, :] + shifts[:, None]) % m
        else:
            perms = np.argsort(rng.random((n_perm, m)), axis=1)
        Yc = Y[idx] - Y[idx].mean(axis=0)
        Pc = P[idx] - P[idx].mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            norm = np.sqrt((Yc * Yc).sum(axis=0) * (Pc * Pc).sum(axis=0))
        for g, cols in enumerate(groups):
            ok = cols[np.isfinite(norm[cols]) & (norm[cols] > 0)]
            if not len(ok):
                total[:, g] = np.nan
                continue
            G = (Yc[:, ok] / norm[ok]) @ Pc[:, ok].T / len(ok)
            for start in range(0, n_perm, batch):
                block = perms[start : start + batch]
                total[start : start + batch, g] += G[np.arange(m)[None, :], block].sum(axis=1)
    return total / len(folds)
