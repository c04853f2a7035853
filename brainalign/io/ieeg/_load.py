"""The public entry point :func:`load_ieeg`."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import xarray as xr

from ...utils import check_number, check_option, check_text
from .._bids import Sidecars
from .._from_mne import from_mne
from .._mne import IEEG_TYPES, import_mne, pick_indices, read_mne
from ._envelope import ENVELOPE_SIGMA, check_band, high_gamma
from ._reference import keep_needed, rereference
from ._sidecars import (
    UNITS,
    apply_channels_tsv,
    coordsystem_unit,
    find_electrodes,
    frame_from_name,
    is_auto,
    regions_of_contacts,
    set_electrodes,
)


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
    re-reference; band envelope (:func:`high_gamma`, which also samples it at ``sfreq``, staying
    non-negative); else downsample the signal (MNE's anti-aliased
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
    mne = import_mne()
    if coordinate_unit is not None:
        check_option("coordinate_unit", coordinate_unit, tuple(UNITS))
    region_column = check_text("region_column", region_column, optional=True)
    sfreq = check_number("sfreq", sfreq, optional=True, unit="Hz")
    if band is not None:
        check_band(band)
    if isinstance(reference, str):
        check_option("reference", reference, ("average", "bipolar"))
    path = Path(path)
    inst = read_mne(path, what="iEEG")
    if isinstance(inst, list):
        raise ValueError(f"{str(path)!r} holds Evoked data; load_ieeg reads continuous or epoched iEEG.")
    sidecars = Sidecars()
    if channels is not None:
        ch_path = sidecars.nearest(path, "channels", ".tsv") if is_auto(channels) else Path(channels)
        if ch_path is not None:
            apply_channels_tsv(inst, ch_path)
    table, where, unit, frame = None, None, coordinate_unit, "unknown"
    if isinstance(electrodes, pd.DataFrame):
        table, where = electrodes.copy(), "the electrodes table"
    elif electrodes is not None:
        el_path = find_electrodes(path) if is_auto(electrodes) else Path(electrodes)
        if el_path is not None:
            if not el_path.exists():
                raise FileNotFoundError(f"The electrodes file {str(el_path)!r} does not exist.")
            table, where = pd.read_csv(el_path, sep="\t", na_values=["n/a"]), repr(str(el_path))
            unit = unit or coordsystem_unit(el_path, sidecars)
            frame = frame_from_name(el_path.name)
    if table is not None:
        table.columns = [str(c).lstrip("\ufeff") for c in table.columns]
        set_electrodes(inst, table, unit or "m", frame, where)
    if isinstance(picks, str) and picks == "ieeg":
        types = set(inst.get_channel_types())
        picks = [t for t in IEEG_TYPES if t in types]
        if not picks:
            raise ValueError(
                f"{str(path)!r} has no sEEG/ECoG/DBS channel (types: {sorted(types)}). If the file labels them "
                "otherwise, pass picks=[...] or a channels.tsv, or set types with raw.set_channel_types()."
            )
    # Pick before reading: ECG, triggers, audio... are never loaded. The picks become channel
    # names (same channels, same order) since dropping channels shifts indices.
    inst, picks = keep_needed(inst, picks, reference)
    if isinstance(inst, mne.io.BaseRaw) and (reference is not None or band is not None or sfreq is not None):
        inst.load_data(verbose="error")  # filters and re-referencing work in memory; else from_mne reads
    # Regions of the original contacts, carried through re-referencing.
    contact_regions = regions_of_contacts(inst, table, region_column, atlas, labels, picks, region)
    ref_label, bipolar_names = "original", None
    if reference is not None:
        inst, contact_regions, ref_label, bipolar_names = rereference(inst, reference, contact_regions, picks)
    if band is not None:  # the envelope is sampled at sfreq without going negative (see high_gamma)
        inst = high_gamma(inst, band=band, sfreq=sfreq)
    elif sfreq is not None:
        inst = inst.copy().resample(sfreq, verbose="error")
    if bipolar_names:
        picks = bipolar_names  # only the bipolar derivations: no monopolar leftovers
    sel = pick_indices(inst.info, picks)
    picked = [inst.ch_names[i] for i in sel]
    if region is not None and not isinstance(region, Mapping):
        regions: Any = region  # one name, or one value per picked channel
    elif isinstance(region, Mapping):
        regions = {ch: contact_regions[ch] for ch in picked if ch in contact_regions}  # from_mne names gaps
    else:
        ch_types = dict(zip(inst.ch_names, inst.get_channel_types(), strict=True))
        regions = {ch: contact_regions.get(ch, ch_types[ch]) for ch in picked}
    rec = from_mne(inst, region=regions, picks=picks, modality="ieeg", **kwargs)
    rec.attrs.update(reference=ref_label, source_file=str(path))
    if band is not None:
        lo, hi = check_band(band)  # the band-pass before the envelope, not the envelope's own spectrum
        rec.attrs.update(band=[lo, hi], highpass=lo, lowpass=hi, envelope="hilbert")
        if sfreq is not None:
            rec.attrs["envelope_smoothing_sigma"] = ENVELOPE_SIGMA / sfreq
    if frame != "unknown" and rec.attrs.get("space") in ("unknown", "head"):
        rec.attrs["space"] = frame
    return rec
