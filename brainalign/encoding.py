"""``brainalign.encode``: cross-validated encoding scores of every neuroid, layer by layer."""

from __future__ import annotations

import inspect
import json
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from . import data, registry
from ._version import __version__
from .metrics._columns import pearson_columns, r2_columns
from .utils import check_option, logger, progress, soft_import

__all__ = ["encode"]


def _encoder(encoder: str | Any, options: dict[str, Any]) -> tuple[Any, str]:
    if isinstance(encoder, str):
        obj = registry.get(encoder, **options)
        name = encoder
    else:
        if options:
            raise ValueError("encoder_options apply to an encoder given by name; configure the encoder object instead.")
        obj, name = encoder, type(encoder).__name__
    if not (hasattr(obj, "fit") and hasattr(obj, "predict") and hasattr(obj, "get_params")):
        raise TypeError(
            f"encoder must be an encoder (fit/predict/get_params, scikit-learn style), got {type(obj).__name__}; "
            "similarity methods such as 'rsa' go through brainalign.alignment_map."
        )
    return obj, name


def _has_repetitions(recording: xr.DataArray) -> bool:
    if "repetition" in recording.dims:
        return True
    if "stimulus_id" in recording.coords and recording["stimulus_id"].dims == ("presentation",):
        return bool(pd.Index(recording["stimulus_id"].values).has_duplicates)
    return False


def _ceiling(recording: xr.DataArray, stimuli: np.ndarray, random_state: Any) -> np.ndarray:
    """Split-half reliability (Spearman–Brown to all repetitions) on the stimuli that are scored,
    ``(neuroid,)`` or ``(neuroid, latency)``.

    Every latency is a column of one split-half call: the same random splits for all of them.
    """
    from .metrics import ceiling

    rec = recording.isel(presentation=np.flatnonzero(np.isin(recording["stimulus_id"].values, stimuli)))
    lead = [d for d in ("repetition", "presentation") if d in rec.dims]
    targets = ["neuroid", "latency"] if "latency" in rec.dims else ["neuroid"]
    values = rec.transpose(*lead, *targets).values
    folded = xr.DataArray(
        values.reshape(*values.shape[: len(lead)], -1),
        dims=(*lead, "neuroid"),
        coords={"stimulus_id": ("presentation", np.asarray(rec["stimulus_id"].values))},
    )
    rho = ceiling.split_half(folded, random_state=random_state)
    return np.asarray(rho.values).reshape(values.shape[len(lead) :])


def _trials_as_rows(recording: xr.DataArray) -> xr.DataArray:
    """A recording with a ``repetition`` dim as one presentation per trial (repetition-major);
    trials missing (NaN-filled) in the recording are left out. A ``repetition`` coordinate on
    ``presentation`` gives each trial's repetition."""
    stacked = recording.transpose("repetition", "presentation", ...)
    values = stacked.values
    n_rep, n_pres = values.shape[:2]
    flat = values.reshape(n_rep * n_pres, *values.shape[2:])
    keep = np.isfinite(flat.reshape(n_rep * n_pres, -1)).all(1)
    coords: dict[str, Any] = {"repetition": ("presentation", np.repeat(np.arange(n_rep), n_pres)[keep])}
    for name, coord in recording.coords.items():
        if coord.dims == ("presentation",):
            coords[name] = ("presentation", np.tile(coord.values, n_rep)[keep])
        elif coord.dims == ("repetition",):
            coords[name] = ("presentation", np.repeat(coord.values, n_pres)[keep])
        elif not {"presentation", "repetition"} & set(coord.dims):
            coords[name] = coord
    return xr.DataArray(
        flat[keep], dims=("presentation", *stacked.dims[2:]), coords=coords, attrs=recording.attrs, name=recording.name
    )


def _accepts_groups(estimator: Any) -> bool:
    """Whether ``estimator.fit`` takes ``groups`` (brainalign's encoders do; scikit-learn's regressors do not)."""
    try:
        return "groups" in inspect.signature(estimator.fit).parameters
    except (TypeError, ValueError):  # a fit without an inspectable signature
        return False


