"""Activations written to a zarr store batch by batch, in the layout :func:`brainalign.io.arrays.load` reads."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

__all__ = ["unit_coords", "write_stream"]


def unit_coords(widths: dict[str, int], model_name: str) -> dict[str, Any]:
    """The ``model``, ``layer`` and ``unit_index`` coordinates of layers of these widths, in order."""
    total = sum(widths.values())
    return {
        "model": ("unit", np.full(total, model_name, dtype=object)),
        "layer": ("unit", np.concatenate([np.full(w, layer, dtype=object) for layer, w in widths.items()])),
        "unit_index": ("unit", np.concatenate([np.arange(w) for w in widths.values()])),
    }


def write_stream(
    path: str | os.PathLike,
    parts: Iterator[dict[str, np.ndarray]],
    layers: list[str],
    coords: dict[str, Any],
    model_name: str,
    attrs: dict[str, Any],
) -> Path:
    """Append each batch of rows (every layer, side by side) to a zarr store as it comes.

    Memory is one batch across the layers; the store is written beside ``path`` and moved into
    place when complete (an existing brainalign zarr store there is replaced). Chunks are one
    batch of rows × all units.
    """
    from ..io._codec import encode
    from ..io.arrays import atomic_write

    n_rows = len(coords["stimulus_id"][1])

    def writer(tmp: Path) -> None:
        offset, widths = 0, None
        for batch in parts:
            now = {layer: batch[layer].shape[1] for layer in layers}
            if widths is None:
                widths = now
                units = unit_coords(widths, model_name)
            elif now != widths:
                raise RuntimeError(f"Layer widths changed between batches: {widths} then {now}.")
            block = np.concatenate([batch[layer] for layer in layers], axis=1)
            rows = block.shape[0]
            if offset + rows > n_rows:
                raise RuntimeError(f"The batches gave more than the {n_rows} expected rows.")
            pres = {k: (dim, np.asarray(v)[offset : offset + rows]) for k, (dim, v) in coords.items()}
            da = xr.DataArray(block, dims=("presentation", "unit"), coords={**pres, **units}, name="activations")
            da.attrs.update(attrs)
            ds = encode(da)
            if offset == 0:
                chunks = {"chunks": (rows, block.shape[1])}
                ds.to_zarr(tmp, mode="w-", zarr_format=3, consolidated=False, encoding={"activations": chunks})
            else:
                ds.drop_vars(list(units)).to_zarr(tmp, append_dim="presentation", consolidated=False)
            offset += rows
        if offset != n_rows:
            raise RuntimeError(f"The batches gave {offset} rows, expected {n_rows}.")

    return atomic_write(path, writer, overwrite=True, kind="zarr")
