"""The probe's inputs: responses as (trial, unit, time) series, and the FFT bins of the tagged rates."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ... import data
from ...utils import logger
from ._common import RESERVED_LABELS, check_rate


@dataclass
class Series:
    """Trial × unit × time values of the probe's input, with what labels its units."""

    values: np.ndarray  # (n_trials, n_features, n_times)
    feature_dim: str
    feature_coords: dict[str, tuple[str, np.ndarray]]
    word_rate: float | None


def as_series(responses: Any, sfreq: float, word_rate: float | None, name: str = "responses") -> Series:
    """Responses (labelled, numpy, torch, or a list of trials) → checked :class:`Series`.

    ``name`` is the argument named in errors. Refuses empty, complex, non-numeric and non-finite input.
    """
    if isinstance(responses, xr.DataArray):
        return _series_from_dataarray(responses, sfreq, word_rate, name)
    if hasattr(responses, "detach") and hasattr(responses, "cpu"):  # a torch tensor
        responses = responses.detach().cpu().numpy()
    if isinstance(responses, (list, tuple)):
        trials = [np.asarray(r.detach().cpu().numpy() if hasattr(r, "detach") else r) for r in responses]
        if not trials:
            raise ValueError(f"{name} is an empty list; give at least one trial.")
        shapes = {t.shape for t in trials}
        if any(t.ndim != 2 for t in trials):
            raise ValueError(f"{name}: each trial must be a 2-D (unit, time) array.")
        if len(shapes) > 1:
            lengths = sorted({t.shape[-1] for t in trials})
            raise ValueError(
                f"{name}: trials of unequal length or width: shapes {sorted(shapes)[:4]} (time lengths "
                f"{lengths[:6]}). Every trial needs the same units and the same number of samples: crop the trials "
                "to a common length (e.g. whole sentences only) before probing."
            )
        responses = np.stack(trials)
    arr = np.asarray(responses)
    if arr.ndim != 3:
        raise ValueError(
            f"{name} must be 3-D (trial, unit, time), got shape {arr.shape}"
            + (" (one trial? add a leading axis: x[None])." if arr.ndim == 2 else ".")
        )
    _check_sizes(dict(zip(("trial", "unit", "time"), arr.shape, strict=True)), name)
    _check_real(arr, name)
    n = arr.shape[1]
    return Series(arr, "unit", {"unit_index": ("unit", np.arange(n))}, word_rate if word_rate is not None else sfreq)


def _check_sizes(sizes: dict[str, int], name: str) -> None:
    empty = [dim for dim, n in sizes.items() if n == 0]
    if empty:
        shape = ", ".join(f"{dim}={n}" for dim, n in sizes.items())
        raise ValueError(
            f"{name} is empty: it has no {' and no '.join(empty)} ({shape}). Give at least one trial, one unit "
            "and several samples per trial."
        )


def _check_real(arr: np.ndarray, name: str) -> None:
    if arr.dtype == bool:
        return
    if np.issubdtype(arr.dtype, np.complexfloating):
        raise ValueError(
            f"{name} must hold real numbers, got complex values (dtype {arr.dtype}); give the real signal (e.g. "
            "its .real part or its envelope np.abs(x)), not its spectrum or analytic signal."
        )
    if not np.issubdtype(arr.dtype, np.number):
        raise TypeError(f"{name} must hold real numbers, got dtype {arr.dtype}.")
    n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    if n_bad:
        raise ValueError(f"{name} contains {n_bad} NaN or infinite value(s); remove or impute them first.")


def _series_from_dataarray(da: xr.DataArray, sfreq: float, word_rate: float | None, name: str) -> Series:
    feature_dim = "unit" if "unit" in da.dims else "neuroid"
    expected = {"presentation", feature_dim, "latency"}
    if set(da.dims) != expected:
        hint = ""
        if "repetition" in da.dims:
            hint = " Make each repetition a presentation (trial) first, e.g. with .stack(...) and .rename(...)."
        raise ValueError(
            f"{name} must have dims ('presentation', 'unit' or 'neuroid', 'latency') — trial × unit × time — "
            f"got {da.dims}.{hint} Model responses come from model_responses(...), recordings from "
            "brainalign.data.recording(..., stimulus_id=..., latency=...)."
        )
    _check_sizes({dim: da.sizes[dim] for dim in ("presentation", feature_dim, "latency")}, name)
    _check_real(np.asarray(da.values), name)
    if feature_dim == "neuroid":
        data.validate(da, "time_resolved", name=name)
    else:
        # The unit/presentation coordinates follow the activations schema; values are checked above.
        data.validate(da.isel(latency=0), "activations", name=name, check_values=False)
    latency = np.asarray(da["latency"].values, dtype=float) if "latency" in da.coords else None
    if latency is None:
        raise ValueError(f"{name} is missing the 'latency' coordinate (seconds from trial onset).")
    if latency.size > 1:
        steps = np.diff(latency)
        if not np.all(steps > 0) or not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
            raise ValueError(f"{name}: 'latency' must be evenly spaced and increasing (one sample per 1/sfreq s).")
        rate = 1.0 / steps[0]
        for label, value in (("sfreq", sfreq), ("attrs['sfreq']", da.attrs.get("sfreq", rate))):
            if not math.isclose(float(value), rate, rel_tol=1e-6):
                raise ValueError(
                    f"{name} is sampled at {rate:g} Hz (its latency step is {steps[0]:g} s) but {label}={value!r}; "
                    f"pass sfreq={rate:g}."
                )
    coords = {c: (feature_dim, np.asarray(v.values)) for c, v in da.coords.items() if v.dims == (feature_dim,)}
    values = da.transpose("presentation", feature_dim, "latency").values
    if word_rate is None and "word_rate" in da.attrs:
        word_rate = float(da.attrs["word_rate"])
    return Series(values, feature_dim, coords, word_rate)


