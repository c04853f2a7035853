"""Bootstrap CIs and permutation p-values of similarity maps, all cells with the same draws."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from .. import stats
from ..metrics.comparisons import get_comparison
from ..utils import progress
from .scoring import Scorer

#: Working memory of the permutation gathers of one chunk of cells (bytes).
PERMUTATION_BYTES = 64 * 2**20
#: Cells whose RDMs are resampled together.
CELLS_PER_CHUNK = 64


class Statistics(NamedTuple):
    """What the resampling statistics of a similarity map give (None where not asked)."""

    ci_low: np.ndarray | None
    ci_high: np.ndarray | None
    p_value: np.ndarray | None
    p_fwe: np.ndarray | None
    #: The bootstrap samples ``(n_boot, *score.shape)``, the same resamples for every layer.
    samples: np.ndarray | None


def max_statistic_p(extreme: np.ndarray, observed: np.ndarray, higher_is_better: bool = True) -> np.ndarray:
    """Family-wise error p-values by the max statistic (Nichols & Holmes 2002).

    ``extreme`` holds, per permutation, the most extreme score over the whole map (its max; the
    min for distances), every cell permuted with the same stimulus permutation. A cell's
    ``p_fwe`` is ``(1 + #{permutations whose extreme is at least as extreme as the cell's
    score}) / (1 + #permutations)``, so ``p_fwe < α`` anywhere under the null happens with
    probability ≤ α. Ties within 1e-12 count, NaN permutations are left out, NaN scores get NaN.

    Examples
    --------
    >>> import numpy as np
    >>> max_statistic_p(np.array([0.1, 0.5, 0.2]), np.array([0.4, 0.6])).tolist()
    [0.5, 0.25]
    """
    sign = 1.0 if higher_is_better else -1.0
    e = np.sort(sign * extreme[np.isfinite(extreme)])
    obs = sign * np.asarray(observed, dtype=float)
    count = e.size - np.searchsorted(e, np.where(np.isfinite(obs), obs, np.inf) - 1e-12, side="left")
    p = (1.0 + count) / (1.0 + e.size)
    return np.where(np.isfinite(obs), p, np.nan)


def map_extreme(null: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """The most extreme score of each permutation (first axis) over all other axes (NaN ignored)."""
    flat = null.reshape(len(null), -1)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN permutations stay NaN
        return np.nanmax(flat, axis=1) if higher_is_better else np.nanmin(flat, axis=1)


def rdm_statistics(
    scorer: Scorer,
    views: Mapping[tuple[int, int, int], np.ndarray],
    acts: xr.DataArray,
    score: np.ndarray,
    n_boot: int,
    n_perm: int,
    ci: float,
    rng: np.random.Generator,
    ci_method: str = "percentile",
) -> Statistics:
    """RDM methods: the vectorised RDM statistics of :mod:`brainalign.stats`.

    All layers against chunks of (cell, subject, latency) cells, every cell resampled and
    permuted with the same draws (the same seed in every chunk), so memory stays bounded for
    searchlights of many centres; ``p_fwe`` takes the max statistic over the whole map.
    Comparisons that the RDM bootstrap cannot resample (the whitened Pearson needs complete
    RDMs) are bootstrapped by recomputing the RDMs on resampled stimuli
    (:func:`resampling_statistics`).
    """
    method = scorer.method
    ids = np.asarray(acts["stimulus_id"].values)
    coords = {"stimulus_id": ids, "stimulus_id_2": ids}
    dims = ("stimulus_id", "stimulus_id_2")
    layer_rdms = xr.DataArray(scorer.square_layer_rdms(), dims=("layer", *dims), coords=coords)
    keys = list(views)
    lo, hi, p = (np.full(score.shape, np.nan) for _ in range(3))
    seed = int(rng.integers(2**31))
    n = len(ids)
    batch = max(1, min(1000, PERMUTATION_BYTES // (8 * CELLS_PER_CHUNK * n * n)))
    resample = n_boot and get_comparison(method.comparison).resampled
    samples = np.full((n_boot, *score.shape), np.nan) if resample else None
    if n_boot and not resample:
        lo, hi, _, _, samples = resampling_statistics(
            scorer, views, acts, score, n_boot, 0, ci, np.random.default_rng(seed), ci_method
        )
    extremes = []
    chunks = range(0, len(keys), CELLS_PER_CHUNK)
    for start in progress(chunks, desc="RDM statistics", unit="chunk", disable=True if len(chunks) < 4 else None):
        part = keys[start : start + CELLS_PER_CHUNK]
        index = tuple(np.array(i) for i in zip(*part, strict=True))  # (c, s, t) of every cell
        cell_rdms = xr.DataArray(
            np.stack([method.rdm_matrix(views[k]) for k in part]), dims=("cell", *dims), coords=coords
        )
        if resample:
            boot = stats.bootstrap_stimuli(
                layer_rdms, cell_rdms, method.comparison, n_boot=n_boot, ci=ci, random_state=seed
            )
            lo[(slice(None), *index)] = boot["ci_low"].transpose("layer", "cell").values
            hi[(slice(None), *index)] = boot["ci_high"].transpose("layer", "cell").values
            draws = boot["bootstrap"].transpose("bootstrap", "layer", "cell").values
            samples[(slice(None), slice(None), *index)] = draws
        if n_perm:
            test = stats.permutation_test(
                layer_rdms, cell_rdms, method.comparison, n_perm=n_perm, random_state=seed + 1, batch_size=batch
            )
            p[(slice(None), *index)] = test["p_value"].transpose("layer", "cell").values
            extremes.append(map_extreme(test["null"].values, True))
    p_fwe = None
    if n_perm:
        p_fwe = max_statistic_p(map_extreme(np.stack(extremes, axis=1), True), score)
    if resample and ci_method != "percentile":  # the same resamples, another interval rule
        jack = jackknife_scores(scorer, views, score) if ci_method == "bca" else None
        lo, hi = stats.bootstrap_interval(samples, score, ci, ci_method, jack)
    return Statistics(lo, hi, p, p_fwe, samples)


def jackknife_scores(scorer: Scorer, views: Mapping[tuple[int, int, int], np.ndarray], score: np.ndarray) -> np.ndarray:
    """Delete-one jackknife over stimuli ``(n_stimuli, *score.shape)``: every cell scored without
    each stimulus in turn (BCa's acceleration); NaN where a reduced set cannot be scored."""
    n = scorer.n_stimuli
    out = np.full((n, *score.shape), np.nan)
    layers = list(scorer.blocks)  # read once (lazy layers are not re-read for every draw)
    for i in progress(range(n), desc="jackknife"):
        rows = np.delete(np.arange(n), i)
        xs = [B[rows] for B in layers]
        reps = scorer.represent_layers(xs)
        for (c, s, t), Y in views.items():
            try:
                out[i, :, c, s, t] = scorer.scores(Y[..., rows, :], reps, xs)
            except ValueError:  # a degenerate reduced set (e.g. a constant column left)
                continue
    return out


def resampling_statistics(
    scorer: Scorer,
    views: Mapping[tuple[int, int, int], np.ndarray],
    acts: xr.DataArray,
    score: np.ndarray,
    n_boot: int,
    n_perm: int,
    ci: float,
    rng: np.random.Generator,
    ci_method: str = "percentile",
) -> Statistics:
    """Any similarity: representations recomputed on resampled (bootstrap) or permuted stimuli."""
    n = scorer.n_stimuli
    lo = hi = p = p_fwe = samples = None
    layers = list(scorer.blocks)  # read once: the planner budgets every layer held for statistics

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
            xs = [B[rows] for B in layers]
            draws.append(scores_for(scorer.represent_layers(xs), xs, rows))
        samples = np.stack(draws)
        jack = jackknife_scores(scorer, views, score) if ci_method == "bca" else None
        lo, hi = stats.bootstrap_interval(samples, score, ci, ci_method, jack)
    if n_perm:
        reps = scorer.represent_layers(layers)
        null = [scores_for(reps, layers, rng.permutation(n)) for _ in progress(range(n_perm), desc="permutations")]
        null = np.stack(null)
        higher = scorer.info.higher_is_better
        p = stats.p_value(null, score[None], "greater" if higher else "less")
        p_fwe = max_statistic_p(map_extreme(null, higher), score, higher)
    return Statistics(lo, hi, p, p_fwe, samples)


def rdm_jackknife(
    scorer: Scorer,
    views: Mapping[tuple[int, int, int], np.ndarray],
    acts: xr.DataArray,
    shape: tuple[int, ...],
    n_half: int,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray] | None:
    """RDM methods: the leave-one-stimulus-out scores ``(stimulus, *shape)`` and the scores on
    ``n_half`` random halves of the stimuli ``(half, *shape)`` (:func:`brainalign.stats.jackknife_stimuli`),
    the same halves for every cell; None for comparisons that cannot be computed on a subset of pairs."""
    method = scorer.method
    if not get_comparison(method.comparison).resampled:
        return None
    ids = np.asarray(acts["stimulus_id"].values)
    coords = {"stimulus_id": ids, "stimulus_id_2": ids}
    dims = ("stimulus_id", "stimulus_id_2")
    layer_rdms = xr.DataArray(scorer.square_layer_rdms(), dims=("layer", *dims), coords=coords)
    jack, half = np.full((len(ids), *shape), np.nan), np.full((n_half, *shape), np.nan)
    seed = int(rng.integers(2**31))
    keys = list(views)
    for start in range(0, len(keys), CELLS_PER_CHUNK):
        part = keys[start : start + CELLS_PER_CHUNK]
        index = tuple(np.array(i) for i in zip(*part, strict=True))
        cell_rdms = xr.DataArray(
            np.stack([method.rdm_matrix(views[k]) for k in part]), dims=("cell", *dims), coords=coords
        )
        res = stats.jackknife_stimuli(layer_rdms, cell_rdms, method.comparison, n_half=n_half, random_state=seed)
        jack[(slice(None), slice(None), *index)] = res["jackknife"].transpose("stimulus", "layer", "cell").values
        half[(slice(None), slice(None), *index)] = res["half"].transpose("half", "layer", "cell").values
    return jack, half


def sample_variables(
    arrays: dict[str, np.ndarray], cells: Any, layers: list[str], latency: Any
) -> dict[str, xr.DataArray]:
    """``{"jack": (stimulus, layer, cell, subject[, latency]), "half": (half, ...)}`` → map variables
    whose leading dim names the resampling (``stimulus``: left out; ``half_sample``)."""
    return {
        name: cells.dataset({name: arrays[name]}, layers, latency)[name].rename(sample=dim)
        for name, dim in (("jack", "stimulus"), ("half", "half_sample"))
    }
