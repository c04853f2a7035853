"""Readable checks of user input: one helper per kind of check, each naming the argument.

The argument checks take the argument's ``name`` (for the message) and its ``value``, raise
``TypeError`` for the wrong kind of value and ``ValueError`` for a value out of range, and return
the value in its plain Python type; with ``optional=True`` a ``None`` passes and is returned.
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def check_option(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Raise ValueError unless ``value`` is one of ``allowed``; return ``value``.

    Examples
    --------
    >>> check_option("metric", "correlation", ("correlation", "cosine"))
    'correlation'
    """
    allowed = tuple(allowed)
    if value not in allowed:
        hint = ""
        if isinstance(value, str):
            close = difflib.get_close_matches(value, [str(a) for a in allowed], n=1)
            if close:
                hint = f" Did you mean {close[0]!r}?"
        raise ValueError(
            f"Invalid value for {name}: {value!r}. Allowed values are {', '.join(repr(a) for a in allowed)}.{hint}"
        )
    return value


def validate_type(name: str, value: Any, types: type | tuple[type, ...], what: str | None = None) -> Any:
    """Raise TypeError unless ``value`` is an instance of ``types``; return ``value``."""
    if not isinstance(value, types):
        if what is None:
            tup = types if isinstance(types, tuple) else (types,)
            what = " or ".join(t.__name__ for t in tup)
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} ({value!r:.80}).")
    return value


def check_count(
    name: str, value: Any, minimum: int = 1, what: str | None = None, *, optional: bool = False
) -> int | None:
    """Raise ValueError unless ``value`` is an integer ≥ ``minimum``; return it as an int.

    Python and numpy integers pass; bools (``True`` is not a count), floats (even ``3.0``) and
    strings are refused. ``None`` passes (and is returned) when ``optional``.

    Parameters
    ----------
    minimum : int
        The smallest count allowed.
    what : str, optional
        What the count is, for the message (e.g. ``"words per sentence"``).
    optional : bool
        Whether ``None`` is allowed.

    Examples
    --------
    >>> check_count("n_perm", 1000)
    1000
    >>> check_count("batch_size", None, optional=True) is None
    True
    >>> check_count("n_words", 2, minimum=3, what="words per sentence")
    Traceback (most recent call last):
    ...
    ValueError: n_words must be an integer ≥ 3 (words per sentence), got 2.
    """
    if value is None and optional:
        return None
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        hint = f" ({what})" if what else ""
        none = " or None" if optional else ""
        raise ValueError(f"{name} must be an integer ≥ {minimum}{hint}{none}, got {value!r}.")
    return int(value)


def check_bool(name: str, value: Any, *, optional: bool = False) -> bool | None:
    """Raise TypeError unless ``value`` is True or False; return it as a Python bool.

    numpy bools pass; integers (``1``, ``0``), strings (``"yes"``) and ``None`` are refused, so
    that nothing is silently read as a flag. ``None`` passes (and is returned) when ``optional``.

    Examples
    --------
    >>> import numpy as np
    >>> check_bool("signed", np.True_)
    True
    >>> check_bool("signed", 1)
    Traceback (most recent call last):
    ...
    TypeError: signed must be True or False, got int (1).
    """
    if value is None and optional:
        return None
    validate_type(name, value, (bool, np.bool_), "True or False" + (" or None" if optional else ""))
    return bool(value)


_INCLUSIVE = ("neither", "left", "right", "both")


def _interval(minimum: float | None, maximum: float | None, inclusive: str) -> str:
    """The allowed range in words: "> 0", "≤ 1", "in (0, 1]" or ""."""
    low_in, high_in = inclusive in ("left", "both"), inclusive in ("right", "both")
    if minimum is not None and maximum is not None:
        return f"in {'[' if low_in else '('}{minimum:g}, {maximum:g}{']' if high_in else ')'}"
    if minimum is not None:
        return f"{'≥' if low_in else '>'} {minimum:g}"
    if maximum is not None:
        return f"{'≤' if high_in else '<'} {maximum:g}"
    return ""


