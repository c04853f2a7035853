"""The jobs of an identifiability study (private module, public names): one simulation and every
method's map per job, run in process or on Dask workers."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from . import data, simulate


def plan_study(
    acts: xr.DataArray,
    jobs: list[dict[str, Any]],
    *,
    truth,
    snrs,
    neuroid_levels,
    readout,
    methods,
    labels,
    budget=None,
) -> None:
    """Refuse, before anything is simulated, a study whose largest map would not fit: the memory
    planner's estimate of one job's map (its stimuli, every layer, its simulated regions) per method.
    Takes :func:`run_job`'s keywords (the readout does not change the sizes)."""
    from .planning import estimate_from_shapes

    layer_of = np.asarray(acts["layer"].values)
    units = [int(np.sum(layer_of == name)) for name in data.layer_names(acts)]
    n_stimuli = max(job["n_stimuli"] for job in jobs)
    per_region = len(truth) * len(snrs) * max(len(job["repeats"]) for job in jobs)
    for method, label in zip(methods, labels, strict=True):
        plan = estimate_from_shapes(
            n_stimuli,
            units,
            per_region * sum(neuroid_levels),
            per_region * len(neuroid_levels),
            method,
            itemsize=acts.dtype.itemsize,
            recording_itemsize=8,
            budget=budget,
        )
        try:
            plan.check(budget)
        except ValueError as err:
            raise ValueError(
                f"identifiability: method {label!r}, one map of {per_region * len(neuroid_levels)} simulated regions: "
                f"{err} For the study: lower max_regions (regions per map), n_neuroids or n_stimuli."
            ) from None


def run_job(
    acts: xr.DataArray, job: dict[str, Any], *, truth, snrs, neuroid_levels, readout, methods, labels, budget=None
) -> np.ndarray:
    """Scores ``(method, snr, n_neuroids, true_layer, repeat_in_job, candidate_layer)`` of one job."""
    from .maps import alignment_map

    rng = np.random.default_rng(job["seed"])
    if job["resample"]:
        rows = np.sort(rng.choice(acts.sizes["presentation"], size=job["n_stimuli"], replace=False))
        acts = acts.isel(presentation=rows)
    parts, names = [], []
    for v, n_neur in enumerate(neuroid_levels):
        for s, ratio in enumerate(snrs):
            # Every true layer × repeat of this condition in one simulation call (fresh weights and
            # noise per region).
            regions = {
                f"{s}|{v}|{t}|{r_i}": layer for r_i in range(len(job["repeats"])) for t, layer in enumerate(truth)
            }
            rec = simulate.make_recording(
                acts, regions, n_neuroids=n_neur, snr=ratio, readout=readout, random_state=rng
            )
            parts.append(rec.values)
            names.append(np.asarray(rec["region"].values))
    values = np.concatenate(parts, axis=1)
    names = np.concatenate(names)
    recording = data.recording(values, stimulus_id=acts["stimulus_id"].values, subject="sim", region=np.asarray(names))
    layers = data.layer_names(acts)
    out = np.full((len(methods), len(snrs), len(neuroid_levels), len(truth), len(job["repeats"]), len(layers)), np.nan)
    for m, method in enumerate(methods):
        amap = alignment_map(acts, recording, method, ceiling=False, on_error="nan", memory_budget=budget)
        score = amap["score"].transpose("layer", "region")
        for j, region in enumerate(score["region"].values):
            s, v, t, r_i = (int(x) for x in str(region).split("|"))
            out[m, s, v, t, r_i] = score.values[:, j]
    return out


def run_dask(
    acts: xr.DataArray, jobs: list[dict[str, Any]], kwargs: dict[str, Any], scheduler: str
) -> list[np.ndarray]:
    from .utils import dask_client, quietly

    with dask_client(scheduler) as client:
        shared = client.scatter(acts, broadcast=True)
        futures = [client.submit(quietly, run_job, shared, job, pure=False, **kwargs) for job in jobs]
        return client.gather(futures)
