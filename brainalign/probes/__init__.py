"""Probes: analyses that ask *what* a model unit or a brain channel encodes.

- :mod:`~brainalign.probes.frequency_tagging`: the hierarchical frequency-tagging probe (words at
  a fixed rate, grouped into phrases and sentences; units that track phrases or sentences show
  spectral peaks at those rates), for model units and brain channels alike.

Submodules load when first used.

Examples
--------
>>> from brainalign.probes import frequency_tagging as ft
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = ("frequency_tagging",)

__all__ = list(_SUBMODULES)


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
