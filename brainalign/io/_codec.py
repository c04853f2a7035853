"""How brainalign objects become netCDF/zarr-safe Datasets and back (private module, public names):
attrs that netCDF cannot hold kept as JSON, string dtypes, MultiIndexes, float16."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

__all__ = ["DATAARRAY_VAR", "PREFIX", "decode", "decode_attrs", "encode", "encode_attrs"]

#: Prefix of the attrs brainalign adds to what it writes.
PREFIX = "_brainalign_"
#: The variable name under which a DataArray is stored in its Dataset.
DATAARRAY_VAR = "__brainalign_dataarray__"


# --------------------------------------------------------------------------------------- encode
def is_native_attr(value: Any) -> bool:
    """Attribute values that netCDF and zarr both store and give back unchanged."""
    if isinstance(value, (bool, np.bool_)):
        return False
    if isinstance(value, (int, np.integer)):
        return bool(np.iinfo(np.int64).min <= value <= np.iinfo(np.int64).max)  # bigger ints go as JSON
    if isinstance(value, (str, float, np.floating)):
        return True
    return isinstance(value, np.ndarray) and value.ndim == 1 and value.size > 0 and value.dtype.kind in "iuf"


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(
        f"attrs value {value!r} of type {type(value).__name__} cannot be saved; use numbers, "
        "strings, bools, None, lists or dicts of those."
    )


def encode_attrs(attrs: dict[str, Any], where: str = "attrs") -> dict[str, Any]:
    out, encoded, renamed = {}, [], {}
    for key, value in attrs.items():
        if not isinstance(key, str):
            raise TypeError(f"{where}: attribute names must be strings, got {key!r}; rename it before saving.")
        if key.startswith(PREFIX):
            continue
        if "/" in key or not key.isprintable() or not key:  # names netCDF refuses: kept in one JSON attr
            renamed[key] = json.loads(json.dumps(value, default=_json_default))
            continue
        if is_native_attr(value):
            out[key] = value
        else:
            out[key] = json.dumps(value, default=_json_default)
            encoded.append(key)
    if encoded:
        out[PREFIX + "json_attrs"] = json.dumps(encoded)
    if renamed:
        out[PREFIX + "renamed_attrs"] = json.dumps(renamed)
    return out


def decode_attrs(attrs: dict[str, Any]) -> dict[str, Any]:
    attrs = dict(attrs)
    encoded = json.loads(attrs.pop(PREFIX + "json_attrs", "[]"))
    for key in encoded:
        attrs[key] = json.loads(attrs[key])
    attrs.update(json.loads(attrs.pop(PREFIX + "renamed_attrs", "{}")))
    return attrs


def _string_kind(values: np.ndarray) -> bool:
    if values.dtype.kind == "U":
        return True
    if values.dtype.kind == "O" or values.dtype.kind == "T":
        kinds = {type(v) for v in values.ravel()}
        if kinds <= {str, np.str_}:
            return True
        raise TypeError(
            f"values of types {sorted(k.__name__ for k in kinds)} in one variable cannot be saved; "
            "convert the variable to a single type (e.g. .astype(str))."
        )
    return False


def encode(obj: xr.DataArray | xr.Dataset) -> xr.Dataset:
    """The Dataset that :func:`save` writes for ``obj`` (string dtypes, JSON attrs, MultiIndex reset).

    Public so that writers streaming an object into a store piece by piece (e.g.
    :func:`brainalign.models.extract` with ``store=``) write what :func:`load` reads back.

    Examples
    --------
    >>> import xarray as xr
    >>> sorted(encode(xr.DataArray([1, 2], dims="x", name="v")).data_vars)
    ['v']
    """
    if isinstance(obj, xr.DataArray):
        name = obj.name
        ds = obj.to_dataset(name=DATAARRAY_VAR if name is None else name, promote_attrs=False)
        meta = {"type": "DataArray", "name": name}
        if name is not None and not isinstance(name, str):
            raise TypeError(f"The DataArray's name must be a string or None, got {name!r}.")
    elif isinstance(obj, xr.Dataset):
        ds, meta = obj, {"type": "Dataset"}
    else:
        raise TypeError(f"Can only save xarray DataArray or Dataset objects, got {type(obj).__name__}.")
    multi = {}
    for dim, index in ds.indexes.items():
        if isinstance(index, pd.MultiIndex) and dim in ds.dims:  # (its levels map to it too)
            multi[dim] = list(index.names)
    if multi:
        ds = ds.reset_index(list(multi))
        meta["multiindex"] = multi
    variables = {}
    for key, var in ds.variables.items():
        attrs = encode_attrs(var.attrs, f"{key!r}.attrs")
        data = var.data
        if var.dtype.kind in "OUT" and _string_kind(np.asarray(var.values)):
            attrs[PREFIX + "dtype"] = str(var.dtype)
            data = np.asarray(var.values, dtype=object)
        elif var.dtype == np.float16:  # netCDF has no half floats: stored as float32, restored on load
            attrs[PREFIX + "dtype"] = "float16"
            data = np.asarray(var.values, dtype=np.float32)
        elif var.dtype.kind == "c":
            raise TypeError(
                f"{key!r} holds complex numbers ({var.dtype}), which netCDF and zarr files here cannot store; "
                f"save its real and imaginary parts as two variables (or abs()) instead."
            )
        variables[key] = xr.Variable(var.dims, data, attrs)
    out = xr.Dataset(
        {k: v for k, v in variables.items() if k in ds.data_vars},
        coords={k: v for k, v in variables.items() if k in ds.coords},
    )
    out.attrs = encode_attrs(ds.attrs)
    out.attrs[PREFIX + "meta"] = json.dumps(meta)
    return out


def decode(ds: xr.Dataset) -> xr.DataArray | xr.Dataset:
    meta = json.loads(ds.attrs.get(PREFIX + "meta", '{"type": "Dataset"}'))
    data_vars, coords = {}, {}
    for key, var in ds.variables.items():
        attrs = decode_attrs(var.attrs)
        dtype = attrs.pop(PREFIX + "dtype", None)
        data = var.data
        if dtype == "float16":
            data = np.asarray(var.values).astype(np.float16)
        elif dtype is not None:
            data = np.asarray(var.values).astype(object)
            if dtype != "object":
                data = data.astype(dtype)
        target = coords if key in ds.coords else data_vars
        target[key] = xr.Variable(var.dims, data, attrs)
    attrs = {k: v for k, v in ds.attrs.items() if k != PREFIX + "meta"}
    ds = xr.Dataset(data_vars, coords=coords, attrs=decode_attrs(attrs))
    for dim, levels in meta.get("multiindex", {}).items():
        ds = ds.set_index({dim: levels})
    if meta["type"] == "DataArray":
        name = meta["name"]
        da = ds[DATAARRAY_VAR if name is None else name]
        da.name = name
        return da
    return ds


# ---------------------------------------------------------------------------------------- write
