"""The probe: which units (or channels) track the tagged rates."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ...backend import get_backend
from ...metrics._conditioning import magnitude_limits, times_power_of_two
from ...utils import check_count, check_option, check_random_state, logger, validate_type
from ._common import DEFAULT_RATES, TIE_RTOL, check_rate
from ._inputs import as_series, check_control, rate_bins
from ._nulls import CircularNull, ShuffleNull, itpc_spectrum, neighbour_stats, null_test
from ._selection import contrast_zscores, control_contrast, labels_from_tagged

_CORRECTIONS = (None, "fdr")
_NULLS = ("shuffle", "circular")
_SELECTIONS = (None, "hftp", "neighbours")


def probe(
    responses: Any,
    sfreq: float = 4.0,
    rates: Mapping[str, float | Sequence[float]] = DEFAULT_RATES,
    n_shuffles: int = 1000,
    random_state: int | np.random.Generator | None = 0,
    *,
    control: Any = None,
    selection: str | None = None,
    alpha: float = 0.05,
    correction: str | None = None,
    null: str = "shuffle",
    z_threshold: float | None = 2.0,
    n_neighbours: int = 10,
    word_rate: float | None = None,
    backend: str | Any = "auto",
) -> xr.Dataset:
    """Frequency-tagging probe: which units (or channels) track the phrase and sentence rates.

    Every unit goes through two stages.

    **Stage 1, the shuffle null** (HFTP's first stage, exactly):

    1. average the unit's series over trials (evoked response) and take its real FFT (DC removed);
    2. amplitude at each tagged rate (the nearest FFT bin);
    3. the same amplitude for ``n_shuffles`` random permutations of the unit's own trial-averaged
       series; the unit passes when its amplitude exceeds the ``1 - alpha`` percentile (95th) of
       that null. A rate given as several frequencies passes when any of them does.

    **Stage 2, the confirmation** (``z_threshold``; ``None`` skips it), one of two ``selection`` rules:

    - ``"hftp"`` (the default when ``control`` is given) — HFTP's algorithm, as its published code
      does it: per unit, the *contrast* with the control condition, the mean over trials of each
      single trial's ``|FFT|`` at the tagged bin, experiment minus control (a rate given as a
      sequence of frequencies, like HFTP's phrase frequencies, takes the largest positive
      difference over them, 0 when none is positive; a rate given as one number, the signed
      difference). Units that failed stage 1 enter as 0; the contrast is then z-scored *across
      units* (every unit given to this call; probe the MLP neurons alone for HFTP's population) and
      a unit stays tagged when its z exceeds ``z_threshold`` (2). HFTP's code would also tag a unit
      that failed stage 1 if 0 lay above the threshold (mean contrast below −2 SD); here it never
      does. ``DEFAULT_RATES`` gives the phrase rate as ``(2.0,)``, as HFTP does.
    - ``"neighbours"`` (the default without ``control``) — not HFTP's rule, the frequency-tagging
      convention of the EEG/MEG literature: the z-score of the peak against the ``±n_neighbours``
      neighbouring bins of the same unit's spectrum (mean and SD of their amplitudes) must exceed
      ``z_threshold``. It needs no control condition but says nothing about what the structure
      adds over shuffled words. (HFTP's "10", ``bin_size``, is the number of neurons per cell of
      its heatmaps, not a window of bins.)

    Labels: the name of the single tagged rate, ``"shared"`` when several are, ``"none"`` otherwise.
    Units whose trial-averaged series is constant have no spectrum to test: their p-values and
    z-scores are NaN, their label ``"none"``, and a warning counts them.

    What HFTP lacks: ``correction="fdr"`` replaces stage 1's per-unit threshold by the
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
        equal length). Real, finite and non-empty.
    sfreq : float
        Sampling rate in Hz (4.0: one sample per word at 4 words per second). For labelled
        inputs it must match the ``latency`` step.
    rates : mapping
        Name → frequency in Hz, or sequence of frequencies. Default ``{"sentence": 1.0, "phrase": (2.0,)}``.
    n_shuffles : int
        Shuffles in the null (1 000 in HFTP).
    random_state : int, Generator or None
        Seed of the shuffles: ``rng = numpy.random.default_rng(random_state)``, then
        ``rng.permuted(numpy.tile(numpy.arange(n_times), (n_shuffles, 1)), axis=1)`` — one row per
        shuffle, shared by all units (``null="circular"``: the lags
        ``rng.integers(0, n_times, size=(n_shuffles, n_trials))``, applied with ``numpy.roll``).
    control : xarray.DataArray or array, optional
        The same units' responses to control trials, e.g. ``model_responses(model,
        make_trials(corpus, control="shuffled"))``: same units (and unit coordinates) and samples
        per trial as ``responses``; the number of trials may differ. Used by ``selection="hftp"``.
    selection : {None, "hftp", "neighbours"}
        Stage 2's rule (see above). ``None``: ``"hftp"`` when ``control`` is given, else
        ``"neighbours"``. ``"hftp"`` needs ``control``.
    alpha : float
        Level of the shuffle test (0.05: the 95th percentile) and of the FDR.
    correction : {None, "fdr"}
        ``None``: HFTP's per-unit percentile threshold. ``"fdr"``: Benjamini–Hochberg across units.
    null : {"shuffle", "circular"}
        ``"shuffle"``: HFTP's permutation of the trial-averaged series. ``"circular"``: random
        circular shifts of each trial (needs ≥ 2 trials; for autocorrelated recordings).
    z_threshold : float or None
        The z-score of stage 2 (across units for ``"hftp"``, against the neighbouring bins for
        ``"neighbours"``) a unit must exceed; ``None``: stage 1 alone.
    n_neighbours : int
        Bins on each side of the peak for the neighbouring-bin z-score and SNR.
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
          ``peak_frequency``, ``passed_null`` (stage 1) and ``tagged`` (both stages);
        - with ``control``, per rate: ``contrast`` (experiment minus control, as above) and
          ``contrast_z`` (HFTP's z across units; units that failed stage 1 entered as 0);
        - ``label`` (unit): ``"sentence"``, ``"phrase"``, ``"shared"`` or ``"none"``.

        Attrs record the method and every parameter.

    Raises
    ------
    ValueError
        Empty, complex or non-finite ``responses`` or ``control``; a ``control`` with other units
        or samples; ``selection="hftp"`` without ``control``; rates the trials cannot resolve.

    Examples
    --------
    >>> from brainalign.probes import frequency_tagging as ft
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(10, 50, 48))
    >>> x[:, :5] += np.cos(np.pi / 2 * np.arange(48))           # 1 Hz at 4 samples per second
    >>> res = ft.probe(x, n_shuffles=500, correction="fdr")     # no control: neighbouring-bin z
    >>> res["label"].values[:5].tolist(), int((res["label"] != "none").sum())
    (['sentence', 'sentence', 'sentence', 'sentence', 'sentence'], 5)

    With a control condition, HFTP's selection keeps the units whose response at the rate grows
    most over the control's (units 0-4 follow sentences in both conditions, 5-9 only in ``x``):

    >>> ctrl = rng.normal(size=(10, 50, 48))
    >>> ctrl[:, :5] += np.cos(np.pi / 2 * np.arange(48))
    >>> x[:, 5:10] += np.cos(np.pi / 2 * np.arange(48))
    >>> res = ft.probe(x, n_shuffles=500, control=ctrl)
    >>> res.attrs["selection"], np.flatnonzero(res["passed_null"].sel(rate="sentence")).tolist()
    ('hftp', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> np.flatnonzero(res["label"] == "sentence").tolist()
    [5, 6, 7, 8, 9]

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
    if isinstance(alpha, (bool, np.bool_)) or not isinstance(alpha, (int, float, np.integer, np.floating)):
        raise TypeError(f"alpha must be a number in (0, 1), got {type(alpha).__name__} ({alpha!r:.40}).")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}.")
    check_option("correction", correction, _CORRECTIONS)
    check_option("null", null, _NULLS)
    check_option("selection", selection, _SELECTIONS)
    if z_threshold is not None:
        if isinstance(z_threshold, (bool, np.bool_)):
            raise TypeError(f"z_threshold must be a number or None, got {z_threshold!r}.")
        z_threshold = float(
            validate_type("z_threshold", z_threshold, (int, float, np.integer, np.floating), "a number or None")
        )
        if not np.isfinite(z_threshold):
            raise ValueError(f"z_threshold must be a finite number or None, got {z_threshold!r}.")
    if word_rate is not None:
        word_rate = check_rate("word_rate", word_rate)
    series = as_series(responses, sfreq, word_rate)
    n_trials, n_units, n_times = series.values.shape
    if n_times < 4:
        raise ValueError(f"responses has {n_times} samples per trial; frequency tagging needs several cycles.")
    if selection is None:
        selection = "neighbours" if control is None else "hftp"
    if control is not None:
        control_series = as_series(control, sfreq, series.word_rate, name="control")
        check_control(control_series, series)
    elif selection == "hftp":
        raise ValueError(
            "selection='hftp' compares every unit with a control condition: pass control=model_responses(model, "
            "make_trials(corpus, control='shuffled'), ...) (the same units on control trials), or use "
            "selection='neighbours'."
        )
    spec = rate_bins(rates, sfreq, n_times, series.word_rate, n_neighbours)
    # Every statistic is scale-invariant: magnitudes whose squares would overflow or underflow are
    # rescaled by a power of two (exact, so the results equal those of the unscaled data) and the
    # amplitudes scaled back.
    exponent = conditioning_exponent(series.values, None if control is None else control_series.values)
    if exponent:
        series.values = times_power_of_two(series.values.astype(np.float64), exponent)
        if control is not None:
            control_series.values = times_power_of_two(control_series.values.astype(np.float64), exponent)
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
    constant = np.all(avg == avg[:, :1], axis=1)
    if constant.any():
        amplitude[constant] = 0.0  # exactly: rounding would otherwise leave ~1e-16 "peaks" to test
        logger.warning(
            "frequency tagging: %d of %d %ss (e.g. index %d) have a constant trial-averaged series: no spectrum "
            "to test, so their p_value and z are NaN and their label 'none'.",
            int(constant.sum()),
            n_units,
            series.feature_dim,
            int(np.flatnonzero(constant)[0]),
        )
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
    p_bin[constant] = np.nan
    z_bin, snr_bin = neighbour_stats(amplitude, spec)
    z_bin[constant], snr_bin[constant] = np.nan, np.nan
    neighbours = selection == "neighbours" and z_threshold is not None
    z_pass = z_bin > z_threshold if neighbours else np.ones_like(z_bin, dtype=bool)

    freqs = np.fft.rfftfreq(n_times, d=1.0 / sfreq)
    n_rates = len(spec.names)
    out = {name: np.empty((n_units, n_rates)) for name in ("peak_amplitude", "threshold", "z", "snr", "itpc")}
    out["p_value"] = np.empty((n_units, n_rates))
    out["peak_frequency"] = np.empty((n_units, n_rates))
    passed_null = np.zeros((n_units, n_rates), dtype=bool)  # stage 1
    tagged = np.zeros((n_units, n_rates), dtype=bool)  # both stages
    rows = np.arange(n_units)
    z_key = np.nan_to_num(z_bin, nan=-np.inf)
    above = (observed > thresholds * (1.0 + TIE_RTOL)) & ~constant[:, None]
    for r, members in enumerate(spec.members):
        passing = above[:, members] & z_pass[:, members]
        if correction is None:
            # Best frequency: one that passes, then the smallest p, then the largest z.
            key = np.lexsort((z_key[:, members], -p_bin[:, members], passing), axis=1)[:, -1]
            passed_null[:, r] = above[:, members].any(axis=1)
            tagged[:, r] = passing.any(axis=1)
        else:
            key = np.lexsort((z_key[:, members], -p_bin[:, members]), axis=1)[:, -1]
        best = members[key]
        out["peak_amplitude"][:, r] = observed[rows, best]
        out["threshold"][:, r] = np.where(constant, np.nan, thresholds[rows, best])
        out["z"][:, r] = z_bin[rows, best]
        out["snr"][:, r] = snr_bin[rows, best]
        out["itpc"][:, r] = itpc[rows, spec.bins[best]]
        out["peak_frequency"][:, r] = freqs[spec.bins[best]]
        out["p_value"][:, r] = np.minimum(1.0, len(members) * p_bin[:, members].min(axis=1))
    q_value = np.full((n_units, n_rates), np.nan)
    if (~constant).any():
        q_value[~constant] = false_discovery_control(out["p_value"][~constant], axis=0, method="bh")
    if correction == "fdr":
        passed_null = q_value <= alpha
        tagged = passed_null & (out["z"] > z_threshold) if neighbours else passed_null.copy()
    fdim = series.feature_dim
    pair = (fdim, "rate")
    extra: dict[str, Any] = {}
    if control is not None:
        contrast = control_contrast(series.values, control_series.values, spec)
        contrast_z = contrast_zscores(contrast, passed_null, spec.names)
        extra = {"contrast": (pair, contrast), "contrast_z": (pair, contrast_z)}
        if selection == "hftp" and z_threshold is not None:
            tagged = passed_null & (np.nan_to_num(contrast_z, nan=-np.inf) > z_threshold)
    label = labels_from_tagged(tagged, spec.names)
    if exponent:  # back to the data's units
        with np.errstate(over="ignore", under="ignore"):
            amplitude, out["peak_amplitude"], out["threshold"] = (
                times_power_of_two(v, -exponent) for v in (amplitude, out["peak_amplitude"], out["threshold"])
            )
            if control is not None:
                extra["contrast"] = (pair, times_power_of_two(contrast, -exponent))

    coords: dict[str, Any] = dict(series.feature_coords)
    coords["frequency"] = ("frequency", freqs)
    coords["rate"] = ("rate", np.array(spec.names, dtype=object))
    variables = {
        "amplitude": ((fdim, "frequency"), amplitude),
        "itpc_spectrum": ((fdim, "frequency"), itpc),
        **{name: (pair, out[name]) for name in ("peak_amplitude", "threshold", "z", "snr", "itpc", "p_value")},
        "q_value": (pair, q_value),
        "peak_frequency": (pair, out["peak_frequency"]),
        **extra,
        "passed_null": (pair, passed_null),
        "tagged": (pair, tagged),
        "label": ((fdim,), label),
    }
    attrs = {
        "method": "hftp",
        "selection": selection,
        "control": "none" if control is None else f"{control_series.values.shape[0]} trials",
        "n_constant": int(constant.sum()),
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


def conditioning_exponent(values: np.ndarray, control: np.ndarray | None = None) -> int:
    """The power of two that brings the largest magnitude of ``values`` (and ``control``) into
    [0.5, 1) when its squares would overflow or underflow float64, else 0 (nothing to rescale).

    Examples
    --------
    >>> import numpy as np
    >>> conditioning_exponent(np.array([3.0])), conditioning_exponent(np.array([2.0**600]))
    (0, -601)
    """
    peak = max(float(np.max(np.abs(v), initial=0.0)) for v in (values, values if control is None else control))
    low, high = magnitude_limits("float64")
    if peak == 0 or low <= peak <= high:
        return 0
    return -int(np.frexp(peak)[1])


def _describe_seed(random_state: Any) -> int | str:
    """The seed as an attribute netCDF can store."""
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    return "none" if random_state is None else "Generator"
