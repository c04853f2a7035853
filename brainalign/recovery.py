"""Model recovery: would each method find the layer (or model) that generated the data?

:func:`identifiability` simulates brains from real model activations with a known driving layer
(:func:`brainalign.simulate.make_recording`), scores every candidate layer with each method, and
reports how often the true layer is ranked first — for every level of noise, number of stimuli
and number of neuroids a lab might have. It follows the logic of Han, Poggio & Cheung (2023),
"System identification of neural systems: if we got it right, would we know?", and of Lin &
Kriegeskorte (2024) on topological RSA.

Work is shared: for a given stimulus set, all true layers × SNRs × neuroid counts × repeats
become regions of **one** simulated recording and each method scores all candidate layers
against all of them in one :func:`brainalign.alignment_map` call (one encoder fit per layer and
fold for all regions; each candidate's RDM or kernel computed once).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from . import data, simulate
from ._recovery_jobs import plan_study, run_dask, run_job
from ._version import __version__
from .methods import method_info, method_params, resolve
from .utils import check_count, check_option, check_random_state, logger, progress

__all__ = ["identifiability", "wilson_interval"]


def wilson_interval(
    successes: np.ndarray, n: np.ndarray | int, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval of a binomial proportion.

    Examples
    --------
    >>> lo, hi = wilson_interval(np.array([5]), 10)
    >>> round(float(lo[0]), 3), round(float(hi[0]), 3)
    (0.237, 0.763)
    """
    from scipy.stats import norm

    z = norm.ppf(0.5 + confidence / 2)
    n = np.asarray(n, dtype=float)
    p = np.asarray(successes, dtype=float) / n
    denom = 1 + z**2 / n
    centre = (p + z**2 / (2 * n)) / denom
    half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / denom
    return np.clip(centre - half, 0, 1), np.clip(centre + half, 0, 1)


def _candidates(activations: xr.DataArray | Mapping[str, xr.DataArray]) -> tuple[xr.DataArray, dict[str, str]]:
    """One activations array of every candidate layer, and each layer's model."""
    if isinstance(activations, xr.DataArray):
        data.validate(activations, "activations", name="activations")
        model = str(activations["model"].values[0])
        return activations, dict.fromkeys(data.layer_names(activations), model)
    if not isinstance(activations, Mapping) or not activations:
        raise TypeError("activations must be an activations DataArray or a mapping {model name: activations}.")
    parts, owner, ids = [], {}, None
    for name, acts in activations.items():
        data.validate(acts, "activations", name=f"activations[{name!r}]")
        these = pd.Index(acts["stimulus_id"].values)
        if ids is None:
            ids = these
        elif not these.sort_values().equals(ids.sort_values()):
            raise ValueError(
                f"activations[{name!r}] has other stimuli than the first model; give all models the same stimuli."
            )
        acts = acts.isel(presentation=these.get_indexer(ids))
        layers = [f"{name}/{layer}" for layer in acts["layer"].values]
        parts.append(
            acts.assign_coords(
                layer=("unit", np.asarray(layers, dtype=object)),
                model=("unit", np.full(acts.sizes["unit"], name, dtype=object)),
            )
        )
        owner.update(dict.fromkeys(pd.unique(np.asarray(layers)), name))
    combined = xr.concat(parts, dim="unit")
    combined["stimulus_id"] = ("presentation", np.asarray(ids))
    return combined, owner


def _check_levels(name: str, values: Sequence[Any] | None, *, positive: bool, integer: bool) -> list[Any]:
    if values is None:
        return [None]
    values = list(np.atleast_1d(values))
    if not values:
        raise ValueError(f"{name} is empty; give at least one value.")
    for v in values:
        if integer and (not isinstance(v, (int, np.integer)) or isinstance(v, bool)):
            raise TypeError(f"{name} must hold integers, got {v!r}.")
        if positive and not (v > 0):
            raise ValueError(
                f"{name} must hold positive values, got {v!r}"
                + (
                    " (a signal-to-noise *ratio* is above 0; use np.inf for no noise and a tiny ratio such as 1e-9 "
                    "for pure noise)."
                    if name == "snr"
                    else "."
                )
            )
    return values


