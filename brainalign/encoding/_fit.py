"""Fitting an encoder per layer (or once over all bands) and outer fold, scoring held-out rows."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr

from ..methods import MethodInfo, fit_accepts_groups, fitted_alphas
from ..metrics.columns import pearson_columns, r2_columns
from ..utils import logger, progress
from ._rows import Rows


@dataclass
class Fits:
    """Per (layer group, fold, target) held-out scores, and what the map's statistics need."""

    names: list[str]
    r: np.ndarray
    r2: np.ndarray
    alphas: np.ndarray
    split: np.ndarray | None  # multi-layer encoders: (fold, band, target) held-out R² of each band
    band_names: list[Any] | None
    predictions: np.ndarray | None  # (group, row, target) in the working dtype, align's row order


def band_labels(estimator: Any, acts: xr.DataArray, cols: np.ndarray) -> list[Any]:
    """The band of each feature column for a multi-layer encoder: its ``bands`` read on the labelled
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


def fit_layers(
    template: Any,
    info: MethodInfo,
    rows: Rows,
    Y: np.ndarray,
    layers: list[str],
    *,
    target_region: np.ndarray,
    return_predictions: bool,
) -> Fits:
    """Clone ``template`` for every layer (one group of all layers for multi-layer encoders) and
    fold; fit on the training rows, score the held-out rows."""
    from sklearn.base import clone

    from ..encoders import r2_split

    acts, n, folds = rows.acts, rows.n, rows.folds
    tokens = info.needs_tokens
    inner = [rows.row, "token", "unit"] if tokens else [rows.row, "unit"]
    token_mask = (
        acts["token_mask"].transpose(rows.row, "token").values if tokens and "token_mask" in acts.coords else None
    )
    layer_of = np.asarray(acts["layer"].values)
    groups = (
        [("all", np.isin(layer_of, layers))] if info.multi_layer else [(layer, layer_of == layer) for layer in layers]
    )
    n_targets = Y.shape[1]
    r = np.full((len(groups), len(folds), n_targets), np.nan)
    r2, alphas = np.full_like(r, np.nan), np.full_like(r, np.nan)
    split, band_names = None, None
    predictions = None
    if return_predictions:
        predictions = np.full((len(groups), n, n_targets), np.nan, dtype=np.result_type(Y.dtype, np.float32))
    with_groups = fit_accepts_groups(template)
    for g, (layer, cols) in enumerate(groups):
        X = acts.isel(unit=np.flatnonzero(cols)).transpose(*inner).values
        est_template = clone(template)
        if info.multi_layer:
            est_template.set_params(bands=band_labels(est_template, acts, cols))
        for f, (train, test) in enumerate(progress(folds, desc=f"encode {layer}", total=len(folds))):
            est = clone(est_template)
            fit_kw: dict[str, Any] = {}
            if with_groups:
                fit_kw["groups"] = rows.fold_groups[train] if rows.fold_groups is not None else None
            if tokens:
                fit_kw.update(target_groups=target_region, token_mask=None if token_mask is None else token_mask[train])
                est.fit(X[train], Y[train], **fit_kw)
                pred = est.predict(X[test], token_mask=None if token_mask is None else token_mask[test])
            elif info.multi_layer:
                est.fit(X[train], Y[train], **fit_kw)
                parts = np.asarray(est.predict(X[test], split=True), dtype=np.float64)  # predicted once
                pred = parts.sum(0) + np.asarray(est.intercept_, dtype=np.float64)
            else:
                est.fit(X[train], Y[train], **fit_kw)
                pred = est.predict(X[test])
            pred = np.asarray(pred, dtype=np.float64).reshape(len(test), -1)
            if predictions is not None:
                predictions[g, rows.order[test]] = pred
            Yte = np.asarray(Y[test], dtype=np.float64)
            r[g, f] = pearson_columns(Yte, pred)
            r2[g, f] = r2_columns(Yte, pred)
            chosen = fitted_alphas(est)
            if chosen is not None:
                alphas[g, f] = chosen
            if info.multi_layer:
                part = r2_split(Yte, parts.reshape(len(parts), len(test), -1))
                split = np.zeros((len(folds), *part.shape)) if split is None else split
                split[f] = part
                band_names = est.band_names_
        logger.debug("encode: %s scored (%d folds, %d targets)", layer, len(folds), n_targets)
    return Fits([name for name, _ in groups], r, r2, alphas, split, band_names, predictions)