def _bands(estimator: Any, acts: xr.DataArray, cols: np.ndarray) -> list[Any]:
    """The band of each feature column for a banded encoder: its ``bands`` read on the labelled
    features (a ``unit`` coordinate's name, default ``"layer"``), restricted to the scored columns."""
    bands = estimator.get_params().get("bands")
    coord = "layer" if bands is None else bands if isinstance(bands, str) else None
    if coord is not None:
        if coord not in acts.coords or acts[coord].dims != ("unit",):
            on_unit = [k for k, v in acts.coords.items() if v.dims == ("unit",)]
            raise ValueError(
                f"bands={coord!r} names no coordinate on the features' 'unit' dim; its unit coordinates are "
                f"{on_unit}. Name one of them, or give one band label per unit."
            )
        return list(np.asarray(acts[coord].values)[cols])
    labels = np.asarray(bands)
    # One label per unit of the features: keep those of the scored layers (else the encoder checks them).
    return list(labels[cols]) if labels.shape == (acts.sizes["unit"],) else list(labels)


def _params(obj: Any) -> str:
    return json.dumps(obj.get_params(), default=str)


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
    from sklearn.base import clone

    from .encoders import AttentionReadout, BandedRidgeEncoder, r2_split, time_folds
    from .metrics.ceiling import spearman_brown

    template, name = _encoder(encoder, dict(encoder_options or {}))
    if ceiling not in (True, False, "auto"):
        raise ValueError(f"ceiling must be 'auto', True or False, got {ceiling!r}.")
    kind = data.validate(features, "auto", name="features")
    if kind not in ("activations", "continuous_activations"):
        raise ValueError(f"features must be activations (presentation × unit), got a {kind} object.")
    tokens = "token" in features.dims
    banded = isinstance(template, BandedRidgeEncoder)
    if tokens != isinstance(template, AttentionReadout):
        need = "pooled features (presentation, unit)" if tokens else "token-level features (presentation, token, unit)"
        raise ValueError(f"encoder {name!r} needs {need}; features have dims {tuple(features.dims)}.")
    rec_kind = data.validate(recording, "recording", name="recording")
    if tokens and rec_kind == "continuous":
        raise ValueError(
            "token-level features go with condition-based or time-resolved recordings (one row per "
            "stimulus), not with a continuous recording."
        )
    use_ceiling = ceiling is True or (ceiling == "auto" and rec_kind != "continuous" and _has_repetitions(recording))
    if ceiling is True and (rec_kind == "continuous" or not _has_repetitions(recording)):
        raise ValueError(
            "ceiling=True needs repeated presentations (a 'repetition' dim, or repeated stimulus_id); this "
            "recording has none. Pass ceiling=False (or 'auto')."
        )
    if repetitions == "keep" and "repetition" in recording.dims:
        recording = _trials_as_rows(recording)

    acts, rec = data.align(
        features, recording, repetitions=repetitions, on_missing=on_missing, delays=delays, hrf_model=hrf_model
    )
    row = "time" if rec_kind == "continuous" else "presentation"
    n = acts.sizes[row]
    # Single trials (repetitions="keep"): the trials of each stimulus are put next to each other
    # (rows[i] is the aligned row in place i), so that folds can keep stimuli whole.
    trials = repetitions == "keep" and row == "presentation" and pd.Index(rec["stimulus_id"].values).has_duplicates
    rows = np.arange(n)
    stimulus = None
    if trials:
        codes = pd.factorize(np.asarray(rec["stimulus_id"].values))[0]
        rows = np.argsort(codes, kind="stable")
        acts, rec, stimulus = acts.isel({row: rows}), rec.isel({row: rows}), codes[rows]
    run = None
    if isinstance(groups, str):
        check_option("groups", groups, ("run",))
        if "run" in rec.coords and rec["run"].dims == (row,):
            run = np.asarray(rec["run"].values)
            if pd.unique(run).size < 2:
                run = None
    elif groups is not None:
        run = np.asarray(groups)
        if trials and run.shape == (n,):
            run = run[rows]
    fold_groups, cv_groups = run, "run" if run is not None else "none (contiguous blocks)"
    if stimulus is not None and not (
        run is not None
        and run.shape == (n,)
        and pd.unique(run).size > 1
        and pd.Series(run).groupby(stimulus).nunique().max() == 1
    ):
        # Repetitions of a stimulus in several runs (or no runs): folds of whole stimuli.
        if isinstance(cv, str) and cv == "runs":
            raise ValueError(
                "cv='runs' with repetitions='keep': the repetitions of a stimulus are not all in one run, so "
                "leaving a run out would test on stimuli the encoder was trained on. Give an int cv (blocks "
                "of whole stimuli) or a group splitter such as GroupKFold."
            )
        if run is not None:
            logger.info("encode: stimuli repeat across runs; folds keep the trials of each stimulus together instead.")
        fold_groups, cv_groups = stimulus, "stimulus_id"
    folds = time_folds(n, cv, fold_groups, name="cv")
    if stimulus is not None:
        for f, (train, test) in enumerate(folds):
            shared = np.intersect1d(stimulus[train], stimulus[test])
            if shared.size:
                stim = rec["stimulus_id"].values[np.flatnonzero(stimulus == shared[0])[0]]
                raise ValueError(
                    f"cv: fold {f} has trials of stimulus {stim!r} (and {shared.size - 1} more) in both its training "
                    "and its test set. With repetitions='keep' every fold must hold whole stimuli: give an int cv "
                    "or a group splitter (e.g. GroupKFold), which encode splits on the stimuli."
                )

    latency = rec["latency"].values if "latency" in rec.dims else None
    Y = rec.transpose(row, "neuroid", *(["latency"] if latency is not None else [])).values.reshape(n, -1)
    all_layers = data.layer_names(acts)
    if layers is not None:
        layers = [layers] if isinstance(layers, str) else list(layers)
        unknown = [layer for layer in layers if layer not in all_layers]
        if unknown:
            raise ValueError(f"layers {unknown} are not in features; its layers are {all_layers}.")
    else:
        layers = all_layers
    layer_of = np.asarray(acts["layer"].values)
    region = np.asarray(rec["region"].values)
    if latency is not None:
        region = np.repeat(region, len(latency))
    inner = [row, "token", "unit"] if tokens else [row, "unit"]
    token_mask = acts["token_mask"].transpose(row, "token").values if tokens and "token_mask" in acts.coords else None

    groups_out = [("all", np.isin(layer_of, layers))] if banded else [(layer, layer_of == layer) for layer in layers]
    n_targets = Y.shape[1]
    r = np.full((len(groups_out), len(folds), n_targets), np.nan)
    r2 = np.full_like(r, np.nan)
    alphas = np.full_like(r, np.nan)
    split, band_names = None, None
    predictions = np.full((len(groups_out), n, n_targets), np.nan, dtype=np.float32) if return_predictions else None
    fold_of = np.full(n, -1)
    for f, (_, test) in enumerate(folds):
        fold_of[rows[test]] = f
    with_groups = _accepts_groups(template)
    for g, (layer, cols) in enumerate(groups_out):
        X = acts.isel(unit=np.flatnonzero(cols)).transpose(*inner).values
        est_template = clone(template)
        if banded:
            est_template.set_params(bands=_bands(est_template, acts, cols))
        for f, (train, test) in enumerate(progress(folds, desc=f"encode {layer}", total=len(folds))):
            est = clone(est_template)
            fit_kw: dict[str, Any] = {}
            if with_groups:
                fit_kw["groups"] = fold_groups[train] if fold_groups is not None else None
            if tokens:
                fit_kw.update(target_groups=region, token_mask=None if token_mask is None else token_mask[train])
                est.fit(X[train], Y[train], **fit_kw)
                pred = est.predict(X[test], token_mask=None if token_mask is None else token_mask[test])
            elif banded:
                est.fit(X[train], Y[train], **fit_kw)
                parts = np.asarray(est.predict(X[test], split=True), dtype=np.float64)  # predicted once
                pred = parts.sum(0) + np.asarray(est.intercept_, dtype=np.float64)
            else:
                est.fit(X[train], Y[train], **fit_kw)
                pred = est.predict(X[test])
            pred = np.asarray(pred, dtype=np.float64).reshape(len(test), -1)
            if predictions is not None:
                predictions[g, rows[test]] = pred
            Yte = np.asarray(Y[test], dtype=np.float64)
            r[g, f] = pearson_columns(Yte, pred)
            r2[g, f] = r2_columns(Yte, pred)
            if hasattr(est, "best_alphas_"):
                alphas[g, f] = np.asarray(est.best_alphas_, dtype=float).reshape(-1)
            if banded:
                part = r2_split(Yte, parts.reshape(len(parts), len(test), -1))
                split = np.zeros((len(folds), *part.shape)) if split is None else split
                split[f] = part
                band_names = est.band_names_
        logger.info("encode: %s scored (%d folds, %d targets)", layer, len(folds), n_targets)

    # ------------------------------------------------------------------ assemble
    target_dims = ["neuroid", "latency"] if latency is not None else ["neuroid"]
    shape = [rec.sizes["neuroid"]] + ([len(latency)] if latency is not None else [])
    coords: dict[str, Any] = {k: v for k, v in rec.coords.items() if v.dims == ("neuroid",)}
    if latency is not None:
        coords["latency"] = rec["latency"]
    lead = [] if banded else ["layer"]
    if not banded:
        coords["layer"] = ("layer", np.asarray(layers, dtype=object))

    def arr(values: np.ndarray) -> xr.DataArray:
        values = values.reshape(len(groups_out), *shape)
        return xr.DataArray(values[0] if banded else values, dims=[*lead, *target_dims])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # targets that are NaN in every fold
        out = xr.Dataset({"r": arr(np.nanmean(r, 1)), "r2": arr(np.nanmean(r2, 1))}, coords=coords)
        if np.isfinite(alphas).any():
            out["alpha"] = arr(np.nanmedian(alphas, 1))
    if banded:
        bands = band_names
        mean_split = split.mean(0).reshape(len(bands), *shape)
        out["r2_split"] = xr.DataArray(mean_split, dims=["band", *target_dims])
        with np.errstate(divide="ignore", invalid="ignore"):
            out["share"] = out["r2_split"] / out["r2_split"].sum("band")
        out = out.assign_coords(band=("band", np.asarray(bands, dtype=object)))
    if predictions is not None:
        pred = predictions.reshape(len(groups_out), n, *shape)
        out["prediction"] = xr.DataArray(pred[0] if banded else pred, dims=[*lead, row, *target_dims])
        target = np.empty_like(Y)
        target[rows] = Y  # back in align's row order, as the predictions are
        out["target"] = xr.DataArray(target.reshape(n, *shape), dims=[row, *target_dims])
        out = out.assign_coords(fold=(row, fold_of))
    if use_ceiling:
        ids = np.asarray(rec["stimulus_id"].values)
        rho = _ceiling(recording, ids, random_state)
        if trials:
            # Scores are against single trials: step the reliability of the trial average down
            # to one trial (Spearman–Brown with the harmonic mean of the trials per stimulus).
            counts = np.bincount(stimulus)
            rho = spearman_brown(rho, float(np.mean(1.0 / counts[counts >= 2])))
        rho = xr.DataArray(rho, dims=target_dims)
        out["ceiling"] = rho
        with np.errstate(divide="ignore", invalid="ignore"):
            positive = rho.where(rho > 0)
            out["r_normalized"] = out["r"] / np.sqrt(positive)
            out["r2_normalized"] = out["r2"] / positive
        if (rho <= 0).any():
            logger.warning(
                "encode: %d neuroid(s) have a non-positive split-half reliability; their normalised scores are NaN.",
                int((rho <= 0).sum()),
            )
    out.attrs.update(
        encoder=name,
        encoder_params=_params(template),
        cv=repr(cv) if not isinstance(cv, (int, str)) else cv,
        n_folds=len(folds),
        cv_groups=cv_groups,
        delays=list(delays) if delays is not None else "none",
        hrf_model=hrf_model or "none",
        ceiling=("split_half_spearman_brown_single_trial" if trials else "split_half_spearman_brown")
        if use_ceiling
        else "none",
        n_samples=int(n),
        model=str(acts["model"].values[0]),
        brainalign_version=__version__,
    )
    return out