def check_number(
    name: str,
    value: Any,
    *,
    minimum: float | None = 0.0,
    maximum: float | None = None,
    inclusive: str = "neither",
    optional: bool = False,
    unit: str = "",
) -> float | None:
    """Raise unless ``value`` is a finite real number in range; return it as a float.

    The default range is the positive numbers (``> 0``). Bools, strings and complex numbers raise
    TypeError; NaN, ±inf and numbers out of range raise ValueError. ``None`` passes (and is
    returned) when ``optional``.

    Parameters
    ----------
    minimum, maximum : float or None
        The bounds of the range (None: unbounded on that side).
    inclusive : {"neither", "left", "right", "both"}
        Which bounds belong to the range (as in :meth:`pandas.Series.between`).
    optional : bool
        Whether ``None`` is allowed.
    unit : str
        The unit of ``value`` (e.g. ``"seconds"``), for the message.

    Examples
    --------
    >>> check_number("tr", 2, unit="seconds")
    2.0
    >>> check_number("alpha", 1.0, maximum=1.0, inclusive="right")
    1.0
    >>> check_number("tr", 0.0, unit="seconds")
    Traceback (most recent call last):
    ...
    ValueError: tr must be > 0 seconds and finite, got 0.0.
    """
    if value is None and optional:
        return None
    check_option("inclusive", inclusive, _INCLUSIVE)
    interval = _interval(minimum, maximum, inclusive)
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        what = "a number" + (f" of {unit}" if unit else "") + (f" {interval}" if interval else "")
        raise TypeError(
            f"{name} must be {what}{' or None' if optional else ''}, got {type(value).__name__} ({value!r:.80})."
        )
    try:
        number = float(value)
    except OverflowError:  # a Python int beyond float64's range
        number = float("inf") if value > 0 else float("-inf")
    low_in, high_in = inclusive in ("left", "both"), inclusive in ("right", "both")
    too_low = minimum is not None and (number < minimum or (number == minimum and not low_in))
    too_high = maximum is not None and (number > maximum or (number == maximum and not high_in))
    if not np.isfinite(number) or too_low or too_high:
        if not interval:
            raise ValueError(f"{name} must be a finite number, got {value!r}.")
        raise ValueError(f"{name} must be {interval}{' ' + unit if unit else ''} and finite, got {value!r}.")
    return number


def check_text(name: str, value: Any, *, optional: bool = False) -> str | None:
    """Raise unless ``value`` is a non-empty string (TypeError for another type, ValueError for
    ``""``); return it. ``None`` passes (and is returned) when ``optional``.

    Examples
    --------
    >>> check_text("subject", "S1")
    'S1'
    >>> check_text("space", 3, optional=True)
    Traceback (most recent call last):
    ...
    TypeError: space must be a string or None, got int (3).
    """
    if value is None and optional:
        return None
    validate_type(name, value, str, "a string" + (" or None" if optional else ""))
    if not value:
        raise ValueError(f"{name} must be a non-empty string, got {value!r}.")
    return value


def check_mapping(name: str, value: Any, *, optional: bool = False) -> Mapping | None:
    """Raise TypeError unless ``value`` is a mapping (e.g. a dict); return it. ``None`` passes
    (and is returned) when ``optional``.

    Examples
    --------
    >>> check_mapping("attrs", {"space": "MNI"})
    {'space': 'MNI'}
    >>> check_mapping("attrs", None, optional=True) is None
    True
    """
    if value is None and optional:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(
            f"{name} must be a mapping (e.g. a dict of name → values){' or None' if optional else ''}, "
            f"got {type(value).__name__}."
        )
    return value


