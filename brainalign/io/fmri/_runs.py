"""Reading runs (continuous) or beta maps (conditions) through a reader, one run at a time."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ...data import recording
from ...utils import logger, progress
from ._common import masker_options
from ._events import ParsedEvents, check_events_inside, jsonable, load_bids_events
from ._source import Source


def load_runs(
    reader,
    source: Source,
    *,
    events,
    tr,
    confounds,
    detrend,
    standardize,
    high_pass,
    low_pass,
    smoothing_fwhm,
    subject,
    run,
    region,
    space,
    dtype,
    name,
) -> xr.DataArray:
    n_runs = len(source.items)
    runs = list(range(n_runs)) if run is None else list(run)
    if len(runs) != n_runs:
        raise ValueError(f"run must give one label per run ({n_runs}), got {len(runs)}.")
    conf = per_run(confounds, n_runs, "confounds")
    evs = per_run(events, n_runs, "events")
    # Pass 1: sizes and TRs from headers only (no data read).
    frames, trs = [], []
    for i in range(n_runs):
        n, t = reader.scan(i)
        frames.append(n)
        trs.append(t)
    if tr is None:
        known = [t for t in trs if t is not None]
        if len(known) != n_runs:
            raise ValueError(
                f"The repetition time is not in the header of {source.name(trs.index(None))}; pass tr=... (seconds)."
            )
        if not np.allclose(known, known[0], rtol=1e-3):
            raise ValueError(
                f"The runs have different TRs in their headers ({sorted(set(known))}); load them separately."
            )
        tr = known[0]
    else:
        tr = float(tr)
        for i, t in enumerate(trs):
            if t is not None and not np.isclose(t, tr, rtol=1e-3):
                logger.warning("load_fmri: run %d's header says TR = %g s; using tr=%g s as given.", i, t, tr)
    if not (np.isfinite(tr) and tr > 0):
        raise ValueError(f"tr must be a positive number of seconds, got {tr!r}.")
    for what, cut in (("high_pass", high_pass), ("low_pass", low_pass)):
        if cut is not None and cut >= 0.5 / tr:
            raise ValueError(
                f"{what} ({cut:g} Hz) must be below the Nyquist frequency 1 / (2 tr) = {0.5 / tr:g} Hz of runs "
                f"sampled every {tr:g} s."
            )
    options = masker_options(
        standardize=standardize,
        detrend=detrend,
        high_pass=high_pass,
        low_pass=low_pass,
        t_r=tr,
        smoothing_fwhm=smoothing_fwhm,
        dtype=np.dtype(dtype).name if np.dtype(dtype).kind == "f" else None,
    )
    masker = reader.make_masker(options)
    coords, regions = reader.neuroids(masker, region)
    n_neuroids = len(regions)
    out = np.empty((int(sum(frames)), n_neuroids), dtype=dtype)
    events_table = []
    start = 0
    for i in progress(range(n_runs), desc="fMRI runs", unit="run"):
        img = reader.first if i == 0 else reader.open(i)
        if reader.n_frames(img) != frames[i]:
            raise ValueError(
                f"Run {i} ({source.name(i)}) holds {reader.n_frames(img)} volumes but its header says {frames[i]}; "
                "the file is inconsistent or was changed while loading."
            )
        c = read_confounds(conf[i], frames[i], i, source) if conf[i] is not None else None
        signals = masker.transform(reader.checked(img, i, masker), confounds=c)
        signals = np.asarray(signals).reshape(frames[i], -1)
        if signals.shape[1] != n_neuroids:
            raise ValueError(f"Run {i} ({source.name(i)}) gave {signals.shape[1]} neuroids, run 0 gave {n_neuroids}.")
        out[start : start + frames[i]] = signals
        start += frames[i]
        del signals, img
        if evs[i] is not None:
            if isinstance(evs[i], ParsedEvents):  # from_bids read them already
                ev, given = evs[i].frame, evs[i].path
            else:
                ev, given = load_bids_events(evs[i]), evs[i]
            check_events_inside(ev, frames[i] * tr, i, source, given)
            events_table.append(ev.assign(run=runs[i]))
    time_runs = np.repeat(np.asarray(runs, dtype=object if any(isinstance(r, str) for r in runs) else None), frames)
    attrs = {
        "modality": "fmri",
        "space": space or reader.default_space(),
        "coordinate_unit": "mm",
        "detrend": bool(detrend),
        "standardize": bool(standardize),
        "high_pass": high_pass,
        "low_pass": low_pass,
        "smoothing_fwhm": smoothing_fwhm,
        "confounds_regressed": confounds is not None,
        "parcellated": bool(reader.parcellate),
        "source_files": source.files(),
    }
    if events_table:
        frame = pd.concat(events_table, ignore_index=True)
        attrs["events"] = {c: jsonable(frame[c]) for c in frame.columns}
    return recording(
        out,
        tr=tr,
        run=time_runs,
        subject=subject,
        region=regions,
        neuroid_coords=coords,
        attrs=attrs,
        name=name,
    )


def load_conditions(reader, source, stimulus_id, standardize, smoothing_fwhm, subject, region, space, dtype, name):
    ids = list(stimulus_id)
    options = masker_options(standardize=False, smoothing_fwhm=smoothing_fwhm)
    masker = reader.make_masker(options)
    coords, regions = reader.neuroids(masker, region)
    rows = []
    for i in progress(range(len(source.items)), desc="beta maps", unit="map"):
        img = reader.first if i == 0 else reader.open(i)
        reader.check_grid(img, i)
        sig = np.asarray(masker.transform(reader.checked(img, i, masker)), dtype=dtype)
        rows.append(sig.reshape(-1, len(regions)))
    values = np.concatenate(rows, axis=0)
    if values.shape[0] != len(ids):
        raise ValueError(
            f"stimulus_id has {len(ids)} ids but the images hold {values.shape[0]} maps "
            f"({source.name(0)}{', ...' if len(source.items) > 1 else ''}); give one id per map."
        )
    if standardize:
        std = values.std(axis=0, ddof=1, keepdims=True)
        values = (values - values.mean(axis=0, keepdims=True)) / np.where(std > 0, std, 1.0)
    attrs = {
        "modality": "fmri",
        "space": space or reader.default_space(),
        "coordinate_unit": "mm",
        "standardize": bool(standardize),
        "parcellated": bool(reader.parcellate),
        "source_files": source.files(),
    }
    return recording(
        values.astype(dtype, copy=False),
        stimulus_id=ids,
        subject=subject,
        region=regions,
        neuroid_coords=coords,
        attrs=attrs,
        name=name,
    )


def per_run(value: Any, n_runs: int, what: str) -> list[Any]:
    if value is None:
        return [None] * n_runs
    if isinstance(value, (list, tuple)) and not (what == "confounds" and _is_number_rows(value)):
        if len(value) != n_runs:
            raise ValueError(f"{what} must give one entry per run ({n_runs}), got {len(value)}.")
        return list(value)
    if n_runs != 1:
        raise ValueError(f"{what}: give a list with one entry per run ({n_runs} runs).")
    return [value]


def _is_number_rows(value: Sequence[Any]) -> bool:
    return (
        len(value) > 0
        and isinstance(value[0], (list, tuple, np.ndarray))
        and np.ndim(value[0]) == 1
        and (len(value[0]) == 0 or np.isscalar(value[0][0]))
    )


def read_confounds(conf: Any, n_frames: int, i: int, source: Source) -> np.ndarray:
    label = f"confounds of run {i}"
    if isinstance(conf, (str, os.PathLike)):
        path = Path(conf)
        label = f"the confounds file {str(path)!r} (run {i})"
        if not path.exists():
            raise FileNotFoundError(f"{label} does not exist.")
        if path.suffix.lower() in (".tsv", ".csv"):
            frame = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",", na_values=["n/a"])
            arr = frame.to_numpy(dtype=float)
        else:
            arr = np.loadtxt(path, ndmin=2)
    elif isinstance(conf, pd.DataFrame):
        arr = conf.to_numpy(dtype=float)
    else:
        arr = np.asarray(conf, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n_frames:
        raise ValueError(
            f"{label} has shape {arr.shape} but run {i} ({source.name(i)}) has {n_frames} volumes; give one row "
            "per volume."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{label} has NaN/inf values; fill them (e.g. the first row of derivatives with 0).")
    return arr
