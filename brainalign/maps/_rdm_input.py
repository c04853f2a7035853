"""Maps from RDMs: brain RDMs (``data.rdms``) in place of a recording, model RDMs in place of activations.

One score per layer × (region, subject): each layer's RDM (computed from the activations with the
method's distance, or given) compared with each brain RDM by the method's comparison; the noise
ceiling of each region across its subjects is rsatoolbox's ``boot_noise_ceiling`` (leave one
subject out: lower bound; all subjects: upper bound); the stimulus bootstrap and the permutation
test are :func:`brainalign.stats.bootstrap_stimuli` and :func:`brainalign.stats.permutation_test`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .. import data, stats
from ..methods import MethodInfo
from ..metrics import rsa
from ..metrics._arrays import float_dtype
from ..metrics.comparisons import get_comparison
from ..utils import logger
from ._cells import Cells
from ._statistics import sample_variables
from .scoring import clip_to_range

__all__ = ["is_rdms", "rdm_map"]

#: The dims of model RDMs given in place of activations (``rsa.rdm(acts)``'s output).
MODEL_RDM_DIMS = ("layer", "stimulus_id", "stimulus_id_2")


def is_rdms(obj: Any) -> bool:
    """Whether ``obj`` holds RDMs (dims ``stimulus_id`` × ``stimulus_id_2``) rather than responses."""
    return isinstance(obj, xr.DataArray) and "stimulus_id_2" in obj.dims


def rdm_map(
    activations: xr.DataArray,
    brain_rdms: xr.DataArray,
    method: Any,
    name: str,
    info: MethodInfo,
    *,
    ceiling: bool,
    n_boot: int,
    n_perm: int,
    ci: float,
    rng: np.random.Generator,
    keep_samples: bool,
    ci_method: str = "percentile",
) -> xr.Dataset:
    """The map of an RDM method against brain RDMs (see :func:`brainalign.alignment_map`)."""
    if not info.accepts_rdms:
        raise ValueError(
            f"recording holds brain RDMs, but method {name!r} does not compare RDMs (its declaration has "
            "accepts_rdms=False). Use method='rsa' or 'trsa', or give a recording (presentation × neuroid)."
        )
    brain = _brain_rdms(brain_rdms)
    ids = brain["stimulus_id"].values
    layers, model = _model_rdms(activations, method, ids)
    prepared = brain.copy(data=method.prepare_rdm(brain.values))
    comparison = method.comparison
    scores = rsa.compare(model, prepared, comparison).transpose("layer", "rdm").values
    working = "float32" if "float32" in (float_dtype(model), float_dtype(brain)) else "float64"
    scores = clip_to_range(scores, info, name, working)

    regions = list(pd.unique(np.asarray(brain["region"].values)))
    subjects = list(pd.unique(np.asarray(brain["subject"].values)))
    cell = [
        (regions.index(r), subjects.index(s))
        for r, s in zip(brain["region"].values, brain["subject"].values, strict=True)
    ]
    c_of, s_of = (np.array(v) for v in zip(*cell, strict=True))

    def grid(values: np.ndarray) -> np.ndarray:
        """``(..., rdm)`` → ``(..., region, subject)``, NaN where a subject has no RDM of a region."""
        out = np.full((*values.shape[:-1], len(regions), len(subjects)), np.nan)
        out[..., c_of, s_of] = values
        return out

    values: dict[str, np.ndarray] = {"score": grid(scores)}
    if ceiling:
        values.update(_ceilings(prepared, regions, comparison, values["score"]))
    seed = int(rng.integers(2**31))
    samples, jack = None, {}
    if n_boot:
        if not get_comparison(comparison).resampled:
            raise ValueError(
                f"n_boot: the {comparison!r} comparison needs complete RDMs and is not bootstrapped over stimuli; "
                "with brain RDMs (no responses to resample) use another comparison, or n_boot=0."
            )
        boot = stats.bootstrap_stimuli(model, prepared, comparison, n_boot=n_boot, ci=ci, random_state=seed)
        values["ci_low"] = grid(boot["ci_low"].transpose("layer", "rdm").values)
        values["ci_high"] = grid(boot["ci_high"].transpose("layer", "rdm").values)
        draws = boot["bootstrap"].transpose("bootstrap", "layer", "rdm").values
        # One batched delete-one jackknife over stimuli serves BCa and the kept samples.
        jk = None
        if ci_method == "bca" or keep_samples:
            n_half = n_boot if keep_samples else 0
            jk = stats.jackknife_stimuli(model, prepared, comparison, n_half=n_half, random_state=seed + 2)
        if ci_method != "percentile":  # the same resamples, another interval rule
            loo = jk["jackknife"].transpose("stimulus", "layer", "rdm").values if jk is not None else None
            lo, hi = stats.bootstrap_interval(draws, scores, ci, ci_method, loo)
            values["ci_low"], values["ci_high"] = grid(lo), grid(hi)
        if keep_samples:
            samples = grid(draws)
            jack = {
                "jack": grid(jk["jackknife"].transpose("stimulus", "layer", "rdm").values),
                "half": grid(jk["half"].transpose("half", "layer", "rdm").values),
            }
    if n_perm:
        test = stats.permutation_test(model, prepared, comparison, n_perm=n_perm, random_state=seed + 1)
        values["p_value"] = grid(test["p_value"].transpose("layer", "rdm").values)
    if samples is not None:
        values["boot"] = samples
    cells = Cells("region", regions, subjects, {}, 0, {})
    out = cells.dataset(values, layers, None)
    if jack:  # the jackknife of stimuli, for stats.pairwise
        out = out.assign(sample_variables(jack, cells, layers, None))
    for var in ("ceiling", "ceiling_low", "ceiling_high"):  # one ceiling per region, across its subjects
        if var in out and "subject" in out[var].dims:
            out[var] = out[var].isel(subject=0, drop=True)
    out.attrs.update(
        higher_is_better=int(info.higher_is_better),
        score=info.score,
        n_stimuli=len(ids),
        model=_model_name(activations),
        input="brain RDMs",
        ceiling_method="boot_noise_ceiling (lower: leave one subject out; upper: all subjects)"
        if "ceiling" in values
        else "none",
    )
    return out


def _brain_rdms(brain_rdms: xr.DataArray) -> xr.DataArray:
    """The brain RDMs checked, one per (region, subject): several sessions averaged."""
    data.validate(brain_rdms, "rdms", name="recording")
    if brain_rdms.attrs.get("signed", False):
        logger.info("alignment_map: the brain RDMs are signed (e.g. crossnobis); compared as they are.")
    keys = pd.DataFrame({"region": brain_rdms["region"].values, "subject": brain_rdms["subject"].values})
    if not keys.duplicated().any():
        return brain_rdms
    if "session" not in brain_rdms.coords:
        raise ValueError(
            "recording holds several RDMs of the same region and subject without a 'session' coordinate to tell "
            "them apart; give one RDM per region × subject."
        )
    logger.info("alignment_map: averaging the sessions of each subject × region's RDMs.")
    key = pd.MultiIndex.from_frame(keys)
    groups = pd.Series(np.arange(len(key)), index=key).groupby(level=[0, 1], sort=False)
    first = [idx.values[0] for _, idx in groups]
    means = np.stack([brain_rdms.values[idx.values].mean(axis=0) for _, idx in groups])
    out = brain_rdms.isel(rdm=first).drop_vars("session").copy(data=means)
    return out.assign_coords(rdm=[f"{s}_{r}" for r, s in zip(out["region"].values, out["subject"].values, strict=True)])


def _model_rdms(activations: xr.DataArray, method: Any, ids: np.ndarray) -> tuple[list[str], xr.DataArray]:
    """Layer names and one prepared RDM per layer ``(layer, stimulus_id, stimulus_id_2)`` on the
    brain RDMs' stimuli, in their order."""
    if is_rdms(activations):
        R = activations
        if "rdm" in R.dims:
            if "layer" not in R.coords or R["layer"].dims != ("rdm",):
                raise ValueError(
                    "activations holds RDMs along 'rdm' but no 'layer' coordinate on it; name each model RDM's "
                    "layer (R.assign_coords(layer=('rdm', names))) or pass RDMs over a 'layer' dim (rsa.rdm(acts))."
                )
            R = R.swap_dims(rdm="layer").drop_vars("rdm")
        if tuple(R.dims) != MODEL_RDM_DIMS:
            raise ValueError(
                f"activations holds RDMs with dims {tuple(R.dims)}; model RDMs need dims {MODEL_RDM_DIMS} "
                "(rsa.rdm(acts)), or ('rdm', 'stimulus_id', 'stimulus_id_2') with a 'layer' coordinate."
            )
        missing = pd.Index(ids).difference(pd.Index(R["stimulus_id"].values))
        if len(missing):
            raise ValueError(f"activations (model RDMs) lack {len(missing)} stimuli of the brain RDMs, e.g. "
                             f"{list(missing[:3])}.")  # fmt: skip
        R = R.sel(stimulus_id=ids, stimulus_id_2=ids)
        layers = [str(v) for v in R["layer"].values]
        if len(set(layers)) != len(layers):
            raise ValueError(f"activations (model RDMs) repeat layer names: {layers}.")
        mats = method.prepare_rdm(np.asarray(R.values, dtype=np.float64))
    else:
        data.validate(activations, "activations", name="activations")
        present = pd.Index(activations["stimulus_id"].values)
        missing = pd.Index(ids).difference(present)
        if len(missing):
            raise ValueError(
                f"activations lack {len(missing)} of the brain RDMs' {len(ids)} stimuli, e.g. {list(missing[:3])}; "
                "extract activations for every stimulus of the RDMs."
            )
        acts = activations.isel(presentation=present.get_indexer(ids))
        layers = data.layer_names(acts)
        X = acts.transpose("presentation", "unit").values
        layer_of = np.asarray(acts["layer"].values)
        mats = np.stack([method.rdm_matrix(X[:, layer_of == layer]) for layer in layers])
    model = xr.DataArray(
        mats,
        dims=MODEL_RDM_DIMS,
        coords={"layer": np.asarray(layers, dtype=object), "stimulus_id": ids, "stimulus_id_2": ids},
    )
    return layers, model


