"""Cut a continuous recording into epochs around events: a time-resolved recording, as MNE's ``Epochs``."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..utils import validate_type
from ._common import check_labels
from ._construct import recording as make_recording
from ._schema import validate

__all__ = ["epochs"]


def epochs(
    recording: xr.DataArray,
    events: pd.DataFrame,
    *,
    tmin: float,
    tmax: float,
    baseline: tuple[float | None, float | None] | None = (None, 0),
    stimulus_id: str = "stimulus_id",
    onset: str = "onset",
    run: str = "run",
) -> xr.DataArray:
    """Cut a continuous recording into epochs around events (a time-resolved recording).

    Sample alignment follows :class:`mne.Epochs` exactly. Each event is placed at the recording's
    sample **nearest** to its onset (no interpolation): ``s = round((onset − t₀) · sfreq)`` with
    ``t₀`` the first sample time of the event's run. The epoch holds samples ``s + round(tmin ·
    sfreq)`` to ``s + round(tmax · sfreq)``, both included, and its ``latency`` coordinate is
    ``k / sfreq`` for those offsets ``k`` (seconds from the event's sample). An event whose window
    reaches outside its run is an error (MNE drops it silently); crop ``tmin``/``tmax`` or drop the
    event from ``events``.

    Baseline correction is MNE's ``"mean"`` mode: the mean over the latencies in ``[bmin, bmax]``
    (``None`` meaning the epoch's first or last latency) is subtracted from every latency, per
    epoch and neuroid.

    Parameters
    ----------
    recording : xarray.DataArray
        A continuous recording ``(time, neuroid)`` sampled evenly: ``sfreq`` in its attrs, or a
        constant step of ``time`` within each run.
    events : pandas.DataFrame
        One row per event: the onset in seconds on the recording's clock (column ``onset``,
        seconds from the start of the event's run like the recording's ``time``), the stimulus
        (column ``stimulus_id``) and, when the recording has several runs, the run (column
        ``run``). Other columns become coordinates on ``presentation``.
    tmin, tmax : float
        Start and end of the epochs in seconds relative to the events (``tmin <= tmax``).
    baseline : (float or None, float or None) or None
        The baseline interval in seconds, as in MNE (default ``(None, 0)``: from the epoch's start
        to the event); ``None`` leaves the data as they are.
    stimulus_id, onset, run : str
        The names of the columns of ``events`` holding the stimulus, the onset and the run.

    Returns
    -------
    xarray.DataArray
        A time-resolved recording ``(presentation, neuroid, latency)``, one presentation per event
        in the order of ``events``, with ``stimulus_id``, ``onset`` (as in ``events``), ``run`` and
        the other event columns on ``presentation``, the recording's neuroid coordinates, and
        ``sfreq``, ``tmin``, ``tmax``, ``baseline`` in attrs.

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from brainalign import data
    >>> cont = data.recording(np.arange(20.0)[:, None], sfreq=10.0, subject="S1", region="STG")
    >>> ev = pd.DataFrame({"onset": [0.5, 1.2], "stimulus_id": ["a", "b"]})
    >>> ep = data.epochs(cont, ev, tmin=-0.1, tmax=0.2)
    >>> ep.dims, ep["latency"].values.round(3).tolist()
    (('presentation', 'neuroid', 'latency'), [-0.1, 0.0, 0.1, 0.2])
    >>> ep.sel(neuroid=0).values.tolist()  # baseline: mean of latencies -0.1 and 0
    [[-0.5, 0.5, 1.5, 2.5], [-0.5, 0.5, 1.5, 2.5]]
    """
    kind = validate(recording, "recording", name="recording")
    if kind != "continuous":
        raise ValueError(
            f"recording must be continuous (time × neuroid) to be cut into epochs, got a {kind.replace('_', '-')} "
            "recording."
        )
    validate_type("events", events, pd.DataFrame, "a pandas DataFrame (one row per event)")
    for label, value in (("tmin", tmin), ("tmax", tmax)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
            raise TypeError(f"{label} must be a number of seconds, got {value!r}.")
        if not np.isfinite(value):
            raise ValueError(f"{label} must be a finite number of seconds, got {value!r}.")
    if tmin > tmax:
        raise ValueError(f"tmin ({tmin}) must not be later than tmax ({tmax}).")
    for label, column in (("stimulus_id", stimulus_id), ("onset", onset)):
        if column not in events.columns:
            raise ValueError(f"events has no column {column!r} (the {label}); its columns are {list(events.columns)}.")
    if len(events) == 0:
        raise ValueError("events is empty; give at least one event.")

    rec_runs = np.asarray(recording["run"].values)
    rec_time = np.asarray(recording["time"].values, dtype=float)
    run_order = pd.unique(rec_runs)
    if run in events.columns:
        ev_runs = check_labels(events[run].to_numpy(), f"events[{run!r}]")
    elif len(run_order) == 1:
        ev_runs = np.full(len(events), run_order[0], dtype=rec_runs.dtype)
    else:
        raise ValueError(
            f"recording has {len(run_order)} runs; events needs a column {run!r} saying in which run each event is."
        )
    sfreq = _sampling_rate(recording, rec_time, rec_runs)
    onsets = pd.to_numeric(events[onset], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(onsets)):
        raise ValueError(f"events[{onset!r}] must hold finite onsets in seconds.")
    start, stop = round(tmin * sfreq), round(tmax * sfreq)  # Python rounding, as MNE
    offsets = np.arange(start, stop + 1)
    rows = np.empty((len(events), len(offsets)), dtype=int)
    for r in pd.unique(ev_runs):
        where = np.flatnonzero(rec_runs == r)
        if where.size == 0:
            raise ValueError(f"events[{run!r}] names run {r!r}, which the recording does not have ({list(run_order)}).")
        mine = np.flatnonzero(ev_runs == r)
        sample = np.rint((onsets[mine] - rec_time[where[0]]) * sfreq).astype(int)
        first, last = sample + start, sample + stop
        outside = (first < 0) | (last >= where.size)
        if outside.any():
            i = int(mine[np.flatnonzero(outside)[0]])
            raise ValueError(
                f"events: {int(outside.sum())} event(s) of run {r!r} have a window [tmin, tmax] = [{tmin}, {tmax}] s "
                f"that leaves the run (e.g. row {i}, onset {onsets[i]:g} s; the run spans "
                f"{rec_time[where[0]]:g}–{rec_time[where[-1]]:g} s). Narrow tmin/tmax or drop those events."
            )
        rows[mine] = where[sample[:, None] + offsets[None, :]]
    values = recording.transpose("time", "neuroid").values[rows]  # (event, latency, neuroid)
    values = np.ascontiguousarray(values.transpose(0, 2, 1)).astype(np.result_type(values.dtype, np.float64))
    latency = offsets / sfreq
    if baseline is not None:
        values = values - values[..., _baseline_slice(baseline, latency)].mean(axis=-1, keepdims=True)
    neuroid_coords = {
        k: c.values for k, c in recording.coords.items() if c.dims == ("neuroid",) and k not in ("subject", "region")
    }
    extra = {c: events[c].to_numpy() for c in events.columns if c not in (stimulus_id, onset, run)}
    return make_recording(
        values,
        stimulus_id=check_labels(events[stimulus_id].to_numpy(), f"events[{stimulus_id!r}]"),
        latency=latency,
        subject=recording["subject"].values,
        region=recording["region"].values,
        neuroid_coords=neuroid_coords,
        presentation_coords={"onset": onsets, "run": ev_runs, **extra},
        attrs={
            **recording.attrs,
            "sfreq": float(sfreq),
            "tmin": float(latency[0]),
            "tmax": float(latency[-1]),
            "baseline": None if baseline is None else [_none_or_float(b) for b in baseline],
        },
        name=recording.name or "recording",
    )


def _sampling_rate(recording: xr.DataArray, time: np.ndarray, runs: np.ndarray) -> float:
    """The recording's ``sfreq`` (attrs), else the inverse of its constant sampling step."""
    steps = np.concatenate([np.diff(time[runs == r]) for r in pd.unique(runs)])
    if "sfreq" in recording.attrs:
        sfreq = float(recording.attrs["sfreq"])
        if steps.size and not np.allclose(steps, 1.0 / sfreq, rtol=1e-6, atol=0):
            raise ValueError(
                f"recording: its 'time' steps ({steps.min():g}–{steps.max():g} s) disagree with attrs['sfreq'] = "
                f"{sfreq:g} Hz; epochs need evenly sampled data."
            )
        return sfreq
    if steps.size == 0:
        raise ValueError("recording has one sample per run; give its sampling rate in attrs['sfreq'].")
    if not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
        raise ValueError(
            f"recording is not evenly sampled (steps {steps.min():g}–{steps.max():g} s); resample it before epoching."
        )
    return 1.0 / float(np.mean(steps))


def _baseline_slice(baseline: Any, latency: np.ndarray) -> slice:
    """The latencies of the baseline interval, by MNE's rule (``times >= bmin`` to ``times <= bmax``)."""
    if not isinstance(baseline, (tuple, list)) or len(baseline) != 2:
        raise ValueError(f"baseline must be None or a pair (bmin, bmax) of seconds or None, got {baseline!r}.")
    for b in baseline:
        if b is not None and (isinstance(b, (bool, np.bool_)) or not isinstance(b, (int, float, np.number))):
            raise TypeError(f"baseline must hold numbers of seconds or None, got {baseline!r}.")
    bmin = latency[0] if baseline[0] is None else float(baseline[0])
    bmax = latency[-1] if baseline[1] is None else float(baseline[1])
    eps = 1e-9 / max(1.0, float(np.max(np.abs(latency))))
    if bmin > bmax or bmin < latency[0] - eps or bmax > latency[-1] + eps:
        raise ValueError(
            f"baseline {baseline!r} must lie within the epoch [{latency[0]:g}, {latency[-1]:g}] s with bmin <= bmax."
        )
    inside = np.flatnonzero((latency >= bmin - eps) & (latency <= bmax + eps))
    if inside.size == 0:
        raise ValueError(f"baseline {baseline!r} holds no sample of the epoch (latencies every {latency[1:2]} s).")
    return slice(int(inside[0]), int(inside[-1]) + 1)


def _none_or_float(value: Any) -> float | None:
    return None if value is None else float(value)
