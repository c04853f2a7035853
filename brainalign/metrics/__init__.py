"""Representation-level comparisons (no encoder fit): RSA and friends.

Submodules load on first use.
"""

import importlib

_SUBMODULES = ("rsa", "trsa", "cka", "neuronwise", "knn", "shape", "ceiling", "comparisons", "crossnobis")

__all__ = list(_SUBMODULES)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
