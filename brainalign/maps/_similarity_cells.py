"""Similarity maps: each layer represented once, compared with every cell in one batched call."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import xarray as xr

from .. import data
from ..methods import MethodInfo
from ..metrics._arrays import float_dtype
from ..planning import MIN_BATCHED_CELLS, streams_layers
from ..utils import logger, progress
from ._ceiling import check_normalized, explain_ceilings, similarity_ceiling
from ._cells import Cells
from ._layers import LayerBlocks, stream_scores
from ._statistics import rdm_jackknife, rdm_statistics, resampling_statistics, sample_variables
from .scoring import Scorer, clip_to_range


class CellViews(Mapping):
    """The data of every ``(cell, subject, latency)`` as the method sees it, sliced when read
    (a searchlight's overlapping cells are never all copied)."""

    def __init__(self, values: list[np.ndarray], columns: dict[tuple[int, int, int], np.ndarray]) -> None:
        self.values, self.columns = values, columns

    def __getitem__(self, key: tuple[int, int, int]) -> np.ndarray:
        return self.values[key[2]][..., self.columns[key]]

    def __iter__(self) -> Iterator[tuple[int, int, int]]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)


def trials_needed(recording: xr.DataArray, name: str) -> None:
    """Refuse a recording without trials for a method that needs them."""
    if "repetition" not in recording.dims:
        raise ValueError(
            f"{name} compares trial-resolved responses, so the recording must keep its trials on a "
            "'repetition' dim (presentation × neuroid × repetition; build it with "
            "data.recording(values_with_trials, stimulus_id=..., ...) from a 3-D array). This recording has "
            f"dims {recording.dims}."
        )


def similarity_map(
    activations: xr.DataArray,
    recording: xr.DataArray,
    method: Any,
    name: str,
    info: MethodInfo,
    *,
    regions: Any,
    ceiling: bool,
    n_boot: int,
    n_perm: int,
    ci: float,
    rng: np.random.Generator,
    repetitions: str | None,
    on_missing: str,
    on_error: str,
    keep_samples: bool = False,
    workers: int = 1,
    ci_method: str = "percentile",
) -> xr.Dataset:
    """The map of a similarity method over ``regions``' cells (see :func:`brainalign.alignment_map`).

    Layers are read one at a time (:class:`._layers.LayerBlocks`; lazy activations stay on disk);
    with fewer cells than layers the layers are streamed, ``workers`` at a time.
    """
    if info.needs_trials:
        trials_needed(recording, name)
        if repetitions == "average":
            raise ValueError(f"{name} needs the trials; do not pass repetitions='average'.")
        repetitions = "keep"
    acts, rec = data.align(activations, recording, repetitions=repetitions, on_missing=on_missing)
    kind = data.detect_kind(rec)
    if kind == "continuous":  # pragma: no cover - align already refuses this pairing
        raise ValueError("similarity methods need a condition-based or time-resolved recording.")
    layers = data.layer_names(acts)
    cells = Cells.from_recording(rec, regions)
    latency = rec["latency"].values if kind == "time_resolved" else None
    latencies = [None] if latency is None else list(latency)
    blocks = LayerBlocks(acts, layers)
    stream = streams_layers(info, len(cells.items()) * len(latencies), len(layers), bool(n_boot or n_perm))
    scorer = None if stream else Scorer(method, info, name, blocks, layers, on_error)

    n_l, (n_c, n_s), n_t = len(layers), cells.shape, len(latencies)
    score = np.full((n_l, n_c, n_s, n_t), np.nan)
    items = cells.items()
    data_t = []
    for t, lat in enumerate(latencies):
        R = rec.sel(latency=lat) if lat is not None else rec
        values = _cell_values(R, info.needs_trials)
        data_t.append(values)
        if stream:
            continue
        if scorer.cells_batched and len(items) >= MIN_BATCHED_CELLS:
            try:
                batch = scorer.scores_cells(values, [cols for _, cols in items])
            except ValueError:  # a degenerate cell: scored one by one below, to name it
                pass
            else:
                for i, ((c, s), _) in enumerate(items):
                    score[:, c, s, t] = batch[:, i]
                continue
        for (c, s), cols in progress(
            items, desc=f"{name}: cells", total=len(items), disable=True if len(items) < 50 else None
        ):
            try:
                score[:, c, s, t] = scorer.scores(values[..., cols])
            except ValueError as err:
                message = f"{name}: {cells.dim} {cells.labels[c]!r} of subject {cells.subjects[s]!r}: {err}"
                if on_error == "raise":
                    raise ValueError(message) from err
                logger.warning("%s (scored NaN)", message)
    views = CellViews(data_t, {(c, s, t): cols for (c, s), cols in items for t in range(n_t)})
    if stream:
        labels = {(c, s, t): f"{cells.dim} {cells.labels[c]!r} of subject {cells.subjects[s]!r}" for c, s, t in views}
        for (c, s, t), row in stream_scores(method, name, blocks, views, labels, on_error, workers).items():
            score[:, c, s, t] = row
    working = "float32" if "float32" in (float_dtype(acts), float_dtype(rec)) else "float64"
    score = clip_to_range(score, info, name, working)
    values: dict[str, np.ndarray] = {"score": score}

    if ceiling and info.ceiling != "none":
        found = similarity_ceiling(method, info, recording, rec, cells, latencies, rng)
        if found is not None:
            values.update(ceiling=found.value, ceiling_low=found.low, ceiling_high=found.high)
            explain_ceilings(found.reasons, cells, latencies, name)
            if info.higher_is_better:
                with np.errstate(invalid="ignore", divide="ignore"):
                    values["normalized"] = score / np.where(found.value > 0, found.value, np.nan)[None]
                check_normalized(values["normalized"], layers, cells, latencies, name)
    if n_boot or n_perm:
        statistics = rdm_statistics if info.kernels == "rdm" else resampling_statistics
        lo, hi, p, p_fwe, samples = statistics(scorer, views, acts, score, n_boot, n_perm, ci, rng, ci_method)
        if n_boot:
            values["ci_low"], values["ci_high"] = lo, hi
        if keep_samples:
            values["boot"] = clip_to_range(samples, info, name, working)
        if n_perm:
            values["p_value"], values["p_fwe"] = p, p_fwe
    # The jackknife of stimuli (stats.pairwise's default test for one subject): RDM methods keep it with the samples.
    found_jack = (
        rdm_jackknife(scorer, views, acts, score.shape, n_boot, rng) if keep_samples and info.kernels == "rdm" else None
    )
    jack = {} if found_jack is None else dict(zip(("jack", "half"), found_jack, strict=True))
    if latency is None:
        values = {k: v[..., 0] for k, v in values.items()}
        jack = {k: v[..., 0] for k, v in jack.items()}
    out = cells.dataset(values, layers, latency)
    if jack:
        out = out.assign(sample_variables(jack, cells, layers, latency))
    out.attrs.update(
        higher_is_better=int(info.higher_is_better),
        score=info.score,
        n_stimuli=int(acts.sizes["presentation"]),
        model=str(acts["model"].values[0]),
        ceiling_method=info.ceiling if "ceiling" in values else "none",
    )
    return out


def _cell_values(R: xr.DataArray, needs_trials: bool) -> np.ndarray:
    """The recording's values as the method sees a cell: ``(presentation, neuroid)``, or
    ``(repetition, presentation, neuroid)`` for methods that need trials."""
    if needs_trials:
        return R.transpose("repetition", "presentation", "neuroid").values
    if "repetition" in R.dims:
        R = R.mean("repetition")
    return R.transpose("presentation", "neuroid").values
