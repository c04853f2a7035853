"""Conditioning of one representation block before a metric sees it (private module, public names).

A block that does not vary across stimuli is refused with one message for every metric; a block
of a scale-invariant method is rescaled by a power of two (exact), so that no magnitude overflows;
other methods refuse magnitudes whose products would overflow or underflow.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import Backend
from ._arrays import float_dtype

__all__ = ["check_block", "constant_message", "magnitude_limits", "peak_exponent", "times_power_of_two"]


def constant_message(name: str, what: str = "this method's score") -> str:
    """The one message every metric gives for a representation that does not vary across stimuli."""
    return (
        f"{name} has no variance across stimuli (every feature is constant), so {what} is undefined. "
        "Drop this representation, or check that the right data were passed."
    )


def magnitude_limits(dtype: str) -> tuple[float, float]:
    """The smallest and largest max-abs a block may have in ``dtype`` when a method is not
    scale-invariant: squares (and their sums over 10⁸ terms) stay finite and normal."""
    info = np.finfo(np.float32 if dtype == "float32" else np.float64)
    return float(np.sqrt(info.tiny)) * 1e4, float(np.sqrt(info.max)) / 1e4


def times_power_of_two(arr: Any, exponent: int) -> Any:
    """``arr · 2**exponent``, exact in floating point (two steps: ``2**exponent`` alone may not be
    representable)."""
    if exponent == 0:
        return arr
    if abs(exponent) <= 100:  # representable in float32 and float64: one product, one copy
        return arr * (2.0**exponent)
    half = exponent // 2
    return (arr * (2.0**half)) * (2.0 ** (exponent - half))


def peak_exponent(be: Backend, arr: Any) -> int:
    """The power of two ``e`` with the block's max-abs in ``[2**(e-1), 2**e)`` (per-feature extremes:
    no copy of the block). :func:`check_block` rescales a scale-invariant block by ``2**-e``."""
    xp = be.xp
    peak = max(abs(float(be.to_numpy(xp.max(arr)))), abs(float(be.to_numpy(xp.min(arr)))))
    return int(np.frexp(peak)[1])


def check_block(
    be: Backend, arr: Any, name: str, *, scale_invariant: bool, what: str = "this method's score", rescale: bool = True
) -> Any:
    """One ``(n_stimuli, n_features)`` block (finite, on the backend), checked and conditioned.

    A block that does not vary across stimuli is a ValueError (:func:`constant_message`). For a
    scale-invariant method the block is rescaled by a power of two (exact in floating point) to a
    max-abs in [0.5, 1), so that no product overflows or underflows whatever the data's units
    (``rescale=False``: returned as it is, for kernels that rescale the copy they make anyway);
    for the others, a max-abs outside :func:`magnitude_limits` is a ValueError naming ``name``.
    """
    xp = be.xp
    top, bottom = xp.max(arr, axis=0), xp.min(arr, axis=0)  # per feature: no copy of the block
    spread = float(be.to_numpy(xp.max(top - bottom)))
    if not spread > 0:
        raise ValueError(constant_message(name, what))
    peak = max(abs(float(be.to_numpy(xp.max(top)))), abs(float(be.to_numpy(xp.min(bottom)))))
    if scale_invariant:
        return times_power_of_two(arr, -int(np.frexp(peak)[1])) if rescale else arr
    low, high = magnitude_limits(float_dtype(arr))
    if not low <= peak <= high:
        raise ValueError(
            f"{name} has values of magnitude up to {peak:.3g}, outside [{low:.1g}, {high:.1g}]: this method "
            f"is not scale-invariant and products of such values {'overflow' if peak > high else 'underflow'} "
            f"{float_dtype(arr)}. Rescale {name} (e.g. divide it by its standard deviation)."
        )
    return arr
