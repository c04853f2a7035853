"""Continuous alignment: activations at event times resampled to a recording's clock (Lanczos,
averaging or HRF convolution), run by run, with optional FIR delays."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from ..utils import check_option, logger
from ._common import id_kind

__all__ = [
    "HRF_MIN_ONSET",
    "align_continuous",
    "average_matrix",
    "check_delays",
    "fir_delays",
    "hrf_matrix",
    "lanczos_matrix",
    "run_blocks",
    "step_from_attrs",
]

#: Where the HRF grid starts, in seconds from a run's first frame (nilearn's ``min_onset``): events
#: that early still drive the first frames through the HRF, so ``align(..., hrf_model=...)``
#: accepts them.
HRF_MIN_ONSET = -24.0


def lanczos_matrix(
    new_times: np.ndarray, old_times: np.ndarray, *, rate: float, window: int = 3, cutoff_mult: float = 1.0
) -> np.ndarray:
    """Weights that resample samples at ``old_times`` to ``new_times`` (Lanczos-windowed sinc).

    ``W[i, j] = sinc(f·(t_i − s_j)) · sinc(f·(t_i − s_j)/window)`` for ``|f·(t_i − s_j)| ≤ window``,
    else 0, with ``f = rate × cutoff_mult`` and ``sinc(x) = sin(πx)/(πx)``.

    Examples
    --------
    >>> import numpy as np
    >>> W = lanczos_matrix(np.array([0.0, 2.0]), np.array([0.0, 1.0]), rate=0.5)
    >>> W.shape
    (2, 2)
    """
    if not isinstance(window, (int, np.integer)) or window < 1:
        raise ValueError(f"window must be a positive integer (number of lobes), got {window!r}.")
    if not (np.isfinite(cutoff_mult) and cutoff_mult > 0):
        raise ValueError(f"cutoff_mult must be a positive number, got {cutoff_mult!r}.")
    x = (np.asarray(new_times, float)[:, None] - np.asarray(old_times, float)[None, :]) * (rate * cutoff_mult)
    w = np.sinc(x) * np.sinc(x / window)
    w[np.abs(x) > window] = 0.0
    return w


def hrf_matrix(
    frame_times: np.ndarray,
    onsets: np.ndarray,
    durations: np.ndarray | None = None,
    *,
    hrf_model: Literal["glover", "spm"] = "glover",
    step: float | None = None,
    oversampling: int = 50,
    min_onset: float = HRF_MIN_ONSET,
) -> np.ndarray:
    """Weights ``W`` (frames × events) such that ``W @ amplitudes`` are HRF-convolved regressors.

    Column ``e`` is the regressor nilearn's
    :func:`~nilearn.glm.first_level.compute_regressor` builds for event ``e`` alone (unit
    amplitude): a boxcar from its onset to onset + duration (one grid bin when the duration is
    0) on a grid of step ``step / oversampling`` starting ``min_onset`` seconds before the first
    frame, convolved with nilearn's ``glover_hrf`` or ``spm_hrf``, linearly interpolated at
    ``frame_times``. The model is linear in the amplitudes, so one matrix serves every unit.
    Events may start up to ``-min_onset`` seconds before the first frame (their response still
    reaches the first frames); earlier ones are an error.

    Examples
    --------
    >>> import numpy as np
    >>> W = hrf_matrix(np.arange(20) * 2.0, np.array([0.0, 10.0]))
    >>> W.shape, int(W[:, 0].argmax())  # peaks ~5 s (between frames 2 and 3) after the onset
    ((20, 2), 3)
    """
    from ..utils import soft_import

    first_level = soft_import("nilearn.glm.first_level", "HRF convolution")
    check_option("hrf_model", hrf_model, ("glover", "spm"))
    frame_times = np.asarray(frame_times, dtype=float)
    onsets = np.asarray(onsets, dtype=float)
    durations = np.zeros_like(onsets) if durations is None else np.asarray(durations, dtype=float)
    if step is None:
        step = float(np.min(np.diff(frame_times))) if len(frame_times) > 1 else None
    if step is None or not step > 0:
        raise ValueError("hrf_matrix needs the sampling step: frame times must increase, or pass step=...")
    if not (np.isfinite(min_onset) and min_onset <= 0):
        raise ValueError(f"min_onset must be seconds <= 0 (the grid's start from the first frame), got {min_onset!r}.")
    kernel = getattr(first_level, f"{hrf_model}_hrf")(step, oversampling)
    dt = step / oversampling
    start = frame_times[0] + min_onset
    if onsets.size and onsets.min() < start:
        raise ValueError(
            f"onsets: an event at {onsets.min():g} s starts before the HRF grid, which begins {-min_onset:g} s before "
            f"the first frame ({frame_times[0]:g} s). Drop events that early, or pass a lower min_onset=..."
        )
    n_grid = int(np.rint((frame_times[-1] + step - start) / dt)) + 1
    grid = start + dt * np.arange(n_grid)
    on = np.minimum(np.searchsorted(grid, onsets), n_grid - 1)
    off = np.minimum(np.searchsorted(grid, onsets + durations), n_grid - 1)
    off = np.where((off == on) & (off < n_grid - 1), off + 1, off)
    # S(m) = sum of kernel[0..m]; a boxcar [on, off) convolved with the kernel, read at grid
    # index j, is S(j - on) - S(j - off).
    csum = np.concatenate([[0.0], np.cumsum(kernel)])

    def partial_sum(m: np.ndarray) -> np.ndarray:
        return csum[np.clip(m + 1, 0, len(kernel))]

    pos = (frame_times - start) / dt
    j0 = np.clip(np.floor(pos).astype(int), 0, n_grid - 1)
    j1 = np.minimum(j0 + 1, n_grid - 1)
    w1 = np.clip(pos - j0, 0.0, 1.0)[:, None]
    on, off = on[None, :], off[None, :]
    at0 = partial_sum(j0[:, None] - on) - partial_sum(j0[:, None] - off)
    at1 = partial_sum(j1[:, None] - on) - partial_sum(j1[:, None] - off)
    return (1.0 - w1) * at0 + w1 * at1


def average_matrix(new_times: np.ndarray, old_times: np.ndarray, step: float) -> np.ndarray:
    lo = new_times[:, None] - step / 2
    inside = (old_times[None, :] >= lo) & (old_times[None, :] < lo + step)
    counts = inside.sum(axis=1, keepdims=True)
    return inside / np.maximum(counts, 1)


def run_blocks(runs: np.ndarray) -> list[slice]:
    """Slices of the runs' blocks of consecutive samples: a new block starts wherever the run
    label changes (shared by FIR delays and the iEEG envelope/resampling, run by run).

    Examples
    --------
    >>> run_blocks(np.array(["a", "a", "b", "b", "b"]))
    [slice(0, 2, None), slice(2, 5, None)]
    """
    runs = np.asarray(runs)
    if runs.size == 0:
        return []
    bounds = np.flatnonzero(np.r_[True, runs[1:] != runs[:-1], True])
    return [slice(int(a), int(b)) for a, b in itertools.pairwise(bounds)]


def fir_delays(values: np.ndarray, runs: np.ndarray, delays: Sequence[int]) -> np.ndarray:
    """Stack copies of ``values`` (time × features) delayed by each of ``delays`` samples.

    Shifts stay inside each run (zero-filled at its start, or at its end for negative
    delays). Returns ``(time, len(delays) × features)``, delay-major.

    Examples
    --------
    >>> import numpy as np
    >>> fir_delays(np.arange(4.0)[:, None], np.zeros(4), [0, 1]).tolist()
    [[0.0, 0.0], [1.0, 0.0], [2.0, 1.0], [3.0, 2.0]]
    """
    delays = [int(d) for d in delays]
    out = np.zeros((values.shape[0], len(delays) * values.shape[1]), dtype=values.dtype)
    width = values.shape[1]
    for block_slice in run_blocks(runs):
        start, stop = block_slice.start, block_slice.stop
        block = values[start:stop]
        n = stop - start
        for k, d in enumerate(delays):
            cols = slice(k * width, (k + 1) * width)
            if abs(d) >= n:
                continue
            if d >= 0:
                out[start + d : stop, cols] = block[: n - d]
            else:
                out[start : stop + d, cols] = block[-d:]
    return out


def align_continuous(
    activations: xr.DataArray,
    recording: xr.DataArray,
    resample: str,
    window: int,
    cutoff_mult: float,
    delays: Sequence[int] | None,
    *,
    hrf_model: str | None = None,
    oversampling: int = 50,
) -> tuple[xr.DataArray, xr.DataArray]:
    rec_runs = np.asarray(recording["run"].values)
    rec_time = np.asarray(recording["time"].values, dtype=float)
    act_runs = np.asarray(activations["run"].values)
    act_time = np.asarray(activations["time"].values, dtype=float)
    if id_kind(rec_runs) != id_kind(act_runs):
        raise TypeError(
            f"run has different types in activations ({id_kind(act_runs)}) and recording "
            f"({id_kind(rec_runs)}); convert one so that runs can be matched."
        )
    act_values = activations.transpose("time", "unit").values
    durations = None
    if hrf_model is not None and "duration" in activations.coords:
        durations = np.asarray(activations["duration"].values, dtype=float)
        if durations.shape != act_time.shape or not np.all(np.isfinite(durations)) or np.any(durations < 0):
            raise ValueError("activations' 'duration' coordinate must hold one finite duration >= 0 s per event.")
    out = np.zeros((len(rec_time), act_values.shape[1]), dtype=np.result_type(act_values.dtype, np.float32))
    run_order = pd.unique(rec_runs)
    missing = [r.item() if isinstance(r, np.generic) else r for r in run_order if not np.any(act_runs == r)]
    if missing:
        raise ValueError(
            f"recording has run(s) {missing[:5]} with no events in the activations. Give the "
            "activations of every run (their 'run' coordinate must use the recording's run labels)."
        )
    extra = [r for r in pd.unique(act_runs) if r not in set(run_order.tolist())]
    if extra:
        logger.info("align: activations of run(s) %s are not in the recording; left out.", extra)
    for r in run_order:
        r = r.item() if isinstance(r, np.generic) else r
        rows = np.flatnonzero(rec_runs == r)
        events = np.flatnonzero(act_runs == r)
        t_new, t_old = rec_time[rows], act_time[events]
        step = float(np.median(np.diff(t_new))) if len(t_new) > 1 else step_from_attrs(recording)
        # Resampling reads events within a sample of the run; the HRF carries an event's response
        # up to HRF_MIN_ONSET s (the grid hrf_matrix builds) into the run's first frames.
        lower = t_new[0] + HRF_MIN_ONSET if hrf_model is not None else t_new[0] - step
        if t_old.min() < lower or t_old.max() > t_new[-1] + step:
            allowed = f"{lower:.3g}–{t_new[-1] + step:.3g} s"
            raise ValueError(
                f"activations of run {r!r} have events at {t_old.min():.3g}–{t_old.max():.3g} s, "
                f"outside the recording's samples of that run ({t_new[0]:.3g}–{t_new[-1]:.3g} s; events may lie "
                f"at {allowed}{' with hrf_model' if hrf_model is not None else ''}). "
                "Event times and the recording's 'time' must both count seconds from the run's start."
            )
        if hrf_model is not None:
            dur = durations[events] if durations is not None else np.zeros(len(events))
            weights = hrf_matrix(t_new, t_old, dur, hrf_model=hrf_model, step=step, oversampling=oversampling)
        elif resample == "lanczos":
            weights = lanczos_matrix(t_new, t_old, rate=1.0 / step, window=window, cutoff_mult=cutoff_mult)
        else:
            weights = average_matrix(t_new, t_old, step)
        out[rows] = weights.astype(out.dtype) @ act_values[events]
    unit_coords = {name: c.values for name, c in activations.coords.items() if c.dims == ("unit",)}
    attrs = dict(activations.attrs)
    if hrf_model is not None:
        attrs.update(hrf_model=hrf_model, hrf_oversampling=int(oversampling))
    else:
        attrs["resample"] = resample
        if resample == "lanczos":
            attrs.update(lanczos_window=int(window), lanczos_cutoff_mult=float(cutoff_mult))
    if delays is not None:
        delays = check_delays(delays)
        n_units = out.shape[1]
        out = fir_delays(out, rec_runs, delays)
        unit_coords = {name: np.tile(v, len(delays)) for name, v in unit_coords.items()}
        unit_coords["delay"] = np.repeat(np.asarray(delays, dtype=int), n_units)
        attrs["delays"] = list(delays)
    coords = {
        "time": ("time", rec_time),
        "run": ("time", rec_runs),
        **{name: ("unit", v) for name, v in unit_coords.items()},
    }
    result = xr.DataArray(out, dims=("time", "unit"), coords=coords, name=activations.name, attrs=attrs)
    return result, recording


def check_delays(delays: Sequence[int]) -> list[int]:
    try:
        values = [int(d) for d in delays]
    except (TypeError, ValueError) as err:
        raise TypeError(f"delays must be a sequence of integers (samples), got {delays!r}.") from err
    if any(int(d) != d for d in delays):
        raise TypeError(f"delays are counted in samples of the recording and must be integers, got {delays!r}.")
    if not values:
        raise ValueError("delays is empty; give at least one delay (e.g. (1, 2, 3, 4)) or None.")
    if len(set(values)) != len(values):
        raise ValueError(f"delays has repeated values: {delays!r}.")
    return values


def step_from_attrs(recording: xr.DataArray) -> float:
    if "tr" in recording.attrs:
        return float(recording.attrs["tr"])
    if "sfreq" in recording.attrs:
        return 1.0 / float(recording.attrs["sfreq"])
    raise ValueError("A run with a single sample needs the recording's 'tr' or 'sfreq' in attrs.")
