"""Bootstrap CIs and permutation p-values of similarity maps, all cells with the same draws."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .. import stats
from ..metrics.comparisons import get_comparison
from ..utils import progress
from .scoring import Scorer


def rdm_statistics(
    scorer: Scorer,
    views: dict[tuple[int, int, int], np.ndarray],
    acts: xr.DataArray,
    score: np.ndarray,
    n_boot: int,
    n_perm: int,
    ci: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray | None, ...]:
    """RDM methods: the vectorised RDM statistics of :mod:`brainalign.stats`.

    All layers against all (cell, subject, latency) cells in one call each: every cell is
    resampled and permuted with the same draws. Comparisons that the RDM bootstrap cannot
    resample (the whitened Pearson needs complete RDMs) are bootstrapped by recomputing the RDMs
    on resampled stimuli (:func:`resampling_statistics`). Returns ``(ci_low, ci_high, p_value,
    samples)``, the samples ``(n_boot, *score.shape)``.
    """
    method = scorer.method
    ids = np.asarray(acts["stimulus_id"].values)
    coords = {"stimulus_id": ids, "stimulus_id_2": ids}
    dims = ("stimulus_id", "stimulus_id_2")
    layer_rdms = xr.DataArray(
        np.stack([method.rdm_matrix(B) for B in scorer.blocks]), dims=("layer", *dims), coords=coords
    )
    keys = list(views)
    cell_rdms = xr.DataArray(np.stack([method.rdm_matrix(views[k]) for k in keys]), dims=("cell", *dims), coords=coords)
    lo, hi, p = (np.full(score.shape, np.nan) for _ in range(3))
    samples = None
    index = tuple(np.array(i) for i in zip(*keys, strict=True))  # (c, s, t) of every cell
    seed = int(rng.integers(2**31))
    if n_boot and not get_comparison(method.comparison).resampled:
        lo, hi, _, samples = resampling_statistics(
            scorer, views, acts, score, n_boot, 0, ci, np.random.default_rng(seed)
        )
    elif n_boot:
        boot = stats.bootstrap_stimuli(
            layer_rdms, cell_rdms, method.comparison, n_boot=n_boot, ci=ci, random_state=seed
        )
        lo[(slice(None), *index)] = boot["ci_low"].transpose("layer", "cell").values
        hi[(slice(None), *index)] = boot["ci_high"].transpose("layer", "cell").values
        samples = np.full((n_boot, *score.shape), np.nan)
        samples[(slice(None), slice(None), *index)] = boot["bootstrap"].transpose("bootstrap", "layer", "cell").values
    if n_perm:
        test = stats.permutation_test(layer_rdms, cell_rdms, method.comparison, n_perm=n_perm, random_state=seed + 1)
        p[(slice(None), *index)] = test["p_value"].transpose("layer", "cell").values
    return lo, hi, p, samples


def resampling_statistics(
    scorer: Scorer,
    views: dict[tuple[int, int, int], np.ndarray],
    acts: xr.DataArray,
    score: np.ndarray,
    n_boot: int,
    n_perm: int,
    ci: float,
    rng: np.random.Generator,
) -> tuple[np.ndarray | None, ...]:
    """Any similarity: representations recomputed on resampled (bootstrap) or permuted stimuli.

    Returns ``(ci_low, ci_high, p_value, samples)``, the samples ``(n_boot, *score.shape)``."""
    n = scorer.n_stimuli
    lo = hi = p = samples = None

    def scores_for(reps: Any, xs: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
        """Every cell's scores with the cell data's stimuli taken in the order ``rows``."""
        out = np.full(score.shape, np.nan)
        for (c, s, t), Y in views.items():
            try:
                out[:, c, s, t] = scorer.scores(Y[..., rows, :], reps, xs)
            except ValueError:  # a degenerate resample (e.g. too few distinct stimuli)
                continue
        return out

    if n_boot:
        draws = []
        for _ in progress(range(n_boot), desc="bootstrap"):
            rows = rng.integers(0, n, size=n)
            xs = [B[rows] for B in scorer.blocks]
            draws.append(scores_for(scorer.represent_layers(xs), xs, rows))
        samples = np.stack(draws)
        lo, hi = stats.percentile_interval(samples, ci)
    if n_perm:
        reps = scorer.represent_layers(scorer.blocks)
        null = [
            scores_for(reps, scorer.blocks, rng.permutation(n)) for _ in progress(range(n_perm), desc="permutations")
        ]
        p = stats.p_value(np.stack(null), score[None], "greater" if scorer.info.higher_is_better else "less")
    return lo, hi, p, samples
