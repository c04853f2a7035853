"""Summaries of probe results: label counts per layer or region, model-brain RSA of the tagged units."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from ... import data
from ...utils import check_option, logger
from ._common import RESERVED_LABELS


def _label_order(result: xr.Dataset) -> list[str]:
    return [str(r) for r in result["rate"].values] + list(RESERVED_LABELS)


def profile(result: xr.Dataset, by: str | None = None) -> xr.Dataset:
    """Counts and proportions of each label per layer (model) or per region (brain).

    Parameters
    ----------
    result : xarray.Dataset
        The output of :func:`probe`.
    by : str, optional
        A coordinate along units/neuroids to group by (default ``"layer"`` for model units,
        ``"region"`` for channels). Groups keep their order of appearance (the model's layer order).

    Returns
    -------
    xarray.Dataset
        ``count`` and ``proportion`` over ``(group, label)`` (the group dim is named after
        ``by``; labels: each rate, ``"shared"``, ``"none"``), and ``n_units`` per group.

    Examples
    --------
    >>> from brainalign.probes import frequency_tagging as ft
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(10, 4, 48))
    >>> x[:, :2] += np.cos(np.pi / 2 * np.arange(48))           # units 0 and 1 follow sentences
    >>> res = ft.probe(x, n_shuffles=200).assign_coords(layer=("unit", ["a", "a", "b", "b"]))
    >>> prof = ft.profile(res)
    >>> a = prof.sel(layer="a", label="sentence")
    >>> a["count"].item(), a["proportion"].item()
    (2, 1.0)
    """
    if not isinstance(result, xr.Dataset) or "label" not in result or "rate" not in result.coords:
        raise TypeError("result must be the Dataset returned by frequency_tagging.probe(...).")
    fdim = result["label"].dims[0]
    if by is None:
        by = "layer" if "layer" in result.coords else ("region" if "region" in result.coords else None)
        if by is None:
            raise ValueError(f"result has no 'layer' or 'region' coordinate on {fdim!r}; pass by=... (a coordinate).")
    if by not in result.coords or result[by].dims != (fdim,):
        raise ValueError(f"by={by!r} must name a coordinate along {fdim!r}; result has {list(result.coords)}.")
    groups = np.asarray(result[by].values)
    names = list(pd.unique(groups))
    labels = _label_order(result)
    table = pd.crosstab(pd.Categorical(groups, categories=names), pd.Categorical(result["label"].values, labels))
    table = table.reindex(index=names, columns=labels, fill_value=0)
    count = table.to_numpy()
    n_units = count.sum(axis=1)
    return xr.Dataset(
        {
            "count": ((by, "label"), count),
            "proportion": ((by, "label"), count / n_units[:, None]),
            "n_units": ((by,), n_units),
        },
        coords={by: np.asarray(names), "label": np.asarray(labels, dtype=object)},
        attrs={k: v for k, v in result.attrs.items()},
    )


def _word_bins(recording: xr.DataArray, n_words: int, word_rate: float) -> np.ndarray:
    """Average a recording's samples within each word window: (presentation, neuroid, word)."""
    latency = np.asarray(recording["latency"].values, dtype=float)
    word = np.floor(latency * word_rate + 1e-9).astype(int)
    member = word == np.arange(n_words)[:, None]  # (word, latency)
    counts = member.sum(axis=1)
    if not counts.all():
        k = int(np.argmin(counts))
        raise ValueError(
            f"recording has no sample in word {k}'s window [{k / word_rate:g}, {(k + 1) / word_rate:g}) s: its "
            f"latency spans {latency[0]:g}–{latency[-1]:g} s but the trials last {n_words / word_rate:g} s "
            "(latency 0 must be the first word's onset)."
        )
    return recording.transpose("presentation", "neuroid", "latency").values @ (member / counts[:, None]).T


