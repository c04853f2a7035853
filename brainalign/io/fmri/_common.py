"""Helpers shared by the volume and surface readers: coordinates, atlas options, parcel centroids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._atlas import read_labels


def xyz_coords(xyz: np.ndarray, **extra: np.ndarray) -> dict[str, np.ndarray]:
    """Neuroid coordinates: x, y, z (mm) plus any extra per-neuroid columns."""
    return {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2], **extra}


def atlas_options(atlas: Any, labels: Any, parcellate: bool) -> dict[int, str] | None:
    """Check the atlas options together and read the label table."""
    if labels is not None and atlas is None:
        raise ValueError("labels name the values of an atlas; pass atlas=... as well.")
    if parcellate and atlas is None:
        raise ValueError("parcellate=True averages the parcels of an atlas; pass atlas=... (a label image).")
    return read_labels(labels, "labels") if labels is not None else None


def label_means(values: np.ndarray, points: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """Mean of ``points`` (n × 3) over the points of each label in ``ids``, in one pass over
    the labels (``np.bincount`` weighted by each coordinate); NaN for a label with no point."""
    ids = np.asarray(ids, dtype=np.int64)
    uniq, inverse = np.unique(np.asarray(values, dtype=np.int64), return_inverse=True)
    counts = np.bincount(inverse, minlength=len(uniq))
    sums = np.stack(
        [np.bincount(inverse, weights=np.asarray(points[:, c], dtype=float), minlength=len(uniq)) for c in range(3)],
        axis=1,
    )
    pos = np.minimum(np.searchsorted(uniq, ids), max(len(uniq) - 1, 0))
    out = np.full((len(ids), 3), np.nan)
    if len(uniq):
        hit = uniq[pos] == ids
        out[hit] = sums[pos[hit]] / counts[pos[hit], None]
    return out


def region_ids(masker) -> list[int]:
    """Atlas values of the masker's output columns, in column order (background left out:
    nilearn >= 0.12.1 names it ``"background"``, 0.12.0 lists it as a region)."""
    ids = masker.region_ids_
    background = getattr(masker, "background_label", 0)
    return [int(ids[k]) for k in sorted(k for k in ids if k != "background") if ids[k] != background]


def masker_options(**kw: Any) -> dict[str, Any]:
    opts = dict(kw)
    opts["standardize"] = "zscore_sample" if kw.get("standardize") else None
    return opts
