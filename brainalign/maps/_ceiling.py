"""Noise ceilings of similarity maps: the method's own score between two halves of the trials."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .. import data
from ..methods import MethodInfo
from ..metrics.ceiling import half_averages
from ._cells import Cells

#: Random splits of the trials averaged by a similarity ceiling.
N_SPLITS = 10


def similarity_ceiling(
    method: Any,
    info: MethodInfo,
    recording: xr.DataArray,
    rec: xr.DataArray,
    cells: Cells,
    latencies: list,
    rng: np.random.Generator,
    n_splits: int = N_SPLITS,
) -> np.ndarray | None:
    """The method's own score between two halves of the trials, averaged over random splits.

    With the ``split_half_spearman_brown`` rule (scores that are correlations) the split-half
    value is Spearman–Brown corrected to all trials (ρ) and the ceiling is √ρ, the largest score
    a noise-free model can expect, as for encoders. None when the recording has no trials.
    """
    trials = data.trials(recording, if_fewer="none")
    if trials is None:
        return None
    # The trials in the aligned recording's stimulus order.
    ids = list(np.asarray(trials["stimulus_id"].values))
    where = {v: i for i, v in enumerate(ids)}
    trials = trials.isel(presentation=[where[v] for v in np.asarray(rec["stimulus_id"].values)])
    sums = np.zeros((*cells.shape, len(latencies)))
    counts = np.zeros_like(sums)
    for _ in range(n_splits):
        halves = half_averages(trials, rng)
        if halves is None:
            return None
        A, B = halves
        for t, lat in enumerate(latencies):
            Ah = A.sel(latency=lat) if lat is not None else A
            Bh = B.sel(latency=lat) if lat is not None else B
            for (c, s), cols in cells.items():
                try:
                    value = float(method(Ah.values[:, cols], Bh.values[:, cols]))
                except ValueError:  # e.g. a constant half
                    continue
                if np.isfinite(value):
                    sums[c, s, t] += value
                    counts[c, s, t] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        ceil = sums / counts
    if info.ceiling == "split_half_spearman_brown":
        rho = 2 * ceil / (1 + ceil)
        ceil = np.where(rho > 0, np.sqrt(np.clip(rho, 0, None)), np.nan)
    return ceil
