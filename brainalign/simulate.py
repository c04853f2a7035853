"""Simulated brains built from real model activations, with known ground truth.

Each region is driven by a chosen layer (or a mixture of layers with given weights) through a
read-out, and measured with noise:

- read-outs: ``"linear"`` (a random projection, keeping the layer's representational geometry),
  ``"sample"`` (a random subset of the layer's units: "neuron sampling"), ``"nonlinear"`` (a
  pointwise nonlinearity after a random projection);
- noise: a target signal-to-noise variance ratio ``snr`` per neuroid and trial, or a target
  ``noise_ceiling`` (the split-half reliability of the trial average, Spearman–Brown corrected,
  that :func:`brainalign.metrics.ceiling` estimates);
- repetitions: ``n_repetitions`` trials per stimulus, kept in a ``repetition`` dim;
- kinds: condition-based (fMRI betas, spike counts), continuous (events convolved with a
  haemodynamic response, sampled at a TR) and time-resolved (sources with evoked time courses
  mixed into MEG-like sensors).

The outputs are ordinary recordings (DESIGN.md §1); the truth is in ``attrs``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import xarray as xr

from . import data
from ._simulate_kinds import Planted, condition_recording, continuous_recording, time_resolved_recording
from .utils import check_option, check_random_state, validate_type

__all__ = ["READOUTS", "linear_recording", "make_recording", "snr_for_ceiling"]

READOUTS = ("linear", "sample", "nonlinear")
KINDS = ("condition", "continuous", "time_resolved")
_NONLINEARITIES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "relu": lambda x: np.maximum(x, 0.0),
    "tanh": np.tanh,
    "softplus": lambda x: np.logaddexp(0.0, x),
    "square": np.square,
    "exp": lambda x: np.exp(np.clip(x, -30, 30)),
}


def snr_for_ceiling(noise_ceiling: float, n_repetitions: int) -> float:
    """The per-trial SNR whose trial average has the reliability ``noise_ceiling``.

    With signal variance ``v`` and per-trial noise variance ``v / snr``, the average of ``R``
    trials has reliability ``R·snr / (1 + R·snr)``: its correlation with a second, independent
    average (Spearman–Brown corrected split-half reliability).

    Examples
    --------
    >>> round(snr_for_ceiling(0.5, 4), 6)
    0.25
    """
    if not (0 < noise_ceiling < 1):
        raise ValueError(f"noise_ceiling must be in (0, 1), got {noise_ceiling!r}.")
    return noise_ceiling / ((1.0 - noise_ceiling) * n_repetitions)


def _weights(spec: str | Mapping[str, float], region: str, layers: list[str]) -> dict[str, float]:
    mix = {spec: 1.0} if isinstance(spec, str) else dict(spec)
    if not mix:
        raise ValueError(f"regions[{region!r}] is empty; name a layer or give {{layer: weight}}.")
    for layer, weight in mix.items():
        if layer not in layers:
            raise ValueError(f"regions[{region!r}]: {layer!r} is not a layer of the activations; layers: {layers}.")
        if not (np.isfinite(weight) and weight > 0):
            raise ValueError(f"regions[{region!r}][{layer!r}]: weights must be positive numbers, got {weight!r}.")
    total = sum(mix.values())
    return {layer: float(w / total) for layer, w in mix.items()}


def _readout(
    Z: np.ndarray,
    n: int,
    readout: str,
    nonlinearity: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
    where: str,
) -> np.ndarray:
    if readout == "sample":
        if n > Z.shape[1]:
            raise ValueError(
                f"{where}: n_neuroids={n} is more than the layer's {Z.shape[1]} units, so they cannot be sampled "
                "without replacement; ask for fewer neuroids or use readout='linear'."
            )
        return Z[:, rng.choice(Z.shape[1], size=n, replace=False)]
    S = Z @ rng.normal(scale=1.0 / np.sqrt(Z.shape[1]), size=(Z.shape[1], n))
    if readout == "nonlinear":
        S = (S - S.mean(axis=0)) / np.where(S.std(axis=0) > 0, S.std(axis=0), 1.0)
        S = nonlinearity(S)
    return S


def make_recording(
    activations: xr.DataArray,
    regions: Mapping[str, str | Mapping[str, float]],
    *,
    kind: str = "condition",
    readout: str = "linear",
    nonlinearity: str | Callable[[np.ndarray], np.ndarray] = "relu",
    n_neuroids: int = 100,
    snr: float | None = None,
    noise_ceiling: float | None = None,
    n_repetitions: int = 1,
    subject: str = "sim-01",
    tr: float = 2.0,
    isi: float = 4.0,
    n_runs: int = 1,
    hrf_model: str = "glover",
    n_sensors: int | None = None,
    latency: np.ndarray | None = None,
    peak_latency: Mapping[str, float] | None = None,
    random_state: int | np.random.Generator | None = None,
) -> xr.DataArray:
    """A recording whose regions are noisy read-outs of chosen layers.

    Parameters
    ----------
    activations : xarray.DataArray
        Activations ``(presentation, unit)`` of real model layers.
    regions : mapping
        Region name → the layer that drives it, or ``{layer: weight}`` for a mixture (weights
        are shares of the signal variance; they are normalised to sum to 1).
    kind : {"condition", "continuous", "time_resolved"}
        Condition-based responses; a continuous recording (each stimulus an event, ``isi``
        seconds apart in a random order, the neuroid's responses convolved with nilearn's HRF and
        sampled every ``tr`` seconds); or time-resolved MEG-like data (each region's sources
        follow an evoked time course peaking at its ``peak_latency`` and are mixed into
        ``n_sensors`` sensors).
    readout : {"linear", "sample", "nonlinear"}
        Random projection, random subset of units, or random projection + ``nonlinearity``.
    nonlinearity : {"relu", "tanh", "softplus", "square", "exp"} or callable
        For ``readout="nonlinear"``: applied pointwise to the z-scored projection.
    n_neuroids : int
        Neuroids per region (sources per region for ``time_resolved``).
    snr : float, optional
        Per-trial signal-to-noise variance ratio of each neuroid (``np.inf``: no noise; default 1).
    noise_ceiling : float, optional
        Instead of ``snr``: the split-half reliability of the trial average (needs
        ``n_repetitions ≥ 2``; see :func:`snr_for_ceiling`).
    n_repetitions : int
        Trials per stimulus. With more than one, condition and time-resolved recordings get a
        ``repetition`` dim; continuous recordings present every stimulus once per repetition.
    subject : str
        Subject label.
    tr, isi, n_runs, hrf_model
        Continuous recordings: sampling period, time between events, number of runs the events
        are split into, and the HRF (``"glover"`` or ``"spm"``).
    n_sensors, latency, peak_latency
        Time-resolved recordings: number of sensors (default: ``2 ×`` the sources, at most 64),
        latencies in seconds (default 0–0.6 s every 10 ms), and the peak latency of each region
        (default spread over 0.1–0.4 s in the order of ``regions``).
    random_state : int or numpy Generator, optional
        Seed: the same seed gives the same recording, bit for bit.

    Returns
    -------
    xarray.DataArray
        A recording. ``attrs["truth"]`` maps each region to its driving layer (the largest
        weight), ``attrs["mixtures"]`` to its weights; ``attrs["snr"]``,
        ``attrs["noise_ceiling"]`` (of the trial average), ``attrs["readout"]`` and
        ``attrs["simulated"] = True`` record the rest. Continuous recordings carry the event
        table in ``attrs["events"]`` (``onset``, ``stimulus_id``, ``run``).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, simulate
    >>> rng = np.random.default_rng(0)
    >>> acts = data.activations({"a": rng.normal(size=(40, 8)), "b": rng.normal(size=(40, 8))},
    ...                         stimulus_id=np.arange(40))
    >>> rec = simulate.make_recording(acts, {"V1": "a", "IT": {"a": 0.2, "b": 0.8}},
    ...                               n_neuroids=5, noise_ceiling=0.6, n_repetitions=4, random_state=0)
    >>> rec.dims, rec.attrs["truth"]
    (('presentation', 'neuroid', 'repetition'), {'V1': 'a', 'IT': 'b'})
    """
    data.validate(activations, "activations", name="activations")
    check_option("kind", kind, KINDS)
    check_option("readout", readout, READOUTS)
    validate_type("regions", regions, Mapping, "a mapping {region: layer or {layer: weight}}")
    if not regions:
        raise ValueError("regions is empty; give at least one {region: layer}.")
    if isinstance(nonlinearity, str):
        check_option("nonlinearity", nonlinearity, tuple(_NONLINEARITIES))
        nonlinearity_fn = _NONLINEARITIES[nonlinearity]
    elif callable(nonlinearity):
        nonlinearity_fn = nonlinearity
    else:
        raise TypeError(f"nonlinearity must be a name or a function, got {nonlinearity!r}.")
    for name, value in (("n_neuroids", n_neuroids), ("n_repetitions", n_repetitions), ("n_runs", n_runs)):
        if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    validate_type("subject", subject, str)
    for name, value in (("snr", snr), ("noise_ceiling", noise_ceiling), ("tr", tr), ("isi", isi)):
        if value is not None and (
            isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number))
        ):
            raise TypeError(f"{name} must be a number, got {type(value).__name__} ({value!r:.40}).")
    for name, value in (("tr", tr), ("isi", isi)):
        if not (np.isfinite(value) and value > 0):
            raise ValueError(f"{name} must be a positive, finite number of seconds, got {value!r}.")
    if noise_ceiling is not None and not 0 < noise_ceiling < 1:
        raise ValueError(f"noise_ceiling is a split-half reliability and must lie in (0, 1), got {noise_ceiling!r}.")
    if snr is not None and noise_ceiling is not None:
        raise ValueError("Give snr (per-trial signal-to-noise ratio) or noise_ceiling, not both.")
    if snr is None and noise_ceiling is None:
        snr = 1.0
    if noise_ceiling is not None:
        if n_repetitions < 2:
            raise ValueError("noise_ceiling needs n_repetitions >= 2 (it is the reliability of repeated trials).")
        snr = snr_for_ceiling(noise_ceiling, n_repetitions)
    if not (snr > 0):
        raise ValueError(
            f"snr must be a positive variance ratio (np.inf for no noise), got {snr!r}; a ratio of 0 or less "
            "has no meaning (for pure noise, use a tiny ratio such as 1e-9)."
        )
    rng = check_random_state(random_state)
    layers = data.layer_names(activations)
    mixtures = {str(r): _weights(spec, str(r), layers) for r, spec in regions.items()}
    X = activations.transpose("presentation", "unit").values.astype(np.float64)
    layer_of = np.asarray(activations["layer"].values)

    signals, region_col = [], []
    for region, mix in mixtures.items():
        S = np.zeros((X.shape[0], n_neuroids))
        for layer, weight in mix.items():
            Z = X[:, layer_of == layer]
            if not np.any(Z.std(axis=0) > 0):
                raise ValueError(f"Layer {layer!r} has no unit that varies across stimuli; it cannot drive {region!r}.")
            part = _readout(Z, n_neuroids, readout, nonlinearity_fn, rng, f"regions[{region!r}]")
            if len(mix) > 1:  # mixtures: each layer contributes its share of the variance
                sd = part.std(axis=0)
                part = (part - part.mean(axis=0)) / np.where(sd > 0, sd, 1.0) * np.sqrt(weight)
            S = S + part
        signals.append(S)
        region_col += [region] * n_neuroids
    signal = np.concatenate(signals, axis=1)
    truth = {r: max(mix, key=mix.get) for r, mix in mixtures.items()}
    reliability = float("nan")
    if np.isfinite(snr):
        reliability = float(n_repetitions * snr / (1.0 + n_repetitions * snr))
    attrs = {
        "simulated": True,
        "truth": truth,
        "mixtures": mixtures,
        "readout": readout,
        "snr": float(snr),
        "noise_ceiling": reliability,
        "n_repetitions": int(n_repetitions),
        "n_neuroids_per_region": int(n_neuroids),
    }
    if readout == "nonlinear":
        attrs["nonlinearity"] = (
            nonlinearity if isinstance(nonlinearity, str) else getattr(nonlinearity, "__name__", "callable")
        )
    ids = activations["stimulus_id"].values
    region_col = np.array(region_col, dtype=object)
    planted = Planted(signal, ids, region_col, subject, snr, n_repetitions, rng, attrs)
    if kind == "condition":
        return condition_recording(planted)
    if kind == "time_resolved":
        return time_resolved_recording(planted, list(mixtures), n_sensors, latency, peak_latency)
    return continuous_recording(planted, tr, isi, n_runs, hrf_model)


def linear_recording(
    activations: xr.DataArray,
    regions: Mapping[str, str],
    *,
    n_neuroids: int = 50,
    snr: float = 1.0,
    subject: str = "sim-01",
    random_state: int | np.random.Generator | None = None,
) -> xr.DataArray:
    """A condition-based recording whose regions are noisy random linear read-outs of layers.

    The simplest case of :func:`make_recording` (``readout="linear"``, one trial): the layer's
    activations are mixed by a Gaussian matrix (a random projection, which keeps the inner
    products between stimulus patterns and so the layer's representational geometry), then each
    neuroid gets Gaussian noise whose variance is its signal variance divided by ``snr``.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, simulate
    >>> acts = data.activations({"a": np.random.default_rng(0).normal(size=(30, 10))},
    ...                         stimulus_id=np.arange(30))
    >>> rec = simulate.linear_recording(acts, {"V1": "a"}, n_neuroids=5, random_state=0)
    >>> rec.attrs["truth"]
    {'V1': 'a'}
    """
    return make_recording(
        activations, regions, n_neuroids=n_neuroids, snr=snr, subject=subject, random_state=random_state
    )
