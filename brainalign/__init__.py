"""brainalign: how well do deep-network representations align with brain recordings?

Two labelled arrays that share a stimulus axis go in (model activations and a brain recording,
both :class:`xarray.DataArray`), one labelled array of scores comes out.

``import brainalign`` is light: submodules, and heavy dependencies such as torch, MNE and
nilearn, load when first used.

Examples
--------
>>> import brainalign
>>> "rsa" in brainalign.registry.list_methods()
True
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__
from .utils import get_options, set_log_level, set_options

_SUBMODULES = (
    "backend",
    "data",
    "datasets",
    "encoders",
    "io",
    "models",
    "metrics",
    "probes",
    "registry",
    "maps",
    "searchlight",
    "plot",
    "planning",
    "simulate",
    "recovery",
    "runner",
    "config",
    "report",
    "stats",
    "demo",
    "cli",
    "utils",
)
_FUNCTIONS = {
    "alignment_map": "maps",
    "identifiability": "recovery",
    "encode": "encoding",
    "Encoding": "encoding",
}

__all__ = [
    "__version__",
    "get_options",
    "set_log_level",
    "set_options",
    *_SUBMODULES,
    *_FUNCTIONS,
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name in _FUNCTIONS:
        return getattr(importlib.import_module(f"{__name__}.{_FUNCTIONS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
