"""BIDS iEEG sidecars: channel types and bads, electrode positions and units, contact regions."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...utils import check_option, logger
from .._atlas import lookup_regions
from .._bids import Sidecars, merge_json, parse_name
from .._mne import channel_table, pick_indices, set_positions

BIDS_TYPES = {
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
UNITS = {"m": 1.0, "mm": 1e-3, "cm": 1e-2}
REGION_COLUMNS = (
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
MNI_SPACES = ("mni", "mni305", "mni152", "fsaverage", "icbm452", "talairach")


def is_auto(value: Any) -> bool:
    return isinstance(value, str) and value == "auto"


def find_electrodes(path: Path) -> Path | None:
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


def coordsystem_unit(electrodes: Path, sidecars: Sidecars) -> str:
    """iEEGCoordinateUnits of the coordsystem.json files that apply to ``electrodes`` (BIDS inheritance)."""
    files = sidecars.find(electrodes, "coordsystem", ".json")
    if not files:
        logger.warning("load_ieeg: no coordsystem.json for %s; assuming coordinates in metres.", electrodes)
        return "m"
    unit = str(merge_json(files).get("iEEGCoordinateUnits", "m"))
    if unit not in UNITS:
        raise ValueError(
            f"{str(files[-1])!r}: iEEGCoordinateUnits is {unit!r}; brainalign needs positions in m, mm or cm "
            "(pixel coordinates must be registered to an anatomical space first)."
        )
    return unit


def frame_from_name(name: str) -> str:
    space = (parse_name(name) or {}).get("space", "").lower()
    if any(space.startswith(s) for s in MNI_SPACES):
        return "mni_tal"
    return "unknown"


def apply_channels_tsv(inst: Any, path: Path) -> None:
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
            mne_type = BIDS_TYPES.get(kind.upper())
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


def set_electrodes(inst: Any, table: pd.DataFrame, unit: str, frame: str, where: str | None) -> None:
    for col in ("name", "x", "y", "z"):
        if col not in table.columns:
            raise ValueError(
                f"{where}: the electrodes table needs columns name, x, y, z; it has {list(table.columns)}."
            )
    check_option("coordinate_unit", unit, tuple(UNITS))
    scale = UNITS[unit]
    pos = {}
    for _, row in table.iterrows():
        xyz = pd.to_numeric(pd.Series([row["x"], row["y"], row["z"]]), errors="coerce").to_numpy(dtype=float)
        if row["name"] in inst.ch_names and np.all(np.isfinite(xyz)):
            pos[row["name"]] = xyz * scale
    if not pos:
        raise ValueError(
            f"{where}: no electrode matches a channel of the recording (channels e.g. {inst.ch_names[:5]})."
        )
    set_positions(inst, pos, frame)


def regions_of_contacts(inst, table, region_column, atlas, labels, picks, region) -> dict[str, str]:
    if region is not None:
        return {str(k): str(v) for k, v in region.items()} if isinstance(region, Mapping) else {}
    names = list(inst.ch_names)
    sel = pick_indices(inst.info, picks)
    picked = [names[i] for i in sel]
    if atlas is not None:
        chans, _ = channel_table(inst.info, sel)
        xyz = chans[["x", "y", "z"]].to_numpy()
        regions = lookup_regions(xyz, atlas, labels, names=picked, what="atlas")
        return dict(zip(picked, regions, strict=True))
    if table is not None:
        if region_column is None:
            region_column = next((c for c in REGION_COLUMNS if c in table.columns), None)
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
