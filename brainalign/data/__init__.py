"""brainalign's data model (DESIGN.md §1): schemas, constructors, validation and alignment.

Everything is an :class:`xarray.DataArray` with named dims:

- recordings: ``(presentation, neuroid)``, ``(time, neuroid)`` or ``(presentation, neuroid, latency)``;
- activations: ``(presentation, unit)`` (or ``(time, unit)`` at event times), all layers in one array;
- brain RDMs: ``(rdm, stimulus_id, stimulus_id_2)``, one per subject × region;
- alignment maps: an :class:`xarray.Dataset` with ``score`` over ``(layer, region)``.
"""

from ._align import align, fir_delays, hrf_matrix, lanczos_matrix
from ._construct import activations, recording
from ._epochs import epochs
from ._rdm_files import load_rdms
from ._rdms import rdms
from ._schema import KINDS, MAP_VARIABLES, detect_kind, layer_names, validate
from ._trials import trials

__all__ = [
    "KINDS",
    "MAP_VARIABLES",
    "activations",
    "align",
    "detect_kind",
    "epochs",
    "fir_delays",
    "hrf_matrix",
    "lanczos_matrix",
    "layer_names",
    "load_rdms",
    "rdms",
    "recording",
    "trials",
    "validate",
]
