"""Encoder maps: one fit per layer over all neuroids, then cell means, ceilings and statistics."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .. import data
from ..methods import MethodInfo
from ..stats import bootstrap_interval, fold_bootstrap, fold_jackknife, fold_permutation, p_value
from ..utils import progress
from ._ceiling import check_normalized
from ._cells import Cells
from ._statistics import map_extreme, max_statistic_p


def encoder_map(
    acts: xr.DataArray,
    recording: xr.DataArray,
    protocol: Any,
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
    ci_method: str = "percentile",
) -> xr.Dataset:
    """The map of an encoder (a :class:`brainalign.Encoding`) over ``regions``' cells."""
    if not info.resampling and (n_boot or n_perm):
        raise ValueError(
            f"{name} maps give each band's share of the variance; bootstrap and permutations are available "
            "for the single-layer encoders (ridge, attention_readout)."
        )
    want = bool(n_boot or n_perm)
    if n_boot and ci_method == "bca" and data.detect_kind(recording) == "continuous":
        raise ValueError(
            "ci_method='bca' needs a delete-one jackknife over stimuli; a continuous recording is bootstrapped in "
            "blocks of samples, for which it is not defined. Use ci_method='percentile' or 'basic'."
        )
    scores = protocol.run(
        acts,
        recording,
        ceiling="auto" if ceiling else False,
        repetitions=repetitions,
        on_missing=on_missing,
        random_state=int(rng.integers(2**31)),
        return_predictions=want,
    )
    cells = Cells.from_recording(scores, regions)  # encode keeps the recording's neuroid coordinates
    latency = scores["latency"].values if "latency" in scores.dims else None
    n_lat = 1 if latency is None else len(latency)
    target_dims = ["neuroid", "latency"] if latency is not None else ["neuroid"]

    def cell_means(var: xr.DataArray) -> np.ndarray:
        """(lead..., neuroid[, latency]) → (lead..., cell, subject[, latency])."""
        lead = [d for d in var.dims if d not in target_dims]
        v = var.transpose(*lead, *target_dims).values
        out = cells.target_means(v.reshape(*v.shape[: len(lead)], -1), n_lat)
        return out if latency is not None else out[..., 0]

    values: dict[str, np.ndarray] = {}
    if info.multi_layer:
        layers = [str(b) for b in scores["band"].values]
        values["score"] = cell_means(scores["r2_split"])  # each band's held-out variance
    else:
        layers = [str(v) for v in scores["layer"].values]
        values["score"] = cell_means(scores["r"])
    if "ceiling" in scores:
        rho = scores["ceiling"].where(scores["ceiling"] > 0)
        ceil = cell_means(rho) if info.multi_layer else cell_means(np.sqrt(rho))
        values["ceiling"] = ceil
        with np.errstate(invalid="ignore", divide="ignore"):
            values["normalized"] = values["score"] / ceil[None]
        check_normalized(values["normalized"], layers, cells, [None] if latency is None else list(latency), name)
    if want:
        values.update(
            _statistics(
                scores,
                cells,
                values["score"],
                target_dims,
                latency,
                protocol,
                name,
                n_boot,
                n_perm,
                (ci, ci_method),
                rng,
            )
        )
    out = cells.dataset(values, layers, latency)
    out.attrs.update(
        higher_is_better=1,
        score=info.score,
        cv=scores.attrs["cv"],
        n_folds=scores.attrs["n_folds"],
        cv_groups=scores.attrs["cv_groups"],
        delays=scores.attrs["delays"],
        hrf_model=scores.attrs.get("hrf_model", "none"),
        ceiling_method=scores.attrs["ceiling"],
        n_alpha_at_grid_edge=scores.attrs.get("n_alpha_at_grid_edge", 0),
        n_stimuli=int(scores.attrs["n_samples"]),
        model=scores.attrs["model"],
    )
    return out


def _statistics(scores, cells, score, target_dims, latency, protocol, name, n_boot, n_perm, ci, rng):
    """Bootstrap of each fold's held-out rows and a permutation of held-out predictions within folds;
    ``score`` is the map's score over ``(layer, cell, subject[, latency])``.

    ``ci`` is ``(coverage, ci_method)``; BCa's jackknife leaves out each held-out row in turn."""
    ci, ci_method = ci
    row = "time" if "time" in scores["target"].dims else "presentation"
    continuous = row == "time"
    n_rows, n_lat = scores.sizes[row], 1 if latency is None else len(latency)
    Y = scores["target"].transpose(row, *target_dims).values.reshape(n_rows, -1).astype(np.float64)
    folds = [np.flatnonzero(scores["fold"].values == f) for f in np.unique(scores["fold"].values) if f >= 0]
    P_all = scores["prediction"].transpose("layer", row, *target_dims).values.reshape(score.shape[0], n_rows, -1)
    groups = cells.target_groups(n_lat)
    boots, nulls, jacks = [], [], []
    for k in progress(range(score.shape[0]), desc=f"{name}: statistics"):
        P = P_all[k].astype(np.float64)
        if n_boot:
            r_boot = fold_bootstrap(Y, P, folds, n_boot, rng, continuous, protocol.block)
            boots.append(cells.target_means(r_boot, n_lat))
            if ci_method == "bca":
                jacks.append(cells.target_means(fold_jackknife(Y, P, folds), n_lat))
        if n_perm:
            null = fold_permutation(Y, P, folds, groups, n_perm, rng, continuous)
            nulls.append(null.reshape(n_perm, *cells.shape, n_lat))

    def to_cells(stack: np.ndarray) -> np.ndarray:  # (layer, draws, ...) → (draws, layer, cell, subject[, lat])
        v = np.moveaxis(stack, 1, 0)
        return v if latency is not None else v[..., 0]

    out: dict[str, np.ndarray] = {}
    if n_boot:
        jack = to_cells(np.stack(jacks)) if jacks else None
        out["ci_low"], out["ci_high"] = bootstrap_interval(to_cells(np.stack(boots)), score, ci, ci_method, jack)
    if n_perm:
        null = to_cells(np.stack(nulls))
        out["p_value"] = p_value(null, score[None], "greater")
        # Each layer's permutations are shared by all its cells (a layer's draws are its own: a
        # max over independent draws is stochastically larger, so p_fwe stays conservative).
        out["p_fwe"] = max_statistic_p(map_extreme(null, True), score)
    return out
