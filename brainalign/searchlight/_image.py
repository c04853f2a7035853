"""Scores per centre back onto the recording's voxel grid or mesh."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..utils import soft_import
from ._core import check_recording
from ._spheres import volume_grid
from ._surface import mesh_parts

__all__ = ["to_image"]


def _values_per_neuroid(values: Any, rec: xr.DataArray, centers: Any) -> np.ndarray:
    """One float per neuroid of ``rec`` (NaN where no centre) from scores over centres."""
    n = rec.sizes["neuroid"]
    if isinstance(values, xr.DataArray):
        dims = [d for d in values.dims if values.sizes[d] > 1]
        if len(dims) > 1:
            raise ValueError(f"values must be one score per centre; select one layer first (dims {values.dims}).")
        flat = values.squeeze()
        dim = flat.dims[0] if flat.ndim else None
        if centers is None and dim is not None and "neuroid" in flat.coords and flat["neuroid"].dims == (dim,):
            centers = flat["neuroid"].values
        values = flat.values
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if centers is None:
        if len(v) != n:
            raise ValueError(
                f"values has {len(v)} entries but rec has {n} neuroids; pass centers=sl.centers (the neuroid "
                "index of each value) or a DataArray with a 'neuroid' coordinate along its dim."
            )
        centers = np.arange(n)
    centers = np.asarray(centers).astype(np.int64)
    if centers.shape != v.shape:
        raise ValueError(f"centers has {centers.size} entries but values has {v.size}.")
    if centers.size and (centers.min() < 0 or centers.max() >= n):
        raise ValueError(f"centers must index rec's {n} neuroids.")
    if len(np.unique(centers)) != len(centers):
        raise ValueError("centers repeat a neuroid (e.g. several latencies): select one latency before to_image.")
    out = np.full(n, np.nan)
    out[centers] = v
    return out


def to_image(
    values: Any,
    rec: xr.DataArray,
    *,
    centers: Any = None,
    affine: Any = None,
    grid_shape: Any = None,
    mesh: Any = None,
) -> Any:
    """Put one score per centre back on the recording's grid (volumes) or mesh (surfaces).

    Voxels or vertices without a centre are NaN.

    Parameters
    ----------
    values : array or xarray.DataArray
        One score per centre: a DataArray over a ``center`` dim with a ``neuroid`` coordinate
        (the centre's neuroid index, as the map engine writes it), or an array together with
        ``centers`` (``sl.centers``), or one value per neuroid.
    rec : xarray.DataArray
        The recording the searchlight was built on. Volumes need ``voxel_i/j/k`` (and the
        affine, see :func:`volume_grid`); surfaces need ``hemisphere`` and ``vertex``. Other
        recordings (electrodes, parcels) have no image: an error says so.
    centers : array of int, optional
        Neuroid index of each value.
    affine, grid_shape
        The voxel grid (see :func:`volume_grid`).
    mesh : optional
        Surfaces: the mesh (as in :func:`surface`), used for the number of vertices per
        hemisphere; default: the largest recorded vertex index + 1.

    Returns
    -------
    nibabel.Nifti1Image or dict
        A 3-D float image for volumes; ``{"left": array, "right": array}`` (one value per mesh
        vertex) for surfaces.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, searchlight
    >>> ijk = np.argwhere(np.ones((3, 3, 3), bool))
    >>> rec = data.recording(np.zeros((3, 27)), stimulus_id=list("abc"), subject="S1", region="V1",
    ...     neuroid_coords={"x": 2.0 * ijk[:, 0], "y": 2.0 * ijk[:, 1], "z": 2.0 * ijk[:, 2],
    ...                     "voxel_i": ijk[:, 0], "voxel_j": ijk[:, 1], "voxel_k": ijk[:, 2]})
    >>> img = searchlight.to_image(np.arange(27.0), rec)
    >>> img.shape, float(img.get_fdata()[1, 2, 0])
    ((3, 3, 3), 15.0)
    """
    rec = check_recording(rec)
    per = _values_per_neuroid(values, rec, centers)
    if all(c in rec.coords for c in ("voxel_i", "voxel_j", "voxel_k")):
        nib = soft_import("nibabel", "searchlight images")
        grid = volume_grid(rec, affine=affine, grid_shape=grid_shape)
        vol = np.full(grid.shape, np.nan, dtype=np.float32)
        vol[tuple(grid.ijk.T)] = per
        return nib.Nifti1Image(vol, grid.affine)
    if "hemisphere" in rec.coords and "vertex" in rec.coords:
        hemi = np.asarray(rec["hemisphere"].values).astype(str)
        vertex = np.asarray(rec["vertex"].values).astype(np.int64)
        sizes: dict[str, int] = {}
        if mesh is not None:
            sizes = {h: len(c) for h, (c, _) in mesh_parts(mesh, rec).items()}
        out = {}
        for h in dict.fromkeys(hemi):
            on = hemi == h
            n_v = sizes.get(h, int(vertex[on].max()) + 1)
            arr = np.full(n_v, np.nan)
            arr[vertex[on]] = per[on]
            out[h] = arr
        return out
    raise ValueError(
        "to_image needs a volume recording (neuroid coordinates voxel_i/voxel_j/voxel_k, as load_fmri writes for "
        "voxels) or a surface recording (hemisphere and vertex); rec has neither (electrodes, sensors and parcels "
        "have no image: plot their scores at x/y/z instead)."
    )
