"""MNE objects (Raw, Epochs, Evoked) to recordings, and reading any file MNE reads (private).

Public entry points: :func:`brainalign.io.meg.from_mne` (defined here, exported by
:mod:`brainalign.io.meg`), :func:`brainalign.io.meg.load_meg`, :func:`brainalign.io.ieeg.load_ieeg`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..data import recording as _recording
from ..utils import soft_import

__all__ = ["channel_table", "from_mne", "pick_indices", "read_mne"]

#: MNE channel types that carry brain signals (the default ``picks``).
DATA_TYPES = ("mag", "grad", "planar1", "planar2", "eeg", "seeg", "ecog", "dbs", "hbo", "hbr", "fnirs_cw_amplitude")
IEEG_TYPES = ("seeg", "ecog", "dbs")


def _mne():
    return soft_import("mne", "MEG/EEG/iEEG recordings")


def read_mne(path: str | os.PathLike, *, what: str = "recording"):
    """Open ``path`` with MNE: Raw for continuous files, Epochs / list of Evoked for FIF
    ``-epo`` / ``-ave`` files (and epoched EEGLAB sets). Errors name the file."""
    mne = _mne()
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"The {what} file {str(path)!r} does not exist.")
    name = path.name.lower()
    try:
        if name.endswith(("-epo.fif", "_epo.fif", "-epo.fif.gz", "_epo.fif.gz")):
            return mne.read_epochs(path, preload=True, verbose="error")
        if name.endswith(("-ave.fif", "_ave.fif", "-ave.fif.gz", "_ave.fif.gz")):
            return mne.read_evokeds(path, verbose="error")
        if name.endswith(".set"):
            try:
                return mne.io.read_raw_eeglab(path, preload=False, verbose="error")
            except (TypeError, ValueError) as err:
                if "epoch" not in str(err).lower():
                    raise
                return mne.read_epochs_eeglab(path, verbose="error")
        return mne.io.read_raw(path, preload=False, verbose="error")
    except FileNotFoundError:
        raise
    except Exception as err:
        raise ValueError(
            f"Cannot read the {what} file {str(path)!r} with MNE ({type(err).__name__}: {err}). Supported: any "
            "format mne.io.read_raw reads (FIF, EDF/BDF, BrainVision .vhdr, EEGLAB .set, CNT, ...), FIF epochs "
            "(-epo.fif) and evoked (-ave.fif) files. Check that the file is complete and of that format."
        ) from err


def pick_indices(info: Any, picks: Any) -> np.ndarray:
    """Channel indices for ``picks``: None/"data" (brain channels, bads excluded), "all", a
    channel type, or a list of channel names and/or types."""
    mne = _mne()
    types = np.asarray(info.get_channel_types())
    names = list(info["ch_names"])
    bads = set(info["bads"])
    if picks is None or (isinstance(picks, str) and picks == "data"):
        sel = [i for i, t in enumerate(types) if t in DATA_TYPES and names[i] not in bads]
        if not sel:
            raise ValueError(
                f"No data channels (types {DATA_TYPES}) among the good channels; the channels are "
                f"{dict(pd.Series(types).value_counts())}. Pass picks=... (names or types)."
            )
        return np.asarray(sel, dtype=int)
    if isinstance(picks, str) and picks == "all":
        return np.arange(len(names))
    items = [picks] if isinstance(picks, str) else list(picks)
    if all(isinstance(p, (int, np.integer)) for p in items):
        return np.asarray(items, dtype=int)
    sel: list[int] = []
    known_types = set(types.tolist()) | set(mne.io.get_channel_type_constants())
    for p in items:
        if p in names:
            sel.append(names.index(p))
        elif p in known_types:
            sel.extend(i for i, t in enumerate(types) if t == p and names[i] not in bads)
        else:
            raise ValueError(
                f"picks: {p!r} is neither a channel name nor a channel type of this recording (types present: "
                f"{sorted(set(types.tolist()))}; names e.g. {names[:5]})."
            )
    if not sel:
        raise ValueError(f"picks={picks!r} selects no (good) channel.")
    return np.asarray(list(dict.fromkeys(sel)), dtype=int)


def channel_table(info: Any, sel: np.ndarray) -> tuple[pd.DataFrame, str]:
    """Names, types and positions (mm; NaN where unknown) of the selected channels, and the
    coordinate frame of the montage."""
    names = [info["ch_names"][i] for i in sel]
    all_types = info.get_channel_types()
    types = [all_types[i] for i in sel]
    xyz = np.array([info["chs"][i]["loc"][:3] for i in sel], dtype=float).reshape(-1, 3)
    missing = ~np.all(np.isfinite(xyz), axis=1) | np.all(xyz == 0, axis=1)
    xyz[missing] = np.nan
    frame = "unknown"
    if any(t in ("mag", "grad", "planar1", "planar2") for t in types):
        frame = "meg"
    try:
        montage = info.get_montage()
    except Exception:  # pragma: no cover - an info MNE cannot build a montage from
        montage = None
    if montage is not None:
        frame = str(montage.get_positions().get("coord_frame") or frame)
    table = pd.DataFrame(
        {"channel": names, "channel_type": types, "x": xyz[:, 0] * 1e3, "y": xyz[:, 1] * 1e3, "z": xyz[:, 2] * 1e3}
    )
    return table, frame


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
    mne = _mne()
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
    return _recording(
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
_READ_BLOCK = 1 << 26


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
        block = max(1, _READ_BLOCK // (len(epochs.ch_names) * len(epochs.times)))
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
    return _recording(
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


def set_positions(inst: Any, positions_m: Mapping[str, Sequence[float]], coord_frame: str) -> None:
    """Set channel positions (metres) through an MNE montage, without MNE's fiducial warning."""
    import warnings

    mne = _mne()
    montage = mne.channels.make_dig_montage(
        ch_pos={k: np.asarray(v, float) for k, v in positions_m.items()}, coord_frame=coord_frame
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Fiducial point nasion not found")
        inst.set_montage(montage, on_missing="ignore")
