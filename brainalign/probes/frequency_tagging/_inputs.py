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
    values: np.ndarray  # (n_trials, n_features, n_times)
    feature_dim: str
    feature_coords: dict[str, tuple[str, np.ndarray]]
    word_rate: float | None


def as_series(responses: Any, sfreq: float, word_rate: float | None) -> Series:
    if isinstance(responses, xr.DataArray):
        return _series_from_dataarray(responses, sfreq, word_rate)
    if hasattr(responses, "detach") and hasattr(responses, "cpu"):  # a torch tensor
        responses = responses.detach().cpu().numpy()
    if isinstance(responses, (list, tuple)):
        trials = [np.asarray(r.detach().cpu().numpy() if hasattr(r, "detach") else r) for r in responses]
        if not trials:
            raise ValueError("responses is an empty list; give at least one trial.")
        shapes = {t.shape for t in trials}
        if any(t.ndim != 2 for t in trials):
            raise ValueError("responses: each trial must be a 2-D (unit, time) array.")
        if len(shapes) > 1:
            lengths = sorted({t.shape[-1] for t in trials})
            raise ValueError(
                f"trials of unequal length or width: shapes {sorted(shapes)[:4]} (time lengths {lengths[:6]}). "
                "Every trial needs the same units and the same number of samples: crop the trials to a common "
                "length (e.g. whole sentences only) before probing."
            )
        responses = np.stack(trials)
    arr = np.asarray(responses)
    if arr.ndim != 3:
        raise ValueError(
            f"responses must be 3-D (trial, unit, time), got shape {arr.shape}"
            + (" (one trial? add a leading axis: x[None])." if arr.ndim == 2 else ".")
        )
    _check_real(arr)
    n = arr.shape[1]
    return Series(arr, "unit", {"unit_index": ("unit", np.arange(n))}, word_rate if word_rate is not None else sfreq)


def _check_real(arr: np.ndarray) -> None:
    if arr.dtype == bool:
        return
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"responses must hold real numbers, got dtype {arr.dtype}.")
    n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    if n_bad:
        raise ValueError(f"responses contains {n_bad} NaN or infinite value(s); remove or impute them first.")


def _series_from_dataarray(da: xr.DataArray, sfreq: float, word_rate: float | None) -> Series:
    feature_dim = "unit" if "unit" in da.dims else "neuroid"
    expected = {"presentation", feature_dim, "latency"}
    if set(da.dims) != expected:
        hint = ""
        if "repetition" in da.dims:
            hint = " Make each repetition a presentation (trial) first, e.g. with .stack(...) and .rename(...)."
        raise ValueError(
            f"responses must have dims ('presentation', 'unit' or 'neuroid', 'latency') — trial × unit × time — "
            f"got {da.dims}.{hint} Model responses come from model_responses(...), recordings from "
            "brainalign.data.recording(..., stimulus_id=..., latency=...)."
        )
    if feature_dim == "neuroid":
        data.validate(da, "time_resolved", name="responses")
    else:
        # The unit/presentation coordinates follow the activations schema; values are checked below.
        data.validate(da.isel(latency=0), "activations", name="responses", check_values=False)
        _check_real(da.values)
    latency = np.asarray(da["latency"].values, dtype=float) if "latency" in da.coords else None
    if latency is None:
        raise ValueError("responses is missing the 'latency' coordinate (seconds from trial onset).")
    if latency.size > 1:
        steps = np.diff(latency)
        if not np.all(steps > 0) or not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
            raise ValueError("responses: 'latency' must be evenly spaced and increasing (one sample per 1/sfreq s).")
        rate = 1.0 / steps[0]
        for label, value in (("sfreq", sfreq), ("attrs['sfreq']", da.attrs.get("sfreq", rate))):
            if not math.isclose(float(value), rate, rel_tol=1e-6):
                raise ValueError(
                    f"responses is sampled at {rate:g} Hz (its latency step is {steps[0]:g} s) but {label}={value!r}; "
                    f"pass sfreq={rate:g}."
                )
    coords = {name: (feature_dim, np.asarray(c.values)) for name, c in da.coords.items() if c.dims == (feature_dim,)}
    values = da.transpose("presentation", feature_dim, "latency").values
    if word_rate is None and "word_rate" in da.attrs:
        word_rate = float(da.attrs["word_rate"])
    return Series(values, feature_dim, coords, word_rate)


@dataclass
class RateBins:
    names: list[str]
    members: list[np.ndarray]  # for each rate, indices into bins
    bins: np.ndarray  # FFT bin of every tagged frequency (all rates)
    neighbours: list[np.ndarray]  # for each bin, the ±n_neighbours bins its z-score and SNR compare with


def rate_bins(rates: Any, sfreq: float, n_times: int, word_rate: float | None, n_neighbours: int) -> RateBins:
    if not isinstance(rates, Mapping) or not rates:
        raise TypeError(
            "rates must be a non-empty mapping of name to frequency (Hz) or list of frequencies, e.g. "
            "{'sentence': 1.0, 'phrase': 2.0}."
        )
    names, members, bins = [], [], []
    resolution = sfreq / n_times
    for name, value in rates.items():
        if not isinstance(name, str) or not name or name in RESERVED_LABELS:
            raise ValueError(f"rate names must be non-empty strings other than {RESERVED_LABELS}, got {name!r}.")
        freqs = [value] if np.ndim(value) == 0 else list(value)
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
                f"Trials of {n_times} samples leave fewer than 2 neighbouring frequency bins around "
                f"{b * resolution:g} Hz for the z-score; use longer trials."
            )
        neighbours.append(nb)
    return RateBins(names, members, np.asarray(bins), neighbours)
