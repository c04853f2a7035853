"""MNE objects (Raw, Epochs, Evoked) to recordings (private; public as :func:`brainalign.io.meg.from_mne`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..data import recording
from ..utils import check_float_dtype, check_text
from ._mne import IEEG_TYPES, channel_table, import_mne, pick_indices

__all__ = ["READ_BLOCK", "from_mne"]


def _hemisphere(x: np.ndarray) -> np.ndarray:
    out = np.full(len(x), "unknown", dtype=object)
    out[x < 0] = "left"
    out[x > 0] = "right"
    out[x == 0] = "midline"
    return out


def _regions(region: Any, table: pd.DataFrame) -> np.ndarray:
    names = table["channel"].tolist()
    if region is None:
        return table["channel_type"].to_numpy(dtype=object)
    if isinstance(region, str):
        return np.full(len(names), region, dtype=object)
    if isinstance(region, Mapping):
        missing = [n for n in names if n not in region]
        if missing:
            raise ValueError(
                f"region: the mapping names no region for {len(missing)} channel(s), e.g. {missing[:5]}. Give "
                "every picked channel a region, or drop those channels with picks=..."
            )
        return np.array([str(region[n]) for n in names], dtype=object)
    values = np.asarray(region, dtype=object)
    if values.shape != (len(names),):
        raise ValueError(f"region must give one value per picked channel ({len(names)}), got shape {values.shape}.")
    return values


def _event_names(events: np.ndarray, event_id: Mapping[str, int]) -> np.ndarray:
    inverse: dict[int, str] = {}
    for key, code in event_id.items():
        inverse.setdefault(int(code), key)
    return np.array([inverse.get(int(c), str(int(c))) for c in events[:, 2]], dtype=object)


def _repetition(ids: np.ndarray) -> np.ndarray | None:
    series = pd.Series(ids)
    if not series.duplicated().any():
        return None
    return series.groupby(series, sort=False).cumcount().to_numpy()


def from_mne(
    inst: Any,
    *,
    subject: str = "sub-01",
    region: Any = None,
    picks: Any = None,
    stimulus_id: Any = None,
    run: Any = 0,
    window: tuple[float, float] | None = None,
    dtype: Any = np.float32,
    modality: str | None = None,
    name: str | None = None,
) -> xr.DataArray:
    """Turn an MNE ``Raw``, ``Epochs``, ``Evoked`` or list of ``Evoked`` into a recording.

    Parameters
    ----------
    inst : mne.io.Raw | mne.Epochs | mne.Evoked | list of mne.Evoked
        The data. A Raw that is not preloaded is read once, for the picked channels only.
    subject : str
        Stored on every neuroid.
    region : None, str, mapping or sequence
        Region of each channel: ``None`` → its channel type (``"mag"``, ``"grad"``, ``"eeg"``,
        ...); one name for all; ``{channel: region}`` covering every picked channel; or one value
        per picked channel. (For atlas look-ups and electrodes.tsv labels see
        :func:`brainalign.io.ieeg.load_ieeg`.)
    picks : None, str or list
        Channels to keep: ``None``/``"data"`` (all good brain channels: MEG, EEG, sEEG, ECoG,
        DBS, fNIRS; bad channels left out), ``"all"``, a channel type, or names/types.
    stimulus_id : None, str or sequence
        Epochs: ``None`` → the metadata's ``stimulus_id`` column if any, else the event name of
        each epoch (``epochs.event_id`` inverted); a metadata column name; or one id per epoch.
        Evoked: default the ``comment`` of each Evoked. Repeated ids get a ``repetition``
        coordinate, so :func:`brainalign.data.align` averages them.
    run : scalar or sequence
        Run label (continuous: of every sample; epochs: of every epoch).
    window : (float, float), optional
        Epochs/Evoked: average the samples in ``[tmin, tmax]`` s → condition-based recording.
        Only the window's samples are kept in memory (epochs on disk are read in blocks).
    dtype : numpy dtype
        Dtype of the values (float32 by default; MNE computes in float64).
    modality : str, optional
        ``attrs["modality"]``; default from the channel types (``"meg"``, ``"eeg"``, ``"ieeg"``).
    name : str, optional
        Name of the DataArray (default: the modality).

    Returns
    -------
    xarray.DataArray
        Continuous (``time`` from the Raw's first sample, ``sfreq`` in attrs), time-resolved
        (``latency`` = epoch times) or condition-based. Values in SI units as MNE returns them.

    Examples
    --------
    >>> import numpy as np, mne
    >>> from brainalign.io.meg import from_mne
    >>> info = mne.create_info(["Cz", "Pz"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.zeros((2, 300)), info, verbose="error")
    >>> rec = from_mne(raw, region="scalp")
    >>> rec.dims, rec.attrs["sfreq"]
    (('time', 'neuroid'), 100.0)

    References
    ----------
    Gramfort A. et al. (2013). MEG and EEG data analysis with MNE-Python. Front. Neurosci. 7:267.
    """
    mne = import_mne()
    subject = check_text("subject", subject)
    dtype = check_float_dtype("dtype", dtype)
    modality = check_text("modality", modality, optional=True)
    name = check_text("name", name, optional=True)
    evokeds = None
    if isinstance(inst, mne.Evoked):
        evokeds = [inst]
    elif isinstance(inst, (list, tuple)) and inst and all(isinstance(e, mne.Evoked) for e in inst):
        evokeds = list(inst)
    elif not isinstance(inst, (mne.io.BaseRaw, mne.BaseEpochs)):
        raise TypeError(
            f"inst must be an MNE Raw, Epochs, Evoked or a list of Evoked, got {type(inst).__name__}. Read files "
            "with brainalign.io.meg.load_meg(path)."
        )
    info = evokeds[0].info if evokeds else inst.info
    sel = pick_indices(info, picks)
    table, frame = channel_table(info, sel)
    regions = _regions(region, table)
    types = set(table["channel_type"])
    if modality is None:
        if types & {"mag", "grad", "planar1", "planar2"}:
            modality = "meg"
        elif types & set(IEEG_TYPES):
            modality = "ieeg"
        elif "eeg" in types:
            modality = "eeg"
        else:
            modality = "other"
    neuroid_coords = {
        "channel": table["channel"].to_numpy(dtype=object),
        "channel_type": table["channel_type"].to_numpy(dtype=object),
        "x": table["x"].to_numpy(),
        "y": table["y"].to_numpy(),
        "z": table["z"].to_numpy(),
        "hemisphere": _hemisphere(table["x"].to_numpy()),
    }
    attrs: dict[str, Any] = {
        "modality": modality,
        "space": frame,
        "coordinate_unit": "mm",
        "coordinate_note": "channel positions converted from MNE's metres to millimetres (NaN where unknown)",
        "highpass": float(info["highpass"]),
        "lowpass": float(info["lowpass"]),
        "data_unit": "SI (V for EEG/iEEG, T for magnetometers, T/m for gradiometers), as MNE returns them",
    }
    if info["meas_date"] is not None:
        attrs["meas_date"] = str(info["meas_date"])
    if window is not None:
        window = _check_window(window)

    if evokeds is not None:
        if len({tuple(e.ch_names) for e in evokeds}) != 1 or len({(len(e.times), e.times[0]) for e in evokeds}) != 1:
            raise ValueError("All Evoked must have the same channels and time points; equalise them first.")
        keep = _window_samples(evokeds[0].times, window)
        data = np.stack([e.data[sel][:, keep] for e in evokeds])
        ids = list(stimulus_id) if stimulus_id is not None else [e.comment for e in evokeds]
        if len(ids) != len(evokeds):
            raise ValueError(f"stimulus_id must give one id per Evoked ({len(evokeds)}), got {len(ids)}.")
        if any(i in (None, "") for i in ids):
            raise ValueError("Some Evoked have no comment to serve as stimulus_id; pass stimulus_id=[...].")
        pres = {"n_averaged": np.array([e.nave for e in evokeds])}
        return _epoch_like(
            data, evokeds[0].times, ids, pres, window, regions, neuroid_coords, attrs, info, subject, dtype, name
        )

    if isinstance(inst, mne.BaseEpochs):
        data = _epochs_data(inst, sel, window)  # drops bad epochs (as get_data does) before the ids are read
        ids = _epoch_ids(inst, stimulus_id)
        pres = {
            "event_code": inst.events[:, 2].astype(int),
            "onset": inst.events[:, 0].astype(float) / info["sfreq"],
        }
        if inst.metadata is not None and isinstance(stimulus_id, str):
            pres["event_name"] = _event_names(inst.events, inst.event_id)
        if run is not None:
            pres["run"] = run
        rep = _repetition(np.asarray(ids, dtype=object))
        if rep is not None:
            pres["repetition"] = rep
        return _epoch_like(
            data, inst.times, ids, pres, window, regions, neuroid_coords, attrs, info, subject, dtype, name
        )

    # Raw → continuous
    if stimulus_id is not None or window is not None:
        raise ValueError(
            "stimulus_id and window apply to Epochs/Evoked; a Raw becomes a continuous recording. Epoch it first "
            "(mne.Epochs(raw, events, ...)) for one row per stimulus."
        )
    data = inst.get_data(picks=sel)
    values = np.ascontiguousarray(data.T, dtype=dtype)
    del data
    attrs["first_samp"] = int(inst.first_samp)
    return recording(
        values,
        sfreq=float(info["sfreq"]),
        run=run,
        subject=subject,
        region=regions,
        neuroid_coords=neuroid_coords,
        attrs=attrs,
        name=name or modality,
    )


def _check_window(window: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(w) for w in window)
    except (TypeError, ValueError) as err:
        raise TypeError(f"window must be (tmin, tmax) in seconds, got {window!r}.") from err
    if not hi > lo:
        raise ValueError(f"window must have tmin < tmax, got {window!r}.")
    return lo, hi


def _epoch_ids(epochs: Any, stimulus_id: Any) -> list[Any]:
    n = len(epochs)
    if stimulus_id is None:
        if epochs.metadata is not None and "stimulus_id" in epochs.metadata.columns:
            return epochs.metadata["stimulus_id"].tolist()
        return _event_names(epochs.events, epochs.event_id).tolist()
    if isinstance(stimulus_id, str):
        if epochs.metadata is None or stimulus_id not in epochs.metadata.columns:
            cols = [] if epochs.metadata is None else list(epochs.metadata.columns)
            raise ValueError(
                f"stimulus_id={stimulus_id!r} must name a column of epochs.metadata (it has {cols}); or give one "
                "id per epoch."
            )
        return epochs.metadata[stimulus_id].tolist()
    ids = list(stimulus_id)
    if len(ids) != n:
        raise ValueError(f"stimulus_id must give one id per epoch ({n}), got {len(ids)}.")
    return ids


def _window_samples(times: np.ndarray, window: tuple[float, float] | None) -> slice:
    """The samples of ``times`` inside ``[tmin, tmax]`` (all without a window), as a slice."""
    if window is None:
        return slice(None)
    latency = np.asarray(times, dtype=float)
    inside = np.flatnonzero((latency >= window[0]) & (latency <= window[1]))
    if not len(inside):
        raise ValueError(f"window {window} holds no sample (epochs span {latency[0]:g}–{latency[-1]:g} s).")
    return slice(int(inside[0]), int(inside[-1]) + 1)


#: Values (channels × samples × epochs) read from disk at once for a latency window.
READ_BLOCK = 1 << 26


def _epochs_data(epochs: Any, sel: np.ndarray, window: tuple[float, float] | None) -> np.ndarray:
    """``epochs.get_data`` of the picked channels; with a window, memory holds only the
    window's samples: in-memory epochs are sliced by MNE (``tmin``/``tmax``), epochs on disk
    are read a block of epochs at a time (MNE reads whole epochs) and cut to the window."""
    keep = _window_samples(epochs.times, window)
    if window is None:
        return epochs.get_data(picks=sel)
    n_win = keep.stop - keep.start
    # MNE (>= 1.6) reads the samples [tmin, tmax), seconds turned into sample indices rounded
    # down: bounds a quarter sample past the first and past the last + 1 pick exactly ours.
    step = 1.0 / float(epochs.info["sfreq"])
    bounds = {
        "tmin": float(epochs.times[keep.start]) + 0.25 * step,
        "tmax": float(epochs.times[keep.stop - 1]) + 1.25 * step,
    }
    if epochs.preload:
        data = epochs.get_data(picks=sel, **bounds)
    else:
        epochs.drop_bad(verbose="error")  # as get_data would; a no-op for epochs read from FIF
        n = len(epochs)
        data = np.empty((n, len(sel), n_win))
        block = max(1, READ_BLOCK // (len(epochs.ch_names) * len(epochs.times)))
        for a in range(0, n, block):
            part = epochs.get_data(picks=sel, item=slice(a, a + block), **bounds)
            if part.shape[-1] != n_win:  # pragma: no cover - an MNE that bounds differently
                part = epochs.get_data(picks=sel, item=slice(a, a + block))[..., keep]
            data[a : a + block] = part
        return data
    if data.shape[-1] != n_win:  # pragma: no cover - an MNE that bounds differently
        data = epochs.get_data(picks=sel)[..., keep]
    return data


def _epoch_like(data, times, ids, pres, window, regions, neuroid_coords, attrs, info, subject, dtype, name):
    """``data`` holds every latency of ``times``, or with ``window`` only the window's samples."""
    attrs = dict(attrs)
    latency = np.asarray(times, dtype=float)
    if window is None:
        attrs["sfreq"] = float(info["sfreq"])
        values, extra = data, {"latency": latency}
    else:
        attrs.update(window_tmin=window[0], window_tmax=window[1])
        values, extra = data.mean(axis=2), {}
    return recording(
        values.astype(dtype),
        stimulus_id=ids,
        subject=subject,
        region=regions,
        neuroid_coords=neuroid_coords,
        presentation_coords=pres,
        attrs=attrs,
        name=name or attrs["modality"],
        **extra,
    )