def check_control(control: Series, series: Series) -> None:
    """The control condition must hold the same units, sampled alike, as the responses (trials may differ)."""
    n_units, n_times = series.values.shape[1:]
    if control.feature_dim != series.feature_dim or control.values.shape[1:] != (n_units, n_times):
        raise ValueError(
            f"control must hold the same {series.feature_dim}s and samples per trial as responses: responses has "
            f"{n_units} {series.feature_dim}s × {n_times} samples, control {control.values.shape[1]} "
            f"{control.feature_dim}s × {control.values.shape[2]} samples. Record both with the same model and "
            "layers (or channels) on trials of the same length (make_trials(..., control='shuffled'))."
        )
    for coord in ("layer", "unit_index", "channel"):
        if coord in series.feature_coords and coord in control.feature_coords:
            if not np.array_equal(series.feature_coords[coord][1], control.feature_coords[coord][1]):
                raise ValueError(
                    f"control and responses hold other {series.feature_dim}s (their {coord!r} coordinates "
                    "differ); record both with the same layers (or channels) in the same order."
                )


@dataclass
class RateBins:
    """The FFT bins of the tagged rates (several frequencies may share a bin)."""

    names: list[str]
    members: list[np.ndarray]  # for each rate, indices into bins
    several: list[bool]  # for each rate, whether it was given as a sequence of frequencies
    bins: np.ndarray  # FFT bin of every tagged frequency (all rates)
    neighbours: list[np.ndarray]  # for each bin, the ±n_neighbours bins its z-score and SNR compare with


def rate_bins(rates: Any, sfreq: float, n_times: int, word_rate: float | None, n_neighbours: int) -> RateBins:
    if not isinstance(rates, Mapping) or not rates:
        raise TypeError(
            "rates must be a non-empty mapping of name to frequency (Hz) or list of frequencies, e.g. "
            "{'sentence': 1.0, 'phrase': 2.0}."
        )
    names, members, several, bins = [], [], [], []
    resolution = sfreq / n_times
    for name, value in rates.items():
        if not isinstance(name, str) or not name or name in RESERVED_LABELS:
            raise ValueError(f"rate names must be non-empty strings other than {RESERVED_LABELS}, got {name!r}.")
        freqs = [value] if np.ndim(value) == 0 else list(value)
        several.append(np.ndim(value) != 0)
        if not freqs:
            raise ValueError(f"rates[{name!r}] is empty; give at least one frequency.")
        idx = []
        for f in freqs:
            f = check_rate(f"rates[{name!r}]", f)
            if word_rate is not None:
                k = word_rate / f
                if abs(k - round(k)) > 1e-6 * k or round(k) < 2:
                    raise ValueError(
                        f"rates[{name!r}] = {f:g} Hz is not a divisor of the word rate {word_rate:g} Hz: one cycle "
                        f"would last {k:.3g} words. Tagged rates are word_rate / k for an integer k ≥ 2 (e.g. "
                        f"{word_rate / 2:g}, {word_rate / 4:g})."
                    )
            if f > sfreq / 2 * (1 + 1e-9):
                raise ValueError(
                    f"rates[{name!r}] = {f:g} Hz is above the Nyquist frequency ({sfreq / 2:g} Hz) of data sampled "
                    f"at sfreq={sfreq:g} Hz."
                )
            exact = f / resolution
            b = round(exact)
            if b < 1:
                raise ValueError(
                    f"Trials of {n_times} samples ({n_times / sfreq:g} s) are too short to resolve rates[{name!r}] = "
                    f"{f:g} Hz; a trial must last at least one cycle ({1 / f:g} s)."
                )
            if abs(exact - b) > 1e-6:
                logger.warning(
                    "frequency tagging: %g Hz falls between FFT bins of %d-sample trials; using the nearest bin, "
                    "%g Hz (as HFTP does). Trials of a multiple of %g samples put it on a bin.",
                    f,
                    n_times,
                    b * resolution,
                    sfreq / f,
                )
            if b not in bins:
                bins.append(b)
            idx.append(bins.index(b))
        names.append(name)
        members.append(np.asarray(sorted(set(idx))))
    n_freqs = n_times // 2 + 1
    neighbours = []
    for b in bins:
        nb = np.array([j for j in range(b - n_neighbours, b + n_neighbours + 1) if 1 <= j < n_freqs and j != b])
        if len(nb) < 2:
            raise ValueError(
                f"responses has trials of {n_times} samples, which leave fewer than 2 neighbouring frequency bins "
                f"around {b * resolution:g} Hz for the z-score; use longer trials."
            )
        neighbours.append(nb)
    return RateBins(names, members, several, np.asarray(bins), neighbours)
