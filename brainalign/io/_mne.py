"""Reading any file MNE reads, picking channels and their positions (private).

Shared by :mod:`brainalign.io.meg` (through :mod:`brainalign.io._from_mne`) and :mod:`brainalign.io.ieeg`.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..utils import soft_import

__all__ = ["DATA_TYPES", "IEEG_TYPES", "channel_table", "import_mne", "pick_indices", "read_mne", "set_positions"]

#: MNE channel types that carry brain signals (the default ``picks``).
DATA_TYPES = ("mag", "grad", "planar1", "planar2", "eeg", "seeg", "ecog", "dbs", "hbo", "hbr", "fnirs_cw_amplitude")
IEEG_TYPES = ("seeg", "ecog", "dbs")


def import_mne():
    """MNE-Python, or an ImportError with the line that installs it."""
    return soft_import("mne", "MEG/EEG/iEEG recordings")


def read_mne(path: str | os.PathLike, *, what: str = "recording"):
    """Open ``path`` with MNE: Raw for continuous files, Epochs / list of Evoked for FIF
    ``-epo`` / ``-ave`` files (and epoched EEGLAB sets). Errors name the file."""
    mne = import_mne()
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
    mne = import_mne()
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


def set_positions(inst: Any, positions_m: Mapping[str, Sequence[float]], coord_frame: str) -> None:
    """Set channel positions (metres) through an MNE montage, without MNE's fiducial warning."""
    import warnings

    mne = import_mne()
    montage = mne.channels.make_dig_montage(
        ch_pos={k: np.asarray(v, float) for k, v in positions_m.items()}, coord_frame=coord_frame
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Fiducial point nasion not found")
        inst.set_montage(montage, on_missing="ignore")
