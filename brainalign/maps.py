"""Layer × region alignment maps (DESIGN.md §4): scores, ceilings, confidence intervals, p-values.

:func:`alignment_map` runs one method over every layer × region pair (per subject, per latency)
and returns the map Dataset of DESIGN.md §1; :func:`group_map` turns a per-subject map into the
group map; :func:`best_layer` reads the best layer of each region, whichever direction the
method's scores run.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from . import data, registry
from ._version import __version__
from .utils import check_option, check_random_state, logger, progress

__all__ = ["alignment_map", "best_layer", "group_map", "summary_view", "with_group"]


# ------------------------------------------------------------------------------------- helpers
def _method(method: str | Any, options: dict[str, Any]) -> tuple[Any, str]:
    if isinstance(method, str):
        return registry.get(method, **options), method
    if options:
        raise ValueError("method_options apply to a method given by name; configure the method object instead.")
    if not (callable(method) or hasattr(method, "represent") or hasattr(method, "fit")):
        raise TypeError(f"method must be a registered name or a method object, got {type(method).__name__}.")
    return method, type(method).__name__


def _is_encoder(method: Any) -> bool:
    return hasattr(method, "fit") and hasattr(method, "predict")


def _params(method: Any) -> dict[str, Any]:
    params = method.get_params() if hasattr(method, "get_params") else {}
    return json.loads(json.dumps(params, default=lambda v: v.tolist() if hasattr(v, "tolist") else str(v)))


def _trials_recording(recording: xr.DataArray, name: str) -> None:
    if "repetition" not in recording.dims:
        raise ValueError(
            f"{name} compares trial-resolved responses, so the recording must keep its trials on a "
            "'repetition' dim (presentation × neuroid × repetition; build it with "
            "data.recording(values_with_trials, stimulus_id=..., ...) from a 3-D array). This recording has "
            f"dims {recording.dims}."
        )


def _percentiles(samples: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval over the first axis, NaNs (degenerate resamples) left out."""
    lo, hi = (1 - ci) / 2 * 100, (1 + ci) / 2 * 100
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(samples, lo, axis=0), np.nanpercentile(samples, hi, axis=0)


def _p_value(observed: np.ndarray, null: np.ndarray, higher_is_better: bool) -> np.ndarray:
    """One-sided permutation p-value, ``(1 + #{null at least as good}) / (1 + n_perm)``, with
    :mod:`brainalign.stats`'s rule (ties within 1e-12 count; NaN draws are left out)."""
    from .stats import p_value

    return p_value(null, observed[None], "greater" if higher_is_better else "less")


class _Cells:
    """The (region, subject) cells of a recording and each neuroid's cell."""

    def __init__(self, rec: xr.DataArray) -> None:
        self.regions = list(pd.unique(np.asarray(rec["region"].values)))
        self.subjects = list(pd.unique(np.asarray(rec["subject"].values)))
        region_of, subject_of = np.asarray(rec["region"].values), np.asarray(rec["subject"].values)
        self.columns = {
            (r, s): np.flatnonzero((region_of == region) & (subject_of == subject))
            for r, region in enumerate(self.regions)
            for s, subject in enumerate(self.subjects)
        }
        # Membership: neuroid values @ member → cell sums.
        self.member = np.zeros((rec.sizes["neuroid"], len(self.regions) * len(self.subjects)))
        for (r, s), cols in self.columns.items():
            self.member[cols, r * len(self.subjects) + s] = 1.0

    @property
    def shape(self) -> tuple[int, int]:
        return len(self.regions), len(self.subjects)

    def means(self, values: np.ndarray) -> np.ndarray:
        """``(..., neuroid)`` → ``(..., region, subject)`` means (NaN neuroids left out)."""
        finite = np.isfinite(values)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (np.where(finite, values, 0.0) @ self.member) / (finite.astype(float) @ self.member)
        return out.reshape(*values.shape[:-1], *self.shape)

    def target_means(self, values: np.ndarray, n_lat: int) -> np.ndarray:
        """``(..., neuroid·latency)`` flattened targets → ``(..., region, subject, latency)`` means."""
        v = values.reshape(*values.shape[:-1], -1, n_lat)
        return np.moveaxis(self.means(np.moveaxis(v, -1, -2)), -3, -1)


