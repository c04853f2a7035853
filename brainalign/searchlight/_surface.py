"""Geodesic discs on a cortical mesh, one hemisphere at a time."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import xarray as xr

from ..utils import soft_import
from ._core import Searchlight, centre_mask, check_recording, check_rule, finish

__all__ = ["edge_graph", "geodesic_within", "mesh_parts", "surface"]

_HEMIS = {"left": "left", "lh": "left", "l": "left", "right": "right", "rh": "right", "r": "right"}


def edge_graph(coords: np.ndarray, faces: np.ndarray) -> Any:
    """Sparse symmetric graph of a triangle mesh: one edge per triangle side, weighted by its length in mm.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.searchlight import edge_graph
    >>> g = edge_graph(np.array([[0.0, 0, 0], [1, 0, 0], [0, 2, 0]]), np.array([[0, 1, 2]]))
    >>> g.toarray()[0].tolist()
    [0.0, 1.0, 2.0]
    """
    from scipy import sparse

    coords = np.asarray(coords, dtype=np.float64)
    faces = np.asarray(faces, dtype=np.int64)
    if faces.ndim != 2 or faces.shape[1] != 3 or faces.min() < 0 or faces.max() >= len(coords):
        raise ValueError(f"faces must be (n_faces, 3) vertex indices below {len(coords)}, got shape {faces.shape}.")
    a = np.concatenate([faces[:, 0], faces[:, 1], faces[:, 2]])
    b = np.concatenate([faces[:, 1], faces[:, 2], faces[:, 0]])
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    key = np.unique(lo * len(coords) + hi)
    lo, hi = key // len(coords), key % len(coords)
    w = np.linalg.norm(coords[lo] - coords[hi], axis=1)
    n = len(coords)
    g = sparse.coo_matrix((np.concatenate([w, w]), (np.concatenate([lo, hi]), np.concatenate([hi, lo]))), shape=(n, n))
    return g.tocsr()


def geodesic_within(graph: Any, sources: np.ndarray, radius: float, *, chunk: int = 256) -> list[np.ndarray]:
    """Vertices within ``radius`` (strictly) of each source along the mesh edges (Dijkstra, limited to the radius).

    The distance is the shortest path over mesh edges, the usual approximation of the geodesic
    distance (it is never shorter than the true geodesic on the surface).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.searchlight import edge_graph, geodesic_within
    >>> coords = np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [1, 1, 0]])
    >>> g = edge_graph(coords, np.array([[0, 1, 3], [1, 2, 3]]))
    >>> [v.tolist() for v in geodesic_within(g, np.array([0]), 1.5)]
    [[0, 1, 3]]
    """
    from scipy.sparse.csgraph import dijkstra

    out: list[np.ndarray] = []
    limit = radius * (1 - 1e-9)
    for start in range(0, len(sources), chunk):
        D = dijkstra(graph, directed=False, indices=sources[start : start + chunk], limit=limit)
        out.extend(np.flatnonzero(row < limit) for row in D)
    return out


def mesh_parts(mesh: Any, rec: xr.DataArray) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    if mesh is None:
        space = str(rec.attrs.get("space", ""))
        if not space.startswith("fsaverage"):
            raise ValueError(
                "surface needs the mesh the data were sampled on: mesh='fsaverage5' (shipped with nilearn), a "
                "nilearn PolyMesh, or {'left': (coords, faces), 'right': (coords, faces)}; rec.attrs['space'] "
                f"is {space!r}."
            )
        mesh = space
    if isinstance(mesh, str):
        datasets = soft_import("nilearn.datasets", "fsaverage meshes")
        try:
            mesh = datasets.load_fsaverage(mesh)["pial"]
        except Exception as err:
            raise ValueError(f"mesh={mesh!r}: nilearn cannot load that mesh offline ({err}).") from err
    if isinstance(mesh, Mapping):
        parts = {}
        for key, value in mesh.items():
            coords, faces = value
            parts[_HEMIS.get(str(key).lower(), str(key))] = (np.asarray(coords, float), np.asarray(faces, np.int64))
        return parts
    # A nilearn PolyMesh: .parts maps hemisphere → InMemoryMesh(coordinates, faces).
    return {h: (np.asarray(m.coordinates, float), np.asarray(m.faces, np.int64)) for h, m in mesh.parts.items()}


def surface(
    rec: xr.DataArray,
    radius: float = 10.0,
    *,
    mesh: Any = None,
    min_neuroids: int = 1,
    min_fraction: float | None = None,
    mask: Any = None,
) -> Searchlight:
    """Geodesic discs on the cortical mesh, per hemisphere.

    Every neuroid selected by ``mask`` is a candidate centre; its neighbours are the neuroids
    of the same hemisphere whose mesh vertex lies strictly within ``radius`` mm of the centre's
    vertex along the mesh (shortest paths over the triangle edges, weighted by their length:
    Dijkstra limited to the radius). A centre is kept when it has at least ``min_neuroids``
    neighbours and, if ``min_fraction`` is given, at least that fraction of the full disc (all
    mesh vertices within the radius, recorded or not, e.g. the medial wall masked out).

    Parameters
    ----------
    rec : xarray.DataArray
        A surface recording: ``hemisphere`` ("left"/"right") and ``vertex`` (index into that
        hemisphere's mesh) on ``neuroid``, as :func:`brainalign.io.fmri.load_fmri` builds them.
    radius : float
        Disc radius in mm, along the mesh.
    mesh : str, nilearn PolyMesh or mapping, optional
        A nilearn fsaverage name (``"fsaverage5"`` loads offline; its pial surface), a
        ``PolyMesh``, or ``{"left": (coords, faces), "right": (coords, faces)}``. Default:
        ``rec.attrs["space"]`` when it names an fsaverage mesh.
    min_neuroids, min_fraction, mask
        As in :func:`spheres`.

    Returns
    -------
    Searchlight
        ``kind="surface"``.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, searchlight
    >>> coords = np.array([[0.0, 0, 0], [1, 0, 0], [2, 0, 0], [1, 1, 0]])
    >>> faces = np.array([[0, 1, 3], [1, 2, 3]])
    >>> rec = data.recording(np.zeros((3, 4)), stimulus_id=list("abc"), subject="S1", region="V1",
    ...     neuroid_coords={"hemisphere": ["left"] * 4, "vertex": [0, 1, 2, 3]})
    >>> sl = searchlight.surface(rec, radius=1.2, mesh={"left": (coords, faces)})
    >>> [n.tolist() for n in sl.neighbours]
    [[0, 1], [0, 1, 2, 3], [1, 2], [1, 3]]
    """
    rec = check_recording(rec)
    radius, min_neuroids, min_fraction = check_rule(radius, min_neuroids, min_fraction)
    for c in ("hemisphere", "vertex"):
        if c not in rec.coords:
            raise ValueError(
                f"rec has no neuroid coordinate {c!r}: surface searchlights need each neuroid's hemisphere and "
                "mesh vertex (load_fmri adds both for surface data); for points in space use searchlight.spheres."
            )
    parts = mesh_parts(mesh, rec)
    hemi = np.array([_HEMIS.get(str(h).lower(), str(h)) for h in rec["hemisphere"].values], dtype=object)
    vertex = np.asarray(rec["vertex"].values).astype(np.int64)
    centers = centre_mask(mask, rec.sizes["neuroid"])
    neighbours: list[np.ndarray] = [np.empty(0, np.int64)] * len(centers)
    full = np.zeros(len(centers), dtype=np.int64)
    for h in np.unique(hemi):
        if h not in parts:
            raise ValueError(f"rec has neuroids in hemisphere {h!r} but the mesh has only {sorted(parts)}.")
        coords, faces = parts[h]
        on = np.flatnonzero(hemi == h)
        if vertex[on].min() < 0 or vertex[on].max() >= len(coords):
            raise ValueError(
                f"rec's vertex indices in the {h} hemisphere reach {vertex[on].max()} but the mesh has "
                f"{len(coords)} vertices; use the mesh the data were sampled on."
            )
        lookup = np.full(len(coords), -1, dtype=np.int64)  # mesh vertex → neuroid index
        lookup[vertex[on]] = on
        if len(np.unique(vertex[on])) != len(on):
            raise ValueError(f"rec has several neuroids on the same vertex of the {h} hemisphere.")
        which = np.flatnonzero(hemi[centers] == h)
        discs = geodesic_within(edge_graph(coords, faces), vertex[centers[which]], radius)
        for w, disc in zip(which, discs, strict=True):
            idx = lookup[disc]
            neighbours[w] = idx[idx >= 0]
            full[w] = len(disc)
    return finish(
        rec,
        centers,
        neighbours,
        full,
        kind="surface",
        radius=radius,
        min_neuroids=min_neuroids,
        min_fraction=min_fraction,
    )
