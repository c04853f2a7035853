"""Pair activations with a recording: on ``stimulus_id`` (condition-based and time-resolved
recordings, here) or on the recording's clock (continuous recordings, :mod:`._resample`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from ..utils import check_option, logger, validate_type
from ._common import id_kind
from ._resample import HRF_MIN_ONSET, align_continuous, check_delays, fir_delays, hrf_matrix, lanczos_matrix, run_blocks
from ._schema import validate

# run_blocks, fir_delays, hrf_matrix, lanczos_matrix and HRF_MIN_ONSET are re-exported for existing imports.
__all__ = ["HRF_MIN_ONSET", "align", "fir_delays", "hrf_matrix", "lanczos_matrix", "run_blocks"]


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
    validate_type("activations", activations, xr.DataArray, "an xarray.DataArray (see brainalign.data.activations)")
    if "unit" not in activations.dims:
        raise ValueError(
            f"activations must have dims ('presentation', 'unit') (or ('time', 'unit') at event times), got "
            f"{tuple(activations.dims)}. Rename dims with .rename(old='new') or build them with "
            "brainalign.data.activations(...)."
        )
    act_kind = validate(activations, "auto", name="activations")
    rec_kind = validate(recording, "recording", name="recording")
    # Every option is checked, whatever the kind of data (an option that does not apply is still a typo).
    check_option("on_missing", on_missing, ("raise", "drop"))
    if repetitions is not None:
        check_option("repetitions", repetitions, ("average", "keep"))
    check_option("resample", resample, ("lanczos", "average"))
    for label, count in (("window", window), ("oversampling", oversampling)):
        if isinstance(count, (bool, np.bool_)) or not isinstance(count, (int, np.integer)) or count < 1:
            raise ValueError(f"{label} must be a positive integer, got {count!r}.")
    if isinstance(cutoff_mult, (bool, np.bool_)) or not isinstance(cutoff_mult, (int, float, np.number)):
        raise TypeError(f"cutoff_mult must be a positive number, got {cutoff_mult!r}.")
    if not (np.isfinite(cutoff_mult) and cutoff_mult > 0):
        raise ValueError(f"cutoff_mult must be a positive finite number, got {cutoff_mult!r}.")
    if hrf_model is not None:
        check_option("hrf_model", hrf_model, ("glover", "spm"))
    if delays is not None:
        delays = check_delays(delays)
    if rec_kind == "continuous":
        if act_kind != "continuous_activations":
            raise ValueError(
                "recording is continuous (dims time × neuroid) but activations are per stimulus "
                "(presentation × unit). Give the activations at event times: "
                "brainalign.data.activations(values, time=onsets, run=runs, ...)."
            )
        if hrf_model is not None and delays is not None:
            raise ValueError(
                "Give hrf_model (a fixed haemodynamic response) or delays (FIR: the response is learned), not both."
            )
        return align_continuous(
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


def _align_conditions(
    activations: xr.DataArray,
    recording: xr.DataArray,
    repetitions: str | None,
    on_missing: str,
) -> tuple[xr.DataArray, xr.DataArray]:
    act_ids = pd.Index(activations["stimulus_id"].values)
    rec_ids = np.asarray(recording["stimulus_id"].values)
    ka, kr = id_kind(np.asarray(act_ids)), id_kind(rec_ids)
    for label, kind in (("activations", ka), ("recording", kr)):
        if "str" in kind.split("/") and "/" in kind:
            raise TypeError(
                f"{label}' stimulus_id mixes strings and other types ({kind}), so '1' and 1 would be different "
                "stimuli. Give one type, e.g. obj.assign_coords(stimulus_id=obj.stimulus_id.astype(str))."
            )
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