def _model_name(activations: xr.DataArray) -> str:
    if "model" in activations.coords and activations["model"].size:
        return str(np.ravel(activations["model"].values)[0])
    return str(activations.attrs.get("model", "model RDMs"))


def _ceilings(prepared: xr.DataArray, regions: list[Any], comparison: str, score: np.ndarray) -> dict[str, np.ndarray]:
    """Per region: the noise ceiling across its subjects (lower and upper bound; ``ceiling`` is the
    lower bound) and ``normalized = score / lower``; NaN for a region with one subject."""
    low, high = np.full(len(regions), np.nan), np.full(len(regions), np.nan)
    for c, region in enumerate(regions):
        R = prepared.where(prepared["region"] == region, drop=True)
        if R.sizes["rdm"] < 2:
            logger.info("alignment_map: region %r has one subject's RDM; no noise ceiling.", region)
            continue
        nc = rsa.noise_ceiling(R.values, comparison)
        low[c], high[c] = nc.lower, nc.upper
    if np.all(np.isnan(low)):
        return {}
    n_sub = score.shape[-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        normalized = score / np.where(low > 0, low, np.nan)[None, :, None]
    return {
        "ceiling": np.repeat(low[:, None], n_sub, axis=1),
        "ceiling_low": np.repeat(low[:, None], n_sub, axis=1),
        "ceiling_high": np.repeat(high[:, None], n_sub, axis=1),
        "normalized": normalized,
    }
