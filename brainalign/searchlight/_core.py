"""The :class:`Searchlight` container and the rules shared by every neighbourhood builder."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..utils import check_count, validate_type

__all__ = ["KINDS", "Searchlight", "centre_mask", "finish", "neuroid_table"]

KINDS = ("volume", "surface", "sensor")

#: Neuroid coordinates copied into the centre table when the recording has them.
TABLE_COORDS = ("x", "y", "z", "hemisphere", "subject", "region", "vertex", "voxel_i", "voxel_j", "voxel_k", "channel")


@dataclass(frozen=True, eq=False)
class Searchlight:
    """Searchlight neighbourhoods: one set of neuroids around each centre.

    Built by :func:`spheres`, :func:`surface` or :func:`with_latency`; never mutated.

    Attributes
    ----------
    centers : numpy.ndarray of int
        One entry per centre: the centre's index along the recording's ``neuroid`` dim.
    neighbours : tuple of numpy.ndarray of int
        One sorted index array per centre. Indices along ``neuroid`` — or, when
        ``n_latencies`` is set (space × latency neighbourhoods), flat indices
        ``neuroid * n_latencies + latency_index`` into the recording transposed to
        ``(presentation, neuroid, latency)`` and reshaped to ``(presentation, neuroid · latency)``.
    table : pandas.DataFrame
        One row per centre: ``neuroid`` (the index), ``n_neighbours``, and the recording's
        neuroid coordinates that exist (``x``, ``y``, ``z``, ``hemisphere``, ``subject``,
        ``region``, ``vertex``, ``voxel_i/j/k``...), plus ``latency`` and ``latency_index``
        for space × latency neighbourhoods. ``table.to_xarray()`` gives a ``center`` Dataset.
    kind : {"volume", "surface", "sensor"}
        Voxels on a grid, vertices of a mesh (geodesic discs), or any points (electrodes,
        sensors, parcel centroids; Euclidean balls).
    radius : float
        In mm (Euclidean for volumes and sensors, geodesic along the mesh for surfaces).
    min_neuroids : int
        Centres with fewer neighbours were dropped.
    min_fraction : float or None
        Centres whose neighbourhood holds less than this fraction of the full sphere (the grid
        voxels or mesh vertices within the radius, recorded or not) were dropped.
    n_neuroids : int
        Size of the recording's ``neuroid`` dim.
    latency_window : float or None
        Half-width in seconds of the latency window (space × latency neighbourhoods).
    n_latencies : int or None
        Size of the recording's ``latency`` dim when neighbours index (neuroid, latency) pairs.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, searchlight
    >>> xyz = np.array([[0.0, 0, 0], [3, 0, 0], [20, 0, 0]])
    >>> rec = data.recording(np.zeros((4, 3)), stimulus_id=list("abcd"), subject="S1", region="V1",
    ...                      neuroid_coords={"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]})
    >>> sl = searchlight.spheres(rec, radius=5.0)
    >>> len(sl), [n.tolist() for n in sl.neighbours]
    (3, [[0, 1], [0, 1], [2]])
    >>> len(sl.subset(sl.table["n_neighbours"] > 1))
    2
    """

    centers: np.ndarray
    neighbours: tuple[np.ndarray, ...]
    table: pd.DataFrame
    kind: str
    radius: float
    min_neuroids: int = 1
    min_fraction: float | None = None
    n_neuroids: int = 0
    latency_window: float | None = None
    n_latencies: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.centers)

    @property
    def sizes(self) -> np.ndarray:
        """Number of neighbours of each centre."""
        return np.array([len(n) for n in self.neighbours], dtype=np.int64)

    def subset(self, mask: Any) -> Searchlight:
        """The centres selected by ``mask``: a boolean array over centres, or integer positions.

        Parameters
        ----------
        mask : array of bool (one per centre) or of int
            Which centres to keep (in the given order for integer positions).

        Returns
        -------
        Searchlight
            The same rule, fewer centres.
        """
        sel = np.asarray(mask)
        if sel.dtype == bool:
            if sel.shape != (len(self),):
                raise ValueError(
                    f"mask must be a boolean array with one value per centre ({len(self)}), got {sel.shape}."
                )
            sel = np.flatnonzero(sel)
        elif sel.dtype.kind not in "iu":
            raise TypeError(f"mask must be booleans (one per centre) or integer positions, got dtype {sel.dtype}.")
        if sel.size and (sel.min() < -len(self) or sel.max() >= len(self)):
            raise ValueError(f"mask positions must be in [0, {len(self)}), got {sel.min()}..{sel.max()}.")
        table = self.table.iloc[sel].reset_index(drop=True)
        return Searchlight(
            centers=self.centers[sel],
            neighbours=tuple(self.neighbours[i] for i in sel),
            table=table,
            kind=self.kind,
            radius=self.radius,
            min_neuroids=self.min_neuroids,
            min_fraction=self.min_fraction,
            n_neuroids=self.n_neuroids,
            latency_window=self.latency_window,
            n_latencies=self.n_latencies,
            extra=dict(self.extra),
        )

    def __repr__(self) -> str:
        sizes = self.sizes
        size = f"{sizes.min()}–{sizes.max()} (median {np.median(sizes):g})" if len(self) else "none"
        rule = f"radius {self.radius:g} mm, ≥{self.min_neuroids} neuroids"
        if self.min_fraction is not None:
            rule += f", ≥{self.min_fraction:g} of the full sphere"
        if self.latency_window is not None:
            rule += f", ±{self.latency_window:g} s in latency"
        return (
            f"<Searchlight ({self.kind}): {len(self)} centres of {self.n_neuroids} neuroids; {rule}; "
            f"neighbours per centre {size}>"
        )


def neuroid_table(rec: xr.DataArray, idx: np.ndarray) -> pd.DataFrame:
    """The centre table: ``neuroid`` index and the recording's neuroid coordinates at ``idx``."""
    cols: dict[str, Any] = {"neuroid": np.asarray(idx, dtype=np.int64)}
    for name in TABLE_COORDS:
        if name in rec.coords and rec[name].dims == ("neuroid",):
            cols[name] = np.asarray(rec[name].values)[idx]
    return pd.DataFrame(cols)


def check_recording(rec: Any, name: str = "rec") -> xr.DataArray:
    """``rec`` as a labelled recording with a ``neuroid`` dim."""
    validate_type(name, rec, xr.DataArray, "an xarray.DataArray recording (see brainalign.data.recording)")
    if "neuroid" not in rec.dims:
        raise ValueError(f"{name} must have a 'neuroid' dim, got dims {rec.dims}.")
    return rec


def xyz_of(rec: xr.DataArray) -> np.ndarray:
    """``(n_neuroids, 3)`` coordinates in mm from the ``x``, ``y``, ``z`` neuroid coordinates."""
    missing = [c for c in ("x", "y", "z") if c not in rec.coords]
    if missing:
        raise ValueError(
            f"rec has no neuroid coordinate(s) {missing}: searchlights need positions in mm, e.g. "
            "rec.assign_coords(x=('neuroid', xs), y=('neuroid', ys), z=('neuroid', zs))."
        )
    xyz = np.stack([np.asarray(rec[c].values, dtype=np.float64) for c in ("x", "y", "z")], axis=1)
    if not np.all(np.isfinite(xyz)):
        bad = int(np.flatnonzero(~np.all(np.isfinite(xyz), axis=1))[0])
        raise ValueError(f"rec's x/y/z are not finite for neuroid {bad}; drop neuroids without a position.")
    return xyz


def centre_mask(mask: Any, n: int) -> np.ndarray:
    """Candidate centres from ``mask`` (None: every neuroid; else a boolean array over neuroids)."""
    if mask is None:
        return np.arange(n)
    if isinstance(mask, xr.DataArray):
        if mask.dims != ("neuroid",):
            raise ValueError(f"mask as a DataArray must have the single dim 'neuroid', got {mask.dims}.")
        mask = mask.values
    m = np.asarray(mask)
    if m.dtype != bool or m.shape != (n,):
        raise ValueError(
            f"mask must be a boolean array with one value per neuroid ({n}), got dtype {m.dtype}, shape {m.shape}."
        )
    return np.flatnonzero(m)


def check_rule(radius: float, min_neuroids: int, min_fraction: float | None) -> tuple[float, int, float | None]:
    """Validated (radius, min_neuroids, min_fraction)."""
    validate_type("radius", radius, (int, float, np.integer, np.floating), "a number of mm")
    if not np.isfinite(radius) or radius <= 0:
        raise ValueError(f"radius must be a positive number of mm, got {radius!r}.")
    min_neuroids = check_count("min_neuroids", min_neuroids, 1, "neuroids per neighbourhood")
    if min_fraction is not None:
        validate_type("min_fraction", min_fraction, (int, float, np.integer, np.floating), "a fraction in [0, 1]")
        if not 0 <= min_fraction <= 1:
            raise ValueError(f"min_fraction must be in [0, 1] (a fraction of the full sphere), got {min_fraction!r}.")
        min_fraction = float(min_fraction)
    return float(radius), min_neuroids, min_fraction


def finish(
    rec: xr.DataArray,
    centers: np.ndarray,
    neighbours: Sequence[np.ndarray],
    full: np.ndarray | None,
    *,
    kind: str,
    radius: float,
    min_neuroids: int,
    min_fraction: float | None,
    extra: dict[str, Any] | None = None,
) -> Searchlight:
    """Apply the size rules (``min_neuroids``; ``min_fraction`` of ``full``) and build the Searchlight."""
    sizes = np.array([len(n) for n in neighbours], dtype=np.int64)
    keep = sizes >= min_neuroids
    if min_fraction is not None:
        keep &= sizes >= min_fraction * np.asarray(full) - 1e-9 * np.asarray(full)
    kept = np.flatnonzero(keep)
    centers = np.asarray(centers, dtype=np.int64)[kept]
    neighbours = tuple(np.sort(np.asarray(neighbours[i], dtype=np.int64)) for i in kept)
    table = neuroid_table(rec, centers)
    table["n_neighbours"] = sizes[kept]
    if full is not None:
        table["fraction"] = sizes[kept] / np.maximum(np.asarray(full)[kept], 1)
    return Searchlight(
        centers=centers,
        neighbours=neighbours,
        table=table,
        kind=kind,
        radius=radius,
        min_neuroids=min_neuroids,
        min_fraction=min_fraction,
        n_neuroids=rec.sizes["neuroid"],
        extra=extra or {},
    )
