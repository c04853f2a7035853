"""Intracranial EEG (sEEG, ECoG, DBS) adapters: files, electrodes and high-gamma envelopes.

- :func:`load_ieeg`: any file MNE reads (BIDS iEEG BrainVision/EDF/NWB..., FIF) → recording,
  with electrode positions and anatomical labels from the BIDS sidecars (``_electrodes.tsv``,
  ``_coordsystem.json``, ``_channels.tsv``), a montage, or an atlas look-up of the coordinates;
  optional common-average or bipolar re-referencing, high-gamma envelope and downsampling, all
  through MNE.
- :func:`high_gamma`: the 70–150 Hz envelope (MNE band-pass FIR filter, then the magnitude of
  the analytic signal from MNE's Hilbert transform) of MNE objects or brainalign recordings.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from ..data import recording as _recording
from ..data import validate
from ..data._align import run_blocks
from ..utils import check_option, logger, soft_import
from . import _mne
from ._atlas import lookup_regions
from ._bids import Sidecars, merge_json, parse_name

__all__ = ["high_gamma", "load_ieeg"]

#: BIDS channel types → MNE channel types.
_BIDS_TYPES = {
    "ECOG": "ecog",
    "SEEG": "seeg",
    "DBS": "dbs",
    "EEG": "eeg",
    "EOG": "eog",
    "ECG": "ecg",
    "EMG": "emg",
    "MISC": "misc",
    "TRIG": "stim",
    "REF": "misc",
    "RESP": "resp",
    "GSR": "gsr",
    "TEMP": "temperature",
    "AUDIO": "misc",
    "PUPIL": "misc",
    "SYSCLOCK": "misc",
}
_UNITS = {"m": 1.0, "mm": 1e-3, "cm": 1e-2}
_REGION_COLUMNS = (
    "region",
    "anat",
    "anatomy",
    "anatomical_label",
    "label",
    "location",
    "destrieux",
    "desikan_killiany",
    "aal",
)
_MNI_SPACES = ("mni", "mni305", "mni152", "fsaverage", "icbm452", "talairach")


def load_ieeg(
    path: str | os.PathLike,
    *,
    electrodes: str | os.PathLike | pd.DataFrame | Literal["auto"] | None = "auto",
    channels: str | os.PathLike | Literal["auto"] | None = "auto",
    coordinate_unit: str | None = None,
    atlas: Any = None,
    labels: Any = None,
    region: Any = None,
    region_column: str | None = None,
    reference: Literal["average", "bipolar"] | Sequence[tuple[str, str]] | None = None,
    band: tuple[float, float] | None = None,
    sfreq: float | None = None,
    picks: Any = "ieeg",
    **kwargs: Any,
) -> xr.DataArray:
    """Read an iEEG recording with MNE, attach electrodes and regions, and make a recording.

    Steps, in order: read the file (:func:`mne.io.read_raw`, or FIF epochs); apply BIDS
    ``_channels.tsv`` types and bad channels; set electrode positions from ``_electrodes.tsv``;
    re-reference; band envelope (:func:`high_gamma`); downsample (MNE's anti-aliased
    ``resample``); convert (:func:`brainalign.io.meg.from_mne`).

    Parameters
    ----------
    path : path
        The recording (e.g. ``sub-01_task-x_ieeg.vhdr`` / ``.edf`` / ``.fif``).
    electrodes : "auto", path, DataFrame or None
        Electrode table (BIDS ``_electrodes.tsv``: ``name``, ``x``, ``y``, ``z`` and optional
        label columns). ``"auto"``: the ``*_electrodes.tsv`` beside ``path`` with the same
        subject/session (if several spaces exist, pass one). ``None``: keep the file's montage.
    channels : "auto", path or None
        BIDS ``_channels.tsv`` giving channel types (ECOG, SEEG, DBS, MISC, ...) and bad
        channels (``status``). ``"auto"``: the one beside ``path``.
    coordinate_unit : {"m", "mm", "cm"}, optional
        Unit of the electrode coordinates. Default: ``iEEGCoordinateUnits`` of the matching
        ``_coordsystem.json``, else metres.
    atlas, labels : optional
        A label image (NIfTI, mm space matching the electrodes) and its label table: each
        electrode's region is the label of the voxel it lies in (``"unknown"`` outside).
    region : None, str, mapping or sequence
        Explicit regions (see :func:`~brainalign.io.meg.from_mne`); overrides the rest.
    region_column : str, optional
        Column of the electrode table with anatomical labels. Default: the first of
        ``region``, ``anat``, ``anatomy``, ``label``, ... present. Without labels, atlas or
        ``region`` the channel type is the region.
    reference : {"average", "bipolar"} or list of (anode, cathode), optional
        ``"average"``: common average per channel type (``set_eeg_reference``);
        ``"bipolar"``: neighbouring contacts of each electrode (names ``<shaft><number>``, e.g.
        ``LA1-LA2``), or the given pairs (``set_bipolar_reference``). A bipolar channel lies at
        the midpoint of its contacts; its region is theirs (``"A/B"`` when they differ). Only the
        bipolar channels are kept (contacts without a neighbour are left out).
    band : (float, float), optional
        Replace the signal by its band envelope (e.g. ``(70, 150)`` for high gamma).
    sfreq : float, optional
        Downsample to this rate (after the envelope).
    picks : str or list
        Channels to keep: ``"ieeg"`` (sEEG, ECoG and DBS channels; bads left out), or as in
        :func:`~brainalign.io.meg.from_mne`.
    **kwargs
        Passed to :func:`~brainalign.io.meg.from_mne` (``subject``, ``run``, ``stimulus_id``...).

    Returns
    -------
    xarray.DataArray
        With ``channel``, ``channel_type``, ``x``, ``y``, ``z`` (mm), ``hemisphere``, ``region``
        on neuroids; ``attrs["reference"]``, ``attrs["band"]``, ``attrs["space"]``.

    Raises
    ------
    ValueError
        Unreadable file, electrodes table without the picked channels' coordinates when an
        atlas look-up is requested, unknown atlas labels, bad reference pairs.

    Examples
    --------
    >>> rec = load_ieeg("sub-01/ieeg/sub-01_task-rest_ieeg.vhdr", reference="bipolar",
    ...                 band=(70, 150), sfreq=100.0)  # doctest: +SKIP
    """
    mne = _mne._mne()
    path = Path(path)
    inst = _mne.read_mne(path, what="iEEG")
    if isinstance(inst, list):
        raise ValueError(f"{str(path)!r} holds Evoked data; load_ieeg reads continuous or epoched iEEG.")
    sidecars = Sidecars()
    if channels is not None:
        ch_path = sidecars.nearest(path, "channels", ".tsv") if _is_auto(channels) else Path(channels)
        if ch_path is not None:
            _apply_channels_tsv(inst, ch_path)
    table, where, unit, frame = None, None, coordinate_unit, "unknown"
    if isinstance(electrodes, pd.DataFrame):
        table, where = electrodes.copy(), "the electrodes table"
    elif electrodes is not None:
        el_path = _find_electrodes(path) if _is_auto(electrodes) else Path(electrodes)
        if el_path is not None:
            if not el_path.exists():
                raise FileNotFoundError(f"The electrodes file {str(el_path)!r} does not exist.")
            table, where = pd.read_csv(el_path, sep="\t", na_values=["n/a"]), repr(str(el_path))
            unit = unit or _coordsystem_unit(el_path, sidecars)
            frame = _frame_from_name(el_path.name)
    if table is not None:
        table.columns = [str(c).lstrip("\ufeff") for c in table.columns]
        _set_electrodes(inst, table, unit or "m", frame, where)
    if isinstance(picks, str) and picks == "ieeg":
        types = set(inst.get_channel_types())
        picks = [t for t in _mne.IEEG_TYPES if t in types]
        if not picks:
            raise ValueError(
                f"{str(path)!r} has no sEEG/ECoG/DBS channel (types: {sorted(types)}). If the file labels them "
                "otherwise, pass picks=[...] or a channels.tsv, or set types with raw.set_channel_types()."
            )
    # Pick before reading: ECG, triggers, audio... are never loaded. The picks become channel
    # names (same channels, same order) since dropping channels shifts indices.
    inst, picks = _keep_needed(inst, picks, reference)
    if isinstance(inst, mne.io.BaseRaw) and (reference is not None or band is not None or sfreq is not None):
        inst.load_data(verbose="error")  # filters and re-referencing work in memory; else from_mne reads
    # Regions of the original contacts, carried through re-referencing.
    contact_regions = _contact_regions(inst, table, region_column, atlas, labels, picks, region)
    ref_label, bipolar_names = "original", None
    if reference is not None:
        inst, contact_regions, ref_label, bipolar_names = _rereference(inst, reference, contact_regions, picks)
    if band is not None:
        inst = high_gamma(inst, band=band)
    if sfreq is not None:
        if not (np.isfinite(sfreq) and sfreq > 0):
            raise ValueError(f"sfreq must be a positive frequency in Hz, got {sfreq!r}.")
        inst = inst.copy().resample(sfreq, verbose="error")
    if bipolar_names:
        picks = bipolar_names  # only the bipolar derivations: no monopolar leftovers
    sel = _mne.pick_indices(inst.info, picks)
    picked = [inst.ch_names[i] for i in sel]
    if region is not None and not isinstance(region, Mapping):
        regions: Any = region  # one name, or one value per picked channel
    elif isinstance(region, Mapping):
        regions = {ch: contact_regions[ch] for ch in picked if ch in contact_regions}  # from_mne names gaps
    else:
        ch_types = dict(zip(inst.ch_names, inst.get_channel_types(), strict=True))
        regions = {ch: contact_regions.get(ch, ch_types[ch]) for ch in picked}
    rec = _mne.from_mne(inst, region=regions, picks=picks, modality="ieeg", **kwargs)
    rec.attrs.update(reference=ref_label, source_file=str(path))
    if band is not None:
        rec.attrs["band"] = [float(band[0]), float(band[1])]
    if frame != "unknown" and rec.attrs.get("space") in ("unknown", "head"):
        rec.attrs["space"] = frame
    return rec


def high_gamma(
    data: Any,
    band: tuple[float, float] = (70.0, 150.0),
    *,
    sfreq: float | None = None,
) -> Any:
    """Band-limited amplitude envelope (default high gamma, 70–150 Hz).

    Band-pass with MNE's zero-phase FIR filter, then the magnitude of the analytic signal
    (Hilbert transform); optionally downsample (MNE's anti-aliased resampling).

    Parameters
    ----------
    data : mne.io.Raw | mne.Epochs | xarray.DataArray
        An MNE object (a filtered copy is returned, same type), or a continuous or time-resolved
        recording (``sfreq`` in attrs); continuous recordings are filtered run by run.
    band : (float, float)
        Lower and upper edges in Hz; the upper must be below Nyquist.
    sfreq : float, optional
        Downsample the envelope to this rate.

    Returns
    -------
    Same type as ``data``, holding the envelope (non-negative).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data
    >>> t = np.arange(2000) / 1000.0
    >>> rec = data.recording((1 + t)[:, None] * np.sin(2 * np.pi * 100 * t)[:, None], sfreq=1000.0,
    ...                      subject="S1", region="STG")
    >>> env = high_gamma(rec)
    >>> round(float(env.isel(time=1000, neuroid=0)), 1)  # the 1 + t envelope at t = 1 s
    2.0

    References
    ----------
    Crone N.E. et al. (2006). High-frequency gamma oscillations and human brain mapping with
    electrocorticography. Prog. Brain Res. 159:275-295.
    """
    mne = _mne._mne()
    lo, hi = _check_band(band)
    if isinstance(data, (mne.io.BaseRaw, mne.BaseEpochs)):
        _check_nyquist(hi, data.info["sfreq"])
        out = data.copy()
        if isinstance(out, mne.io.BaseRaw):
            out.load_data(verbose="error")
        types = set(out.get_channel_types())
        picks = [t for t in (*_mne.IEEG_TYPES, "eeg", "mag", "grad") if t in types] or "all"
        out.filter(lo, hi, picks=picks, verbose="error")
        out.apply_hilbert(picks=picks, envelope=True, verbose="error")
        if sfreq is not None:
            out.resample(sfreq, verbose="error")
        return out
    if not isinstance(data, xr.DataArray):
        raise TypeError(f"high_gamma takes an MNE Raw/Epochs or a brainalign recording, got {type(data).__name__}.")
    kind = validate(data, "recording", name="data")
    if kind == "condition":
        raise ValueError("high_gamma needs samples in time: a continuous or time-resolved recording.")
    if "sfreq" not in data.attrs:
        raise ValueError("The recording has no 'sfreq' in attrs; the envelope needs the sampling rate.")
    fs = float(data.attrs["sfreq"])
    _check_nyquist(hi, fs)
    signal = soft_import("scipy.signal")
    time_axis = "time" if kind == "continuous" else "latency"
    arr = data.transpose(..., time_axis).values.astype(np.float64)
    if kind == "continuous":
        env = np.empty_like(arr)
        for block in run_blocks(data["run"].values):
            env[..., block] = _envelope(arr[..., block], fs, lo, hi, signal)
    else:
        env = _envelope(arr, fs, lo, hi, signal)
    out = data.transpose(..., time_axis).copy(data=env.astype(data.dtype))
    out = out.transpose(*data.dims)
    out.attrs.update(band=[lo, hi], envelope="hilbert")
    if sfreq is not None:
        out = _resample_recording(out, kind, fs, float(sfreq))
    return out


# -------------------------------------------------------------------------------- internals
def _check_band(band: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(b) for b in band)
    except (TypeError, ValueError) as err:
        raise TypeError(f"band must be (low, high) in Hz, got {band!r}.") from err
    if not (0 < lo < hi):
        raise ValueError(f"band must satisfy 0 < low < high, got {band!r}.")
    return lo, hi


def _check_nyquist(hi: float, fs: float) -> None:
    if hi >= fs / 2:
        raise ValueError(
            f"The band's upper edge ({hi:g} Hz) must be below the Nyquist frequency ({fs / 2:g} Hz) of data "
            f"sampled at {fs:g} Hz; lower the band or use the data before downsampling."
        )


def _envelope(arr: np.ndarray, fs: float, lo: float, hi: float, signal: Any) -> np.ndarray:
    mne = _mne._mne()
    filtered = mne.filter.filter_data(arr, fs, lo, hi, verbose="error")
    n = filtered.shape[-1]
    n_fft = int(2 ** np.ceil(np.log2(n)))
    return np.abs(signal.hilbert(filtered, N=n_fft, axis=-1)[..., :n])


def _resample_recording(rec: xr.DataArray, kind: str, fs: float, new: float) -> xr.DataArray:
    mne = _mne._mne()
    axis = "time" if kind == "continuous" else "latency"
    ratio = new / fs
    if kind == "continuous":
        runs = np.asarray(rec["run"].values)
        times = np.asarray(rec["time"].values, dtype=float)
        parts, run_labels, new_times = [], [], []
        vals = rec.transpose("neuroid", "time").values.astype(np.float64)
        for block in run_blocks(runs):
            res = mne.filter.resample(vals[:, block], up=ratio, down=1.0, verbose="error")
            parts.append(res)
            run_labels.append(np.repeat(runs[block][:1], res.shape[1]))
            new_times.append(times[block.start] + np.arange(res.shape[1]) / new)  # each run keeps its start
        values = np.concatenate(parts, axis=1).T
        neuroid_coords = {
            k: c.values for k, c in rec.coords.items() if c.dims == ("neuroid",) and k not in ("subject", "region")
        }
        attrs = {k: v for k, v in rec.attrs.items() if k != "sfreq"}
        return _recording(
            values.astype(rec.dtype),
            sfreq=new,
            time=np.concatenate(new_times),
            run=np.concatenate(run_labels),
            subject=rec["subject"].values,
            region=rec["region"].values,
            neuroid_coords=neuroid_coords,
            attrs=attrs,
            name=rec.name,
        )
    vals = rec.transpose(..., axis).values.astype(np.float64)
    res = mne.filter.resample(vals, up=ratio, down=1.0, axis=-1, verbose="error")
    lat = rec["latency"].values
    new_lat = lat[0] + np.arange(res.shape[-1]) / new
    out = xr.DataArray(
        res.astype(rec.dtype),
        dims=rec.transpose(..., axis).dims,
        coords={k: c for k, c in rec.coords.items() if axis not in c.dims},
        attrs=dict(rec.attrs, sfreq=new),
        name=rec.name,
    ).assign_coords(latency=new_lat)
    return out.transpose(*rec.dims)


def _is_auto(value: Any) -> bool:
    return isinstance(value, str) and value == "auto"


def _keep_needed(inst: Any, picks: Any, reference: Any) -> tuple[Any, list[str]]:
    """Drop the channels that no step uses (before any data are read); picks as names."""
    sel = _mne.pick_indices(inst.info, picks)
    names = list(inst.ch_names)
    picked = [names[i] for i in sel]
    needed = set(picked)
    if isinstance(reference, str) and reference == "average":
        # the common average is taken over every iEEG contact of each type, picked or not
        needed |= {ch for ch, t in zip(names, inst.get_channel_types(), strict=True) if t in _mne.IEEG_TYPES}
    elif reference is not None and not isinstance(reference, str):
        needed |= {ch for pair in reference for ch in (pair if isinstance(pair, (list, tuple)) else ()) if ch in names}
    if len(needed) < len(names):
        inst.pick([ch for ch in names if ch in needed])  # keeps the file's channel order
    return inst, picked


def _find_electrodes(path: Path) -> Path | None:
    ents = parse_name(path.name) or {}
    found = []
    for cand in sorted(path.parent.glob("*_electrodes.tsv")):
        ce = parse_name(cand.name) or {}
        if all(ce.get(k) == ents.get(k) for k in ("sub", "ses") if k in ce):
            found.append(cand)
    if len(found) > 1:
        raise ValueError(
            f"Several electrode files match {str(path)!r}: {[p.name for p in found]}. Pass electrodes=<path> to "
            "choose the coordinate space."
        )
    if not found:
        logger.info("load_ieeg: no electrodes.tsv beside %s; keeping the file's montage.", path)
        return None
    return found[0]


def _coordsystem_unit(electrodes: Path, sidecars: Sidecars) -> str:
    """iEEGCoordinateUnits of the coordsystem.json files that apply to ``electrodes`` (BIDS inheritance)."""
    files = sidecars.find(electrodes, "coordsystem", ".json")
    if not files:
        logger.warning("load_ieeg: no coordsystem.json for %s; assuming coordinates in metres.", electrodes)
        return "m"
    unit = str(merge_json(files).get("iEEGCoordinateUnits", "m"))
    if unit not in _UNITS:
        raise ValueError(
            f"{str(files[-1])!r}: iEEGCoordinateUnits is {unit!r}; brainalign needs positions in m, mm or cm "
            "(pixel coordinates must be registered to an anatomical space first)."
        )
    return unit


def _frame_from_name(name: str) -> str:
    space = (parse_name(name) or {}).get("space", "").lower()
    if any(space.startswith(s) for s in _MNI_SPACES):
        return "mni_tal"
    return "unknown"


def _apply_channels_tsv(inst: Any, path: Path) -> None:
    if not path.exists():
        raise FileNotFoundError(f"The channels file {str(path)!r} does not exist.")
    table = pd.read_csv(path, sep="\t", na_values=["n/a"])
    table.columns = [str(c).lstrip("\ufeff") for c in table.columns]
    if "name" not in table.columns or "type" not in table.columns:
        raise ValueError(
            f"The channels file {str(path)!r} needs 'name' and 'type' columns; it has {list(table.columns)}."
        )
    mapping = {}
    for name, kind in zip(table["name"], table["type"], strict=True):
        if name in inst.ch_names and isinstance(kind, str):
            mne_type = _BIDS_TYPES.get(kind.upper())
            if mne_type is None:
                logger.warning("load_ieeg: unknown BIDS channel type %r for %s; left as is.", kind, name)
            else:
                mapping[name] = mne_type
    if mapping:
        inst.set_channel_types(mapping, verbose="error", on_unit_change="ignore")
    if "status" in table.columns:
        bads = [
            n
            for n, s in zip(table["name"], table["status"], strict=True)
            if str(s).lower() == "bad" and n in inst.ch_names
        ]
        inst.info["bads"] = sorted(set(inst.info["bads"]) | set(bads))


def _set_electrodes(inst: Any, table: pd.DataFrame, unit: str, frame: str, where: str | None) -> None:
    for col in ("name", "x", "y", "z"):
        if col not in table.columns:
            raise ValueError(
                f"{where}: the electrodes table needs columns name, x, y, z; it has {list(table.columns)}."
            )
    check_option("coordinate_unit", unit, tuple(_UNITS))
    scale = _UNITS[unit]
    pos = {}
    for _, row in table.iterrows():
        xyz = pd.to_numeric(pd.Series([row["x"], row["y"], row["z"]]), errors="coerce").to_numpy(dtype=float)
        if row["name"] in inst.ch_names and np.all(np.isfinite(xyz)):
            pos[row["name"]] = xyz * scale
    if not pos:
        raise ValueError(
            f"{where}: no electrode matches a channel of the recording (channels e.g. {inst.ch_names[:5]})."
        )
    _mne.set_positions(inst, pos, frame)


def _contact_regions(inst, table, region_column, atlas, labels, picks, region) -> dict[str, str]:
    if region is not None:
        return {str(k): str(v) for k, v in region.items()} if isinstance(region, Mapping) else {}
    names = list(inst.ch_names)
    sel = _mne.pick_indices(inst.info, picks)
    picked = [names[i] for i in sel]
    if atlas is not None:
        chans, _ = _mne.channel_table(inst.info, sel)
        xyz = chans[["x", "y", "z"]].to_numpy()
        regions = lookup_regions(xyz, atlas, labels, names=picked, what="atlas")
        return dict(zip(picked, regions, strict=True))
    if table is not None:
        if region_column is None:
            region_column = next((c for c in _REGION_COLUMNS if c in table.columns), None)
        elif region_column not in table.columns:
            raise ValueError(
                f"region_column={region_column!r} is not a column of the electrodes table ({list(table.columns)})."
            )
        if region_column is not None:
            lab = dict(zip(table["name"], table[region_column], strict=True))
            missing = [n for n in picked if not isinstance(lab.get(n), str) or not lab.get(n)]
            if missing:
                raise ValueError(
                    f"The electrodes table's {region_column!r} column has no label for {missing[:5]}; fill them in or "
                    "pass region=... explicitly."
                )
            return {n: str(lab[n]) for n in picked}
    return {}


def _rereference(inst, reference, regions: dict[str, str], picks) -> tuple[Any, dict[str, str], str, list[str] | None]:
    mne = _mne._mne()
    types = inst.get_channel_types()
    ieeg_types = [t for t in _mne.IEEG_TYPES if t in types]
    if isinstance(reference, str):
        check_option("reference", reference, ("average", "bipolar"))
    if reference == "average":
        inst = inst.copy()
        for t in ieeg_types:
            inst.set_eeg_reference("average", ch_type=t, verbose="error")
        return inst, regions, "average", None
    if reference == "bipolar":
        pairs = _neighbour_pairs(inst, picks)
        if not pairs:
            raise ValueError(
                "reference='bipolar' found no neighbouring contacts: channel names must read <electrode><number> "
                f"(e.g. LA1, LA2); got {inst.ch_names[:6]}. Pass the pairs: reference=[('LA1', 'LA2'), ...]."
            )
    else:
        pairs = [tuple(p) for p in reference]
        for p in pairs:
            if len(p) != 2 or any(ch not in inst.ch_names for ch in p):
                raise ValueError(f"reference pair {p!r}: each pair must name two channels of the recording.")
    anodes, cathodes = [a for a, _ in pairs], [c for _, c in pairs]
    positions = {}
    chs = {ch["ch_name"]: ch for ch in inst.info["chs"]}
    for a, c in pairs:
        pa, pc = chs[a]["loc"][:3], chs[c]["loc"][:3]
        if np.all(np.isfinite(pa)) and np.all(np.isfinite(pc)) and np.any(pa != 0) and np.any(pc != 0):
            positions[f"{a}-{c}"] = (np.asarray(pa) + np.asarray(pc)) / 2
    montage = inst.get_montage()
    frame = montage.get_positions()["coord_frame"] if montage is not None else "unknown"
    out = mne.set_bipolar_reference(inst, anodes, cathodes, drop_refs=True, copy=True, verbose="error")
    if positions:
        _mne.set_positions(out, positions, frame)
    new_regions = dict(regions)
    for a, c in pairs:
        ra, rc = regions.get(a), regions.get(c)
        if ra is not None and rc is not None:
            new_regions[f"{a}-{c}"] = ra if ra == rc else f"{ra}/{rc}"
    return out, new_regions, "bipolar", [f"{a}-{c}" for a, c in pairs]


def _neighbour_pairs(inst, picks) -> list[tuple[str, str]]:
    sel = _mne.pick_indices(inst.info, picks)
    by_shaft: dict[str, list[tuple[int, str]]] = {}
    for i in sel:
        name = inst.ch_names[i]
        m = re.fullmatch(r"(.*?)(\d+)", name)
        if m:
            by_shaft.setdefault(m.group(1), []).append((int(m.group(2)), name))
    pairs = []
    for contacts in by_shaft.values():
        contacts.sort()
        for (na, a), (nb, b) in itertools.pairwise(contacts):
            if nb == na + 1:
                pairs.append((a, b))
    return pairs
