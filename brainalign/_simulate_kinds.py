"""The recording kinds a simulation makes from a planted signal (private module, public names):
condition-based trials, evoked time courses, and continuous runs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from . import data
from .utils import check_option


def noise(shape: tuple[int, ...], scale: np.ndarray, snr: float, rng: np.random.Generator) -> np.ndarray:
    if not np.isfinite(snr):
        return np.zeros(shape)
    return rng.normal(size=shape) * (scale / np.sqrt(snr))


def condition_recording(
    signal: np.ndarray,
    ids: np.ndarray,
    region: np.ndarray,
    subject: str,
    snr: float,
    n_rep: int,
    rng: np.random.Generator,
    attrs: dict[str, Any],
) -> xr.DataArray:
    sd = signal.std(axis=0)
    trials = signal[:, :, None] + noise((*signal.shape, n_rep), sd[None, :, None], snr, rng)
    values = trials if n_rep > 1 else trials[:, :, 0]
    return data.recording(values, stimulus_id=ids, subject=subject, region=region, attrs=attrs)


def evoked(latency: np.ndarray, peak: float, width: float = 0.05) -> np.ndarray:
    """A smooth evoked time course: a Gaussian bump at ``peak`` seconds."""
    return np.exp(-0.5 * ((latency - peak) / width) ** 2)


def time_resolved_recording(
    signal: np.ndarray,
    ids: np.ndarray,
    region: np.ndarray,
    subject: str,
    snr: float,
    n_rep: int,
    rng: np.random.Generator,
    attrs: dict[str, Any],
    names: list[str],
    n_sensors: int | None,
    latency: np.ndarray | None,
    peak_latency: Mapping[str, float] | None,
) -> xr.DataArray:
    latency = np.round(np.arange(0.0, 0.61, 0.01), 10) if latency is None else np.asarray(latency, dtype=float)
    if peak_latency is None:
        peaks = dict(zip(names, np.linspace(0.1, 0.4, len(names)), strict=True))
    else:
        missing = [r for r in names if r not in peak_latency]
        if missing:
            raise ValueError(f"peak_latency has no value for region(s) {missing}.")
        peaks = {r: float(peak_latency[r]) for r in names}
    n_sources = signal.shape[1]
    n_sensors = min(64, 2 * n_sources) if n_sensors is None else n_sensors
    if not isinstance(n_sensors, (int, np.integer)) or n_sensors < 1:
        raise ValueError(f"n_sensors must be a positive integer, got {n_sensors!r}.")
    courses = np.stack([evoked(latency, peaks[r]) for r in region])  # sources × latency
    sources = signal[:, :, None] * courses[None]  # stimuli × sources × latency
    mixing = rng.normal(size=(n_sensors, n_sources)) / np.sqrt(n_sources)
    sensors = np.einsum("es,nsl->nel", mixing, sources)
    scale = sensors.std(axis=0).mean(axis=-1)  # per sensor, over stimuli, averaged over latency
    trials = sensors[..., None] + noise((*sensors.shape, n_rep), scale[None, :, None, None], snr, rng)
    values = trials if n_rep > 1 else trials[..., 0]
    dims = ("presentation", "neuroid", "latency", "repetition")[: values.ndim]
    attrs = {**attrs, "peak_latency": peaks, "n_sources": int(n_sources), "sensor_mixing": "gaussian"}
    return data.recording(
        values,
        dims=dims,
        stimulus_id=ids,
        latency=latency,
        subject=subject,
        region="sensors",
        neuroid_coords={"channel": [f"S{i:03d}" for i in range(n_sensors)]},
        attrs=attrs,
    )


def continuous_recording(
    signal: np.ndarray,
    ids: np.ndarray,
    region: np.ndarray,
    subject: str,
    snr: float,
    n_rep: int,
    rng: np.random.Generator,
    attrs: dict[str, Any],
    tr: float,
    isi: float,
    n_runs: int,
    hrf_model: str,
) -> xr.DataArray:
    check_option("hrf_model", hrf_model, ("glover", "spm"))
    for name, value in (("tr", tr), ("isi", isi)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}.")
    order = np.concatenate([rng.permutation(len(ids)) for _ in range(n_rep)])
    chunks = np.array_split(order, n_runs)
    if min(len(c) for c in chunks) < 2:
        raise ValueError(f"n_runs={n_runs} leaves runs with fewer than 2 events; use fewer runs.")
    blocks, times, runs, events = [], [], [], {"onset": [], "stimulus_id": [], "run": []}
    for r, chunk in enumerate(chunks):
        onsets = isi * (1.0 + np.arange(len(chunk)))
        n_frames = int(np.ceil((onsets[-1] + 20.0) / tr))
        frame_times = tr * np.arange(n_frames)
        W = data.hrf_matrix(frame_times, onsets, hrf_model=hrf_model, step=tr)
        blocks.append(W @ signal[chunk])
        times.append(frame_times)
        runs += [r] * n_frames
        events["onset"] += onsets.tolist()
        events["stimulus_id"] += [ids[i].item() if isinstance(ids[i], np.generic) else ids[i] for i in chunk]
        events["run"] += [r] * len(chunk)
    clean = np.concatenate(blocks)
    sd = clean.std(axis=0)
    values = clean + noise(clean.shape, sd[None, :], snr, rng)
    attrs = {**attrs, "events": events, "isi": float(isi), "hrf_model": hrf_model}
    return data.recording(
        values, time=np.concatenate(times), run=np.asarray(runs), tr=tr, subject=subject, region=region, attrs=attrs
    )
