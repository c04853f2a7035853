"""Adapters: files on disk in, brainalign objects out (and back).

Submodules load on first use, so ``import brainalign.io`` stays light:

- :mod:`brainalign.io.arrays`: netCDF / zarr round trips of every object (lossless, atomic).
"""

import importlib

_SUBMODULES = ("arrays", "fmri", "meg", "ieeg")

__all__ = list(_SUBMODULES)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