# ------------------------------------------------------------------------------- alignment map
def alignment_map(
    activations: xr.DataArray,
    recording: xr.DataArray,
    method: str | Any = "ridge",
    *,
    method_options: dict[str, Any] | None = None,
    ceiling: bool = True,
    n_boot: int = 0,
    n_perm: int = 0,
    ci: float = 0.95,
    alpha: float = 0.05,
    random_state: int | np.random.Generator | None = 0,
    cv: Any = 5,
    delays: Sequence[int] | None = None,
    hrf_model: str | None = None,
    block: int = 20,
    repetitions: str | None = None,
    on_missing: str = "raise",
    on_error: str = "raise",
) -> xr.Dataset:
    """Score every layer against every region with one method: the alignment map.

    Parameters
    ----------
    activations : xarray.DataArray
        Activations of one model, all layers (``(presentation, unit)``; ``(time, unit)`` at event
        times for continuous recordings; ``(presentation, token, unit)`` for
        ``"attention_readout"``).
    recording : xarray.DataArray
        A condition-based, time-resolved or (encoders only) continuous recording.
    method : str or method object
        A registered name (:func:`brainalign.registry.list_methods`: ``"ridge"``,
        ``"banded_ridge"``, ``"attention_readout"``, ``"rsa"``, ``"trsa"``, ``"cka"``,
        ``"mutual_knn"``, ``"anc"``, ``"best_match"``, ``"shape"``, ``"stochastic_shape"``,
        plug-ins) or an instance.
    method_options : dict, optional
        Options of a method given by name (e.g. ``{"metric": "euclidean"}``).
    ceiling : bool
        Estimate noise ceilings when the recording has repeated trials (see Notes) and add
        ``ceiling`` and ``normalized = score / ceiling``.
    n_boot : int
        Bootstrap resamples of the stimuli for ``ci_low``/``ci_high`` (0: none). Continuous
        recordings are resampled in blocks of ``block`` samples.
    n_perm : int
        Permutations for ``p_value`` (0: none); ``p_fdr`` holds the Benjamini–Hochberg adjusted
        values across the whole map and ``significant`` the cells with ``p_fdr < alpha``.
    ci : float
        Coverage of the percentile intervals.
    alpha : float
        False discovery rate for ``significant``.
    random_state : int or numpy Generator, optional
        Seed of the bootstrap, the permutations and the split halves.
    cv, delays, hrf_model
        Encoders: outer cross-validation (contiguous blocks, or whole runs when the recording has
        them), FIR delays or an HRF for continuous recordings (see :func:`brainalign.encode`).
    block : int
        Block length (samples) of the bootstrap of continuous recordings.
    repetitions, on_missing
        Passed to :func:`brainalign.data.align`.
    on_error : {"raise", "nan"}
        What to do when a similarity method cannot score a region (e.g. its RDM is constant):
        raise, naming the region (default), or record NaN for it and log a warning (for
        simulation studies where degenerate draws are expected).

    Returns
    -------
    xarray.Dataset
        ``score`` over ``(layer, region)``, plus ``subject`` when the recording holds several
        subjects (scored apart; see :func:`group_map`) and ``latency`` for time-resolved
        recordings; with the options above ``ceiling``, ``normalized``, ``ci_low``, ``ci_high``,
        ``p_value``, ``p_fdr``, ``significant``. Layers keep the model's order, regions the
        recording's. ``attrs`` record the method and its parameters, ``higher_is_better``, the
        statistics, the cross-validation (encoders) and the library version.

    Notes
    -----
    **Encoders** are fitted once per layer (and outer fold) on all neuroids at once; a region's
    score is the mean held-out Pearson r of its neuroids. Their ceiling is the mean of
    ``√ρ`` over the region's neuroids, ``ρ`` the split-half (Spearman–Brown) reliability of the
    trial average (of a single trial with ``repetitions="keep"``, whose folds keep the trials of
    a stimulus together). The bootstrap resamples the held-out stimuli of every fold; the permutation
    test shuffles held-out predictions against the data within each fold (continuous data:
    circular shifts, which keep the autocorrelation).

    **Similarity methods** compute each layer's representation once and compare it with every
    region's. Their ceiling compares the two halves of the trials with the method itself
    (Spearman–Brown corrected for RSA/tRSA, whose scores are correlations). RDM-based methods
    (``rsa``, ``trsa``) use the vectorised RDM statistics of :mod:`brainalign.stats` (stimulus
    labels of the region's RDM permuted; bootstrap without zero-distance duplicate pairs), except
    the whitened-Pearson comparison, whose bootstrap recomputes the RDMs on resampled stimuli;
    other methods recompute their representations on resampled or permuted stimuli.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, alignment_map
    >>> rng = np.random.default_rng(0)
    >>> acts = data.activations({"l1": rng.normal(size=(20, 8)), "l2": rng.normal(size=(20, 8))},
    ...                         stimulus_id=np.arange(20))
    >>> rec = data.recording(acts.values[:, 8:] @ rng.normal(size=(8, 6)), stimulus_id=np.arange(20),
    ...                      subject="S1", region="V4")
    >>> m = alignment_map(acts, rec, "rsa")
    >>> str(m["score"].idxmax("layer").item())
    'l2'
    """
    method_obj, name = _method(method, dict(method_options or {}))
    check_option("on_error", on_error, ("raise", "nan"))
    for label, value in (("n_boot", n_boot), ("n_perm", n_perm), ("block", block)):
        if (
            not isinstance(value, (int, np.integer))
            or isinstance(value, bool)
            or value < (1 if label == "block" else 0)
        ):
            raise ValueError(
                f"{label} must be a {'positive' if label == 'block' else 'non-negative'} integer, got {value!r}."
            )
    if not 0 < ci < 1:
        raise ValueError(f"ci must be in (0, 1), got {ci!r}.")
    rng = check_random_state(random_state)
    if _is_encoder(method_obj):
        out = _encoder_map(
            activations,
            recording,
            method_obj,
            name,
            ceiling,
            n_boot,
            n_perm,
            ci,
            rng,
            cv,
            delays,
            hrf_model,
            block,
            repetitions,
            on_missing,
        )
    else:
        if delays is not None or hrf_model is not None:
            raise ValueError(f"delays / hrf_model apply to encoders; {name!r} compares representations.")
        out = _similarity_map(
            activations,
            recording,
            method_obj,
            name,
            ceiling,
            n_boot,
            n_perm,
            ci,
            rng,
            repetitions,
            on_missing,
            on_error,
        )
    if "p_value" in out:
        from .stats import fdr_correction

        significant, q = fdr_correction(out["p_value"], alpha)
        out["p_fdr"] = q
        out["significant"] = significant
    out.attrs.update(
        method=name,
        method_params=_params(method_obj),
        n_boot=int(n_boot),
        n_perm=int(n_perm),
        ci=float(ci),
        alpha=float(alpha),
        random_state=random_state if isinstance(random_state, (int, type(None))) else "generator",
        brainalign_version=__version__,
    )
    data.validate(out, "map")
    logger.info("alignment_map: %s over %d layers × %d regions", name, out.sizes["layer"], out.sizes["region"])
    return out