def identifiability(
    activations: xr.DataArray | Mapping[str, xr.DataArray],
    methods: Sequence[str | Any] = ("ridge", "rsa"),
    *,
    snr: Sequence[float] = (0.1, 1.0, 10.0),
    n_stimuli: Sequence[int] | None = None,
    n_neuroids: Sequence[int] = (100,),
    n_repeats: int = 20,
    truth: Sequence[str] | None = None,
    level: str = "layer",
    readout: str = "linear",
    method_options: Mapping[str, Mapping[str, Any]] | None = None,
    cv: Any = 5,
    max_regions: int = 2000,
    memory_budget: float | int | str | None = None,
    scheduler: str | None = None,
    random_state: int | None = 0,
) -> xr.Dataset:
    """How often does each method rank the data-generating layer (or model) first?

    For every condition (``snr`` × ``n_stimuli`` × ``n_neuroids``), every true layer and every
    repeat, a region is simulated as a noisy read-out of the true layer (fresh read-out weights,
    noise and — when ``n_stimuli`` is below the number of stimuli — a fresh stimulus subset
    per repeat); each method scores every candidate layer for it; the rank of the true layer is
    recorded.

    Parameters
    ----------
    activations : xarray.DataArray or mapping of str to DataArray
        The candidates: the layers of one model, or ``{model name: activations}`` of several
        models on the same stimuli (e.g. a trained and a randomly initialised network) to ask
        "would we pick the right model?" (``level="model"``).
    methods : sequence of str or method objects, or mapping of label to those
        Registered names (``"ridge"``, ``"rsa"``, ``"trsa"``, ``"cka"``, ``"mutual_knn"``,
        ``"shape"``, ...) or method objects (e.g. ``TRSA(lower=0.2, upper=0.6)``; labelled by
        ``repr``, or by the mapping's keys).
    snr : sequence of float
        Per-neuroid signal-to-noise variance ratios (``np.inf``: no noise).
    n_stimuli : sequence of int, optional
        Numbers of stimuli (random subsets); default: all.
    n_neuroids : sequence of int
        Neuroids per simulated region.
    n_repeats : int
        Repeats of every condition and true layer.
    truth : sequence of str, optional
        The candidate layers that take turns as the truth (default: all of them, of every model,
        so that a method biased towards one model scores at chance).
    level : {"layer", "model"}
        Rank layers, or rank models (a model's score is that of its best layer).
    readout : {"linear", "sample", "nonlinear"}
        How a region reads its layer out (see :func:`brainalign.simulate.make_recording`).
    method_options : mapping, optional
        ``{method name or label: options}`` for methods given by name.
    cv : int, splitter or None
        Outer folds of the encoders (contiguous blocks; must be fewer than the stimuli). ``None``
        keeps each encoder's own, e.g. ``{"r3": Encoding("ridge", cv=3), "r10": Encoding("ridge", cv=10)}``.
    max_regions : int
        At most this many simulated regions per map call (memory: regions × neuroids × stimuli
        values); repeats are split into chunks beyond it.
    memory_budget : float, int or str, optional
        Memory one map may use (:func:`~brainalign.planning.resolve_budget`); checked before any simulation.
    scheduler : str, optional
        Run the map calls as ``dask.distributed`` tasks (``"local"`` or a scheduler address).
    random_state : int, optional
        Seed: the same seed gives the same result, bit for bit.

    Returns
    -------
    xarray.Dataset
        Over ``method_name × snr × n_stimuli × n_neuroids``: ``accuracy`` (share of true layers ranked
        first), ``accuracy_low``/``accuracy_high`` (95 % Wilson interval), ``mean_rank`` (1 is
        best), ``margin`` (score of the truth minus the best other candidate, sign-adjusted so
        positive means correctly identified), ``n_failed`` (trials the method could not score,
        e.g. a constant RDM: logged and counted as misses; a condition where every trial failed
        has accuracy NaN, and a study where every trial failed is a ValueError) and ``chance`` (1 / candidates); per
        ``true_layer × repeat``: ``rank`` and ``trial_margin``. ``attrs`` record the design.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, identifiability
    >>> rng = np.random.default_rng(0)
    >>> x, layers = rng.normal(size=(40, 10)), {}
    >>> for k in range(3):
    ...     x = np.tanh(x @ rng.normal(size=(10, 10)) / 2)
    ...     layers[f"l{k}"] = x
    >>> acts = data.activations(layers, stimulus_id=np.arange(40))
    >>> res = identifiability(acts, ["rsa"], snr=[10.0], n_neuroids=20, n_repeats=4)
    >>> float(res["accuracy"].sel(method_name="rsa").squeeze()) > 0.5
    True
    """
    acts, owner = _candidates(activations)
    check_option("level", level, ("layer", "model"))
    check_option("readout", readout, simulate.READOUTS)
    check_count("max_regions", max_regions, 1)
    layers = data.layer_names(acts)
    models = list(dict.fromkeys(owner.values()))
    if level == "model" and len(models) < 2:
        raise ValueError("level='model' needs activations of at least two models: {name: activations, ...}.")
    if truth is None:  # every candidate takes its turn (a method biased towards one model cannot look right)
        truth = layers
    truth = list(truth)
    unknown = [t for t in truth if t not in layers]
    if unknown:
        raise ValueError(f"truth {unknown} are not candidate layers; candidates: {layers}.")
    snrs = _check_levels("snr", snr, positive=True, integer=False)
    n_total = acts.sizes["presentation"]
    stim_levels = _check_levels("n_stimuli", n_stimuli, positive=True, integer=True)
    stim_levels = [n_total if s is None else int(s) for s in stim_levels]
    too_many = [s for s in stim_levels if s > n_total]
    if too_many:
        raise ValueError(f"n_stimuli {too_many} exceed the {n_total} stimuli of the activations.")
    neuroid_levels = [int(v) for v in _check_levels("n_neuroids", n_neuroids, positive=True, integer=True)]
    if not isinstance(n_repeats, (int, np.integer)) or n_repeats < 1:
        raise ValueError(f"n_repeats must be a positive integer, got {n_repeats!r}.")
    if readout == "sample":
        widths = {layer: int((acts["layer"].values == layer).sum()) for layer in truth}
        narrow = {layer: w for layer, w in widths.items() if w < max(neuroid_levels)}
        if narrow:
            raise ValueError(
                f"n_neuroids={max(neuroid_levels)} is more than the units of {narrow} (readout='sample' draws "
                "units without replacement); ask for fewer neuroids or use readout='linear'."
            )
    method_objs, labels = _methods(methods, dict(method_options or {}))
    encoders = [method_info(m).family == "encoder" for m in method_objs]
    if cv is not None:
        method_objs = [m.replace(cv=cv) if enc else m for m, enc in zip(method_objs, encoders, strict=True)]
    folds = {lab: method_params(m).get("cv") for lab, m, enc in zip(labels, method_objs, encoders, strict=True) if enc}
    folds = {lab: k if isinstance(k, (int, str)) else repr(k) for lab, k in folds.items()}  # for attrs
    for label, n_folds in folds.items():
        if isinstance(n_folds, int) and min(stim_levels) <= n_folds:
            raise ValueError(
                f"n_stimuli={min(stim_levels)} is not more than the {n_folds} cross-validation folds (cv) of {label!r}."
            )
    rng = check_random_state(random_state)

    # One job per (n_stimuli, chunk of repeats): its own stimulus subsets and simulated regions.
    per_call = max(1, max_regions // (len(truth) * len(snrs) * len(neuroid_levels)))
    jobs = []
    for n_stim in stim_levels:
        resample = n_stim < n_total
        chunk = 1 if resample else per_call
        for start in range(0, n_repeats, chunk):
            reps = list(range(start, min(n_repeats, start + chunk)))
            jobs.append({"n_stimuli": n_stim, "repeats": reps, "seed": int(rng.integers(2**31)), "resample": resample})
    kwargs = {
        "truth": truth,
        "snrs": snrs,
        "neuroid_levels": neuroid_levels,
        "readout": readout,
        "methods": method_objs,
        "labels": labels,
        "budget": memory_budget,
    }
    plan_study(acts, jobs, **kwargs)
    if scheduler is None:
        results = [run_job(acts, job, **kwargs) for job in progress(jobs, desc="identifiability", total=len(jobs))]
    else:
        results = run_dask(acts, jobs, kwargs, scheduler)

    # (Not "method": DataArray.sel(method=...) is sel's own keyword, so such a dim could not be selected.)
    dims = ("method_name", "snr", "n_stimuli", "n_neuroids", "true_layer", "repeat")
    shape = (len(labels), len(snrs), len(stim_levels), len(neuroid_levels), len(truth), n_repeats)
    scores = np.full((*shape, len(layers)), np.nan)
    for job, block in zip(jobs, results, strict=True):
        s = stim_levels.index(job["n_stimuli"])
        scores[:, :, s, :, :, job["repeats"][0] : job["repeats"][-1] + 1, :] = block
    higher = np.array([method_info(m).higher_is_better for m in method_objs])
    rank, margin = _ranks(scores, layers, truth, owner, level, models, higher)
    coords = {
        "method_name": labels,
        "snr": np.asarray(snrs, dtype=float),
        "n_stimuli": stim_levels,
        "n_neuroids": neuroid_levels,
        "true_layer": np.asarray(truth, dtype=object),
        "repeat": np.arange(n_repeats),
        "candidate": np.asarray(layers if level == "layer" else models, dtype=object),
    }
    out = xr.Dataset(
        {
            "rank": (dims, rank),
            "trial_margin": (dims, margin),
            "score": ((*dims, "layer"), scores),
        },
        coords={**coords, "layer": np.asarray(layers, dtype=object)},
    )
    hits = (out["rank"] == 1).sum(("true_layer", "repeat"))
    n = len(truth) * n_repeats
    lo, hi = wilson_interval(hits.values, n)
    out["accuracy"] = hits / n
    out["accuracy_low"] = (hits.dims, lo)
    out["accuracy_high"] = (hits.dims, hi)
    out["mean_rank"] = out["rank"].mean(("true_layer", "repeat"), skipna=True)
    out["margin"] = out["trial_margin"].mean(("true_layer", "repeat"), skipna=True)
    out["n_failed"] = out["rank"].isnull().sum(("true_layer", "repeat"))
    _flag_failures(out, n)
    n_candidates = len(layers) if level == "layer" else len(models)
    out["chance"] = xr.DataArray(1.0 / n_candidates)
    out.attrs.update(
        level=level,
        readout=readout,
        n_candidates=int(n_candidates),
        n_repeats=int(n_repeats),
        n_trials_per_condition=int(n),
        total_stimuli=int(n_total),
        cv=folds if cv is None else cv if isinstance(cv, int) else repr(cv),
        random_state=random_state if isinstance(random_state, (int, type(None))) else "generator",
        methods={label: method_params(m) for label, m in zip(labels, method_objs, strict=True)},
        brainalign_version=__version__,
    )
    logger.info(
        "identifiability: %d methods × %d conditions × %d trials",
        len(labels),
        len(snrs) * len(stim_levels) * len(neuroid_levels),
        n,
    )
    return out


def _methods(
    methods: Sequence[str | Any] | Mapping[str, str | Any], options: dict[str, Mapping[str, Any]]
) -> tuple[list[Any], list[str]]:
    if isinstance(methods, str):
        methods = [methods]
    items = list(methods.items()) if isinstance(methods, Mapping) else [(None, m) for m in methods]
    objs, labels = [], []
    for label, m in items:
        obj = resolve(m, dict(options.get(label or m, {})) if isinstance(m, str) else None)[0]
        objs.append(obj)
        labels.append(label or (m if isinstance(m, str) else repr(m)))
    unknown = [k for k in options if k not in labels]
    if unknown:
        raise ValueError(f"method_options names {unknown}, which are not in methods {labels}.")
    if len(set(labels)) != len(labels):
        raise ValueError(f"methods are listed twice: {labels}.")
    return objs, labels


def _flag_failures(out: xr.Dataset, n: int) -> None:
    """Conditions whose every trial failed have no accuracy (NaN, not 0 with a tight interval);
    a study where every trial failed is an error; partial failures are logged (they count as misses)."""
    failed = out["n_failed"]
    if int(failed.sum()) == 0:
        return
    if bool((failed == n).all()):
        raise ValueError(
            f"identifiability: every trial failed for every method and condition ({n} per condition): no "
            "method could score the simulated regions (too few stimuli or neuroids for the methods' folds or "
            "RDMs?). Raise n_stimuli / n_neuroids, or run alignment_map on one simulated recording to see why."
        )
    all_failed = failed == n
    for name in ("accuracy", "accuracy_low", "accuracy_high"):
        out[name] = out[name].where(~all_failed)
    where = failed.where(failed > 0, drop=True).stack(condition=failed.dims).dropna("condition")
    lines = [
        ", ".join(f"{d}={where[d].values[i]}" for d in failed.dims) + f": {int(where.values[i])}/{n} failed"
        for i in range(min(where.sizes["condition"], 5))
    ]
    logger.warning(
        "identifiability: some trials could not be scored (failed trials count as misses; a condition whose "
        "every trial failed has accuracy NaN). %s%s",
        "; ".join(lines),
        " ..." if where.sizes["condition"] > 5 else "",
    )


def _ranks(scores, layers, truth, owner, level, models, higher):
    """Rank of the truth (1 = best) and its margin over the best other candidate, per trial."""
    signed = np.where(higher[:, None, None, None, None, None, None], scores, -scores)
    if level == "model":
        per_model = np.stack(
            [
                np.nanmax(signed[..., [i for i, layer in enumerate(layers) if owner[layer] == model]], axis=-1)
                for model in models
            ],
            axis=-1,
        )
        truth_index = np.array([models.index(owner[layer]) for layer in truth])
        signed = per_model
    else:
        truth_index = np.array([layers.index(layer) for layer in truth])
    idx = truth_index[None, None, None, None, :, None, None]
    true_score = np.take_along_axis(signed, np.broadcast_to(idx, (*signed.shape[:-1], 1)), axis=-1)[..., 0]
    others = signed.copy()
    np.put_along_axis(others, np.broadcast_to(idx, (*signed.shape[:-1], 1)), -np.inf, axis=-1)
    rank = (1 + np.sum(np.nan_to_num(signed, nan=-np.inf) > true_score[..., None], axis=-1)).astype(float)
    # A trial the method could not score (NaN for the truth) is a miss, not a win by default.
    rank[~np.isfinite(true_score)] = np.nan
    margin = true_score - np.max(np.nan_to_num(others, nan=-np.inf), axis=-1)
    margin[~np.isfinite(true_score)] = np.nan
    return rank, margin
