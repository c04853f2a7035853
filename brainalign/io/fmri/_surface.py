"""Surface runs (GIfTI / .mgz per hemisphere) through nilearn's SurfaceMasker / SurfaceLabelsMasker."""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...utils import soft_import
from .._atlas import describe, integer_labels, region_names
from ._common import (
    AtlasReader,
    complex_error,
    count_nonfinite,
    label_means,
    nonfinite_error,
    region_ids,
    xyz_coords,
)
from ._source import Source, hemi_name, surface_file_shape


class SurfaceReader(AtlasReader):
    """Surface runs (GIfTI / .mgz per hemisphere) through SurfaceMasker / SurfaceLabelsMasker."""

    def __init__(self, source: Source, *, mask: Any, atlas: Any, labels: Any, parcellate: bool):
        self.surface = soft_import("nilearn.surface", "surface fMRI")
        self.mesh = source.mesh
        self.n_vertices = {h: int(self.mesh.parts[h].n_vertices) for h in self.mesh.parts}
        super().__init__(source, mask=mask, atlas=atlas, labels=labels, parcellate=parcellate)

    def atlas_labels(self, img: Any) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """The atlas's integer labels per hemisphere, and all of them."""
        data = {
            h: integer_labels(np.asarray(img.data.parts[h]).reshape(-1), f"The atlas {self.atlas_name}")
            for h in img.data.parts
        }
        return data, np.concatenate(list(data.values()))

    def on_grid(self, obj: Any, what: str):
        if type(obj).__name__ == "SurfaceImage":
            img = obj
        elif isinstance(obj, Mapping):
            try:
                img = self.surface.SurfaceImage(
                    self.mesh, {hemi_name(k): str(v) if isinstance(v, os.PathLike) else v for k, v in obj.items()}
                )
            except Exception as err:
                raise ValueError(f"Cannot read the {what} {obj!r} on the mesh: {err}") from err
        else:
            raise TypeError(f"For surface data, {what} must be a SurfaceImage or {{'left': ..., 'right': ...}}.")
        for hemi, n in self.n_vertices.items():
            got = np.asarray(img.data.parts[hemi]).shape[0]
            if got != n:
                raise ValueError(
                    f"The {what} {describe(obj)} has {got} vertices in the {hemi} hemisphere; the mesh has {n}."
                )
        return img

    def open(self, i: int):
        item = self.source.items[i]
        if type(item).__name__ == "SurfaceImage":
            return item
        if not isinstance(item, Mapping):
            raise TypeError(
                f"Surface run {i} must be a SurfaceImage or {{'left': path, 'right': path}}, got {type(item).__name__}."
            )
        data = {}
        for key, value in item.items():
            hemi = hemi_name(key)
            if isinstance(value, (str, os.PathLike)) and not Path(value).exists():
                raise FileNotFoundError(f"Surface run {i}: the file {str(value)!r} does not exist.")
            try:
                arr = np.asarray(self.surface.load_surf_data(str(value) if isinstance(value, os.PathLike) else value))
            except Exception as err:
                raise ValueError(f"Surface run {i}: cannot read {describe(value)} ({err}).") from err
            data[hemi] = arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr
            self._check_vertices(data[hemi].shape[0], hemi, value, i)
        try:
            return self.surface.SurfaceImage(self.mesh, data)
        except Exception as err:
            raise ValueError(f"Surface run {i} ({self.source.name(i)}): {err}") from err

    def _check_vertices(self, n_got: int, hemi: str, value: Any, i: int) -> None:
        n = self.n_vertices.get(hemi)
        if n is not None and n_got != n:
            raise ValueError(
                f"Surface run {i}: {describe(value)} has {n_got} vertices but the {hemi} hemisphere of the mesh has "
                f"{n}. Use the mesh the data were sampled on."
            )

    def kept(self, masker) -> dict[str, np.ndarray]:
        """The vertices the masker reads, per hemisphere."""
        if self.parcellate:
            keep = {h: self.atlas_data[h] != 0 for h in self.atlas_data}
            if self.mask_img is not None:
                keep = {h: keep[h] & (np.asarray(self.mask_img.data.parts[h]).reshape(-1) != 0) for h in keep}
            return keep
        if masker.mask_img_ is None:
            return {h: np.ones(n, dtype=bool) for h, n in self.n_vertices.items()}
        return {h: np.asarray(p).reshape(-1) != 0 for h, p in masker.mask_img_.data.parts.items()}

    def checked(self, img, i: int, masker):
        """``img``, refused when it is complex or has NaN/inf in a vertex to load."""
        what = f"Surface run {i} ({self.source.name(i)})"
        n_bad = n_kept = 0
        for hemi, keep in self.kept(masker).items():
            part = np.asarray(img.data.parts[hemi])
            if np.iscomplexobj(part):
                raise complex_error(what, part.dtype)
            n_bad += count_nonfinite(part, keep)
            n_kept += int(keep.sum())
        if n_bad:
            raise nonfinite_error(what, n_bad, n_kept, "vertices")
        return img

    def check_grid(self, img, i: int) -> None:
        for hemi, n in self.n_vertices.items():
            if hemi in img.data.parts and np.asarray(img.data.parts[hemi]).shape[0] != n:
                raise ValueError(f"Surface run {i} ({self.source.name(i)}) does not match the mesh ({hemi}).")

    def scan(self, i: int) -> tuple[int, float | None]:
        """Volumes of run ``i``, from the file headers where the format allows (GIfTI, .mgz,
        NIfTI), so that pass 1 does not read the data; other inputs are opened."""
        if i == 0:
            return self.n_frames(self.first), None
        item = self.source.items[i]
        counts: dict[str, int] = {}
        if isinstance(item, Mapping):
            for key, value in item.items():
                hemi = hemi_name(key)
                shape = None
                if isinstance(value, (str, os.PathLike)):
                    if not Path(value).exists():
                        raise FileNotFoundError(f"Surface run {i}: the file {str(value)!r} does not exist.")
                    shape = surface_file_shape(value)
                if shape is None:
                    break
                self._check_vertices(shape[0], hemi, value, i)
                counts[hemi] = shape[1]
            else:
                if len(set(counts.values())) > 1:
                    raise ValueError(
                        f"Surface run {i} ({self.source.name(i)}): the hemispheres hold different numbers of volumes "
                        f"({counts})."
                    )
                if counts:
                    return next(iter(counts.values())), None
        img = self.open(i)  # in-memory images, or formats whose header does not tell
        self.check_grid(img, i)
        return self.n_frames(img), None

    def n_frames(self, img) -> int:
        part = np.asarray(next(iter(img.data.parts.values())))
        return 1 if part.ndim == 1 else int(part.shape[1])

    def header_tr(self, img) -> float | None:
        return None  # surface headers rarely carry a reliable TR

    def make_masker(self, options: dict[str, Any]):
        maskers = soft_import("nilearn.maskers", "masking surface data")
        if options.pop("smoothing_fwhm", None) is not None:
            raise ValueError("smoothing_fwhm applies to volumes; smooth surface data on the mesh beforehand.")
        if "dtype" not in inspect.signature(maskers.SurfaceMasker).parameters:
            options.pop("dtype", None)  # nilearn < 0.14: the result's dtype is set when it is stored
        if self.parcellate:
            masker = maskers.SurfaceLabelsMasker(labels_img=self.atlas_img, mask_img=self.mask_img, **options)
            masker.fit()
            return masker
        mask_img = self.mask_img
        if self.atlas_img is not None:
            keep = {h: self.atlas_data[h] != 0 for h in self.atlas_data}
            if mask_img is not None:
                keep = {h: keep[h] & (np.asarray(mask_img.data.parts[h]).reshape(-1) != 0) for h in keep}
            mask_img = self.surface.SurfaceImage(self.mesh, {h: k.astype(np.int8) for h, k in keep.items()})
        masker = maskers.SurfaceMasker(mask_img=mask_img, **options)
        masker.fit(self.first if mask_img is None else None)
        return masker

    def neuroids(self, masker, region: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
        if self.parcellate:
            ids = region_ids(masker)
            hemi_names = list(self.atlas_data)
            values = np.concatenate([self.atlas_data[h] for h in hemi_names])
            points = np.concatenate([np.asarray(self.mesh.parts[h].coordinates, dtype=float) for h in hemi_names])
            xyz = label_means(values, points, ids).reshape(-1, 3)
            where = np.stack([np.isin(ids, self.atlas_data[h]) for h in hemi_names], axis=1)  # parcel × hemisphere
            hemis = [hemi_names[int(np.argmax(w))] if w.sum() == 1 else "both" for w in where]
            regions = region_names(np.asarray(ids), self.table, f"The atlas {self.atlas_name}")
            return xyz_coords(xyz, hemisphere=np.asarray(hemis, dtype=object), label_value=np.asarray(ids)), regions
        parts = masker.mask_img_.data.parts if masker.mask_img_ is not None else None
        xyz, hemis, vertex, values = [], [], [], []
        for h in self.mesh.parts:  # nilearn concatenates hemispheres in the mesh's order
            keep = np.asarray(parts[h]).reshape(-1) != 0 if parts is not None else np.ones(self.n_vertices[h], bool)
            idx = np.flatnonzero(keep)
            xyz.append(np.asarray(self.mesh.parts[h].coordinates)[idx])
            hemis.extend([h] * len(idx))
            vertex.append(idx)
            if self.atlas_data is not None:
                values.append(self.atlas_data[h][idx])
        xyz = np.concatenate(xyz).astype(float)
        if self.atlas_data is not None:
            regions = region_names(np.concatenate(values), self.table, f"The atlas {self.atlas_name}")
        else:
            regions = np.full(len(xyz), region, dtype=object)
        return xyz_coords(xyz, hemisphere=np.asarray(hemis, dtype=object), vertex=np.concatenate(vertex)), regions

    def default_space(self) -> str:
        return self.source.mesh_name or "surface"
