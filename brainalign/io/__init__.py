"""Adapters: files on disk in, brainalign objects out (and back).

Submodules load on first use, so ``import brainalign.io`` stays light:

- :mod:`brainalign.io.arrays`: netCDF / zarr round trips of every object (lossless, atomic).
- :mod:`brainalign.io.fmri`: NIfTI / GIfTI runs, beta maps and BIDS folders (nibabel + nilearn).
- :mod:`brainalign.io.meg`: MNE Raw / Epochs / Evoked and any file MNE reads.
- :mod:`brainalign.io.ieeg`: iEEG with electrodes, re-referencing and high-gamma envelopes.
"""

import importlib

_SUBMODULES = ("arrays", "fmri", "meg", "ieeg")

__all__ = list(_SUBMODULES)


def __getattr__(name: str):
    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