def check_sequence(name: str, value: Any, *, optional: bool = False) -> list[Any] | None:
    """Raise TypeError unless ``value`` is a 1-D sequence of labels (a list, a tuple or a 1-D
    array; a single string is refused); return it as a list. ``None`` passes (and is returned)
    when ``optional``.

    Examples
    --------
    >>> check_sequence("run", (1, 1, 2))
    [1, 1, 2]
    >>> check_sequence("run", "01")
    Traceback (most recent call last):
    ...
    TypeError: run must be a sequence (list, tuple or 1-D array) of labels, got '01'.
    """
    if value is None and optional:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, (Sequence, np.ndarray)) or np.ndim(value) != 1:
        none = " or None" if optional else ""
        raise TypeError(f"{name} must be a sequence (list, tuple or 1-D array) of labels{none}, got {value!r:.80}.")
    return list(value)


def check_float_dtype(name: str, dtype: Any) -> np.dtype:
    """Raise unless ``dtype`` names a real floating numpy dtype (float16/32/64); return it.

    Integer types would truncate signals and complex types are not signals: both raise ValueError;
    what is not a dtype raises TypeError.

    Examples
    --------
    >>> check_float_dtype("dtype", "float32")
    dtype('float32')
    >>> check_float_dtype("dtype", "int16")
    Traceback (most recent call last):
    ...
    ValueError: dtype must be a real floating dtype (float32 or float64), got int16: ...
    """
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


class ComplexDataError(TypeError, ValueError):
    """Complex numbers where real ones are needed: a TypeError (the wrong kind of number), and a
    ValueError for scikit-learn's estimator contract."""


def check_real(values: Any, name: str, numeric: bool = True) -> Any:
    """Raise :class:`ComplexDataError` (a TypeError naming ``name``) for complex input and a TypeError
    for anything that is not numbers; return ``values``.

    ``values`` is a numpy array or a torch tensor (anything else goes through ``numpy.asarray``).
    ``numeric=False`` refuses complex numbers only (a caller that converts other dtypes itself).

    Examples
    --------
    >>> import numpy as np
    >>> check_real(np.ones(3) + 1j, "X")
    Traceback (most recent call last):
    ...
    brainalign.utils._checks.ComplexDataError: X must hold real numbers: Complex data not supported ...
    """
    is_torch = type(values).__module__.startswith("torch")
    dtype = values.dtype if isinstance(values, np.ndarray) or is_torch else None
    if dtype is None:  # a list, a scipy sparse matrix...: its declared dtype, else numpy's reading
        dtype = getattr(values, "dtype", None)
        dtype = np.asarray(values).dtype if dtype is None else np.dtype(dtype)
    if values.is_complex() if is_torch else np.issubdtype(dtype, np.complexfloating):
        raise ComplexDataError(
            f"{name} must hold real numbers: Complex data not supported (got {str(dtype).replace('torch.', '')}); "
            "take .real or abs() first."
        )
    if numeric and not is_torch and not (np.issubdtype(dtype, np.number) or dtype == np.bool_):
        raise TypeError(f"{name} must hold numbers, got dtype {dtype}.")
    return values


def check_random_state(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """Turn ``random_state`` into a :class:`numpy.random.Generator` (no global seeding)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    raise TypeError(f"random_state must be None, an int or a numpy Generator, got {type(random_state).__name__}.")


def close_matches(value: str, candidates: Sequence[str], n: int = 3) -> str:
    """A ' Did you mean ...?' suffix for an error message, or an empty string."""
    close = difflib.get_close_matches(value, list(candidates), n=n, cutoff=0.5)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def check_writable_dir(name: str, folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check that it is writable; return it as a Path."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(
            f"{name}: cannot create the folder {str(folder)!r} ({err.strerror}). Choose a folder you can write to."
        ) from err
    if not folder.is_dir():
        raise ValueError(f"{name}: {str(folder)!r} exists and is not a folder.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{name}: the folder {str(folder)!r} is not writable. Choose a folder you can write to.")
    return folder
