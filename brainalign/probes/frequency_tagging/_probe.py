"""The probe: which units (or channels) track the tagged rates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ...backend import get_backend
from ...utils import check_count, check_option, check_random_state, logger, validate_type
from ._common import DEFAULT_RATES, TIE_RTOL, check_rate
from ._inputs import as_series, rate_bins
from ._nulls import CircularNull, ShuffleNull, itpc_spectrum, neighbour_stats, null_test

_CORRECTIONS = (None, "fdr")
_NULLS = ("shuffle", "circular")


def probe(
    responses: Any,
    sfreq: float = 4.0,
    rates: Mapping[str, float | Sequence[float]] = DEFAULT_RATES,
    n_shuffles: int = 1000,
    random_state: int | np.random.Generator | None = 0,
    *,
    alpha: float = 0.05,
    correction: str | None = None,
    null: str = "shuffle",
    z_threshold: float | None = 2.0,
    n_neighbours: int = 10,
    word_rate: float | None = None,
    backend: str | Any = "auto",
) -> xr.Dataset:
    """Frequency-tagging probe: which units (or channels) track the phrase and sentence rates.

    Per unit (HFTP's algorithm, the default):

    1. average the series over trials (evoked response) and take its real FFT (DC removed);
    2. amplitude at each tagged rate (the nearest FFT bin);
    3. shuffle null: the same amplitude for ``n_shuffles`` random permutations of the unit's own
       trial-averaged series; the unit passes when its amplitude exceeds the ``1 - alpha``
       percentile (95th) of the null;
    4. confirmation: the z-score of the peak against the ``±n_neighbours`` neighbouring bins
       (mean and SD of their amplitudes) must exceed ``z_threshold`` (2).

    A rate given as several frequencies (natural sentences: :func:`natural_rates`) is tagged when
    any of them is. Labels: the name of the single tagged rate, ``"shared"`` when several are,
    ``"none"`` otherwise.

    What HFTP lacks: ``correction="fdr"`` replaces step 3's per-unit threshold by the
    Benjamini–Hochberg FDR across all units (on the shuffle p-values); the inter-trial phase
    coherence (ITPC) of every unit is reported at every frequency; ``null="circular"`` is a null
    that stays valid for autocorrelated signals (raw iEEG/MEG): each trial is circularly shifted
    by its own random lag before averaging, which keeps every trial's spectrum and destroys only
    the phase-locking across trials. Permuting the samples (HFTP's null) whitens the series, so
    any slow drift then passes as a low-frequency peak; use it for word-rate series (one sample
    per word), ``"circular"`` for continuous recordings.

    One set of permutations serves every unit, so the null is one matrix product of the unit
    series with the permuted complex exponentials at the tagged bins (``units × time @ time ×
    shuffles``) rather than ``n_shuffles`` FFTs per unit (for ``"circular"``: per-trial spectra
    at the tagged bins @ ``trials × shuffles`` phase factors); it runs on the GPU when there is one.

    Parameters
    ----------
    responses : xarray.DataArray or array
        Model responses ``(presentation, unit, latency)`` from :func:`model_responses`, a
        time-resolved recording ``(presentation, neuroid, latency)`` (iEEG/MEG epochs, one per
        trial), or a plain array ``(trial, unit, time)`` (or a list of ``(unit, time)`` trials of
        equal length).
    sfreq : float
        Sampling rate in Hz (4.0: one sample per word at 4 words per second). For labelled
        inputs it must match the ``latency`` step.
    rates : mapping
        Name → frequency in Hz, or list of frequencies. Default ``{"sentence": 1.0, "phrase": 2.0}``.
    n_shuffles : int
        Shuffles in the null (1 000 in HFTP).
    random_state : int, Generator or None
        Seed of the shuffles: ``rng = numpy.random.default_rng(random_state)``, then
        ``rng.permuted(numpy.tile(numpy.arange(n_times), (n_shuffles, 1)), axis=1)`` — one row per
        shuffle, shared by all units (``null="circular"``: the lags
        ``rng.integers(0, n_times, size=(n_shuffles, n_trials))``, applied with ``numpy.roll``).
    alpha : float
        Level of the shuffle test (0.05: the 95th percentile) and of the FDR.
    correction : {None, "fdr"}
        ``None``: HFTP's per-unit percentile threshold. ``"fdr"``: Benjamini–Hochberg across units.
    null : {"shuffle", "circular"}
        ``"shuffle"``: HFTP's permutation of the trial-averaged series. ``"circular"``: random
        circular shifts of each trial (needs ≥ 2 trials; for autocorrelated recordings).
    z_threshold : float or None
        The neighbour z-score a peak must exceed (``None``: no confirmation step).
    n_neighbours : int
        Bins on each side of the peak for the z-score and SNR (10 in HFTP).
    word_rate : float, optional
        Words per second of the stimulus (default: ``attrs["word_rate"]`` of labelled input, or
        ``sfreq`` for plain arrays). Every rate must be ``word_rate / k`` for an integer ``k ≥ 2``.
    backend : str or Backend
        ``"auto"`` (CUDA when available), ``"numpy"``, ``"torch"``, ``"torch_cuda"``.

    Returns
    -------
    xarray.Dataset
        Over ``unit`` (or ``neuroid``, keeping its coordinates), ``frequency`` (Hz) and ``rate``:

        - ``amplitude`` (unit × frequency): ``|rfft|`` of the trial average, DC set to 0;
        - ``itpc_spectrum`` (unit × frequency): inter-trial phase coherence;
        - per rate (unit × rate), at the rate's best frequency: ``peak_amplitude``,
          ``threshold`` (the null percentile), ``z`` and ``snr`` (against the neighbouring bins),
          ``itpc``, ``p_value`` (shuffle p-value ``(1 + #null ≥ observed) / (1 + n_shuffles)``,
          Bonferroni-adjusted over a rate's frequencies), ``q_value`` (BH-adjusted across units),
          ``peak_frequency`` and ``tagged`` (bool);
        - ``label`` (unit): ``"sentence"``, ``"phrase"``, ``"shared"`` or ``"none"``.

        Attrs record the method and every parameter.

    Examples
    --------
    >>> from brainalign.probes import frequency_tagging as ft
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(10, 50, 48))
    >>> x[:, :5] += np.cos(np.pi / 2 * np.arange(48))           # 1 Hz at 4 samples per second
    >>> res = ft.probe(x, n_shuffles=500, correction="fdr")
    >>> res["label"].values[:5].tolist(), int((res["label"] != "none").sum())
    (['sentence', 'sentence', 'sentence', 'sentence', 'sentence'], 5)

    References
    ----------
    An et al. (2025). Hierarchical Frequency Tagging Probe (HFTP): a unified approach to
    investigate syntactic structure representations in large language models and the human
    brain. NeurIPS.
    Ding, N., Melloni, L., Zhang, H., Tian, X., & Poeppel, D. (2016). Cortical tracking of
    hierarchical linguistic structures in connected speech. Nature Neuroscience, 19, 158-164.
    Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B, 57, 289-300.
    """
    from scipy.stats import false_discovery_control

    sfreq = check_rate("sfreq", sfreq)
    n_shuffles = check_count("n_shuffles", n_shuffles, 1)
    n_neighbours = check_count("n_neighbours", n_neighbours, 1)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}.")
    check_option("correction", correction, _CORRECTIONS)
    check_option("null", null, _NULLS)
    if z_threshold is not None:
        z_threshold = float(validate_type("z_threshold", z_threshold, (int, float), "a number or None"))
    if word_rate is not None:
        word_rate = check_rate("word_rate", word_rate)
    series = as_series(responses, sfreq, word_rate)
    n_trials, n_units, n_times = series.values.shape
    if n_times < 4:
        raise ValueError(f"responses has {n_times} samples per trial; frequency tagging needs several cycles.")
    spec = rate_bins(rates, sfreq, n_times, series.word_rate, n_neighbours)
    if n_shuffles * alpha < 1:
        logger.warning(
            "frequency tagging: n_shuffles=%d is too few for a %g-level test (the null percentile is the maximum).",
            n_shuffles,
            alpha,
        )
    be = get_backend(backend)

    avg = series.values.mean(axis=0, dtype=np.float64)
    amplitude = np.abs(np.fft.rfft(avg, axis=-1))
    amplitude[:, 0] = 0.0
    itpc = itpc_spectrum(series.values)
    observed = amplitude[:, spec.bins]
    rng = check_random_state(random_state)
    if null == "shuffle":
        perms = rng.permuted(np.tile(np.arange(n_times), (n_shuffles, 1)), axis=1)
        null_amplitudes: Any = ShuffleNull(avg, perms, spec.bins, be)
    else:
        if n_trials < 2:
            raise ValueError("null='circular' needs at least 2 trials (it tests phase-locking across trials).")
        lags = rng.integers(0, n_times, size=(n_shuffles, n_trials))
        null_amplitudes = CircularNull(series.values, lags, spec.bins, be)
    thresholds, counts = null_test(null_amplitudes, observed, 1.0 - alpha, be, n_units)
    p_bin = (1.0 + counts) / (1.0 + n_shuffles)
    z_bin, snr_bin = neighbour_stats(amplitude, spec)
    z_pass = np.ones_like(z_bin, dtype=bool) if z_threshold is None else z_bin > z_threshold

    freqs = np.fft.rfftfreq(n_times, d=1.0 / sfreq)
    n_rates = len(spec.names)
    out = {name: np.empty((n_units, n_rates)) for name in ("peak_amplitude", "threshold", "z", "snr", "itpc")}
    out["p_value"] = np.empty((n_units, n_rates))
    out["peak_frequency"] = np.empty((n_units, n_rates))
    tagged = np.zeros((n_units, n_rates), dtype=bool)
    rows = np.arange(n_units)
    for r, members in enumerate(spec.members):
        p_rate = np.minimum(1.0, len(members) * p_bin[:, members].min(axis=1))
        passing = (observed[:, members] > thresholds[:, members] * (1.0 + TIE_RTOL)) & z_pass[:, members]
        if correction is None:
            # Best frequency: one that passes, then the smallest p, then the largest z.
            key = np.lexsort((z_bin[:, members], -p_bin[:, members], passing), axis=1)[:, -1]
            tagged[:, r] = passing.any(axis=1)
        else:
            key = np.lexsort((z_bin[:, members], -p_bin[:, members]), axis=1)[:, -1]
        best = members[key]
        out["peak_amplitude"][:, r] = observed[rows, best]
        out["threshold"][:, r] = thresholds[rows, best]
        out["z"][:, r] = z_bin[rows, best]
        out["snr"][:, r] = snr_bin[rows, best]
        out["itpc"][:, r] = itpc[rows, spec.bins[best]]
        out["peak_frequency"][:, r] = freqs[spec.bins[best]]
        out["p_value"][:, r] = p_rate
    q_value = false_discovery_control(out["p_value"], axis=0, method="bh")
    if correction == "fdr":
        tagged = (q_value <= alpha) & (out["z"] > z_threshold if z_threshold is not None else True)
    label = _labels(tagged, spec.names)

    fdim = series.feature_dim
    coords: dict[str, Any] = dict(series.feature_coords)
    coords["frequency"] = ("frequency", freqs)
    coords["rate"] = ("rate", np.array(spec.names, dtype=object))
    pair = (fdim, "rate")
    variables = {
        "amplitude": ((fdim, "frequency"), amplitude),
        "itpc_spectrum": ((fdim, "frequency"), itpc),
        **{name: (pair, out[name]) for name in ("peak_amplitude", "threshold", "z", "snr", "itpc", "p_value")},
        "q_value": (pair, q_value),
        "peak_frequency": (pair, out["peak_frequency"]),
        "tagged": (pair, tagged),
        "label": ((fdim,), label),
    }
    attrs = {
        "method": "hftp",
        "sfreq": sfreq,
        "word_rate": series.word_rate if series.word_rate is not None else float("nan"),
        "rates": "; ".join(f"{name}=" + ",".join(f"{f:g}" for f in np.atleast_1d(rates[name])) for name in spec.names),
        "n_trials": n_trials,
        "n_times": n_times,
        "n_shuffles": n_shuffles,
        "random_state": _describe_seed(random_state),
        "alpha": float(alpha),
        "correction": "none" if correction is None else correction,
        "null": null,
        "z_threshold": float("nan") if z_threshold is None else z_threshold,
        "n_neighbours": n_neighbours,
        "backend": be.name,
    }
    counts_by_label = pd.Series(label).value_counts().to_dict()
    logger.info("frequency tagging: %d %ss; labels %s", n_units, fdim, counts_by_label)
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def _describe_seed(random_state: Any) -> int | str:
    """The seed as an attribute netCDF can store."""
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    return "none" if random_state is None else "Generator"


def _labels(tagged: np.ndarray, names: list[str]) -> np.ndarray:
    n_tagged = tagged.sum(axis=1)
    label = np.full(tagged.shape[0], "none", dtype=object)
    single = n_tagged == 1
    label[single] = np.asarray(names, dtype=object)[np.argmax(tagged[single], axis=1)]
    label[n_tagged > 1] = "shared"
    return label