def _finish(values: dict[str, np.ndarray], layers: list[str], cells: _Cells, latency: np.ndarray | None) -> xr.Dataset:
    """Arrays over ``(layer, region, subject[, latency])`` (or without ``layer``) → the map Dataset."""
    coords: dict[str, Any] = {
        "layer": np.asarray(layers, dtype=object),
        "region": np.asarray(cells.regions),
        "subject": np.asarray(cells.subjects),
    }
    tail = ["region", "subject"]
    if latency is not None:
        coords["latency"] = np.asarray(latency, dtype=float)
        tail.append("latency")
    out = xr.Dataset(coords=coords)
    for key, arr in values.items():
        dims = tail if arr.ndim == len(tail) else ["layer", *tail]
        out[key] = xr.DataArray(arr, dims=dims)
    if len(cells.subjects) == 1:
        out = out.isel(subject=0)
    return out


# -------------------------------------------------------------------------------------- encoders
def _encoder_map(
    activations,
    recording,
    method_obj,
    name,
    ceiling,
    n_boot,
    n_perm,
    ci,
    rng,
    cv,
    delays,
    hrf_model,
    block,
    repetitions,
    on_missing,
) -> xr.Dataset:
    from .encoders import BandedRidgeEncoder
    from .encoding import encode

    banded = isinstance(method_obj, BandedRidgeEncoder)
    if banded and (n_boot or n_perm):
        raise ValueError(
            "banded_ridge maps give each band's share of the variance; bootstrap and permutations "
            "are available for the single-layer encoders (ridge, attention_readout)."
        )
    want = bool(n_boot or n_perm)
    seed = int(rng.integers(2**31))
    scores = encode(
        activations,
        recording,
        method_obj,
        cv=cv,
        delays=delays,
        hrf_model=hrf_model,
        ceiling="auto" if ceiling else False,
        repetitions=repetitions,
        on_missing=on_missing,
        random_state=seed,
        return_predictions=want,
    )
    cells = _Cells(scores)  # encode keeps the recording's neuroid coordinates
    latency = scores["latency"].values if "latency" in scores.dims else None
    n_lat = 1 if latency is None else len(latency)
    target_dims = ["neuroid", "latency"] if latency is not None else ["neuroid"]

    def cell_means(var: xr.DataArray) -> np.ndarray:
        """(lead..., neuroid[, latency]) → (lead..., region, subject[, latency])."""
        lead = [d for d in var.dims if d not in target_dims]
        v = var.transpose(*lead, *target_dims).values
        out = cells.target_means(v.reshape(*v.shape[: len(lead)], -1), n_lat)
        return out if latency is not None else out[..., 0]

    values: dict[str, np.ndarray] = {}
    if banded:
        layers = [str(b) for b in scores["band"].values]
        values["score"] = cell_means(scores["r2_split"])  # each band's held-out variance
    else:
        layers = [str(v) for v in scores["layer"].values]
        values["score"] = cell_means(scores["r"])
    if "ceiling" in scores:
        rho = scores["ceiling"].where(scores["ceiling"] > 0)
        ceil = cell_means(np.sqrt(rho)) if not banded else cell_means(rho)
        values["ceiling"] = ceil
        with np.errstate(invalid="ignore", divide="ignore"):
            values["normalized"] = values["score"] / ceil[None]
    if want:
        # The held-out targets, as encode aligned them.
        row = "time" if "time" in scores["target"].dims else "presentation"
        continuous = row == "time"
        n_rows = scores.sizes[row]
        Y = scores["target"].transpose(row, *target_dims).values.reshape(n_rows, -1).astype(np.float64)
        folds = [np.flatnonzero(scores["fold"].values == f) for f in np.unique(scores["fold"].values) if f >= 0]
        P_all = scores["prediction"].transpose("layer", row, *target_dims).values.reshape(len(layers), n_rows, -1)
        # Target columns of every (region, subject[, latency]) cell, in the flattened order of Y.
        groups = _target_groups(cells, scores.sizes["neuroid"], n_lat)
        boots, nulls = [], []
        for k in progress(range(len(layers)), desc=f"{name}: statistics"):
            P = P_all[k].astype(np.float64)
            if n_boot:
                r_boot = _fold_bootstrap(Y, P, folds, n_boot, rng, continuous, block)
                boots.append(cells.target_means(r_boot, n_lat))
            if n_perm:
                null = _fold_permutation(Y, P, folds, groups, n_perm, rng, continuous)
                nulls.append(null.reshape(n_perm, *cells.shape, n_lat))

        def to_cells(stack: np.ndarray) -> np.ndarray:  # (layer, draws, ...) → (draws, layer, region, subject[, lat])
            v = np.moveaxis(stack, 1, 0)
            return v if latency is not None else v[..., 0]

        if n_boot:
            values["ci_low"], values["ci_high"] = _percentiles(to_cells(np.stack(boots)), ci)
        if n_perm:
            values["p_value"] = _p_value(values["score"], to_cells(np.stack(nulls)), True)
    out = _finish(values, layers, cells, latency)
    out.attrs.update(
        higher_is_better=1,
        score="mean held-out Pearson r of the region's neuroids" if not banded else "each band's held-out R²",
        cv=scores.attrs["cv"],
        n_folds=scores.attrs["n_folds"],
        cv_groups=scores.attrs["cv_groups"],
        delays=scores.attrs["delays"],
        hrf_model=scores.attrs.get("hrf_model", "none"),
        ceiling_method=scores.attrs["ceiling"],
        n_stimuli=int(scores.attrs["n_samples"]),
        model=scores.attrs["model"],
    )
    return out


