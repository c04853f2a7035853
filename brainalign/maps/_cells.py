"""Cells: the sets of neuroids a map scores (regions today; searchlight neighbourhoods), per subject."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr


@dataclass
class Cells:
    """The (cell, subject) sets of neuroid indices of a recording; cells may overlap.

    ``dim`` names the map's cell dim (``"region"``, or ``"center"`` for searchlights);
    ``labels`` its coordinate values; ``columns[c, s]`` the neuroid indices of cell ``c`` of
    subject ``s`` (empty when that subject has none there).
    """

    dim: str
    labels: list[Any]
    subjects: list[Any]
    columns: dict[tuple[int, int], np.ndarray]
    n_neuroids: int
    coords: dict[str, tuple[str, np.ndarray]]

    @classmethod
    def from_recording(cls, rec: xr.DataArray, regions: Any = "region") -> Cells:
        """Cells of ``rec``: the values of the neuroid coordinate ``regions`` (a name), or the
        neighbourhoods of a searchlight (an object with ``centers`` and ``neighbours``)."""
        subject_of = np.asarray(rec["subject"].values)
        subjects = list(pd.unique(subject_of))
        n = rec.sizes["neuroid"]
        if isinstance(regions, str):
            if regions not in rec.coords or rec[regions].dims != ("neuroid",):
                on_neuroid = [k for k, v in rec.coords.items() if v.dims == ("neuroid",)]
                raise ValueError(
                    f"regions={regions!r} names no coordinate on the recording's neuroid dim; its neuroid "
                    f"coordinates are {on_neuroid}. Name one, or pass a searchlight (brainalign.searchlight)."
                )
            region_of = np.asarray(rec[regions].values)
            labels = list(pd.unique(region_of))
            columns = {
                (r, s): np.flatnonzero((region_of == label) & (subject_of == subject))
                for r, label in enumerate(labels)
                for s, subject in enumerate(subjects)
            }
            return cls("region", labels, subjects, columns, n, {})
        return cls.from_neighbourhoods(rec, regions)

    @classmethod
    def from_neighbourhoods(cls, rec: xr.DataArray, searchlight: Any) -> Cells:
        """One cell per searchlight centre (its subject's neuroids only), on a ``center`` dim."""
        centers = np.asarray(searchlight.centers, dtype=int)
        neighbours = list(searchlight.neighbours)
        if len(neighbours) != len(centers):
            raise ValueError(
                f"regions: the searchlight has {len(centers)} centres but {len(neighbours)} neighbourhoods."
            )
        n = rec.sizes["neuroid"]
        if centers.size and (centers.min() < 0 or centers.max() >= n):
            raise ValueError(f"regions: searchlight centres index neuroids outside 0..{n - 1}.")
        subject_of = np.asarray(rec["subject"].values)
        subjects = list(pd.unique(subject_of))
        index = {s: i for i, s in enumerate(subjects)}
        columns = {}
        for c, (centre, members) in enumerate(zip(centers, neighbours, strict=True)):
            members = np.asarray(members, dtype=int)
            subject = subject_of[centre]
            for s in range(len(subjects)):
                columns[c, s] = members if s == index[subject] else np.array([], dtype=int)
        coords = {"neuroid_index": ("center", centers)}
        for name, coord in rec.coords.items():
            if coord.dims == ("neuroid",) and name in ("x", "y", "z", "hemisphere", "subject", "region", "vertex"):
                coords[name] = ("center", np.asarray(coord.values)[centers])
        return cls("center", list(range(len(centers))), subjects, columns, n, coords)

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.labels), len(self.subjects)

    def items(self) -> list[tuple[tuple[int, int], np.ndarray]]:
        """The non-empty ``((cell, subject), neuroid indices)`` pairs."""
        return [(key, cols) for key, cols in self.columns.items() if len(cols)]

    @cached_property
    def membership(self) -> Any:
        """A sparse ``(neuroid, cell·subject)`` 0/1 matrix: neuroid values @ membership → cell sums
        (built once per set of cells)."""
        from scipy import sparse

        rows, cols = [], []
        n_s = len(self.subjects)
        for (c, s), members in self.columns.items():
            rows.append(members)
            cols.append(np.full(len(members), c * n_s + s))
        rows_ = np.concatenate(rows) if rows else np.array([], dtype=int)
        cols_ = np.concatenate(cols) if cols else np.array([], dtype=int)
        return sparse.csr_matrix((np.ones(len(rows_)), (rows_, cols_)), shape=(self.n_neuroids, len(self.labels) * n_s))

    def means(self, values: np.ndarray) -> np.ndarray:
        """``(..., neuroid)`` → ``(..., cell, subject)`` means (NaN neuroids left out)."""
        member = self.membership
        lead = values.shape[:-1]
        flat = values.reshape(-1, values.shape[-1])
        finite = np.isfinite(flat)
        with np.errstate(invalid="ignore", divide="ignore"):
            sums = np.asarray((member.T @ np.where(finite, flat, 0.0).T).T)
            counts = np.asarray((member.T @ finite.astype(float).T).T)
            out = sums / counts
        return out.reshape(*lead, *self.shape)

    def target_means(self, values: np.ndarray, n_lat: int) -> np.ndarray:
        """``(..., neuroid·latency)`` flattened targets → ``(..., cell, subject, latency)`` means."""
        v = values.reshape(*values.shape[:-1], -1, n_lat)
        return np.moveaxis(self.means(np.moveaxis(v, -1, -2)), -3, -1)

    def target_groups(self, n_lat: int) -> list[np.ndarray]:
        """Flat target columns (neuroid-major, latency-minor) of every (cell, subject, latency)."""
        return [
            self.columns[c, s] * n_lat + t
            for c in range(self.shape[0])
            for s in range(self.shape[1])
            for t in range(n_lat)
        ]

    def dataset(self, values: dict[str, np.ndarray], layers: list[str], latency: np.ndarray | None) -> xr.Dataset:
        """Arrays over ``([sample, ]layer, cell, subject[, latency])`` (or without ``layer``) → the map Dataset."""
        coords: dict[str, Any] = {
            "layer": np.asarray(layers, dtype=object),
            self.dim: np.asarray(self.labels),
            "subject": np.asarray(self.subjects),
        }
        tail = [self.dim, "subject"]
        if latency is not None:
            coords["latency"] = np.asarray(latency, dtype=float)
            tail.append("latency")
        out = xr.Dataset(coords=coords)
        for key, arr in values.items():  # cell values, per layer, or per bootstrap sample and layer
            dims = {len(tail): tail, len(tail) + 1: ["layer", *tail]}.get(arr.ndim, ["sample", "layer", *tail])
            out[key] = xr.DataArray(arr, dims=dims)
        if self.coords:
            out = out.assign_coords({k: (d, v) for k, (d, v) in self.coords.items() if k != "subject"})
        if len(self.subjects) == 1:
            out = out.isel(subject=0)
        return out
