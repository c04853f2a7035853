"""NIfTI runs through nilearn's NiftiMasker (voxels) or NiftiLabelsMasker (parcels)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ...utils import logger, soft_import
from .._atlas import describe, integer_labels, load_image, region_names
from ._common import (
    AtlasReader,
    complex_error,
    count_nonfinite,
    label_means,
    nonfinite_error,
    region_ids,
    xyz_coords,
)
from ._source import Source


class VolumeReader(AtlasReader):
    """NIfTI runs through NiftiMasker (voxels) or NiftiLabelsMasker (parcels)."""

    def __init__(self, source: Source, *, mask: Any, atlas: Any, labels: Any, parcellate: bool):
        self.nib = soft_import("nibabel", "reading NIfTI images")
        super().__init__(source, mask=mask, atlas=atlas, labels=labels, parcellate=parcellate)

    @property
    def affine(self) -> np.ndarray:
        """The runs' affine (run 0's; every run is checked against it)."""
        return self.first.affine

    @property
    def shape3(self) -> tuple[int, ...]:
        """The runs' voxel grid (run 0's)."""
        return tuple(self.first.shape[:3])

    def atlas_labels(self, img: Any) -> tuple[np.ndarray, np.ndarray]:
        """The atlas's integer labels on the voxel grid (twice: kept, and to check)."""
        data = integer_labels(np.asanyarray(img.dataobj), f"The atlas {self.atlas_name}")
        if data.ndim != 3:
            raise ValueError(f"The atlas {self.atlas_name} must be 3-D, got shape {data.shape}.")
        return data, data

    def open(self, i: int):
        img = load_image(self.source.items[i], f"run {i}")
        if len(img.shape) not in (3, 4):
            raise ValueError(f"The image {self.source.name(i)} must be 3-D or 4-D, got shape {img.shape}.")
        if 0 in img.shape:
            raise ValueError(
                f"imgs: the image {self.source.name(i)} is empty (shape {img.shape}); every run needs voxels and at "
                "least one volume."
            )
        return img

    def on_grid(self, obj: Any, what: str):
        img = load_image(obj, what)
        mismatch = self._grid_mismatch(img)
        if mismatch:
            raise ValueError(
                f"The {what} {describe(obj)} is not on the grid of the runs ({self.source.name(0)}): {mismatch}. "
                f"Resample it onto the runs' grid first, e.g. "
                f"nilearn.image.resample_to_img({what}, run_img, interpolation='nearest')."
            )
        return img

    def _grid_mismatch(self, img) -> str:
        """How ``img``'s voxel grid differs from the runs' (empty when it does not)."""
        if tuple(img.shape[:3]) == self.shape3 and np.allclose(img.affine, self.affine, atol=1e-4):
            return ""
        return (
            f"shape {tuple(img.shape[:3])} vs {self.shape3}, affines differ by up to "
            f"{np.abs(img.affine - self.affine).max():.3g}"
        )

    def check_grid(self, img, i: int) -> None:
        mismatch = self._grid_mismatch(img)
        if mismatch:
            raise ValueError(
                f"Run {i} ({self.source.name(i)}) is on a different voxel grid from run 0 ({self.source.name(0)}): "
                f"{mismatch}. Resample the runs onto one grid (nilearn.image.resample_to_img) before loading them "
                "together."
            )

    def kept(self, masker) -> np.ndarray:
        """The voxels the masker reads (boolean, on the runs' grid)."""
        if self.parcellate:
            keep = self.atlas_data != 0
            if self.mask_img is not None:
                keep &= np.asanyarray(self.mask_img.dataobj) != 0
            return keep
        return np.asanyarray(masker.mask_img_.dataobj) != 0

    def checked(self, img, i: int, masker):
        """``img`` read into memory once (nilearn masks it from there), refused when it is complex
        or has NaN/inf in a voxel to load (nilearn would read those as 0)."""
        data = np.asanyarray(img.dataobj)
        name = self.source.name(i)
        what = f"The image {name}" if len(self.source.items) == 1 else f"imgs[{i}] ({name})"
        if np.iscomplexobj(data):
            raise complex_error(what, data.dtype)
        keep = self.kept(masker)
        n_bad = count_nonfinite(data, keep)
        if n_bad:
            raise nonfinite_error(what, n_bad, int(keep.sum()), "voxels")
        return self.nib.Nifti1Image(data, img.affine, img.header)

    def scan(self, i: int) -> tuple[int, float | None]:
        """Volumes and header TR of run ``i``, from its header (nibabel reads data lazily)."""
        img = self.first if i == 0 else self.open(i)
        self.check_grid(img, i)
        if len(img.shape) == 3:
            raise ValueError(
                f"Run {i} ({self.source.name(i)}) is a 3-D image (one volume); continuous runs are 4-D. For one "
                "beta/contrast map per stimulus pass stimulus_id=..."
            )
        return self.n_frames(img), self.header_tr(img)

    def n_frames(self, img) -> int:
        return 1 if len(img.shape) == 3 else int(img.shape[3])

    def header_tr(self, img) -> float | None:
        if len(img.shape) != 4:
            return None
        zooms = img.header.get_zooms()
        if len(zooms) < 4 or not np.isfinite(zooms[3]) or zooms[3] <= 0:
            return None
        unit = img.header.get_xyzt_units()[1] if hasattr(img.header, "get_xyzt_units") else "unknown"
        scale = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}.get(unit)
        return None if scale is None else float(zooms[3]) * scale  # no time unit: TR not recorded

    def make_masker(self, options: dict[str, Any]):
        maskers = soft_import("nilearn.maskers", "masking fMRI data")
        if self.parcellate:
            masker = maskers.NiftiLabelsMasker(
                labels_img=self.atlas_img, mask_img=self.mask_img, background_label=0, **options
            )
            masker.fit()
            return masker
        mask_img = self.mask_img
        if self.atlas_img is not None:
            keep = self.atlas_data != 0
            if mask_img is not None:
                keep &= np.asanyarray(mask_img.dataobj) != 0
            mask_img = self.nib.Nifti1Image(keep.astype(np.int8), self.affine)
        masker = maskers.NiftiMasker(mask_img=mask_img, **options)
        if mask_img is None:
            logger.info("load_fmri: no mask given; computing nilearn's background mask from run 0.")
            masker.fit(self.first)
        else:
            masker.fit()
        return masker

    def neuroids(self, masker, region: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
        affines = soft_import("nibabel.affines")
        if self.parcellate:
            ids = region_ids(masker)
            inside = self.atlas_data != 0
            if masker.mask_img_ is not None:
                inside &= np.asanyarray(masker.mask_img_.dataobj) != 0
            # Mean voxel index of every parcel in one pass, then mm (the affine is linear).
            mean_ijk = label_means(self.atlas_data[inside], np.argwhere(inside), ids)
            xyz = affines.apply_affine(self.affine, mean_ijk).reshape(-1, 3)
            regions = region_names(np.asarray(ids), self.table, f"The atlas {self.atlas_name}")
            coords = xyz_coords(xyz, label_value=np.asarray(ids))
            return coords, regions
        mask = np.asanyarray(masker.mask_img_.dataobj) != 0
        ijk = np.argwhere(mask)  # C order, as nilearn's masking
        xyz = affines.apply_affine(self.affine, ijk)
        if self.atlas_data is not None:
            values = self.atlas_data[tuple(ijk.T)]
            regions = region_names(values, self.table, f"The atlas {self.atlas_name}")
        else:
            regions = np.full(len(ijk), region, dtype=object)
        coords = xyz_coords(xyz, voxel_i=ijk[:, 0], voxel_j=ijk[:, 1], voxel_k=ijk[:, 2])
        return coords, regions

    def default_space(self) -> str:
        return "native"
