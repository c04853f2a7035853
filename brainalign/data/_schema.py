"""Schemas of brainalign's labelled objects (DESIGN.md §1) and their validation.

Every object is a plain :class:`xarray.DataArray` (or, for alignment maps, a
:class:`xarray.Dataset`) with named dims and coordinates. The schema is a small table per
kind: the dims it must have, the dims it may have, and the coordinates each dim must carry.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from ..utils import check_option
from ._rdms import validate_rdms

__all__ = ["KINDS", "MAP_VARIABLES", "detect_kind", "layer_names", "validate"]


@dataclass(frozen=True)
class _Schema:
    kind: str
    dims: tuple[str, ...]  # required dims, in canonical order
    optional_dims: tuple[str, ...] = ()
    coords: dict[str, str] = field(default_factory=dict)  # coord name -> the dim it lies on
    description: str = ""


_SCHEMAS: dict[str, _Schema] = {
    "activations": _Schema(
        "activations",
        ("presentation", "unit"),
        optional_dims=("token",),
        coords={"stimulus_id": "presentation", "model": "unit", "layer": "unit", "unit_index": "unit"},
        description="model activations per stimulus",
    ),
    "continuous_activations": _Schema(
        "continuous_activations",
        ("time", "unit"),
        coords={"time": "time", "run": "time", "model": "unit", "layer": "unit", "unit_index": "unit"},
        description="model activations sampled at event (word/frame) times",
    ),
    "condition": _Schema(
        "condition",
        ("presentation", "neuroid"),
        optional_dims=("repetition",),
        coords={"stimulus_id": "presentation", "subject": "neuroid", "region": "neuroid"},
        description="condition-based recording (one response per stimulus presentation)",
    ),
    "continuous": _Schema(
        "continuous",
        ("time", "neuroid"),
        coords={"time": "time", "run": "time", "subject": "neuroid", "region": "neuroid"},
        description="continuous recording (fMRI TRs, M/EEG or iEEG samples)",
    ),
    "time_resolved": _Schema(
        "time_resolved",
        ("presentation", "neuroid", "latency"),
        optional_dims=("repetition",),
        coords={
            "stimulus_id": "presentation",
            "latency": "latency",
            "subject": "neuroid",
            "region": "neuroid",
        },
        description="time-resolved recording (M/EEG or iEEG epochs)",
    ),
}

#: The kinds :func:`validate` knows. ``"recording"`` accepts any of the three recording kinds.
KINDS = (*_SCHEMAS, "rdms", "recording", "map")
_RECORDING_KINDS = ("condition", "continuous", "time_resolved")

#: Variables an alignment map may hold besides ``score``.
MAP_VARIABLES = ("score", "ceiling", "normalized", "ci_low", "ci_high", "p_value", "p_fwe")
#: A map's cells are regions, or searchlight centres (``center``).
_MAP_DIMS = ("layer", "region", "center", "subject", "latency")

_HOW_TO_ADD = {
    "stimulus_id": "obj.assign_coords(stimulus_id=('presentation', ids))",
    "subject": "obj.assign_coords(subject=('neuroid', subjects))",
    "region": "obj.assign_coords(region=('neuroid', regions))",
    "run": "obj.assign_coords(run=('time', runs))",
    "time": "obj.assign_coords(time=('time', seconds))",
    "latency": "obj.assign_coords(latency=('latency', seconds))",
    "layer": "obj.assign_coords(layer=('unit', layer_names))",
    "model": "obj.assign_coords(model=('unit', model_names))",
    "unit_index": "obj.assign_coords(unit_index=('unit', indices))",
}
_CONSTRUCTOR = {
    "activations": "brainalign.data.activations(...)",
    "continuous_activations": "brainalign.data.activations(..., time=..., run=...)",
    "condition": "brainalign.data.recording(..., stimulus_id=...)",
    "continuous": "brainalign.data.recording(..., time=... or tr=/sfreq=, run=...)",
    "time_resolved": "brainalign.data.recording(..., stimulus_id=..., latency=...)",
}


def detect_kind(obj: xr.DataArray | xr.Dataset) -> str:
    """Guess the kind of ``obj`` from its dims (no validation).

    Returns one of ``"activations"``, ``"continuous_activations"``, ``"condition"``,
    ``"continuous"``, ``"time_resolved"``, ``"rdms"`` (brain RDMs: an ``rdm`` or ``stimulus_id_2``
    dim) or ``"map"``.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> detect_kind(xr.DataArray(np.zeros((2, 3)), dims=("presentation", "neuroid")))
    'condition'
    """
    if isinstance(obj, xr.Dataset):
        return "map"
    if not isinstance(obj, xr.DataArray):
        raise TypeError(
            f"Expected an xarray.DataArray or Dataset, got {type(obj).__name__}. Build one with "
            "brainalign.data.recording(...) or brainalign.data.activations(...)."
        )
    dims = set(obj.dims)
    if "rdm" in dims or "stimulus_id_2" in dims:
        return "rdms"
    if "unit" in dims:
        return "continuous_activations" if "time" in dims else "activations"
    if "latency" in dims:
        return "time_resolved"
    if "time" in dims:
        return "continuous"
    if "presentation" in dims:
        return "condition"
    raise ValueError(
        f"Cannot tell what kind of object has dims {tuple(obj.dims)}: activations need dims "
        "('presentation', 'unit'), recordings ('presentation', 'neuroid') or ('time', 'neuroid'). "
        "Rename the dims with obj.rename(...)."
    )


def validate(
    obj: xr.DataArray | xr.Dataset,
    kind: str = "auto",
    *,
    name: str | None = None,
    check_values: bool = True,
) -> str:
    """Check that ``obj`` follows brainalign's schema for ``kind``.

    Parameters
    ----------
    obj : xarray.DataArray | xarray.Dataset
        The object to check.
    kind : str
        ``"activations"``, ``"continuous_activations"``, ``"condition"``, ``"continuous"``,
        ``"time_resolved"``, ``"rdms"`` (brain RDMs, see :func:`brainalign.data.rdms`),
        ``"recording"`` (any of the three recording kinds), ``"map"``, or ``"auto"`` (detect from
        the dims).
    name : str, optional
        The argument's name, used in error messages (default: the kind).
    check_values : bool
        Also check that the values are finite (no NaN or inf). Set it to False for huge
        lazily-backed arrays you have already checked.

    Returns
    -------
    kind : str
        The specific kind of ``obj`` (never ``"recording"`` or ``"auto"``).

    Raises
    ------
    TypeError
        If ``obj`` is not an xarray object of the right type.
    ValueError
        Naming the missing or wrong dim/coordinate and how to fix it.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data
    >>> rec = data.recording(np.ones((3, 2)), stimulus_id=["a", "b", "c"],
    ...                      subject="S1", region=["V1", "V2"])
    >>> data.validate(rec, "recording")
    'condition'
    """
    check_option("kind", kind, (*KINDS, "auto"))
    if kind == "map":
        _validate_map(obj, name or "map", check_values)
        return "map"
    detected = detect_kind(obj)
    label = name or (kind if kind not in ("auto", "recording") else detected)
    if kind == "recording":
        if detected not in _RECORDING_KINDS:
            raise ValueError(
                f"{label} must be a recording (dims ('presentation', 'neuroid'), ('time', 'neuroid') "
                f"or ('presentation', 'neuroid', 'latency')), got dims {tuple(obj.dims)}."
            )
    elif kind != "auto" and detected != kind:
        want = _SCHEMAS.get(kind)
        wanted = (
            f"dims {want.dims}"
            if want
            else ("dims ('rdm', 'stimulus_id', 'stimulus_id_2')" if kind == "rdms" else kind)
        )
        raise ValueError(
            f"{label} must be {want.description if want else kind} with {wanted}, "
            f"got an object with dims {tuple(obj.dims)} (looks like {detected!r})."
        )
    if detected == "map":
        _validate_map(obj, label, check_values)
        return "map"
    if detected == "rdms":
        validate_rdms(obj, label, check_values=check_values)
        return "rdms"
    _validate_array(obj, _SCHEMAS[detected], label, check_values)
    return detected


def _validate_array(obj: xr.DataArray, schema: _Schema, label: str, check_values: bool) -> None:
    dims = tuple(obj.dims)
    allowed = set(schema.dims) | set(schema.optional_dims)
    missing = [d for d in schema.dims if d not in dims]
    extra = [d for d in dims if d not in allowed]
    if missing or extra or len(set(dims)) != len(dims):
        opt = f" (optionally also {schema.optional_dims})" if schema.optional_dims else ""
        raise ValueError(
            f"{label} must have dims {schema.dims}{opt}, got {dims}. "
            f"Rename dims with .rename(old='new') or build it with {_CONSTRUCTOR[schema.kind]}."
        )
    for coord, dim in schema.coords.items():
        if coord not in obj.coords:
            raise ValueError(
                f"{label} is missing the coordinate {coord!r} on dim {dim!r}. Add it with "
                f"{_HOW_TO_ADD[coord]} or build the object with {_CONSTRUCTOR[schema.kind]}."
            )
        if obj[coord].dims != (dim,):
            raise ValueError(
                f"{label}: the coordinate {coord!r} must lie along dim {dim!r} (one value per "
                f"{dim}), but it has dims {obj[coord].dims}."
            )
        _check_no_missing_labels(obj, coord, label)
    for dim in obj.dims:
        if obj.sizes[dim] == 0:
            raise ValueError(f"{label} is empty along dim {dim!r}; it needs at least one {dim}.")
    if not np.issubdtype(obj.dtype, np.number) or np.issubdtype(obj.dtype, np.complexfloating):
        raise TypeError(f"{label} must hold real numbers, got dtype {obj.dtype}.")
    if schema.kind in ("activations",):
        _check_unique(obj, "stimulus_id", label)
    if "unit" in obj.dims:
        _check_unique_pairs(obj, ("model", "layer", "unit_index"), label)
    if "time" in schema.coords:
        _check_time(obj, label)
    if "latency" in schema.coords:
        lat = np.asarray(obj["latency"].values, dtype=float)
        if lat.size > 1 and not np.all(np.diff(lat) > 0):
            raise ValueError(f"{label}: the 'latency' coordinate must be strictly increasing.")
    if check_values:
        _check_finite(obj, label)


def _check_no_missing_labels(obj: xr.DataArray, coord: str, label: str) -> None:
    values = obj[coord].values
    if values.dtype.kind == "f":
        bad = ~np.isfinite(values)
        if coord in ("time", "latency"):
            if bad.any():
                raise ValueError(f"{label}: the coordinate {coord!r} has NaN/inf values.")
            return
    else:
        bad = np.asarray(pd.isna(values), dtype=bool)
        if values.dtype.kind in "OUT":
            bad |= np.array([isinstance(v, str) and not v.strip() for v in values], dtype=bool)
    if np.any(bad):
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{label}: the coordinate {coord!r} has {int(np.sum(bad))} missing or empty value(s) "
            f"(first at position {first}). Every {obj[coord].dims[0]} needs a {coord}."
        )


def _check_unique(obj: xr.DataArray, coord: str, label: str) -> None:
    values = pd.Index(obj[coord].values)
    if not values.is_unique:
        dup = values[values.duplicated()].unique()[:5].tolist()
        raise ValueError(
            f"{label} has duplicate {coord} values, e.g. {dup}. Each stimulus must appear once in "
            "activations; drop or rename the duplicates."
        )


def _check_unique_pairs(obj: xr.DataArray, coords: tuple[str, ...], label: str) -> None:
    frame = pd.DataFrame({c: obj[c].values for c in coords})
    dup = frame.duplicated()
    if dup.any():
        first = frame[dup].iloc[0].to_dict()
        raise ValueError(
            f"{label} has {int(dup.sum())} duplicate units: the pair {tuple(coords)} must be unique, "
            f"e.g. {first} appears more than once."
        )


def _check_time(obj: xr.DataArray, label: str) -> None:
    time = np.asarray(obj["time"].values, dtype=float)
    run = pd.Series(obj["run"].values)
    # Runs must be contiguous blocks, and time strictly increasing inside each.
    starts = np.array(run.ne(run.shift()), dtype=bool)
    starts[0] = True
    if pd.Index(run[starts]).has_duplicates:
        raise ValueError(
            f"{label}: the samples of each run must be contiguous along 'time' (sort by run, then "
            "time: obj.sortby(['run', 'time']))."
        )
    diffs = np.diff(time)
    inside = ~starts[1:]
    if np.any(diffs[inside] <= 0):
        pos = int(np.flatnonzero(inside & (diffs <= 0))[0]) + 1
        raise ValueError(
            f"{label}: 'time' must increase strictly within each run (seconds from the run's "
            f"start); it does not at position {pos} (run {run.iloc[pos]!r})."
        )


def _check_finite(obj: xr.DataArray | xr.Variable, label: str) -> None:
    if not np.issubdtype(obj.dtype, np.floating):
        return
    values = obj.data
    n_bad = int((~np.isfinite(values)).sum())
    if n_bad:
        raise ValueError(
            f"{label} contains {n_bad} NaN or infinite value(s). Remove or impute them (e.g. drop "
            "bad channels/voxels with .isel(neuroid=...), or fill with .fillna(...)) before analysis."
        )


def _validate_map(obj: xr.Dataset, label: str, check_values: bool) -> None:
    if not isinstance(obj, xr.Dataset):
        raise TypeError(f"{label} must be an xarray.Dataset (an alignment map), got {type(obj).__name__}.")
    if "score" not in obj.data_vars:
        raise ValueError(f"{label} must hold a 'score' variable; it has {list(obj.data_vars)}.")
    dims = tuple(obj["score"].dims)
    if "layer" not in dims or ("region" in dims) == ("center" in dims):
        raise ValueError(
            f"{label}: 'score' must have dims 'layer' and 'region' (or 'center' for a searchlight map), got {dims}."
        )
    extra = [d for d in dims if d not in _MAP_DIMS]
    if extra:
        raise ValueError(f"{label}: 'score' has unexpected dims {extra}; allowed: {_MAP_DIMS}.")
    for var in obj.data_vars:
        if var in MAP_VARIABLES and not set(obj[var].dims) <= set(dims):
            raise ValueError(f"{label}: {var!r} has dims {obj[var].dims}, not a subset of {dims}.")
    if "method" not in obj.attrs:
        raise ValueError(f"{label} must record the method that made it in attrs['method'].")


def layer_names(activations: xr.DataArray) -> list[str]:
    """The layer names of ``activations`` in the order they appear along ``unit``.

    (``activations.groupby("layer")`` sorts layer names alphabetically, which puts
    ``"layer.10"`` before ``"layer.2"``; use this for the model's own order.)

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data
    >>> acts = data.activations({"b": np.ones((2, 3)), "a": np.ones((2, 1))}, stimulus_id=[1, 2])
    >>> data.layer_names(acts)
    ['b', 'a']
    """
    return [str(v) for v in pd.unique(np.asarray(activations["layer"].values))]
