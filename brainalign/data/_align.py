"""Pair activations with a recording: on ``stimulus_id`` or on the recording's clock."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from ..utils import check_option, logger
from ._schema import validate

__all__ = ["align", "fir_delays", "hrf_matrix", "lanczos_matrix"]

#: Where the HRF grid starts, in seconds from a run's first frame (nilearn's ``min_onset``): events
#: that early still drive the first frames through the HRF, so ``align(..., hrf_model=...)``
#: accepts them.
HRF_MIN_ONSET = -24.0


def align(
    activations: xr.DataArray,
    recording: xr.DataArray,
    *,
    repetitions: Literal["average", "keep"] | None = None,
    on_missing: Literal["raise", "drop"] = "raise",
    resample: Literal["lanczos", "average"] = "lanczos",
    window: int = 3,
    cutoff_mult: float = 1.0,
    delays: Sequence[int] | None = None,
    hrf_model: Literal["glover", "spm"] | None = None,
    oversampling: int = 50,
) -> tuple[xr.DataArray, xr.DataArray]:
    """Pair activations with a recording so that row ``i`` of both is the same stimulus/time.

    **Condition-based and time-resolved recordings** are matched on ``stimulus_id``, in any
    order: the result follows the recording's order and holds the activations of each of its
    presentations. Activations of stimuli the recording lacks are dropped. Repeated
    presentations of a stimulus are averaged or kept (``repetitions``).

    **Continuous recordings** (fMRI TRs, M/EEG samples) take activations sampled at event times
    (word or frame onsets: ``data.activations(..., time=..., run=...)``) and resample them to
    the recording's clock, run by run (nothing leaks across runs), then optionally add FIR
    delays; or, with ``hrf_model``, convolve the events with a haemodynamic response function
    (nilearn's Glover or SPM HRF) and sample the result at the recording's times.

    Parameters
    ----------
    activations : xarray.DataArray
        Activations ``(presentation, unit)``, or ``(time, unit)`` at event times.
    recording : xarray.DataArray
        A recording (condition-based, time-resolved or continuous).
    repetitions : {"average", "keep"}, optional
        What to do with repeated presentations of a stimulus (the same ``stimulus_id`` on
        several presentations, or a ``repetition`` dim): average them, or keep every trial (the
        activations are repeated to match). By default they are averaged when the recording
        declares them (a ``repetition`` dim, or a ``repetition`` coordinate on
        ``presentation``), and a duplicate ``stimulus_id`` without that is an error.
    on_missing : {"raise", "drop"}
        What to do when the recording has stimuli with no activations: raise (default), or drop
        those presentations (logged as a warning).
    resample : {"lanczos", "average"}
        Continuous data only. ``"lanczos"``: Lanczos-windowed sinc interpolation to the
        recording's sample times, the convention of Huth et al. 2016 (kernel
        ``sinc(f·Δt)·sinc(f·Δt/window)`` with ``f`` the recording's sampling rate ×
        ``cutoff_mult``, summed over events without normalisation). ``"average"``: the mean of
        the events falling in each sample's interval ``[t − T/2, t + T/2)`` (zero where none do).
    window : int
        Number of Lanczos lobes.
    cutoff_mult : float
        Multiplies the cutoff frequency of the Lanczos filter.
    delays : sequence of int, optional
        Continuous data only: FIR delays in samples of the recording (e.g. ``(1, 2, 3, 4)``
        for 2–8 s at TR = 2 s). Each delay adds a copy of every unit, shifted later in time
        within its run (zero-filled at the run start), with its delay in the ``delay``
        coordinate.
    hrf_model : {"glover", "spm"}, optional
        Continuous data only; the alternative to ``delays``. Each unit becomes the regressor that
        :func:`nilearn.glm.first_level.compute_regressor` builds from the events (onset = the
        activations' ``time``, duration = their ``duration`` coordinate if present, else 0,
        amplitude = the unit's value): a boxcar on a grid ``oversampling`` times finer than the
        recording's, convolved with nilearn's HRF (normalised to unit sum on that grid), linearly
        interpolated at the recording's times. All units are computed at once, as one matrix.
        ``resample`` is not used then. Events up to 24 s before a run's first frame are used
        (the HRF carries their response into the first frames; e.g. words heard before the
        first recorded volume); with resampling, events must lie within a sample of the run.
    oversampling : int
        Grid refinement for ``hrf_model`` (nilearn's default, 50).

    Returns
    -------
    activations, recording : xarray.DataArray
        The aligned pair. Condition data: both share the recording's ``stimulus_id`` order.
        Continuous data: the activations take the recording's ``time`` and ``run``.

    Raises
    ------
    ValueError
        On stimuli missing from the activations, duplicate ids, no stimulus in common, NaNs,
        events outside their run, or kinds that cannot be paired.
    TypeError
        When ``stimulus_id`` has different types in the two objects (e.g. int and str).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data
    >>> acts = data.activations({"fc": np.eye(3)}, stimulus_id=["a", "b", "c"])
    >>> rec = data.recording(np.ones((2, 4)), stimulus_id=["c", "a"], subject="S1", region="IT")
    >>> a, r = data.align(acts, rec)
    >>> a["stimulus_id"].values.tolist()
    ['c', 'a']
    """
    act_kind = validate(activations, "auto", name="activations")
    rec_kind = validate(recording, "recording", name="recording")
    check_option("on_missing", on_missing, ("raise", "drop"))
    if repetitions is not None:
        check_option("repetitions", repetitions, ("average", "keep"))
    if rec_kind == "continuous":
        if act_kind != "continuous_activations":
            raise ValueError(
                "recording is continuous (dims time × neuroid) but activations are per stimulus "
                "(presentation × unit). Give the activations at event times: "
                "brainalign.data.activations(values, time=onsets, run=runs, ...)."
            )
        check_option("resample", resample, ("lanczos", "average"))
        if hrf_model is not None:
            check_option("hrf_model", hrf_model, ("glover", "spm"))
            if delays is not None:
                raise ValueError(
                    "Give hrf_model (a fixed haemodynamic response) or delays (FIR: the response is learned), not both."
                )
            if not isinstance(oversampling, (int, np.integer)) or oversampling < 1:
                raise ValueError(f"oversampling must be a positive integer, got {oversampling!r}.")
        return _align_continuous(
            activations,
            recording,
            resample,
            window,
            cutoff_mult,
            delays,
            hrf_model=hrf_model,
            oversampling=oversampling,
        )
    if act_kind != "activations":
        raise ValueError(
            f"recording is {rec_kind.replace('_', '-')} (rows are stimulus presentations) but "
            "activations are sampled in time; give activations with one row per stimulus_id."
        )
    if delays is not None or hrf_model is not None:
        what = "delays" if delays is not None else "hrf_model"
        raise ValueError(f"{what} applies to continuous recordings only; this recording is {rec_kind}.")
    return _align_conditions(activations, recording, repetitions, on_missing)


def _id_kind(values: np.ndarray) -> str:
    kinds = {
        ("str" if isinstance(v, str) else "int" if isinstance(v, (int, np.integer)) else type(v).__name__)
        for v in values[:1000]
    }
    return "/".join(sorted(kinds))


def _align_conditions(
    activations: xr.DataArray,
    recording: xr.DataArray,
    repetitions: str | None,
    on_missing: str,
) -> tuple[xr.DataArray, xr.DataArray]:
    act_ids = pd.Index(activations["stimulus_id"].values)
    rec_ids = np.asarray(recording["stimulus_id"].values)
    ka, kr = _id_kind(np.asarray(act_ids)), _id_kind(rec_ids)
    if ka != kr:
        raise TypeError(
            f"stimulus_id has different types in activations ({ka}) and recording ({kr}), so no "
            "id can match. Convert one, e.g. rec.assign_coords(stimulus_id=rec.stimulus_id.astype(str))."
        )
    declared = "repetition" in recording.dims or "repetition" in recording.coords
    duplicated = pd.Index(rec_ids).duplicated()
    if duplicated.any() and repetitions is None and not declared:
        dup = pd.Index(rec_ids[duplicated]).unique()[:5].tolist()
        raise ValueError(
            f"recording has {int(duplicated.sum())} presentation(s) whose stimulus_id is repeated "
            f"(e.g. {dup}). If these are repeated trials, pass repetitions='average' or 'keep' (or "
            "add a 'repetition' coordinate on presentation); otherwise fix the ids."
        )
    mode = repetitions or "average"

    present = act_ids.get_indexer(rec_ids) >= 0
    if not present.any():
        raise ValueError(
            f"activations and recording have no stimulus_id in common (activations e.g. "
            f"{act_ids[:3].tolist()}, recording e.g. {rec_ids[:3].tolist()}). Check that both use "
            "the same ids."
        )
    if not present.all():
        missing = pd.Index(rec_ids[~present]).unique()
        msg = f"{len(missing)} stimulus id(s) of the recording have no activations, e.g. {missing[:5].tolist()}."
        if on_missing == "raise":
            raise ValueError(
                msg + " Extract activations for them, or pass on_missing='drop' to analyse only the stimuli both have."
            )
        logger.warning(msg + " Dropping those presentations (on_missing='drop').")
        recording = recording.isel(presentation=np.flatnonzero(present))
        rec_ids = rec_ids[present]

    if mode == "average":
        if "repetition" in recording.dims:
            recording = recording.mean("repetition", keep_attrs=True)
        if pd.Index(rec_ids).has_duplicates:
            recording = _average_repeats(recording)
            rec_ids = np.asarray(recording["stimulus_id"].values)
    n_extra = len(act_ids) - len(pd.Index(rec_ids).unique())
    if n_extra > 0:
        logger.info("align: %d stimuli of the activations are not in the recording; left out.", n_extra)
    act = activations.isel(presentation=act_ids.get_indexer(rec_ids))
    return act, recording


def _average_repeats(recording: xr.DataArray) -> xr.DataArray:
    """Average presentations that share a stimulus_id, in order of first appearance."""
    ids = pd.Index(recording["stimulus_id"].values)
    codes, uniques = pd.factorize(ids)
    counts = np.bincount(codes)
    values = recording.transpose("presentation", ...).values
    sums = np.zeros((len(uniques), *values.shape[1:]), dtype=np.result_type(values.dtype, np.float32))
    np.add.at(sums, codes, values)
    means = sums / counts.reshape(-1, *([1] * (values.ndim - 1)))
    first = np.flatnonzero(~ids.duplicated())
    out = recording.transpose("presentation", ...).isel(presentation=first).copy(data=means.astype(values.dtype))
    # Per-presentation coords that differ between repeats (run, repetition, onset) no longer apply.
    for name, coord in list(out.coords.items()):
        if coord.dims == ("presentation",) and name != "stimulus_id":
            col = pd.Series(recording[name].values)
            if (col.groupby(codes).nunique() > 1).any():
                out = out.drop_vars(name)
    out = out.assign_coords(n_repetitions=("presentation", counts))
    return out.transpose(*recording.dims)


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


def _average_matrix(new_times: np.ndarray, old_times: np.ndarray, step: float) -> np.ndarray:
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


def _align_continuous(
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
    if _id_kind(rec_runs) != _id_kind(act_runs):
        raise TypeError(
            f"run has different types in activations ({_id_kind(act_runs)}) and recording "
            f"({_id_kind(rec_runs)}); convert one so that runs can be matched."
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
        step = float(np.median(np.diff(t_new))) if len(t_new) > 1 else _step_from_attrs(recording)
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
            weights = _average_matrix(t_new, t_old, step)
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
        delays = _check_delays(delays)
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


def _check_delays(delays: Sequence[int]) -> list[int]:
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


def _step_from_attrs(recording: xr.DataArray) -> float:
    if "tr" in recording.attrs:
        return float(recording.attrs["tr"])
    if "sfreq" in recording.attrs:
        return 1.0 / float(recording.attrs["sfreq"])
    raise ValueError("A run with a single sample needs the recording's 'tr' or 'sfreq' in attrs.")
