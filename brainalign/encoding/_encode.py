"""``brainalign.encode``: cross-validated encoding scores of every neuroid, layer by layer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import xarray as xr

from ..utils import check_random_state, soft_import
from ._protocol import Encoding

__all__ = ["encode"]


def encode(
    features: xr.DataArray,
    recording: xr.DataArray,
    encoder: str | Any = "ridge",
    *,
    cv: Any = 5,
    groups: str | Sequence[Any] | None = "run",
    delays: Sequence[int] | None = None,
    hrf_model: str | None = None,
    ceiling: bool | str = "auto",
    layers: Sequence[str] | None = None,
    encoder_options: dict[str, Any] | None = None,
    repetitions: str | None = None,
    on_missing: str = "raise",
    random_state: int | None = 0,
    return_predictions: bool = False,
) -> xr.Dataset:
    """Encoding scores of every neuroid: fit on training folds, score on held-out data.

    For each layer of ``features``, one encoder is fitted per outer fold on **all** neuroids
    at once (all regions, subjects and latencies together), predicts the held-out fold, and
    each neuroid gets the Pearson r and R² of its held-out prediction, averaged over folds.

    Parameters
    ----------
    features : xarray.DataArray
        Activations ``(presentation, unit)`` with a ``layer`` coordinate; ``(time, unit)`` at
        event times for continuous recordings; ``(presentation, token, unit)`` token-level
        features for ``"attention_readout"``.
    recording : xarray.DataArray
        A condition-based, time-resolved (every latency is a target) or continuous recording.
    encoder : str or encoder object
        A registered encoder (``"ridge"``, ``"banded_ridge"``, ``"attention_readout"``) or an
        instance (cloned for every fold), e.g. any scikit-learn regressor. ``"banded_ridge"``
        fits all layers together, one band per layer (or per value of the ``unit``
        coordinate its ``bands`` names), and adds each band's share of the held-out variance.
    cv : int, "runs", splitter or list of (train, test)
        Outer cross-validation (see :func:`brainalign.encoders.time_folds`): an int is that
        many contiguous blocks (of whole runs when ``groups`` applies); never shuffled. The
        encoder's own inner CV runs inside each training fold, on the same groups (passed to
        its ``fit`` when that takes ``groups``).
    groups : "run", array-like or None
        The run of each sample: ``"run"`` uses the recording's ``run`` coordinate when it has one
        (continuous recordings always do). Runs must be contiguous blocks of samples.
    delays : sequence of int, optional
        Continuous recordings: FIR delays in samples (see :func:`brainalign.data.align`).
    hrf_model : {"glover", "spm"}, optional
        Continuous recordings: convolve the event-time features with this haemodynamic
        response instead of learning delays (see :func:`brainalign.data.align`).
    ceiling : "auto", bool
        Normalise by the split-half noise ceiling (Spearman–Brown) when the recording has
        repetitions (``"auto"``), always (``True``: an error without repetitions), or never.
        It is the reliability of the responses that are scored: of the trial average, or of
        a single trial with ``repetitions="keep"``.
    layers : sequence of str, optional
        Layers to score (default: all, in the model's order).
    encoder_options : dict, optional
        Options for an encoder given by name (e.g. ``{"alphas": np.logspace(0, 6, 7)}``).
    repetitions : {"average", "keep"}, optional
        Passed to :func:`brainalign.data.align`: repeated presentations are averaged (the
        default when the recording declares them), or with ``"keep"`` every trial is a sample
        (a ``repetition`` dim becomes one presentation per trial). The trials of a stimulus are
        then put next to each other and the folds, outer and inner, hold whole stimuli: whole
        runs when every stimulus lies in one run, else blocks of stimuli (``cv_groups`` is
        ``"stimulus_id"``); a splitter gets the stimuli as groups, and given folds index the
        trials in that order. Folds that split a stimulus are refused.
    on_missing : {"raise", "drop"}
        Passed to :func:`brainalign.data.align`.
    random_state : int, optional
        Seed of the split-half ceiling.
    return_predictions : bool
        Also return every sample's held-out prediction (``prediction``, over ``layer``, the
        sample dim and the targets), the aligned response it predicts (``target``) and the
        outer fold that held it out (the ``fold`` coordinate), rows in the order of
        :func:`brainalign.data.align` (one row per trial with ``repetitions="keep"``): what
        bootstrap and permutation statistics resample.

    Returns
    -------
    xarray.Dataset
        ``r`` and ``r2`` with dims ``(layer, neuroid)`` (plus ``latency`` for time-resolved
        recordings; no ``layer`` dim for ``"banded_ridge"``), the recording's neuroid
        coordinates (``region``, ``subject``, ...); ``alpha`` (median over folds of the chosen
        alphas, for ridge encoders); with a ceiling: ``ceiling`` (the reliability ρ of the
        trial-averaged response; of a single trial with ``repetitions="keep"``),
        ``r_normalized = r / √ρ`` and ``r2_normalized = r2 / ρ``;
        for banded ridge: ``r2_split`` and ``share`` over ``(band, neuroid)``. ``attrs`` record
        the encoder, its parameters, the folds and the library version.

    Raises
    ------
    ValueError
        On misaligned or unpaired inputs, too few samples for the folds, NaNs, constant
        neuroids, runs that interleave in time, folds that shuffle samples, or (with
        ``repetitions="keep"``) folds that split the trials of a stimulus.

    References
    ----------
    .. [1] Naselaris, T., Kay, K. N., Nishimoto, S. & Gallant, J. L. (2011). Encoding and
       decoding in fMRI. NeuroImage 56(2).
    .. [2] Hsu, A., Borst, A. & Theunissen, F. E. (2004). Quantifying variability in neural
       responses and its application for the validation of model predictions. Network 15(2).

    Examples
    --------
    >>> import numpy as np
    >>> import brainalign
    >>> from brainalign import data
    >>> rng = np.random.default_rng(0)
    >>> acts = data.activations({"l1": rng.normal(size=(120, 8)), "l2": rng.normal(size=(120, 8))},
    ...                         stimulus_id=np.arange(120))
    >>> Y = acts.values[:, 8:] @ rng.normal(size=(8, 4)) + 0.5 * rng.normal(size=(120, 4))
    >>> rec = data.recording(Y, stimulus_id=np.arange(120), subject="S1", region="V4")
    >>> scores = brainalign.encode(acts, rec, "ridge", encoder_options={"backend": "numpy"})
    >>> scores["r"].mean("neuroid").idxmax("layer").item()
    'l2'
    """
    soft_import("sklearn", "encoders")
    if random_state is not None:
        check_random_state(random_state)  # a TypeError naming it, even when no ceiling uses it
    protocol = Encoding(
        encoder, cv=cv, groups=groups, delays=delays, hrf_model=hrf_model, encoder_options=encoder_options
    )
    return protocol.run(
        features,
        recording,
        ceiling=ceiling,
        layers=layers,
        repetitions=repetitions,
        on_missing=on_missing,
        random_state=random_state,
        return_predictions=return_predictions,
    )
