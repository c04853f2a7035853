"""Noise ceilings of similarity maps: the method's own score between two halves of the trials."""

from __future__ import annotations

import warnings
from typing import Any, NamedTuple

import numpy as np
import xarray as xr

from .. import data
from ..methods import MethodInfo
from ..metrics.ceiling import fold_halves, half_averages
from ..utils import logger
from ._cells import Cells

#: Random splits of the trials averaged by a similarity ceiling.
N_SPLITS = 10
#: The fewest repetitions (folds) in each half of a crossvalidated method's split (crossnobis: leave one out).
MIN_FOLDS = 2
#: Dissimilarities per half held at once by the batched cell RDMs of a ceiling (a group of cells' RDMs).
CELL_RDM_VALUES = 2**21


class Ceiling(NamedTuple):
    """A similarity ceiling per ``(cell, subject, latency)``: the mean over split-half draws, the
    2.5th and 97.5th percentiles of the draws (its own uncertainty), and why a cell has none."""

    value: np.ndarray
    low: np.ndarray
    high: np.ndarray
    #: ``(cell, subject, latency) → reason`` for every NaN ceiling.
    reasons: dict[tuple[int, int, int], str]


def similarity_ceiling(
    method: Any,
    info: MethodInfo,
    recording: xr.DataArray,
    rec: xr.DataArray,
    cells: Cells,
    latencies: list,
    rng: np.random.Generator,
    n_splits: int = N_SPLITS,
) -> Ceiling | None:
    """The method's own score between two halves of the trials, averaged over random splits.

    With the ``split_half_spearman_brown`` rule (scores that are correlations) the split-half
    value is Spearman–Brown corrected to all trials (ρ) and the ceiling is √ρ, the largest score
    a noise-free model can expect, as for encoders. ``low``/``high`` are the same transform of
    the 2.5th and 97.5th percentiles of the split values (how much the ceiling moves with the
    split). None when the recording has no trials.

    Methods that need trials (``needs_trials``: crossnobis RSA, whose repetitions are its folds)
    see each half trial-resolved: whole repetitions are split (:func:`~brainalign.metrics.ceiling.fold_halves`,
    at least :data:`MIN_FOLDS` in each half) and the method scores the two ``(repetition, presentation,
    neuroid)`` halves itself (crossnobis: each half's RDM crossvalidated within the half, with the
    noise covariance of its own residuals). With fewer than ``2 * MIN_FOLDS`` repetitions every
    ceiling is NaN, with that reason.

    Every split's scores come through the method's batched kernels where it declares them (see
    :func:`_half_scores`); each equals the method called on the cell's two halves.
    """
    trials = data.trials(recording, if_fewer="none")
    if trials is None:
        return None
    # The trials in the aligned recording's stimulus order.
    ids = list(np.asarray(trials["stimulus_id"].values))
    where = {v: i for i, v in enumerate(ids)}
    trials = trials.isel(presentation=[where[v] for v in np.asarray(rec["stimulus_id"].values)])
    draws = np.full((n_splits, *cells.shape, len(latencies)), np.nan)
    lead = ("repetition",) if info.needs_trials else ()
    if info.needs_trials and trials.sizes["repetition"] < 2 * MIN_FOLDS:
        why = (
            f"a split-half ceiling of a method that crossvalidates over repetitions needs at least {2 * MIN_FOLDS} "
            f"repetitions ({MIN_FOLDS} folds in each half); the recording has {trials.sizes['repetition']}"
        )
        nan = draws[0]
        return Ceiling(nan, nan.copy(), nan.copy(), {(c, s, t): why for c, s, t in np.ndindex(nan.shape)})
    errors: dict[tuple[int, int, int], str] = {}
    items = cells.items()
    columns = [cols for _, cols in items]
    for k in range(n_splits):
        halves = fold_halves(trials, rng, min_folds=MIN_FOLDS) if lead else half_averages(trials, rng)
        if halves is None:
            return None
        A, B = halves
        for t, lat in enumerate(latencies):
            Ah = (A.sel(latency=lat) if lat is not None else A).transpose(*lead, "presentation", "neuroid").values
            Bh = (B.sel(latency=lat) if lat is not None else B).transpose(*lead, "presentation", "neuroid").values
            scores, refused = _half_scores(method, info, Ah, Bh, columns)
            for i, ((c, s), _) in enumerate(items):
                draws[k, c, s, t] = scores[i]
                if i in refused:  # e.g. a constant half
                    errors.setdefault((c, s, t), refused[i])
    finite = np.isfinite(draws)
    with np.errstate(invalid="ignore", divide="ignore"):
        ceil = np.where(finite, draws, 0.0).sum(0) / finite.sum(0)
    # The band: percentiles of the draws (vectorized where every draw is finite; NaN-aware, cell by cell, elsewhere).
    gaps = ~finite.all(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells: explained in reasons
        low, high = np.percentile(draws, [2.5, 97.5], axis=0)
        if gaps.any():
            low[gaps], high[gaps] = np.nanpercentile(draws[:, gaps], [2.5, 97.5], axis=0)
    raw = ceil
    if info.ceiling == "split_half_spearman_brown":
        # A bound whose split-half reliability is ≤ 0 is a ceiling of 0 (the point estimate is NaN there).
        ceil = _spearman_brown_root(ceil)
        low, high = (np.sqrt(np.clip(2 * v / (1 + v), 0, None)) for v in (low, high))
    ok = np.isfinite(ceil)  # the band holds the point estimate (10 draws: interpolated percentiles)
    low = np.where(ok, np.fmin(low, ceil), np.nan)
    high = np.where(ok, np.fmax(high, ceil), np.nan)
    reasons = {}
    for c, s, t in zip(*np.nonzero(~np.isfinite(ceil)), strict=True):
        key = (int(c), int(s), int(t))
        n_ok = int(finite[:, c, s, t].sum())
        if n_ok == 0:
            why = errors.get(key, "the method gave no finite score")
            reasons[key] = f"no split of the trials could be scored ({why})"
        else:
            reasons[key] = (
                f"the halves of the trials do not agree (mean split-half score {float(raw[c, s, t]):.3g} "
                "≤ 0: the responses are too noisy for a ceiling)"
            )
    return Ceiling(ceil, low, high, reasons)


def _half_scores(
    method: Any, info: MethodInfo, Ah: np.ndarray, Bh: np.ndarray, columns: list[np.ndarray]
) -> tuple[np.ndarray, dict[int, str]]:
    """The score of every cell's half ``Ah[..., cols]`` against its half ``Bh[..., cols]``, and why
    each cell the method refused was refused (its ``ValueError``; NaN score).

    Each equals ``method(Ah[..., cols], Bh[..., cols])``, computed through the method's batched
    kernels where it declares them: an RDM method whose brain RDM is a plain ``rdm_metric`` has
    every cell's RDM of each half from :func:`brainalign.searchlight.cell_rdms` and the two halves'
    RDMs of each cell compared in one batched call (the comparison's ``paired`` scores); other
    methods with ``represent`` kernels represent each half of each cell and compare the two. Cells
    these kernels refuse (a constant half), and methods without batched kernels, are called one
    cell at a time, which also words the refusal.
    """
    out = np.full(len(columns), np.nan)
    todo = np.arange(len(columns))
    batched = info.kernels in ("represent", "rdm") and (not info.needs_trials or info.kernels == "rdm")
    if batched and _cells_batched(method, info):
        todo = _cell_rdm_scores(method, info.rdm_metric, Ah, Bh, columns, out)
    if batched and todo.size:
        todo = _represented_scores(method, Ah, Bh, columns, todo, out)
    refused = {}
    for i in todo:
        cols = columns[i]
        try:
            out[i] = float(method(Ah[..., cols], Bh[..., cols]))
        except ValueError as err:
            refused[int(i)] = str(err)
    return out, refused


def _cells_batched(method: Any, info: MethodInfo) -> bool:
    """Whether the cells' RDMs of a half come out of :func:`brainalign.searchlight.cell_rdms`: an
    RDM method whose brain RDM is a plain ``rdm_metric``, compared by a comparison of
    :mod:`brainalign.metrics.comparisons` (each pair of half RDMs by its ``paired`` scores)."""
    from ..metrics.comparisons import list_comparisons
    from ..searchlight import CELL_METRICS

    return info.kernels == "rdm" and info.rdm_metric in CELL_METRICS and method.comparison in list_comparisons()


def _cell_rdm_scores(
    method: Any, metric: str, Ah: np.ndarray, Bh: np.ndarray, columns: list[np.ndarray], out: np.ndarray
) -> np.ndarray:
    """Fill ``out`` with the comparison of each cell's two half RDMs (:func:`~brainalign.searchlight.cell_rdms`),
    in groups of cells of similar size of at most :data:`CELL_RDM_VALUES` dissimilarities per half; return
    the cells left unscored (the groups in which a degenerate cell made the kernels refuse)."""
    from ..metrics._arrays import resolve_backend
    from ..metrics.comparisons import get_comparison
    from ..searchlight import cell_rdms

    comparison = get_comparison(method.comparison)
    # Crossnobis trial blocks in float64, as RSA takes them; other blocks keep their precision, as RSA does.
    halves = [np.transpose(H, (1, 2, 0)).astype(float) if metric == "crossnobis" else H for H in (Ah, Bh)]
    be = resolve_backend(None, *halves)
    n = halves[0].shape[0]
    order = np.argsort([len(cols) for cols in columns], kind="stable")  # similar sizes pad little
    per_group = max(1, CELL_RDM_VALUES // max(n * (n - 1) // 2, 1))
    left = []
    for start in range(0, len(order), per_group):
        group = order[start : start + per_group]
        try:
            represented = []
            for H in halves:
                rdms = be.xp.concat([D for _, D in cell_rdms(H, [columns[i] for i in group], metric, backend=be)])
                represented.append(comparison.represent(be, rdms, "the half RDM"))
        except ValueError:  # a constant half: the group is scored cell by cell, which names it
            left.extend(group)
            continue
        out[group] = comparison.paired(be, *represented)
    return np.asarray(sorted(left), dtype=int)


def _represented_scores(
    method: Any, Ah: np.ndarray, Bh: np.ndarray, columns: list[np.ndarray], todo: np.ndarray, out: np.ndarray
) -> np.ndarray:
    """Fill ``out[todo]`` with ``compare_represented`` of each cell's two represented halves; return
    the cells the method could not represent.

    One pair per call: the all-pairs score of a chunk of cells would waste all but its diagonal,
    which costs as much as the diagonal for comparisons computed pair by pair (Kendall's τ,
    Procrustes shape metrics).
    """
    refused = []
    for i in todo:
        cols = columns[i]
        try:
            rep_a, rep_b = method.represent(Ah[..., cols]), method.represent(Bh[..., cols])
        except ValueError:
            refused.append(i)
        else:
            out[i] = np.asarray(method.compare_represented([rep_a], [rep_b]))[0, 0]
    return np.asarray(refused, dtype=int)


def _spearman_brown_root(value: np.ndarray) -> np.ndarray:
    """√ρ with ρ = 2r / (1 + r) the Spearman–Brown corrected split-half r; NaN where ρ ≤ 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = 2 * value / (1 + value)
    return np.where(rho > 0, np.sqrt(np.clip(rho, 0, None)), np.nan)


def _where(cells: Cells, latencies: list, c: int, s: int, t: int) -> str:
    at = f" at latency {latencies[t]}" if latencies[t] is not None else ""
    return f"{cells.dim} {cells.labels[c]!r} of subject {cells.subjects[s]!r}{at}"


def explain_ceilings(reasons: dict[tuple[int, int, int], str], cells: Cells, latencies: list, name: str) -> None:
    """Log why each NaN ceiling is NaN (which cell, what was degenerate)."""
    for (c, s, t), why in list(reasons.items())[:10]:
        logger.warning("%s: no noise ceiling for %s: %s.", name, _where(cells, latencies, c, s, t), why)
    if len(reasons) > 10:
        logger.warning("%s: %d more cells have no noise ceiling.", name, len(reasons) - 10)


def check_normalized(normalized: np.ndarray, layers: list, cells: Cells, latencies: list, name: str) -> int:
    """Warn when ``normalized`` (layer, cell, subject[, latency]) leaves [−1, 1], saying why; return how
    many values do."""
    values = normalized.reshape(*normalized.shape[:3], -1)
    outside = np.isfinite(values) & (np.abs(values) > 1)
    n_out = int(outside.sum())
    if n_out:
        idx = np.argwhere(outside)
        worst = max(idx, key=lambda i: abs(values[tuple(i)]))
        k, c, s, t = (int(v) for v in worst)
        where = f"layer {layers[k]!r}, {_where(cells, latencies, c, s, t)}"
        logger.warning(
            "%s: normalized = score / ceiling leaves [-1, 1] for %d of %d scores (e.g. %s: %.3g). The "
            "ceiling is itself an estimate from splits of the trials (see ceiling_low/ceiling_high): a score above "
            "it means the model agrees with the data more than the halves agree with each other — the ceiling is "
            "noisy or low (few trials, noisy responses; a biased score such as plain CKA is above 0 on noise), "
            "not that the model beats the data.",
            name, n_out, int(np.isfinite(values).sum()), where, values[k, c, s, t],
        )  # fmt: skip
    return n_out
