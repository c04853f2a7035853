"""The jobs of an identifiability study (private module, public names): one simulation and every
method's map per job, run in process or on Dask workers."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from . import data, simulate


def run_job(
    acts: xr.DataArray, job: dict[str, Any], *, truth, snrs, neuroid_levels, readout, methods, labels
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
        amap = alignment_map(acts, recording, method, ceiling=False, on_error="nan")
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
