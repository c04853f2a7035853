"""Layer blocks read one at a time, and similarity scores with the layers streamed.

Activations may be lazy (dask over zarr/netCDF, :func:`brainalign.io.arrays.load` with
``lazy=True``): :class:`LayerBlocks` reads one layer's units when asked and never all layers at once.
:func:`stream_scores` represents every cell once, then every layer in turn (``workers`` layers at a
time, in threads: the RDM kernels release the GIL), comparing each with all cells and dropping it,
so memory is the cells' representations plus ``workers`` layers' working sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import xarray as xr

from ..utils import logger, progress

__all__ = ["LayerBlocks", "stream_scores"]


class LayerBlocks(Sequence):
    """The ``(presentation, unit)`` block of each layer of ``acts``, read on access.

    Works the same on in-memory and lazy (dask) activations; a lazy array is computed one layer
    at a time. The activations' precision is kept (float32 stays float32) unless ``dtype`` is given.
    """

    def __init__(self, acts: xr.DataArray, layers: list[Any], dtype: Any = None) -> None:
        self.acts = acts.transpose("presentation", "unit", ...)
        self.layers = list(layers)
        self.dtype = dtype
        layer_of = np.asarray(self.acts["layer"].values)
        self.columns = [_as_slice(np.flatnonzero(layer_of == layer)) for layer in self.layers]
        self.n_stimuli = int(self.acts.sizes["presentation"])

    @property
    def lazy(self) -> bool:
        """Whether the activations are backed by dask (kept on disk)."""
        return not isinstance(self.acts.variable._data, np.ndarray)

    def n_units(self, k: int) -> int:
        """Units of layer ``k`` (without reading it)."""
        cols = self.columns[k]
        return cols.stop - cols.start if isinstance(cols, slice) else len(cols)

    def __len__(self) -> int:
        return len(self.layers)

    def __getitem__(self, k: int) -> np.ndarray:  # type: ignore[override]
        if isinstance(k, slice):
            raise TypeError("LayerBlocks are read one layer at a time; index with an int.")
        block = self.acts.isel(unit=self.columns[k]).data
        if not isinstance(block, np.ndarray):
            block = block.compute(scheduler="synchronous")  # one layer; no thread pool holding chunks
        block = np.asarray(block)
        if self.dtype is not None:
            block = block.astype(self.dtype, copy=False)
        return block


def _as_slice(index: np.ndarray) -> slice | np.ndarray:
    """A contiguous run of indices as a slice (a view, not a copy, on in-memory arrays)."""
    if index.size and np.all(np.diff(index) == 1):
        return slice(int(index[0]), int(index[-1]) + 1)
    return index


def stream_scores(
    method: Any,
    name: str,
    blocks: LayerBlocks,
    cells: dict[Any, np.ndarray],
    labels: dict[Any, str],
    on_error: str,
    workers: int = 1,
) -> dict[Any, np.ndarray]:
    """Scores ``(layer,)`` of every cell: cells represented once, layers one at a time.

    ``labels[key]`` names a cell in error messages. A cell or layer the method cannot represent is
    raised (``on_error="raise"``) or scored NaN with a warning.
    """
    keys = list(cells)
    out = {key: np.full(len(blocks), np.nan) for key in keys}

    def failed(message: str, err: ValueError) -> None:
        if on_error == "raise":
            raise ValueError(message) from err
        logger.warning("%s (scored NaN)", message)

    def one_cell(key: Any) -> Any:
        try:
            return method.represent(cells[key])
        except ValueError as err:
            failed(f"{name}: {labels[key]}: {err}", err)
            return None

    with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
        represented = dict(zip(keys, pool.map(one_cell, keys), strict=True))
    usable = [key for key in keys if represented[key] is not None]
    reps = [represented.pop(key) for key in usable]
    if not usable:
        return out

    def one_layer(k: int) -> np.ndarray | None:
        try:
            rep = method.represent(blocks[k])
        except ValueError as err:
            failed(f"{name}: layer {blocks.layers[k]!r}: {err}", err)
            return None
        return np.asarray(method.compare_represented(rep, reps))[0]

    with ThreadPoolExecutor(max_workers=max(1, int(workers))) as pool:
        rows = pool.map(one_layer, range(len(blocks)))
        for k, row in enumerate(progress(rows, desc=f"{name}: layers", total=len(blocks), unit="layer")):
            if row is not None:
                for key, value in zip(usable, row, strict=True):
                    out[key][k] = value
    return out
