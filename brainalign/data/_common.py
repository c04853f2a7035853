"""Input helpers shared by the data constructors: numbers in, labels per item, identifier types."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "as_numpy",
    "check_labels",
    "id_kind",
    "per_item",
]


def id_kind(values: np.ndarray) -> str:
    """The type(s) of identifiers, e.g. ``"int"``, ``"str"`` or ``"int/str"`` (first 1000 checked).

    Examples
    --------
    >>> id_kind(np.array([1, "a"], dtype=object))
    'int/str'
    """
    kinds = {
        ("str" if isinstance(v, str) else "int" if isinstance(v, (int, np.integer)) else type(v).__name__)
        for v in np.asarray(values).ravel()[:1000]
    }
    return "/".join(sorted(kinds))


def check_labels(values: Any, name: str) -> np.ndarray:
    """``values`` as a 1-d array, refusing a mix of strings and non-strings (e.g. ``[1, "1"]``).

    numpy would turn ``[1, "1"]`` into two equal strings, silently merging different labels.

    Examples
    --------
    >>> check_labels([1, 2], "stimulus_id").tolist()
    [1, 2]
    >>> try:
    ...     check_labels([1, "1"], "stimulus_id")
    ... except TypeError as err:
    ...     print(str(err)[:41])
    stimulus_id mixes strings and other types
    """
    if isinstance(values, xr.DataArray):
        values = values.values
    if isinstance(values, np.ndarray) and values.dtype != object:
        return values  # one dtype: nothing was converted
    items = list(values) if not isinstance(values, np.ndarray) else values.tolist()
    strings = [isinstance(v, (str, np.str_, bytes)) for v in items]
    if any(strings) and not all(strings):
        first_str, first_other = strings.index(True), strings.index(False)
        example = [items[min(first_str, first_other)], items[max(first_str, first_other)]]
        raise TypeError(
            f"{name} mixes strings and other types ({id_kind(np.array(items, dtype=object))}), e.g. {example!r}; "
            "numpy would turn them all into strings and merge different labels. Give one type (e.g. all str)."
        )
    return np.asarray(items, dtype=object) if any(strings) else np.asarray(items)


def per_item(value: Any, n: int, name: str, dim: str) -> np.ndarray:
    """Broadcast a scalar to ``n`` items or check that a sequence has ``n`` items (one type of label).

    Examples
    --------
    >>> per_item("V1", 2, "region", "neuroid").tolist()
    ['V1', 'V1']
    """
    if value is None:
        raise ValueError(f"{name} is required: give one value per {dim} or a single value for all.")
    if np.ndim(value) == 0:
        if isinstance(value, complex) or np.iscomplexobj(value):
            raise TypeError(f"{name} must be a real number or a label, got {value!r}.")
        return np.full(n, value, dtype=object if isinstance(value, str) else None)
    arr = check_labels(value, name)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise ValueError(f"{name} must have one value per {dim} ({n}), got shape {arr.shape}.")
    if np.iscomplexobj(arr):
        raise TypeError(f"{name} must hold real numbers or labels, got complex values.")
    return arr


def as_numpy(values: Any, name: str) -> np.ndarray:
    """numpy view of an array-like, a torch tensor (without importing torch), or a DataArray, holding
    real numbers (bools and integers allowed; complex numbers, strings and objects refused).

    Examples
    --------
    >>> as_numpy([[1, 2]], "values").shape
    (1, 2)
    """
    if isinstance(values, xr.DataArray):
        values = values.values
    elif hasattr(values, "detach") and hasattr(values, "cpu"):  # a torch tensor
        values = values.detach().cpu().numpy()
    try:
        arr = np.asarray(values)
    except Exception as err:  # pragma: no cover - numpy's own message is kept
        raise TypeError(f"{name} must be array-like, got {type(values).__name__}.") from err
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(
            f"{name} must hold real numbers, got complex values (dtype {arr.dtype}). Take the amplitude (np.abs), "
            "the power or the real part first."
        )
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise TypeError(f"{name} must hold numbers, got dtype {arr.dtype}.")
    return arr
