"""Searchlights: neighbourhoods of neuroids (spheres, geodesic discs, space × latency), their images,
and batched RDM kernels over many cells.

A searchlight is a set of *cells*, one per centre: the neuroids within a radius of the centre.
:func:`spheres` builds Euclidean balls from neuroid ``x``/``y``/``z`` in mm (voxels, parcels,
electrodes, sensors), :func:`surface` geodesic discs on the cortical mesh, :func:`with_latency`
extends either over a latency window. :func:`to_image` puts one score per centre back on the
voxel grid or mesh. :func:`cell_rdms` and :func:`compare_cells` compute every cell's RDM and its
comparison with every layer's RDM in batched matrix products (numpy or torch, CPU or CUDA).

Examples
--------
>>> import numpy as np
>>> from brainalign import data, searchlight
>>> rng = np.random.default_rng(0)
>>> ijk = np.argwhere(np.ones((4, 4, 4), bool))
>>> rec = data.recording(rng.normal(size=(8, 64)), stimulus_id=list("abcdefgh"), subject="S1", region="V1",
...     neuroid_coords={"x": 3.0 * ijk[:, 0], "y": 3.0 * ijk[:, 1], "z": 3.0 * ijk[:, 2],
...                     "voxel_i": ijk[:, 0], "voxel_j": ijk[:, 1], "voxel_k": ijk[:, 2]})
>>> sl = searchlight.spheres(rec, radius=4.0)
>>> layers = rng.normal(size=(3, 28))  # three condensed layer RDMs
>>> scores = searchlight.compare_cells(searchlight.cell_rdms(rec, sl), layers)
>>> scores.shape
(64, 3)
>>> searchlight.to_image(scores[:, 0], rec, centers=sl.centers).shape
(4, 4, 4)
"""

from ._core import KINDS, Searchlight
from ._image import to_image
from ._latency import latency_patterns, with_latency
from ._spheres import VolumeGrid, spheres, volume_grid
from ._surface import edge_graph, geodesic_within, surface
from .kernels import CELL_CHUNK_BYTES, CELL_COMPARE, CELL_METRICS, cell_rdms, compare_cells

__all__ = [
    "CELL_CHUNK_BYTES",
    "CELL_COMPARE",
    "CELL_METRICS",
    "KINDS",
    "Searchlight",
    "VolumeGrid",
    "cell_rdms",
    "compare_cells",
    "edge_graph",
    "geodesic_within",
    "latency_patterns",
    "spheres",
    "surface",
    "to_image",
    "volume_grid",
    "with_latency",
]
