"""Euclidean spheres around voxels, parcels, electrodes or sensors, and the voxel grid of a recording."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from ._core import Searchlight, centre_mask, check_recording, check_rule, finish, xyz_of

__all__ = ["VolumeGrid", "spheres", "volume_grid"]

#: Neighbours strictly inside the radius: a point at the radius (to this relative tolerance) is out.
RADIUS_RTOL = 1e-9
_IJK = ("voxel_i", "voxel_j", "voxel_k")


class VolumeGrid(NamedTuple):
    """The voxel grid a volume recording was masked from."""

    ijk: np.ndarray  #: (n_neuroids, 3) integer voxel indices
    affine: np.ndarray  #: (4, 4) voxel index → mm
    shape: tuple[int, int, int]  #: grid shape


def volume_grid(rec: xr.DataArray, *, affine: Any = None, grid_shape: Any = None) -> VolumeGrid:
    """The voxel grid of a volume recording (as :func:`brainalign.io.fmri.load_fmri` builds them).

    Needs the neuroid coordinates ``voxel_i``, ``voxel_j``, ``voxel_k`` (integer voxel
    indices). The affine (voxel index → mm) is, in order: ``affine``; ``rec.attrs["affine"]``
    (16 numbers, row-major); else fitted exactly from the voxel indices and the ``x``/``y``/``z``
    coordinates (this needs voxels spanning all three axes, and a fit that reproduces every
    coordinate to 1e-4 mm). The grid shape is ``grid_shape``, else ``rec.attrs["grid_shape"]``,
    else the bounding box of the recorded voxels (``max index + 1`` per axis).

    Parameters
    ----------
    rec : xarray.DataArray
        A volume recording.
    affine : array (4, 4), optional
    grid_shape : sequence of 3 int, optional

    Returns
    -------
    VolumeGrid
        ``(ijk, affine, shape)``.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, searchlight
    >>> ijk = np.argwhere(np.ones((3, 3, 2), bool))
    >>> xyz = ijk * 2.0 + 10
    >>> rec = data.recording(np.zeros((4, 18)), stimulus_id=list("abcd"), subject="S1", region="V1",
    ...     neuroid_coords={"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2],
    ...                     "voxel_i": ijk[:, 0], "voxel_j": ijk[:, 1], "voxel_k": ijk[:, 2]})
    >>> g = searchlight.volume_grid(rec)
    >>> g.shape, np.diag(g.affine).tolist(), g.affine[:3, 3].tolist()
    ((3, 3, 2), [2.0, 2.0, 2.0, 1.0], [10.0, 10.0, 10.0])
    """
    missing = [c for c in _IJK if c not in rec.coords]
    if missing:
        raise ValueError(
            f"rec has no neuroid coordinate(s) {missing}: a voxel grid needs each voxel's integer indices "
            "voxel_i/voxel_j/voxel_k (brainalign.io.fmri.load_fmri adds them for volumes; parcels and "
            "surfaces have none)."
        )
    ijk = np.stack([np.asarray(rec[c].values) for c in _IJK], axis=1)
    if ijk.dtype.kind not in "iu":
        if not np.all(np.isfinite(ijk)) or not np.array_equal(ijk, np.round(ijk)):
            raise ValueError("rec's voxel_i/voxel_j/voxel_k must be integer voxel indices.")
    ijk = ijk.astype(np.int64)
    if ijk.size and ijk.min() < 0:
        raise ValueError("rec's voxel_i/voxel_j/voxel_k must be >= 0.")
    if affine is None and "affine" in rec.attrs:
        affine = rec.attrs["affine"]
    if affine is not None:
        affine = np.asarray(affine, dtype=np.float64).reshape(4, 4) if np.size(affine) == 16 else np.asarray(affine)
        if affine.shape != (4, 4) or not np.all(np.isfinite(affine)):
            raise ValueError(f"affine must be a finite (4, 4) matrix (voxel index → mm), got shape {affine.shape}.")
    else:
        affine = _fit_affine(ijk, xyz_of(rec))
    if grid_shape is None:
        grid_shape = rec.attrs.get("grid_shape")
    if grid_shape is None:
        grid_shape = tuple(int(v) for v in ijk.max(axis=0) + 1)
    grid_shape = tuple(int(v) for v in np.asarray(grid_shape).reshape(-1)[:3])
    if len(grid_shape) != 3 or np.any(ijk >= np.asarray(grid_shape)):
        raise ValueError(f"grid_shape {grid_shape} must be 3 sizes holding every voxel index (max {ijk.max(axis=0)}).")
    return VolumeGrid(ijk, affine, grid_shape)


def _fit_affine(ijk: np.ndarray, xyz: np.ndarray) -> np.ndarray:
    design = np.column_stack([ijk.astype(np.float64), np.ones(len(ijk))])
    if np.linalg.matrix_rank(design) < 4:
        raise ValueError(
            "The recorded voxels do not span three axes (e.g. a single slice), so the affine cannot be "
            "recovered from voxel indices and x/y/z; pass affine=... (the image's affine) or set "
            "rec.attrs['affine'] (16 numbers, row-major)."
        )
    coef, *_ = np.linalg.lstsq(design, xyz, rcond=None)
    affine = np.eye(4)
    affine[:3] = np.round(coef.T, 8)  # exact affines come back exactly, not with 1e-15 noise
    err = np.abs(design @ affine[:3].T - xyz).max()
    if err > 1e-4:
        raise ValueError(
            f"x/y/z are not an affine function of voxel_i/j/k (residual {err:.3g} mm); pass affine=... explicitly."
        )
    return affine


def _full_sphere_counts(grid: VolumeGrid, centre_ijk: np.ndarray, radius: float) -> np.ndarray:
    """Grid voxels (inside the grid box, recorded or not) strictly within ``radius`` mm of each centre."""
    lin = grid.affine[:3, :3]
    step = np.linalg.svd(lin, compute_uv=False).min()  # smallest mm per voxel step in any direction
    reach = int(np.ceil(radius / step)) + 1
    r = np.arange(-reach, reach + 1)
    off = np.stack(np.meshgrid(r, r, r, indexing="ij"), axis=-1).reshape(-1, 3)
    off = off[np.linalg.norm(off @ lin.T, axis=1) < radius * (1 - RADIUS_RTOL)]
    shape = np.asarray(grid.shape)
    counts = np.empty(len(centre_ijk), dtype=np.int64)
    for start in range(0, len(centre_ijk), 4096):
        pts = centre_ijk[start : start + 4096, None, :] + off[None]
        counts[start : start + 4096] = np.all((pts >= 0) & (pts < shape), axis=-1).sum(axis=1)
    return counts


def spheres(
    rec: xr.DataArray,
    radius: float = 6.0,
    *,
    min_neuroids: int = 1,
    min_fraction: float | None = None,
    mask: Any = None,
    affine: Any = None,
    grid_shape: Any = None,
) -> Searchlight:
    """Euclidean spheres around neuroids: voxels, parcels, electrodes or sensors.

    Every neuroid selected by ``mask`` is a candidate centre (in neuroid order); its neighbours
    are the neuroids whose ``x``/``y``/``z`` lie **strictly** within ``radius`` mm of it (a
    neuroid at exactly the radius, to a relative 1e-9, is out — rsatoolbox's rule), itself
    included. A centre is kept when it has at least ``min_neuroids`` neighbours and, if
    ``min_fraction`` is given, when its neighbours are at least that fraction of the **full
    sphere**: every voxel of the grid box within the radius, recorded or not. This is
    rsatoolbox's ``get_volume_searchlight(mask, radius, threshold=min_fraction)`` rule for the
    centres, with the neighbours restricted to recorded voxels (its ``truncate_at_boundary``).

    Parameters
    ----------
    rec : xarray.DataArray
        A recording with ``x``, ``y``, ``z`` (mm) on its ``neuroid`` dim.
    radius : float
        Sphere radius in mm.
    min_neuroids : int
        Fewest neighbours (centre included) of a kept centre.
    min_fraction : float in [0, 1], optional
        Smallest fraction of the full sphere; volumes only (needs the voxel grid: see
        :func:`volume_grid`).
    mask : array of bool or DataArray over ``neuroid``, optional
        Which neuroids may be centres (neighbours are always all neuroids).
    affine, grid_shape : optional
        The voxel grid, for ``min_fraction`` (see :func:`volume_grid`).

    Returns
    -------
    Searchlight
        ``kind="volume"`` when the recording has voxel indices ``voxel_i/j/k``, else
        ``"sensor"``.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, searchlight
    >>> ijk = np.argwhere(np.ones((5, 5, 5), bool)) + 1  # a 5³ cube inside a 7³ grid
    >>> rec = data.recording(np.zeros((3, 125)), stimulus_id=list("abc"), subject="S1", region="V1",
    ...     neuroid_coords={"x": 3.0 * ijk[:, 0], "y": 3.0 * ijk[:, 1], "z": 3.0 * ijk[:, 2],
    ...                     "voxel_i": ijk[:, 0], "voxel_j": ijk[:, 1], "voxel_k": ijk[:, 2]})
    >>> sl = searchlight.spheres(rec, radius=4.0, min_fraction=1.0, grid_shape=(7, 7, 7))
    >>> len(sl), int(sl.sizes[0]), sl.kind
    (27, 7, 'volume')
    """
    rec = check_recording(rec)
    radius, min_neuroids, min_fraction = check_rule(radius, min_neuroids, min_fraction)
    xyz = xyz_of(rec)
    centers = centre_mask(mask, rec.sizes["neuroid"])
    volume = all(c in rec.coords for c in _IJK)
    full = None
    if min_fraction is not None:
        if not volume:
            raise ValueError(
                "min_fraction needs a voxel grid (neuroid coordinates voxel_i/j/k) to know the full sphere; "
                "for electrodes, sensors or parcels use min_neuroids."
            )
        grid = volume_grid(rec, affine=affine, grid_shape=grid_shape)
        full = _full_sphere_counts(grid, grid.ijk[centers], radius)
    from scipy.spatial import cKDTree

    tree = cKDTree(xyz)
    neighbours = tree.query_ball_point(xyz[centers], r=radius * (1 - RADIUS_RTOL), return_sorted=True)
    return finish(
        rec,
        centers,
        [np.asarray(n, dtype=np.int64) for n in neighbours],
        full,
        kind="volume" if volume else "sensor",
        radius=radius,
        min_neuroids=min_neuroids,
        min_fraction=min_fraction,
    )
