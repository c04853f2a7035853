"""Option checks shared by the io adapters (private): flags, numbers, names, dtypes, values.

Each check names the argument and what was expected (``TypeError`` for the wrong kind of value,
``ValueError`` for a value out of range), so that no option is silently turned into a plausible one.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..utils import validate_type

__all__ = ["check_bool", "check_finite_values", "check_float_dtype", "check_number", "check_sequence", "check_text"]


def check_bool(name: str, value: Any) -> bool:
    """``value`` if it is a bool (numpy bools too), else TypeError."""
    validate_type(name, value, (bool, np.bool_), "True or False")
    return bool(value)


def check_text(name: str, value: Any, *, optional: bool = False) -> str | None:
    """``value`` if it is a non-empty string (or None when ``optional``)."""
    if value is None and optional:
        return None
    validate_type(name, value, str, "a string" + (" or None" if optional else ""))
    if not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}.")
    return value


def check_number(
    name: str,
    value: Any,
    *,
    minimum: float | None = 0.0,
    inclusive: bool = False,
    optional: bool = False,
    unit: str = "",
) -> float | None:
    """``value`` as a finite float above ``minimum`` (or equal to it when ``inclusive``).

    Bools, strings and complex numbers are refused with TypeError; NaN, inf and values out of
    range with ValueError. None passes when ``optional``.
    """
    if value is None and optional:
        return None
    what = "a number" + (f" of {unit}" if unit else "") + (" or None" if optional else "")
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} ({value!r:.80}).")
    value = float(value)
    if not np.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}.")
    if minimum is not None and (value < minimum or (value == minimum and not inclusive)):
        bound = f"≥ {minimum:g}" if inclusive else f"> {minimum:g}"
        raise ValueError(f"{name} must be {bound}{' ' + unit if unit else ''}, got {value!r}.")
    return value


def check_float_dtype(name: str, dtype: Any) -> np.dtype:
    """A real floating numpy dtype (float16/32/64); integer, complex and other dtypes are refused."""
    try:
        out = np.dtype(dtype)
    except TypeError as err:
        raise TypeError(f"{name} must be a numpy floating dtype such as 'float32', got {dtype!r}.") from err
    if out.kind != "f":
        raise ValueError(
            f"{name} must be a real floating dtype (float32 or float64), got {out}: integer types would truncate "
            "the signals and complex types are not signals."
        )
    return out


def check_sequence(name: str, value: Any, *, optional: bool = True) -> list[Any] | None:
    """``value`` as a list when it is a sequence or an array of labels (a single string is refused)."""
    if value is None and optional:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)) or np.ndim(value) != 1:
        raise TypeError(f"{name} must be a sequence (list, tuple or 1-D array) of labels, got {value!r:.80}.")
    return list(value)


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
