"""Layer × region alignment maps (DESIGN.md §4)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from . import data, registry
from ._version import __version__
from .utils import logger, progress

__all__ = ["alignment_map"]


def _method(method: str | Any, options: dict[str, Any]) -> tuple[Any, str]:
    if isinstance(method, str):
        return registry.get(method, **options), method
    if options:
        raise ValueError("method_options apply to a method given by name; configure the method object instead.")
    if not callable(method) and not hasattr(method, "represent"):
        raise TypeError(f"method must be a registered name or a method object, got {type(method).__name__}.")
    return method, type(method).__name__


def _params(method: Any) -> dict[str, Any]:
    params = method.get_params() if hasattr(method, "get_params") else {}
    return json.loads(json.dumps(params, default=str))


def _stacked(reps: list[Any]) -> Any:
    """Representations of all layers: one stacked numpy array when they share a shape (what a
    plug-in's ``compare_represented`` may expect), else the list (backend arrays, ragged shapes)."""
    if reps and all(isinstance(r, np.ndarray) for r in reps) and len({r.shape for r in reps}) == 1:
        return np.stack(reps)
    return reps


def _trials_recording(recording: xr.DataArray, name: str) -> None:
    if "repetition" not in recording.dims:
        raise ValueError(
            f"{name} compares trial-resolved responses, so the recording must keep its trials on a "
            "'repetition' dim (presentation × neuroid × repetition; build it with "
            "data.recording(values_with_trials, stimulus_id=..., ...) from a 3-D array). This recording has "
            f"dims {recording.dims}."
        )


def alignment_map(
    activations: xr.DataArray,
    recording: xr.DataArray,
    method: str | Any = "rsa",
    *,
    method_options: dict[str, Any] | None = None,
    ceiling: bool = True,
    n_boot: int = 0,
    n_perm: int = 0,
    random_state: int | None = 0,
    repetitions: str | None = None,
    on_missing: str = "raise",
) -> xr.Dataset:
    """Score every layer against every region with one method.

    Parameters
    ----------
    activations : xarray.DataArray
        Activations ``(presentation, unit)`` of one model, all layers.
    recording : xarray.DataArray
        A condition-based or time-resolved recording.
    method : str or method object
        A registered name (:func:`brainalign.registry.list_methods`) or an instance.
    method_options : dict, optional
        Options for a method given by name (e.g. ``{"metric": "euclidean"}``).
    repetitions, on_missing
        Passed to :func:`brainalign.data.align`.

    Returns
    -------
    xarray.Dataset
        ``score`` with dims ``(layer, region)``, plus ``subject`` when the recording holds
        several subjects (each subject's neuroids are scored apart) and ``latency`` for
        time-resolved recordings. Layers keep the model's order, regions the recording's.
        ``attrs`` record the method, its parameters, ``higher_is_better`` (0 for distances
        such as ``"shape"``: pick the best layer with ``idxmin``) and the library version.

    Notes
    -----
    Methods that compare trial-resolved responses (``"stochastic_shape"``) need a recording
    that keeps its trials on a ``repetition`` dim; the activations (one response per stimulus)
    enter as deterministic. Every other method sees trials averaged.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, alignment_map
    >>> rng = np.random.default_rng(0)
    >>> acts = data.activations({"l1": rng.normal(size=(20, 8)), "l2": rng.normal(size=(20, 8))},
    ...                         stimulus_id=np.arange(20))
    >>> rec = data.recording(acts.values[:, 8:] @ rng.normal(size=(8, 6)), stimulus_id=np.arange(20),
    ...                      subject="S1", region="V4")
    >>> m = alignment_map(acts, rec, "rsa")
    >>> str(m["score"].idxmax("layer").item())
    'l2'
    """
    method_obj, name = _method(method, dict(method_options or {}))
    if n_boot or n_perm:  # TEMPORARY in this branch: statistics land with the stats module
        raise NotImplementedError("n_boot / n_perm")
    needs_trials = bool(getattr(method_obj, "needs_trials", False))
    if needs_trials:
        _trials_recording(recording, name)
        if repetitions == "average":
            raise ValueError(f"{name} needs the trials; do not pass repetitions='average'.")
        repetitions = "keep"
    acts, rec = data.align(activations, recording, repetitions=repetitions, on_missing=on_missing)
    kind = data.detect_kind(rec)
    if kind == "continuous":  # pragma: no cover - align already refuses this pairing
        raise ValueError("alignment_map needs a condition-based or time-resolved recording.")
    layers = data.layer_names(acts)
    regions = list(pd.unique(np.asarray(rec["region"].values)))
    subjects = list(pd.unique(np.asarray(rec["subject"].values)))
    latencies = rec["latency"].values if kind == "time_resolved" else [None]
    X = acts.transpose("presentation", "unit").values
    layer_of = np.asarray(acts["layer"].values)
    reps_x = None
    if hasattr(method_obj, "represent") and not needs_trials:
        reps_x = _stacked(
            [method_obj.represent(X[:, layer_of == layer]) for layer in progress(layers, desc=f"{name}: layers")]
        )
    scores = np.full((len(layers), len(regions), len(subjects), len(latencies)), np.nan)
    region_of, subject_of = np.asarray(rec["region"].values), np.asarray(rec["subject"].values)
    for t, latency in enumerate(latencies):
        R = rec.sel(latency=latency) if latency is not None else rec
        if needs_trials:
            Y = R.transpose("repetition", "presentation", "neuroid").values
        else:
            if "repetition" in R.dims:
                R = R.mean("repetition")
            Y = R.transpose("presentation", "neuroid").values
        for s, subject in enumerate(subjects):
            for r, region in enumerate(regions):
                cols = (region_of == region) & (subject_of == subject)
                if not cols.any():
                    continue
                try:
                    if reps_x is not None:
                        scores[:, r, s, t] = method_obj.compare_represented(reps_x, method_obj.represent(Y[:, cols]))[
                            :, 0
                        ]
                    else:
                        for k, layer in enumerate(layers):
                            scores[k, r, s, t] = method_obj(X[:, layer_of == layer], Y[..., cols])
                except ValueError as err:
                    raise ValueError(f"{name}: region {region!r} of subject {subject!r}: {err}") from err
    dims = ["layer", "region", "subject", "latency"]
    coords: dict[str, Any] = {"layer": layers, "region": regions, "subject": subjects}
    if latencies[0] is not None:
        coords["latency"] = np.asarray(latencies, dtype=float)
    da = xr.DataArray(scores, dims=dims, coords={k: np.asarray(v) for k, v in coords.items()})
    if len(subjects) == 1:
        da = da.isel(subject=0)
    if latencies[0] is None:
        da = da.isel(latency=0, drop=True)
    out = xr.Dataset({"score": da})
    out.attrs.update(
        method=name,
        method_params=_params(method_obj),
        n_stimuli=int(acts.sizes["presentation"]),
        model=str(acts["model"].values[0]),
        higher_is_better=int(not getattr(method_obj, "is_distance", False)),
        brainalign_version=__version__,
    )
    data.validate(out, "map")
    logger.info("alignment_map: %s over %d layers × %d regions", name, len(layers), len(regions))
    return out