def model_brain_rsa(
    responses: xr.DataArray,
    result: xr.Dataset,
    recording: xr.DataArray,
    recording_result: xr.Dataset | None = None,
    *,
    labels: Sequence[str] = ("sentence", "phrase", "shared"),
    metric: str = "correlation",
    method: str = "spearman",
) -> xr.DataArray:
    """RSA between each layer's tagged units and each region's channels, word by word.

    Every word of every trial is one condition. A layer's pattern for it is the response of the
    layer's units whose label is in ``labels``; a region's pattern is its channels' mean response
    during that word's window (``[k, k + 1) / word_rate`` s after trial onset). The two RDMs
    (:func:`brainalign.metrics.rsa.rdm`) are compared with
    :func:`brainalign.metrics.rsa.compare`. Trials are paired by ``stimulus_id``, never by
    position.

    Parameters
    ----------
    responses : xarray.DataArray
        Model responses from :func:`model_responses`.
    result : xarray.Dataset
        :func:`probe` of ``responses`` (its labels pick the units).
    recording : xarray.DataArray
        A time-resolved recording ``(presentation, neuroid, latency)`` with the same trials
        (``stimulus_id``), latency 0 at the first word.
    recording_result : xarray.Dataset, optional
        :func:`probe` of ``recording``: keep only the channels whose label is in ``labels``
        (default: every channel).
    labels : sequence of str
        Unit labels to keep.
    metric, method
        RDM dissimilarity and RDM comparison (see :mod:`brainalign.metrics.rsa`).

    Returns
    -------
    xarray.DataArray
        Scores over ``(layer, region)``; NaN where a layer or region keeps fewer than 2 units.

    Examples
    --------
    >>> from brainalign.probes import frequency_tagging as ft
    >>> import numpy as np
    >>> import xarray as xr
    >>> from brainalign import data
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(6, 4, 8))  # 6 trials × 4 units × 8 words
    >>> responses = xr.DataArray(
    ...     x,
    ...     dims=("presentation", "unit", "latency"),
    ...     coords={
    ...         "stimulus_id": ("presentation", np.arange(6)),
    ...         "latency": np.arange(8) / 4.0,
    ...         "model": ("unit", ["toy"] * 4),
    ...         "layer": ("unit", ["a", "a", "b", "b"]),
    ...         "unit_index": ("unit", [0, 1, 0, 1]),
    ...     },
    ...     attrs={"word_rate": 4.0, "sfreq": 4.0},
    ... )
    >>> brain = np.concatenate([x[:, :2], rng.normal(size=(6, 2, 8))], axis=1)  # region A copies layer a
    >>> recording = data.recording(
    ...     brain, stimulus_id=np.arange(6), latency=np.arange(8) / 4.0, subject="S1", region=["A", "A", "B", "B"]
    ... )
    >>> result = ft.probe(responses, n_shuffles=100)
    >>> scores = ft.model_brain_rsa(responses, result, recording, labels=["sentence", "phrase", "shared", "none"])
    >>> scores.sel(region="A").idxmax("layer").item(), round(scores.sel(layer="a", region="A").item(), 6)
    ('a', 1.0)
    """
    from ...metrics import rsa

    if not isinstance(responses, xr.DataArray) or "unit" not in responses.dims:
        raise TypeError("responses must be model responses (presentation × unit × latency) from model_responses(...).")
    data.validate(recording, "time_resolved", name="recording")
    check_option("metric", metric, rsa.RDM_METRICS)
    check_option("method", method, rsa.COMPARE_METHODS)
    labels = [str(v) for v in ([labels] if isinstance(labels, str) else labels)]
    for name, res, da in (("result", result, responses), ("recording_result", recording_result, recording)):
        if res is None:
            continue
        fdim = "unit" if name == "result" else "neuroid"
        if not isinstance(res, xr.Dataset) or "label" not in res or res["label"].dims != (fdim,):
            raise TypeError(f"{name} must be the Dataset that frequency_tagging.probe(...) returned for it.")
        same = res.sizes[fdim] == da.sizes[fdim] and all(
            np.array_equal(res[c].values, da[c].values)
            for c in ("layer", "unit_index", "channel")
            if c in res.coords and c in da.coords
        )
        if not same:
            raise ValueError(f"{name} was computed on other {fdim}s than the data it comes with; probe that data.")
    model_ids = pd.Index(responses["stimulus_id"].values)
    rec_ids = pd.Index(recording["stimulus_id"].values)
    if rec_ids.has_duplicates or model_ids.has_duplicates:
        raise ValueError("stimulus_id must be unique per trial in both responses and recording.")
    if not model_ids.sort_values().equals(rec_ids.sort_values()):
        raise ValueError(
            f"responses and recording hold different trials (stimulus_id): e.g. "
            f"{list(model_ids.difference(rec_ids)[:3]) or list(rec_ids.difference(model_ids)[:3])} is in only one."
        )
    recording = recording.isel(presentation=rec_ids.get_indexer(model_ids))
    n_words = responses.sizes["latency"]
    word_rate = float(responses.attrs.get("word_rate", responses.attrs.get("sfreq", 4.0)))
    brain = _word_bins(recording, n_words, word_rate)  # (trial, neuroid, word)
    events = np.array([f"{t}:{k}" for t in model_ids for k in range(n_words)], dtype=object)
    n_events = len(events)

    layers = data.layer_names(responses.isel(latency=0))
    regions = list(pd.unique(np.asarray(recording["region"].values)))
    unit_layer = np.asarray(responses["layer"].values)
    chan_region = np.asarray(recording["region"].values)
    keep_units = np.isin(result["label"].values, labels)
    keep_channels = (
        np.ones(len(chan_region), dtype=bool)
        if recording_result is None
        else np.isin(recording_result["label"].values, labels)
    )
    ok_layers = [lay for lay in layers if np.sum(keep_units & (unit_layer == lay)) >= 2]
    ok_regions = [reg for reg in regions if np.sum(keep_channels & (chan_region == reg)) >= 2]
    keep_units &= np.isin(unit_layer, ok_layers)
    keep_channels &= np.isin(chan_region, ok_regions)
    scores = np.full((len(layers), len(regions)), np.nan)
    if ok_layers and ok_regions:
        model_values = responses.transpose("presentation", "latency", "unit").values.reshape(n_events, -1)
        X = xr.DataArray(
            model_values[:, keep_units],
            dims=("presentation", "unit"),
            coords={"stimulus_id": ("presentation", events), "layer": ("unit", unit_layer[keep_units])},
        )
        Y = xr.DataArray(
            brain.transpose(0, 2, 1).reshape(n_events, -1)[:, keep_channels],
            dims=("presentation", "neuroid"),
            coords={"stimulus_id": ("presentation", events), "region": ("neuroid", chan_region[keep_channels])},
        )
        sim = rsa.compare(rsa.rdm(X, metric, by="layer"), rsa.rdm(Y, metric, by="region"), method=method)
        scores = sim.transpose("layer", "region").reindex(layer=layers, region=regions).values
    skipped = sorted(set(layers) - set(ok_layers)) + sorted(set(regions) - set(ok_regions))
    if skipped:
        logger.info("model_brain_rsa: fewer than 2 units with labels %s in %s; their scores are NaN.", labels, skipped)
    return xr.DataArray(
        scores,
        dims=("layer", "region"),
        coords={"layer": np.asarray(layers, dtype=object), "region": np.asarray(regions, dtype=object)},
        name="score",
        attrs={"method": "rsa", "metric": metric, "compare": method, "labels": ",".join(labels), "n_events": n_events},
    )
