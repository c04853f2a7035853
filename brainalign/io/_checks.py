"""Checks of loaded signals shared by the io adapters (the option checks are :mod:`brainalign.utils`'s)."""

from __future__ import annotations

import numpy as np

__all__ = ["check_finite_values"]


def check_finite_values(values: np.ndarray, what: str, fix: str) -> None:
    """Refuse complex values, and NaN/inf in ``values`` (rows = samples, columns = neuroids).

    ``what`` names the file or argument; ``fix`` says how to repair it. The message counts the
    neuroids (voxels, vertices, channels) holding non-finite values.
    """
    if np.iscomplexobj(values):
        raise TypeError(f"{what} holds complex values ({values.dtype}); give real-valued signals (e.g. np.abs).")
    finite = np.isfinite(values)
    if finite.all():
        return
    bad = ~finite.all(axis=0) if finite.ndim > 1 else ~finite
    raise ValueError(
        f"{what} has NaN/inf values in {int(bad.sum())} of {bad.size} neuroid(s) ({int((~finite).sum())} values). {fix}"
    )
