"""``brainalign.encode``: cross-validated encoding scores of every neuroid, layer by layer."""

from __future__ import annotations

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

_ROW_DIMS = ("presentation", "time")


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


def _ceiling(recording: xr.DataArray, stimuli: np.ndarray, random_state: Any) -> xr.DataArray:
    """Split-half reliability per neuroid (and latency) on the stimuli that are scored."""
    from .metrics import ceiling

    rec = recording.isel(presentation=np.flatnonzero(np.isin(recording["stimulus_id"].values, stimuli)))
    if "latency" in rec.dims:
        parts = [ceiling.split_half(rec.sel(latency=lat), random_state=random_state) for lat in rec["latency"].values]
        return xr.concat(parts, dim=rec["latency"]).transpose("neuroid", "latency")
    return ceiling.split_half(rec, random_state=random_state)


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
        instance (cloned for every fold). ``"banded_ridge"`` fits all layers together, one band
        per layer, and adds each band's share of the held-out variance.
    cv : int, "runs", splitter or list of (train, test)
        Outer cross-validation (see :func:`brainalign.encoders.time_folds`): an int is that
        many contiguous blocks (of whole runs when ``groups`` applies); never shuffled. The
        encoder's own inner CV runs inside each training fold.
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
    layers : sequence of str, optional
        Layers to score (default: all, in the model's order).
    encoder_options : dict, optional
        Options for an encoder given by name (e.g. ``{"alphas": np.logspace(0, 6, 7)}``).
    repetitions, on_missing
        Passed to :func:`brainalign.data.align` (repetitions are averaged for fitting).
    random_state : int, optional
        Seed of the split-half ceiling.
    return_predictions : bool
        Also return every sample's held-out prediction (``prediction``, over ``layer``, the
        sample dim and the targets) with the outer fold that held it out (the ``fold``
        coordinate): what bootstrap and permutation statistics resample.

    Returns
    -------
    xarray.Dataset
        ``r`` and ``r2`` with dims ``(layer, neuroid)`` (plus ``latency`` for time-resolved
        recordings; no ``layer`` dim for ``"banded_ridge"``), the recording's neuroid
        coordinates (``region``, ``subject``, ...); ``alpha`` (median over folds of the chosen
        alphas, for ridge encoders); with a ceiling: ``ceiling`` (the reliability ρ of the
        trial-averaged response), ``r_normalized = r / √ρ`` and ``r2_normalized = r2 / ρ``;
        for banded ridge: ``r2_split`` and ``share`` over ``(band, neuroid)``. ``attrs`` record
        the encoder, its parameters, the folds and the library version.

    Raises
    ------
    ValueError
        On misaligned or unpaired inputs, too few samples for the folds, NaNs, constant
        neuroids, or runs that interleave in time.

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

    from .encoders import AttentionReadout, BandedRidgeEncoder, time_folds

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

    acts, rec = data.align(
        features, recording, repetitions=repetitions, on_missing=on_missing, delays=delays, hrf_model=hrf_model
    )
    row = "time" if rec_kind == "continuous" else "presentation"
    n = acts.sizes[row]
    run = None
    if isinstance(groups, str):
        check_option("groups", groups, ("run",))
        if "run" in rec.coords and rec["run"].dims == (row,):
            run = np.asarray(rec["run"].values)
            if pd.unique(run).size < 2:
                run = None
    elif groups is not None:
        run = np.asarray(groups)
    folds = time_folds(n, cv, run, name="cv")

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
        fold_of[test] = f
    for g, (layer, cols) in enumerate(groups_out):
        X = acts.isel(unit=np.flatnonzero(cols)).transpose(*inner).values
        est_template = clone(template)
        if banded and est_template.get_params().get("bands") is None:
            est_template.set_params(bands=list(layer_of[cols]))
        for f, (train, test) in enumerate(progress(folds, desc=f"encode {layer}", total=len(folds))):
            est = clone(est_template)
            fit_kw: dict[str, Any] = {"groups": run[train] if run is not None else None}
            if tokens:
                fit_kw.update(target_groups=region, token_mask=None if token_mask is None else token_mask[train])
                est.fit(X[train], Y[train], **fit_kw)
                pred = est.predict(X[test], token_mask=None if token_mask is None else token_mask[test])
            else:
                est.fit(X[train], Y[train], **fit_kw)
                pred = est.predict(X[test])
            pred = np.asarray(pred, dtype=np.float64).reshape(len(test), -1)
            if predictions is not None:
                predictions[g, test] = pred
            Yte = np.asarray(Y[test], dtype=np.float64)
            r[g, f] = pearson_columns(Yte, pred)
            r2[g, f] = r2_columns(Yte, pred)
            if hasattr(est, "best_alphas_"):
                alphas[g, f] = np.asarray(est.best_alphas_, dtype=float).reshape(-1)
            if banded:
                part = est.score(X[test], Y[test], split=True)
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
        out = out.assign_coords(fold=(row, fold_of))
    if use_ceiling:
        ids = np.asarray(rec["stimulus_id"].values)
        rho = _ceiling(recording, ids, random_state).transpose(*target_dims)
        rho = xr.DataArray(rho.values, dims=target_dims)
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
        cv_groups="run" if run is not None else "none (contiguous blocks)",
        delays=list(delays) if delays is not None else "none",
        hrf_model=hrf_model or "none",
        ceiling="split_half_spearman_brown" if use_ceiling else "none",
        n_samples=int(n),
        model=str(acts["model"].values[0]),
        brainalign_version=__version__,
    )
    return out
