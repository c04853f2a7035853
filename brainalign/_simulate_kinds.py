"""The recording kinds a simulation makes from a planted signal (private module, public names):
condition-based trials, evoked time courses, and continuous runs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from . import data
from .utils import check_option


@dataclass(frozen=True)
class Planted:
    """What every recording kind is made from: the planted signal (stimuli × sources), the stimulus
    ids, each source's region, the subject, the noise level, repetitions, generator and attrs."""

    signal: np.ndarray
    ids: np.ndarray
    region: np.ndarray
    subject: str
    snr: float
    n_rep: int
    rng: np.random.Generator
    attrs: dict[str, Any]

    def noise(self, shape: tuple[int, ...], scale: np.ndarray) -> np.ndarray:
        """Gaussian noise of standard deviation ``scale / sqrt(snr)`` (zeros at infinite ``snr``)."""
        if not np.isfinite(self.snr):
            return np.zeros(shape)
        return self.rng.normal(size=shape) * (scale / np.sqrt(self.snr))


def condition_recording(p: Planted) -> xr.DataArray:
    signal = p.signal
    sd = signal.std(axis=0)
    trials = signal[:, :, None] + p.noise((*signal.shape, p.n_rep), sd[None, :, None])
    values = trials if p.n_rep > 1 else trials[:, :, 0]
    return data.recording(values, stimulus_id=p.ids, subject=p.subject, region=p.region, attrs=p.attrs)


def evoked(latency: np.ndarray, peak: float, width: float = 0.05) -> np.ndarray:
    """A smooth evoked time course: a Gaussian bump at ``peak`` seconds."""
    return np.exp(-0.5 * ((latency - peak) / width) ** 2)


def time_resolved_recording(
    p: Planted,
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
    n_sources = p.signal.shape[1]
    n_sensors = min(64, 2 * n_sources) if n_sensors is None else n_sensors
    if not isinstance(n_sensors, (int, np.integer)) or n_sensors < 1:
        raise ValueError(f"n_sensors must be a positive integer, got {n_sensors!r}.")
    courses = np.stack([evoked(latency, peaks[r]) for r in p.region])  # sources × latency
    sources = p.signal[:, :, None] * courses[None]  # stimuli × sources × latency
    mixing = p.rng.normal(size=(n_sensors, n_sources)) / np.sqrt(n_sources)
    sensors = np.einsum("es,nsl->nel", mixing, sources)
    scale = sensors.std(axis=0).mean(axis=-1)  # per sensor, over stimuli, averaged over latency
    trials = sensors[..., None] + p.noise((*sensors.shape, p.n_rep), scale[None, :, None, None])
    values = trials if p.n_rep > 1 else trials[..., 0]
    dims = ("presentation", "neuroid", "latency", "repetition")[: values.ndim]
    attrs = {**p.attrs, "peak_latency": peaks, "n_sources": int(n_sources), "sensor_mixing": "gaussian"}
    return data.recording(
        values,
        dims=dims,
        stimulus_id=p.ids,
        latency=latency,
        subject=p.subject,
        region="sensors",
        neuroid_coords={"channel": [f"S{i:03d}" for i in range(n_sensors)]},
        attrs=attrs,
    )


def continuous_recording(p: Planted, tr: float, isi: float, n_runs: int, hrf_model: str) -> xr.DataArray:
    check_option("hrf_model", hrf_model, ("glover", "spm"))
    for name, value in (("tr", tr), ("isi", isi)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive number of seconds, got {value!r}.")
    order = np.concatenate([p.rng.permutation(len(p.ids)) for _ in range(p.n_rep)])
    chunks = np.array_split(order, n_runs)
    if min(len(c) for c in chunks) < 2:
        raise ValueError(f"n_runs={n_runs} leaves runs with fewer than 2 events; use fewer runs.")
    blocks, times, runs, events = [], [], [], {"onset": [], "stimulus_id": [], "run": []}
    for r, chunk in enumerate(chunks):
        onsets = isi * (1.0 + np.arange(len(chunk)))
        n_frames = int(np.ceil((onsets[-1] + 20.0) / tr))
        frame_times = tr * np.arange(n_frames)
        W = data.hrf_matrix(frame_times, onsets, hrf_model=hrf_model, step=tr)
        blocks.append(W @ p.signal[chunk])
        times.append(frame_times)
        runs += [r] * n_frames
        events["onset"] += onsets.tolist()
        events["stimulus_id"] += [p.ids[i].item() if isinstance(p.ids[i], np.generic) else p.ids[i] for i in chunk]
        events["run"] += [r] * len(chunk)
    clean = np.concatenate(blocks)
    sd = clean.std(axis=0)
    values = clean + p.noise(clean.shape, sd[None, :])
    attrs = {**p.attrs, "events": events, "isi": float(isi), "hrf_model": hrf_model}
    return data.recording(
        values, time=np.concatenate(times), run=np.asarray(runs), tr=tr, subject=p.subject, region=p.region, attrs=attrs
    )
