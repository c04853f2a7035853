"""What the modules of the frequency-tagging probe share: default rates, reserved labels, checks."""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

#: Default tagged rates (Hz) for four-word [adj noun][verb noun] sentences at 4 words per second.
DEFAULT_RATES: Mapping[str, float | tuple[float, ...]] = MappingProxyType({"sentence": 1.0, "phrase": (2.0,)})

#: Labels that a rate may not be named: a unit tagged at several rates, or at none.
RESERVED_LABELS = ("shared", "none")
# Null amplitudes that equal the observed one up to rounding count as ties (≥ observed, not
# above the threshold): the circular null at the Nyquist bin, for one, takes few distinct values.
TIE_RTOL = 1e-9


def split_words(texts: list[Any], name: str) -> list[list[str]]:
    """Texts (or word lists) → word lists; ``name`` is the argument named in errors."""
    from ...models.huggingface import as_texts

    return [text.split() for text in as_texts(texts, name)]


def check_rate(name: str, value: Any) -> float:
    """A positive, finite frequency in Hz; ``name`` is the argument named in errors."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number (Hz), got {type(value).__name__} ({value!r:.40}).")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive, finite number of Hz, got {value!r}.")
    return float(value)
