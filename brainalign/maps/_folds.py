"""Resampling statistics of the map (temporary home until they join :mod:`brainalign.stats`)."""

from __future__ import annotations

import warnings

import numpy as np


def percentile_interval(samples: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over the first axis, NaNs (degenerate resamples) left out."""
    lo, hi = (1 - ci) / 2 * 100, (1 + ci) / 2 * 100
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(samples, lo, axis=0), np.nanpercentile(samples, hi, axis=0)


def weighted_r(C: np.ndarray, Y: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Pearson r of every column, for every row of sample weights ``C`` (draws × samples)."""
    w = C.sum(axis=1, keepdims=True)
    my, mp = (C @ Y) / w, (C @ P) / w
    cov = (C @ (Y * P)) / w - my * mp
    vy = (C @ (Y * Y)) / w - my * my
    vp = (C @ (P * P)) / w - mp * mp
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.sqrt(np.clip(vy, 0, None) * np.clip(vp, 0, None))


def fold_bootstrap(
    Y: np.ndarray,
    P: np.ndarray,
    folds: list[np.ndarray],
    n_boot: int,
    rng: np.random.Generator,
    blocks: bool,
    block: int,
    batch: int = 64,
) -> np.ndarray:
    """Bootstrap of the fold-averaged r: resample each fold's held-out samples (or blocks)."""
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


def fold_permutation(
    Y: np.ndarray,
    P: np.ndarray,
    folds: list[np.ndarray],
    groups: list[np.ndarray],
    n_perm: int,
    rng: np.random.Generator,
    circular: bool,
    batch: int = 256,
) -> np.ndarray:
    """Null cell scores: held-out predictions shuffled (or circularly shifted) within each fold.

    A cell's score is the mean over its targets of the fold-averaged r. Under a permutation ``π``
    of a fold's rows only the cross products change, so with ``G = (Ŷ/‖Ŷ‖‖P̂‖) P̂ᵀ / n_targets``
    (``Ŷ``, ``P̂`` centred) computed once per fold and cell, the permuted score is
    ``Σ_i G[i, π(i)]``: one matrix product per fold, then ``O(rows)`` per permutation instead of a
    pass over every target.
    """
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
