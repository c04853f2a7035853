"""Re-referencing (common average, bipolar) and keeping only the channels a step needs."""

from __future__ import annotations

import itertools
import re
from typing import Any

import numpy as np

from ...utils import check_option
from .._mne import IEEG_TYPES, import_mne, pick_indices, set_positions


def keep_needed(inst: Any, picks: Any, reference: Any) -> tuple[Any, list[str]]:
    """Drop the channels that no step uses (before any data are read); picks as names."""
    sel = pick_indices(inst.info, picks)
    names = list(inst.ch_names)
    picked = [names[i] for i in sel]
    needed = set(picked)
    if isinstance(reference, str) and reference == "average":
        # the common average is taken over every iEEG contact of each type, picked or not
        needed |= {ch for ch, t in zip(names, inst.get_channel_types(), strict=True) if t in IEEG_TYPES}
    elif reference is not None and not isinstance(reference, str):
        needed |= {ch for pair in reference for ch in (pair if isinstance(pair, (list, tuple)) else ()) if ch in names}
    if len(needed) < len(names):
        inst.pick([ch for ch in names if ch in needed])  # keeps the file's channel order
    return inst, picked


def rereference(inst, reference, regions: dict[str, str], picks) -> tuple[Any, dict[str, str], str, list[str] | None]:
    mne = import_mne()
    types = inst.get_channel_types()
    ieeg_types = [t for t in IEEG_TYPES if t in types]
    if isinstance(reference, str):
        check_option("reference", reference, ("average", "bipolar"))
    if reference == "average":
        inst = inst.copy()
        for t in ieeg_types:
            inst.set_eeg_reference("average", ch_type=t, verbose="error")
        return inst, regions, "average", None
    if reference == "bipolar":
        pairs = neighbour_pairs(inst, picks)
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
        set_positions(out, positions, frame)
    new_regions = dict(regions)
    for a, c in pairs:
        ra, rc = regions.get(a), regions.get(c)
        if ra is not None and rc is not None:
            new_regions[f"{a}-{c}"] = ra if ra == rc else f"{ra}/{rc}"
    return out, new_regions, "bipolar", [f"{a}-{c}" for a, c in pairs]


def neighbour_pairs(inst, picks) -> list[tuple[str, str]]:
    sel = pick_indices(inst.info, picks)
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
