"""Constructors: plain arrays plus metadata in, valid labelled objects out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..utils import check_mapping, check_number, check_text
from ._common import as_numpy, per_item
from ._schema import validate

__all__ = ["activations", "recording"]

ArrayLike = Any


def _coords_for(extra: Mapping[str, Any] | None, n: int, dim: str, argname: str) -> dict[str, tuple[str, np.ndarray]]:
    out: dict[str, tuple[str, np.ndarray]] = {}
    for key, value in (extra or {}).items():
        out[key] = (dim, per_item(value, n, f"{argname}[{key!r}]", dim))
    return out


def recording(
    values: ArrayLike,
    *,
    subject: Any,
    region: Any,
    stimulus_id: Sequence[Any] | None = None,
    time: Sequence[float] | None = None,
    run: Any = None,
    latency: Sequence[float] | None = None,
    tr: float | None = None,
    sfreq: float | None = None,
    dims: Sequence[str] | None = None,
    neuroid_coords: Mapping[str, Any] | None = None,
    presentation_coords: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    name: str = "recording",
) -> xr.DataArray:
    """Build a recording (DESIGN.md §1) from a plain array and its metadata.

    The kind follows from what you give:

    - ``stimulus_id`` → **condition-based**: ``values`` is ``(presentation, neuroid)``, or
      ``(presentation, neuroid, repetition)`` for trials kept apart;
    - ``time``, ``tr`` or ``sfreq`` → **continuous**: ``values`` is ``(time, neuroid)``; with ``tr``
      or ``sfreq`` and no ``time``, the time of each sample is computed from the start of its run;
    - ``stimulus_id`` and ``latency`` → **time-resolved**: ``(presentation, neuroid, latency)``.

    Parameters
    ----------
    values : array-like
        The responses (numpy array, torch tensor, ...).
    subject, region : scalar or sequence
        One value per neuroid, or one value for all. Both are required.
    stimulus_id : sequence, optional
        One id per presentation; repeated ids are repeated trials of the same stimulus.
    time : sequence of float, optional
        Seconds from the start of each sample's run (continuous recordings).
    run : scalar or sequence, optional
        Run (or session/block) of each sample or presentation; used for run-wise
        cross-validation and to keep runs apart when resampling. Continuous recordings default
        to a single run ``0``.
    latency : sequence of float, optional
        Seconds relative to stimulus onset (time-resolved recordings).
    tr, sfreq : float, optional
        Repetition time in seconds (fMRI) or sampling frequency in Hz (M/EEG, iEEG). Stored in
        ``attrs``.
    dims : sequence of str, optional
        Dims of ``values`` when they are not in the canonical order.
    neuroid_coords, presentation_coords : mapping, optional
        Further coordinates, e.g. ``{"x": ..., "y": ..., "z": ..., "hemisphere": ...}`` on
        neuroids, ``{"onset": ...}`` on presentations (or on time for continuous recordings).
    attrs : mapping, optional
        Metadata kept in ``attrs`` (e.g. ``space``, ``modality``).
    name : str
        Name of the DataArray.

    Returns
    -------
    xarray.DataArray
        A validated recording.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data
    >>> rec = data.recording(np.random.default_rng(0).normal(size=(4, 3)),
    ...                      stimulus_id=["cat", "dog", "car", "cup"],
    ...                      subject="S1", region=["V1", "V1", "IT"])
    >>> rec.dims
    ('presentation', 'neuroid')
    >>> bold = data.recording(np.zeros((10, 2)), tr=2.0, run=[0] * 5 + [1] * 5,
    ...                       subject="S1", region="STG")
    >>> bold["time"].values[:6].tolist()
    [0.0, 2.0, 4.0, 6.0, 8.0, 0.0]
    """
    arr = as_numpy(values, "values")
    if arr.dtype == bool or np.issubdtype(arr.dtype, np.integer):
        arr = arr.astype(np.float64)
    continuous = time is not None or tr is not None or sfreq is not None
    if continuous and stimulus_id is not None and latency is None:
        raise ValueError(
            "Give either stimulus_id (condition-based recording) or time/tr/sfreq (continuous "
            "recording), not both. For responses to events in a continuous recording, keep the "
            "continuous recording and put the event times in the activations."
        )
    if tr is not None and sfreq is not None:
        raise ValueError("Give tr (seconds) or sfreq (Hz), not both.")
    tr = check_number("tr", tr, optional=True, unit="seconds")
    sfreq = check_number("sfreq", sfreq, optional=True, unit="Hz")
    check_text("name", name)
    for label, mapping in (("neuroid_coords", neuroid_coords), ("presentation_coords", presentation_coords)):
        check_mapping(label, mapping, optional=True)
    check_mapping("attrs", attrs, optional=True)
    if dims is not None and (isinstance(dims, str) or not all(isinstance(d, str) for d in dims)):
        raise TypeError(f"dims must be a sequence of dim names (str), got {dims!r}.")

    if latency is not None:
        kind, default_dims = "time_resolved", ("presentation", "neuroid", "latency")
    elif continuous:
        kind, default_dims = "continuous", ("time", "neuroid")
    elif stimulus_id is not None:
        kind = "condition"
        default_dims = ("presentation", "neuroid", "repetition")[: max(arr.ndim, 2)]
    else:
        raise ValueError(
            "Say what the rows are: pass stimulus_id (condition-based or, with latency, "
            "time-resolved recording) or time/tr/sfreq (continuous recording)."
        )
    dims = tuple(dims) if dims is not None else default_dims
    if arr.ndim != len(dims):
        raise ValueError(
            f"values has {arr.ndim} dims (shape {arr.shape}) but a {kind} recording needs dims "
            f"{dims}. Reshape values or pass dims=..."
        )
    da = xr.DataArray(arr, dims=dims, name=name)
    da = da.transpose(*[d for d in ("presentation", "time", "neuroid", "latency", "repetition") if d in dims])
    row_dim = "time" if kind == "continuous" else "presentation"
    n_rows, n_neuroids = da.sizes[row_dim], da.sizes["neuroid"]

    coords: dict[str, tuple[str, Any]] = {
        "subject": ("neuroid", per_item(subject, n_neuroids, "subject", "neuroid")),
        "region": ("neuroid", per_item(region, n_neuroids, "region", "neuroid")),
    }
    coords.update(_coords_for(neuroid_coords, n_neuroids, "neuroid", "neuroid_coords"))
    coords.update(_coords_for(presentation_coords, n_rows, row_dim, "presentation_coords"))
    if kind == "continuous":
        runs = per_item(0 if run is None else run, n_rows, "run", "time")
        coords["run"] = ("time", runs)
        step = tr if tr is not None else (1.0 / sfreq if sfreq is not None else None)
        if time is None:
            coords["time"] = ("time", _time_from_rate(runs, step))
        else:
            coords["time"] = ("time", np.asarray(per_item(time, n_rows, "time", "time"), dtype=float))
    else:
        coords["stimulus_id"] = ("presentation", per_item(stimulus_id, n_rows, "stimulus_id", "presentation"))
        if run is not None:
            coords["run"] = ("presentation", per_item(run, n_rows, "run", "presentation"))
        if kind == "time_resolved":
            coords["latency"] = (
                "latency",
                np.asarray(per_item(latency, da.sizes["latency"], "latency", "latency"), dtype=float),
            )
        if "repetition" in da.dims:
            coords["repetition"] = ("repetition", np.arange(da.sizes["repetition"]))
    da = da.assign_coords(coords)
    da.attrs.update(attrs or {})
    if tr is not None:
        da.attrs["tr"] = float(tr)
    if sfreq is not None:
        da.attrs["sfreq"] = float(sfreq)
    validate(da, kind, name="recording")
    return da


def _time_from_rate(runs: np.ndarray, step: float) -> np.ndarray:
    """Seconds from the start of each run for evenly sampled data."""
    runs = pd.Series(runs)
    return (runs.groupby(runs, sort=False).cumcount().to_numpy() * step).astype(float)


def activations(
    values: ArrayLike | Mapping[str, ArrayLike],
    *,
    stimulus_id: Sequence[Any] | None = None,
    time: Sequence[float] | None = None,
    run: Any = None,
    model: str = "model",
    layer: str | Sequence[str] | None = None,
    presentation_coords: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    dtype: Any = None,
    name: str = "activations",
) -> xr.DataArray:
    """Build an activations array (DESIGN.md §1): all layers of a model in one array.

    Parameters
    ----------
    values : array-like or mapping of layer name to array-like
        ``{layer: (n_stimuli, ...)}``, concatenated along ``unit`` in the mapping's order, or
        one ``(n_stimuli, n_units)`` array with ``layer`` naming its layer (or each unit's layer).
        Trailing dims beyond the second (e.g. channels × height × width) are flattened into units.
    stimulus_id : sequence, optional
        One unique id per stimulus (row); required unless ``time`` is given.
    time, run : optional
        For activations sampled at event times (words, frames) of continuous stimuli: seconds
        from the start of each event's run, and the run of each event (default one run, ``0``).
        :func:`brainalign.data.align` resamples them to a continuous recording's clock.
    model : str
        The model's name, stored on every unit.
    layer : str or sequence of str, optional
        The layer of each unit when ``values`` is a single array.
    presentation_coords : mapping, optional
        Further per-row coordinates (e.g. the word, its sentence).
    attrs : mapping, optional
        Metadata kept in ``attrs``.
    dtype : numpy dtype, optional
        Cast the values (e.g. ``np.float32`` to halve memory).

    Returns
    -------
    xarray.DataArray
        Dims ``(presentation, unit)`` (or ``(time, unit)``) with coords ``stimulus_id``,
        ``model``, ``layer`` and ``unit_index`` (the unit's index inside its layer).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data
    >>> acts = data.activations({"conv1": np.ones((2, 4)), "fc": np.ones((2, 3))},
    ...                         stimulus_id=["a", "b"], model="toy")
    >>> acts.sizes["unit"], data.layer_names(acts)
    (7, ['conv1', 'fc'])
    """
    check_text("model", model)
    check_text("name", name)
    check_mapping("presentation_coords", presentation_coords, optional=True)
    check_mapping("attrs", attrs, optional=True)
    if dtype is not None:
        try:
            dtype = np.dtype(dtype)
        except TypeError as err:
            raise TypeError(f"dtype must be a numpy dtype (e.g. np.float32), got {dtype!r}.") from err
        if dtype.kind not in "fiu":
            raise TypeError(f"dtype must be a real numeric dtype (e.g. np.float32), got {dtype}.")
    if isinstance(values, Mapping):
        if not values:
            raise ValueError("values is an empty mapping; give at least one layer.")
        if layer is not None:
            raise ValueError("layer names come from the mapping's keys; do not pass layer as well.")
        blocks = [(str(k), as_numpy(v, f"values[{k!r}]")) for k, v in values.items()]
    else:
        if layer is None:
            raise ValueError("Pass layer=... (the layer name) with a single array, or a mapping {layer: array}.")
        blocks = [("", as_numpy(values, "values"))]
    n_rows = None
    parts, layer_col, index_col = [], [], []
    for lname, arr in blocks:
        if arr.ndim < 2:
            raise ValueError(
                f"values{'[' + repr(lname) + ']' if lname else ''} must be (n_stimuli, n_units), got shape {arr.shape}."
            )
        if 0 in arr.shape:
            raise ValueError(
                f"values{'[' + repr(lname) + ']' if lname else ''} is empty (shape {arr.shape}); activations need "
                "at least one stimulus and one unit."
            )
        arr = arr.reshape(arr.shape[0], -1)
        if n_rows is None:
            n_rows = arr.shape[0]
        elif arr.shape[0] != n_rows:
            raise ValueError(
                f"All layers need the same number of rows (stimuli): {lname!r} has {arr.shape[0]}, "
                f"the first layer has {n_rows}."
            )
        parts.append(arr)
        layer_col.append(np.full(arr.shape[1], lname, dtype=object))
        index_col.append(np.arange(arr.shape[1]))
    stacked = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]
    if dtype is not None:
        stacked = stacked.astype(dtype, copy=False)
    elif stacked.dtype == bool or np.issubdtype(stacked.dtype, np.integer):
        stacked = stacked.astype(np.float32)
    n_units = stacked.shape[1]
    layers = np.concatenate(layer_col)
    if not isinstance(values, Mapping):
        layers = per_item(layer, n_units, "layer", "unit").astype(object)
    continuous = time is not None
    row_dim = "time" if continuous else "presentation"
    coords: dict[str, tuple[str, Any]] = {
        "model": ("unit", np.full(n_units, model, dtype=object)),
        "layer": ("unit", layers),
        "unit_index": ("unit", np.concatenate(index_col)),
    }
    if continuous:
        coords["time"] = ("time", np.asarray(per_item(time, n_rows, "time", "time"), dtype=float))
        coords["run"] = ("time", per_item(0 if run is None else run, n_rows, "run", "time"))
        if stimulus_id is not None:
            coords["stimulus_id"] = ("time", per_item(stimulus_id, n_rows, "stimulus_id", "time"))
    else:
        if stimulus_id is None:
            raise ValueError("stimulus_id is required: one unique id per row of values.")
        coords["stimulus_id"] = ("presentation", per_item(stimulus_id, n_rows, "stimulus_id", "presentation"))
        if run is not None:
            coords["run"] = ("presentation", per_item(run, n_rows, "run", "presentation"))
    coords.update(_coords_for(presentation_coords, n_rows, row_dim, "presentation_coords"))
    da = xr.DataArray(stacked, dims=(row_dim, "unit"), coords=coords, name=name, attrs=dict(attrs or {}))
    validate(da, "continuous_activations" if continuous else "activations", name="activations")
    return da
