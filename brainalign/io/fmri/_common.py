"""Helpers shared by the volume and surface readers: coordinates, atlas options, parcel centroids."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np

from .._atlas import describe, read_labels, region_names


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


class AtlasReader(ABC):
    """What the volume and surface readers share: run 0 opened, the mask and atlas brought onto
    the runs' geometry, the label table, and the atlas's integer labels checked against it.

    A reader sets what ``open`` needs, then calls this ``__init__``; it gives ``open(i)`` (run
    ``i``), ``on_grid(obj, what)`` (a mask or atlas checked against the runs) and
    ``atlas_labels(img)`` (the atlas's labels as the reader keeps them, and all of them flat).
    """

    def __init__(self, source: Any, *, mask: Any, atlas: Any, labels: Any, parcellate: bool):
        self.source = source
        self.first = self.open(0)
        self.mask_img = self.on_grid(mask, "mask") if mask is not None else None
        self.atlas_img = self.on_grid(atlas, "atlas") if atlas is not None else None
        self.table = atlas_options(atlas, labels, parcellate)
        self.parcellate = parcellate
        self.atlas_name = describe(atlas) if atlas is not None else None
        self.atlas_data = None
        if self.atlas_img is not None:
            self.atlas_data, values = self.atlas_labels(self.atlas_img)
            region_names(np.unique(values), self.table, f"The atlas {self.atlas_name}")  # unknown labels raise

    @abstractmethod
    def open(self, i: int) -> Any:
        """See the class docstring."""

    @abstractmethod
    def on_grid(self, obj: Any, what: str) -> Any:
        """See the class docstring."""

    @abstractmethod
    def atlas_labels(self, img: Any) -> tuple[Any, np.ndarray]:
        """See the class docstring."""


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


#: Volumes checked for NaN/inf at once (bounds the temporary copy of the kept voxels).
FINITE_CHUNK = 64


def count_nonfinite(data: np.ndarray, keep: np.ndarray) -> int:
    """Number of kept points (voxels or vertices: ``keep`` is a boolean array over the leading
    dims of ``data``) with a NaN/inf value in any volume; volumes are checked a chunk at a time."""
    if data.ndim == keep.ndim:
        return int((~np.isfinite(data[keep])).sum())
    flat = data.reshape(*keep.shape, -1)
    bad = np.zeros(int(keep.sum()), dtype=bool)
    for start in range(0, flat.shape[-1], FINITE_CHUNK):
        bad |= ~np.isfinite(flat[..., start : start + FINITE_CHUNK][keep]).all(axis=-1)
    return int(bad.sum())


def nonfinite_error(what: str, n_bad: int, n_kept: int, kind: str) -> ValueError:
    """The error for NaN/inf inside the data to load, saying how to exclude or fill them."""
    return ValueError(
        f"{what} has NaN/inf values in {n_bad} of the {n_kept} {kind} to load; brainalign refuses them rather "
        f"than reading them as 0. Leave those {kind} out with mask=... (a mask where the data are finite, e.g. "
        "nilearn.masking.compute_epi_mask or the pipeline's brain mask), or fill them yourself "
        "(nilearn.image.math_img('np.nan_to_num(img)', img=img)) if 0 is what they mean."
    )


def complex_error(what: str, dtype: Any) -> TypeError:
    return TypeError(f"{what} holds complex values ({dtype}); fMRI signals must be real (take np.abs or .real first).")