def _weighted_r(C: np.ndarray, Y: np.ndarray, P: np.ndarray) -> np.ndarray:
    """Pearson r of every column, for every row of sample weights ``C`` (draws × samples)."""
    w = C.sum(axis=1, keepdims=True)
    my, mp = (C @ Y) / w, (C @ P) / w
    cov = (C @ (Y * P)) / w - my * mp
    vy = (C @ (Y * Y)) / w - my * my
    vp = (C @ (P * P)) / w - mp * mp
    with np.errstate(invalid="ignore", divide="ignore"):
        return cov / np.sqrt(np.clip(vy, 0, None) * np.clip(vp, 0, None))


def _fold_bootstrap(
    Y: np.ndarray,
    P: np.ndarray,
    folds: list[np.ndarray],
    n_boot: int,
    rng: np.random.Generator,
    blocks: bool,
    block: int,
    batch: int = 64,
) -> np.ndarray:
    """Bootstrap of the fold-averaged r: resample each fold's held-out samples (or blocks)."""
    total = np.zeros((n_boot, Y.shape[1]))
    for idx in folds:
        m = len(idx)
        Yf, Pf = Y[idx], P[idx]
        for start in range(0, n_boot, batch):
            b = min(batch, n_boot - start)
            if blocks and m > block:
                n_blocks = -(-m // block)
                starts = rng.integers(0, m - block + 1, size=(b, n_blocks))
                rows = (starts[..., None] + np.arange(block)).reshape(b, -1)
            else:
                rows = rng.integers(0, m, size=(b, m))
            C = np.zeros((b, m))
            np.add.at(C, (np.repeat(np.arange(b), rows.shape[1]), rows.ravel()), 1.0)
            total[start : start + b] += _weighted_r(C, Yf, Pf)
    return total / len(folds)


def _target_groups(cells: _Cells, n_neuroids: int, n_lat: int) -> list[np.ndarray]:
    """Flat target columns (neuroid-major, latency-minor) of each (region, subject, latency) cell."""
    groups = []
    for r in range(cells.shape[0]):
        for s in range(cells.shape[1]):
            cols = cells.columns[r, s]
            for t in range(n_lat):
                groups.append(cols * n_lat + t)
    return groups


def _fold_permutation(
    Y: np.ndarray,
    P: np.ndarray,
    folds: list[np.ndarray],
    groups: list[np.ndarray],
    n_perm: int,
    rng: np.random.Generator,
    circular: bool,
    batch: int = 256,
) -> np.ndarray:
    """Null cell scores: held-out predictions shuffled (or circularly shifted) within each fold.

    A cell's score is the mean over its targets of the fold-averaged r. Under a permutation ``π``
    of a fold's rows only the cross products change, so with ``G = (Ŷ/‖Ŷ‖‖P̂‖) P̂ᵀ / n_targets``
    (``Ŷ``, ``P̂`` centred) computed once per fold and cell, the permuted score is
    ``Σ_i G[i, π(i)]``: one matrix product per fold, then ``O(rows)`` per permutation instead of a
    pass over every target.
    """
    total = np.zeros((n_perm, len(groups)))
    for idx in folds:
        m = len(idx)
        if circular:
            shifts = rng.integers(max(1, m // 10), max(2, m - m // 10), size=n_perm)
            perms = (np.arange(m)[None, :] + shifts[:, None]) % m
        else:
            perms = np.argsort(rng.random((n_perm, m)), axis=1)
        Yc = Y[idx] - Y[idx].mean(axis=0)
        Pc = P[idx] - P[idx].mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            norm = np.sqrt((Yc * Yc).sum(axis=0) * (Pc * Pc).sum(axis=0))
        for g, cols in enumerate(groups):
            ok = cols[np.isfinite(norm[cols]) & (norm[cols] > 0)]
            if not len(ok):
                total[:, g] = np.nan
                continue
            G = (Yc[:, ok] / norm[ok]) @ Pc[:, ok].T / len(ok)
            for start in range(0, n_perm, batch):
                block = perms[start : start + batch]
                total[start : start + batch, g] += G[np.arange(m)[None, :], block].sum(axis=1)
    return total / len(folds)


# --------------------------------------------------------------------------- similarity methods
def _similarity_map(
    activations, recording, method_obj, name, ceiling, n_boot, n_perm, ci, rng, repetitions, on_missing, on_error
) -> xr.Dataset:
    needs_trials = bool(getattr(method_obj, "needs_trials", False))
    if needs_trials:
        _trials_recording(recording, name)
        if repetitions == "average":
            raise ValueError(f"{name} needs the trials; do not pass repetitions='average'.")
        repetitions = "keep"
    acts, rec = data.align(activations, recording, repetitions=repetitions, on_missing=on_missing)
    kind = data.detect_kind(rec)
    if kind == "continuous":  # pragma: no cover - align already refuses this pairing
        raise ValueError("similarity methods need a condition-based or time-resolved recording.")
    higher = not getattr(method_obj, "is_distance", False)
    layers = data.layer_names(acts)
    cells = _Cells(rec)
    latency = rec["latency"].values if kind == "time_resolved" else None
    latencies = [None] if latency is None else list(latency)
    X = acts.transpose("presentation", "unit").values
    layer_of = np.asarray(acts["layer"].values)
    blocks_x = [X[:, layer_of == layer] for layer in layers]
    batched = hasattr(method_obj, "represent") and hasattr(method_obj, "compare_represented") and not needs_trials
    reps_x = None
    usable = np.ones(len(layers), dtype=bool)  # layers the method can represent
    if batched:
        reps = []
        for k, B in enumerate(progress(blocks_x, desc=f"{name}: layers")):
            try:
                reps.append(method_obj.represent(B))
            except ValueError as err:
                message = f"{name}: layer {layers[k]!r}: {err}"
                if on_error == "raise":
                    raise ValueError(message) from err
                logger.warning("%s (scored NaN)", message)
                usable[k] = False
        reps_x = _stacked(reps) if reps else None

    def region_data(R: xr.DataArray, cols: np.ndarray) -> np.ndarray:
        if needs_trials:
            return R.transpose("repetition", "presentation", "neuroid").values[..., cols]
        if "repetition" in R.dims:
            R = R.mean("repetition")
        return R.transpose("presentation", "neuroid").values[:, cols]

    def score_block(rep_x: Any, blocks: list[np.ndarray], Yr: np.ndarray) -> np.ndarray:
        if batched:
            out = np.full(len(blocks), np.nan)
            if rep_x is not None:
                out[usable] = np.asarray(method_obj.compare_represented(rep_x, method_obj.represent(Yr)))[:, 0]
            return out
        return np.array([method_obj(B, Yr) for B in blocks])

    n_l, (n_r, n_s), n_t = len(layers), cells.shape, len(latencies)
    score = np.full((n_l, n_r, n_s, n_t), np.nan)
    views = {}
    for t, lat in enumerate(latencies):
        R = rec.sel(latency=lat) if lat is not None else rec
        for (r, s), cols in cells.columns.items():
            if not len(cols):
                continue
            Yr = region_data(R, cols)
            views[r, s, t] = Yr
            try:
                score[:, r, s, t] = score_block(reps_x, blocks_x, Yr)
            except ValueError as err:
                message = f"{name}: region {cells.regions[r]!r} of subject {cells.subjects[s]!r}: {err}"
                if on_error == "raise":
                    raise ValueError(message) from err
                logger.warning("%s (scored NaN)", message)
    values: dict[str, np.ndarray] = {"score": score}

    if ceiling and not needs_trials:
        ceil = _similarity_ceiling(method_obj, recording, rec, cells, latencies, rng)
        if ceil is not None:
            values["ceiling"] = ceil
            if higher:
                with np.errstate(invalid="ignore", divide="ignore"):
                    values["normalized"] = score / np.where(ceil > 0, ceil, np.nan)[None]
    if n_boot or n_perm:
        rdm_based = hasattr(method_obj, "rdm_matrix")
        if rdm_based:
            lo, hi, p = _rdm_statistics(method_obj, blocks_x, views, acts, score.shape, n_boot, n_perm, ci, rng)
        else:
            lo, hi, p = _resampling_statistics(
                method_obj, blocks_x, views, score.shape, n_boot, n_perm, ci, rng, higher, score, batched
            )
        if n_boot:
            values["ci_low"], values["ci_high"] = lo, hi
        if n_perm:
            values["p_value"] = p
    if latency is None:
        values = {k: v[..., 0] for k, v in values.items()}
    out = _finish(values, layers, cells, latency)
    out.attrs.update(
        higher_is_better=int(higher),
        n_stimuli=int(acts.sizes["presentation"]),
        model=str(acts["model"].values[0]),
        ceiling_method=("split_half" + ("_spearman_brown" if getattr(method_obj, "spearman_brown", False) else ""))
        if "ceiling" in values
        else "none",
    )
    return out


def _similarity_ceiling(
    method: Any,
    recording: xr.DataArray,
    rec: xr.DataArray,
    cells: _Cells,
    latencies: list,
    rng: np.random.Generator,
    n_splits: int = 10,
) -> np.ndarray | None:
    """The method's own score between two halves of the trials, averaged over random splits.

    For methods whose scores are correlations (``spearman_brown``), the split-half value is
    Spearman–Brown corrected to all trials (ρ) and the ceiling is √ρ, the largest score a
    noise-free model can expect, as for encoders.
    """
    trials = _trials(recording)
    if trials is None:
        return None
    # The trials in the aligned recording's stimulus order, pivoted once for all splits.
    ids = pd.Index(np.asarray(trials["stimulus_id"].values))
    trials = trials.isel(presentation=ids.get_indexer(np.asarray(rec["stimulus_id"].values)))
    correct = bool(getattr(method, "spearman_brown", False))
    sums = np.zeros((*cells.shape, len(latencies)))
    counts = np.zeros_like(sums)
    for _ in range(n_splits):
        halves = _split_halves(trials, rng)
        if halves is None:
            return None
        A, B = halves
        for t, lat in enumerate(latencies):
            Ah = A.sel(latency=lat) if lat is not None else A
            Bh = B.sel(latency=lat) if lat is not None else B
            for (r, s), cols in cells.columns.items():
                if not len(cols):
                    continue
                try:
                    c = float(method(Ah.values[:, cols], Bh.values[:, cols]))
                except ValueError:  # e.g. a constant half
                    continue
                if np.isfinite(c):
                    sums[r, s, t] += c
                    counts[r, s, t] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        ceil = sums / counts
    if correct:
        rho = 2 * ceil / (1 + ceil)
        ceil = np.where(rho > 0, np.sqrt(np.clip(rho, 0, None)), np.nan)
    return ceil


def _stacked(reps: list[Any]) -> Any:
    """One stacked numpy array when the representations share a shape, else the list."""
    if reps and all(isinstance(r, np.ndarray) for r in reps) and len({r.shape for r in reps}) == 1:
        return np.stack(reps)
    return reps


def _trials(recording: xr.DataArray) -> xr.DataArray | None:
    """The recording with its trials on a ``repetition`` dim (NaN where a stimulus has fewer).

    Recordings that repeat a ``stimulus_id`` along ``presentation`` are pivoted; ``None`` when
    no stimulus has two trials.
    """
    if "repetition" in recording.dims:
        return recording if recording.sizes["repetition"] >= 2 else None
    ids = pd.Series(np.asarray(recording["stimulus_id"].values))
    if not ids.duplicated().any():
        return None
    trial = ids.groupby(ids, sort=False).cumcount().to_numpy()
    codes, uniques = pd.factorize(ids)
    R = recording.transpose("presentation", ...)
    values = np.full((len(uniques), *R.shape[1:], int(trial.max()) + 1), np.nan)
    values[codes, ..., trial] = R.values
    dims = (*R.dims, "repetition")
    coords = {k: v for k, v in R.coords.items() if "presentation" not in v.dims}
    coords["stimulus_id"] = ("presentation", np.asarray(uniques))
    return xr.DataArray(values, dims=dims, coords=coords)


def _split_halves(trials: xr.DataArray, rng: np.random.Generator) -> tuple[xr.DataArray, xr.DataArray] | None:
    """Two averages of a random half of the trials each (None when fewer than 3 stimuli remain)."""
    order = rng.permutation(trials.sizes["repetition"])
    half = trials.sizes["repetition"] // 2
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # stimuli with fewer trials
        a = trials.isel(repetition=order[:half]).mean("repetition", skipna=True)
        b = trials.isel(repetition=order[half:]).mean("repetition", skipna=True)
    keep = np.isfinite(a.values).reshape(a.sizes["presentation"], -1).all(axis=1) & np.isfinite(b.values).reshape(
        b.sizes["presentation"], -1
    ).all(axis=1)
    if keep.sum() < 3:
        return None
    a, b = a.isel(presentation=keep), b.isel(presentation=keep)
    order = ["presentation", "neuroid", *(["latency"] if "latency" in a.dims else [])]
    return a.transpose(*order), b.transpose(*order)


def _rdm_statistics(method, blocks_x, views, acts, shape, n_boot, n_perm, ci, rng):
    """Bootstrap and permutation statistics of RDM-based methods with brainalign.stats.

    All layers against all (region, subject, latency) cells in one call each: every cell is
    resampled and permuted with the same draws. Comparisons that
    :func:`brainalign.stats.bootstrap_stimuli` does not resample (the whitened Pearson) are
    bootstrapped by recomputing the RDMs on resampled stimuli (:func:`_resampling_statistics`).
    """
    from . import stats

    ids = np.asarray(acts["stimulus_id"].values)
    coords = {"stimulus_id": ids, "stimulus_id_2": ids}
    dims = ("stimulus_id", "stimulus_id_2")
    layer_rdms = xr.DataArray(np.stack([method.rdm_matrix(B) for B in blocks_x]), dims=("layer", *dims), coords=coords)
    keys = list(views)
    cell_rdms = xr.DataArray(np.stack([method.rdm_matrix(views[k]) for k in keys]), dims=("cell", *dims), coords=coords)
    lo, hi, p = (np.full(shape, np.nan) for _ in range(3))
    index = tuple(np.array(i) for i in zip(*keys, strict=True))  # (r, s, t) of every cell
    seed = int(rng.integers(2**31))
    if n_boot and method.compare not in stats.BOOTSTRAP_METHODS:
        # The whitened Pearson needs complete RDMs (no left-out duplicate pairs): recompute the
        # RDMs on each resample of the stimuli instead.
        lo, hi, _ = _resampling_statistics(
            method, blocks_x, views, shape, n_boot, 0, ci, np.random.default_rng(seed), True, None, True
        )
    elif n_boot:
        boot = stats.bootstrap_stimuli(layer_rdms, cell_rdms, method.compare, n_boot=n_boot, ci=ci, random_state=seed)
        lo[(slice(None), *index)] = boot["ci_low"].transpose("layer", "cell").values
        hi[(slice(None), *index)] = boot["ci_high"].transpose("layer", "cell").values
    if n_perm:
        test = stats.permutation_test(layer_rdms, cell_rdms, method.compare, n_perm=n_perm, random_state=seed + 1)
        p[(slice(None), *index)] = test["p_value"].transpose("layer", "cell").values
    return lo, hi, p


def _resampling_statistics(method, blocks_x, views, shape, n_boot, n_perm, ci, rng, higher, score, batched):
    """Bootstrap and permutation statistics by recomputing representations on resampled stimuli."""
    n = blocks_x[0].shape[0]
    lo = hi = p = None

    def scores_for(reps: Any, xs: list[np.ndarray], rows: np.ndarray) -> np.ndarray:
        """Every cell's scores with the region data's stimuli taken in the order ``rows``."""
        out = np.full(shape, np.nan)
        for (r, s, t), Yr in views.items():
            Yb = Yr[..., rows, :]
            try:
                if reps is not None:
                    out[:, r, s, t] = np.asarray(method.compare_represented(reps, method.represent(Yb)))[:, 0]
                else:
                    out[:, r, s, t] = [method(B, Yb) for B in xs]
            except ValueError:  # a degenerate resample (e.g. too few distinct stimuli)
                continue
        return out

    if n_boot:
        draws = []
        for _ in progress(range(n_boot), desc="bootstrap"):
            rows = rng.integers(0, n, size=n)
            xs = [B[rows] for B in blocks_x]
            draws.append(scores_for(_stacked([method.represent(B) for B in xs]) if batched else None, xs, rows))
        lo, hi = _percentiles(np.stack(draws), ci)
    if n_perm:
        reps_x = _stacked([method.represent(B) for B in blocks_x]) if batched else None
        null = [scores_for(reps_x, blocks_x, rng.permutation(n)) for _ in progress(range(n_perm), desc="permutations")]
        p = _p_value(score, np.stack(null), higher)
    return lo, hi, p


# -------------------------------------------------------------------------------- group and best
def group_map(
    amap: xr.Dataset,
    *,
    n_boot: int = 1000,
    n_perm: int = 1000,
    ci: float = 0.95,
    alpha: float = 0.05,
    random_state: int | np.random.Generator | None = 0,
) -> xr.Dataset:
    """The group map of a per-subject map: mean over subjects, with subject-level statistics.

    ``ci_low``/``ci_high`` bootstrap the subjects; ``p_value`` is a sign-flip permutation test of
    the mean over subjects against 0 (random effects: subjects are the unit of inference; exact,
    over all ``2**n_subjects`` sign patterns, when those are no more than ``n_perm`` — so with
    few subjects the smallest possible p-value is ``2**-n_subjects``). Distances (shape metrics)
    have no 0 to test against: they get ``score`` and the CIs only. ``p_fdr`` and ``significant``
    control the false discovery rate across the map. ``ceiling`` and ``normalized`` are the
    subjects' means.

    Parameters
    ----------
    amap : xarray.Dataset
        A map with a ``subject`` dim (:func:`alignment_map` of a recording with several subjects).
    n_boot, n_perm : int
        Bootstrap resamples and sign flips (0: none).
    ci, alpha : float
        Interval coverage and false discovery rate.
    random_state : int or numpy Generator, optional

    Returns
    -------
    xarray.Dataset
        A map over ``layer × region`` (``latency`` kept), with ``n_subjects`` in attrs.

    Examples
    --------
    >>> group = group_map(per_subject_map, n_boot=1000, n_perm=1000)  # doctest: +SKIP
    """
    from .stats import bootstrap_subjects, fdr_correction

    data.validate(amap, "map", name="amap")
    if "subject" not in amap["score"].dims:
        raise ValueError("amap has no 'subject' dim: it is already a single-subject or group map.")
    rng = check_random_state(random_state)
    scores = amap["score"]
    n_subjects = scores.sizes["subject"]
    if n_subjects < 2:
        raise ValueError("A group map needs at least 2 subjects.")
    out = xr.Dataset({"score": scores.mean("subject", skipna=True)})
    for var in ("ceiling", "normalized"):
        if var in amap:
            out[var] = amap[var].mean("subject", skipna=True) if "subject" in amap[var].dims else amap[var]
    if n_boot:
        boot = bootstrap_subjects(scores, dim="subject", n_boot=n_boot, ci=ci, random_state=int(rng.integers(2**31)))
        out["ci_low"], out["ci_high"] = boot["ci_low"], boot["ci_high"]
    higher = bool(amap.attrs.get("higher_is_better", 1))
    if n_perm and higher:
        by_subject = scores.transpose("subject", ...)
        values = by_subject.values
        if 2**n_subjects <= n_perm:  # few subjects: every sign pattern, an exact test
            signs = 1.0 - 2.0 * ((np.arange(2**n_subjects)[:, None] >> np.arange(n_subjects)) & 1)
        else:
            signs = rng.choice([-1.0, 1.0], size=(n_perm, n_subjects))
        filled = np.where(np.isfinite(values), values, 0.0)
        counts = np.isfinite(values).sum(axis=0).astype(float)
        counts[counts == 0] = np.nan
        observed = filled.sum(axis=0) / counts
        null = np.tensordot(signs, filled, axes=(1, 0)) / counts
        if 2**n_subjects <= n_perm:  # exact: the identity is one of the enumerated patterns
            p = np.sum(null >= observed[None] - 1e-12, axis=0) / len(signs)
        else:
            p = _p_value(observed, null, True)
        out["p_value"] = xr.DataArray(p, dims=by_subject.dims[1:])
        significant, q = fdr_correction(out["p_value"], alpha)
        out["p_fdr"], out["significant"] = q, significant
    out.attrs.update({k: v for k, v in amap.attrs.items() if k not in ("n_boot", "n_perm")})
    exact = bool(n_perm and 2**n_subjects <= n_perm)
    out.attrs.update(
        level="group",
        n_subjects=int(n_subjects),
        group_n_boot=int(n_boot),
        group_n_perm=int(2**n_subjects if exact else n_perm),
        group_test=("sign-flip test of subject scores against 0" + (" (exact)" if exact else ""))
        if n_perm and higher
        else "none",
    )
    data.validate(out, "map")
    return out


def best_layer(amap: xr.Dataset, variable: str = "score") -> xr.DataArray:
    """The best layer of every region (``idxmax``, or ``idxmin`` for distances).

    Examples
    --------
    >>> best_layer(amap).sel(region="IT").item()  # doctest: +SKIP
    'encoder.layer.3'
    """
    check_option("variable", variable, tuple(amap.data_vars))
    values = amap[variable]
    if amap.attrs.get("higher_is_better", 1):
        return values.fillna(-np.inf).idxmax("layer")
    return values.fillna(np.inf).idxmin("layer")


_GROUP = "group_"


def with_group(amap: xr.Dataset, **options: Any) -> xr.Dataset:
    """``amap`` plus its group map (:func:`group_map`) as ``group_*`` variables, when it has subjects.

    One file then holds the per-subject and the group map.

    Examples
    --------
    >>> both = with_group(per_subject_map, n_boot=1000, n_perm=1000)  # doctest: +SKIP
    >>> both["group_score"].dims  # doctest: +SKIP
    ('layer', 'region')
    """
    if "subject" not in amap["score"].dims or amap.sizes["subject"] < 2:
        return amap
    group = group_map(amap, **options)
    out = amap.copy()
    for var in group.data_vars:
        out[_GROUP + var] = group[var]
    for key in ("group_n_boot", "group_n_perm", "group_test", "n_subjects"):
        out.attrs[key] = group.attrs[key]
    return out


def summary_view(amap: xr.Dataset) -> xr.Dataset:
    """A ``layer × region`` view of any map, for tables and figures.

    The group map when the file holds one (:func:`with_group`), else the mean over subjects;
    time-resolved maps are averaged over latency.

    Examples
    --------
    >>> summary_view(amap)["score"].dims  # doctest: +SKIP
    ('layer', 'region')
    """
    if _GROUP + "score" in amap:
        view = xr.Dataset({k[len(_GROUP) :]: v for k, v in amap.data_vars.items() if k.startswith(_GROUP)})
    else:
        view = amap[[v for v in amap.data_vars if not v.startswith(_GROUP)]]
    extra = [d for d in view["score"].dims if d not in ("layer", "region")]
    if extra:
        view = view[["score"] + [v for v in ("ceiling", "normalized") if v in view]].mean(extra, keep_attrs=True)
    view.attrs = dict(amap.attrs)
    return view
