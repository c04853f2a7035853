"""The runs (or maps) to read: volume or surface inputs, meshes and surface file headers."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...utils import soft_import
from .._atlas import describe

_HEMI_ALIASES = {"left": "left", "lh": "left", "l": "left", "right": "right", "rh": "right", "r": "right"}


# ----------------------------------------------------------------------------------- sources
class Source:
    """The runs (or maps) to read, as lazily opened images."""

    def __init__(self, items: list[Any], surface: bool, mesh: Any, mesh_name: str | None, conditions: bool):
        self.items = items
        self.surface = surface
        self.mesh = mesh
        self.mesh_name = mesh_name
        self.conditions = conditions

    @classmethod
    def from_input(cls, imgs: Any, *, mesh: Any, conditions: bool) -> Source:
        items = list(imgs) if isinstance(imgs, (list, tuple)) else [imgs]
        if not items:
            raise ValueError("imgs is empty; give at least one run (a path or an image).")
        surface = any(is_surface(it) for it in items)
        if surface and not all(is_surface(it) for it in items):
            raise ValueError("imgs mixes surface and volume data; load them separately.")
        mesh_obj, mesh_name = (None, None)
        if surface:
            mesh_obj, mesh_name = resolve_mesh(mesh, items[0])
        elif mesh is not None:
            raise ValueError("mesh applies to surface data (GIfTI / .mgz per hemisphere); imgs are volumes.")
        return cls(items, surface, mesh_obj, mesh_name, conditions)

    def name(self, i: int) -> str:
        item = self.items[i]
        if isinstance(item, Mapping):
            return ", ".join(describe(v) for v in item.values())
        return describe(item)

    def files(self) -> list[str]:
        out = []
        for item in self.items:
            values = item.values() if isinstance(item, Mapping) else [item]
            out.extend(str(v) for v in values if isinstance(v, (str, os.PathLike)))
        return out


def is_surface(item: Any) -> bool:
    if isinstance(item, Mapping):
        return True
    if type(item).__name__ == "SurfaceImage":
        return True
    if isinstance(item, (str, os.PathLike)):
        return str(item).lower().endswith((".gii", ".gii.gz"))
    return False


def resolve_mesh(mesh: Any, first: Any):
    if type(first).__name__ == "SurfaceImage":
        return first.mesh, mesh if isinstance(mesh, str) else None
    if mesh is None:
        raise ValueError(
            "Surface data needs a mesh for the vertex coordinates: mesh='fsaverage5' (shipped with nilearn), "
            "a nilearn PolyMesh, or {'left': path, 'right': path} of surface files."
        )
    surface = soft_import("nilearn.surface", "surface fMRI")
    if isinstance(mesh, str):
        datasets = soft_import("nilearn.datasets", "fsaverage meshes")
        try:
            return datasets.load_fsaverage(mesh)["pial"], mesh
        except Exception as err:
            raise ValueError(
                f"mesh={mesh!r}: nilearn cannot load that mesh offline ({err}). nilearn ships 'fsaverage5'; "
                "for others give {'left': path, 'right': path} of GIfTI/FreeSurfer surface files."
            ) from err
    if isinstance(mesh, Mapping):
        parts = {hemi_name(k): v for k, v in mesh.items()}
        try:
            return surface.PolyMesh(**parts), None
        except Exception as err:
            raise ValueError(f"Cannot read the mesh files {mesh!r}: {err}") from err
    if type(mesh).__name__ == "PolyMesh":
        return mesh, None
    raise TypeError(f"mesh must be a name, a nilearn PolyMesh or a mapping of paths, got {type(mesh).__name__}.")


def hemi_name(key: Any) -> str:
    hemi = _HEMI_ALIASES.get(str(key).lower())
    if hemi is None:
        raise ValueError(f"Unknown hemisphere {key!r}; use 'left' and 'right' (or 'lh'/'rh').")
    return hemi


def surface_file_shape(path: str | os.PathLike) -> tuple[int, int] | None:
    """(vertices, volumes) of a surface data file read from its header, as nilearn's
    ``load_surf_data`` would shape the data; None when the header does not tell."""
    name = str(path).lower()
    try:
        if name.endswith((".mgz", ".nii", ".nii.gz")):
            nib = soft_import("nibabel", "reading surface data")
            dims = [int(d) for d in nib.load(str(path)).shape if int(d) != 1] or [1]  # squeezed, as nilearn
        elif name.endswith((".gii", ".gii.gz")):
            return _gifti_shape(Path(path))
        else:
            return None
    except Exception:  # unreadable header: opening the file gives the error that names it
        return None
    return dims[0], int(np.prod(dims[1:])) if len(dims) > 1 else 1


def _gifti_shape(path: Path) -> tuple[int, int] | None:
    """Vertices and number of data arrays (one per volume) of a GIfTI file, from the XML
    attributes: the encoded data are skipped, not decoded."""
    import gzip
    from xml.etree import ElementTree

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    sizes, n_arrays = set(), 0
    with opener(path, "rb") as f:
        for _, elem in ElementTree.iterparse(f, events=("end",)):
            if elem.tag == "DataArray":
                dims = [int(elem.get(f"Dim{k}", "1")) for k in range(int(elem.get("Dimensionality", "1")))]
                big = [d for d in dims if d != 1]
                if len(big) > 1:  # a 2-D array (vertices × volumes): let nilearn read it
                    return None
                sizes.add(big[0] if big else 1)
                n_arrays += 1
            if elem.tag in ("Data", "DataArray"):
                elem.clear()
    if n_arrays == 0 or len(sizes) != 1:
        return None
    return sizes.pop(), n_arrays
