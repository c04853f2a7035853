"""Noise ceilings from repeated presentations: split-half reliability with Spearman–Brown.

How well can *any* model predict a neuroid, given that its measured response is noisy? With
repeated presentations of the same stimuli, split the repetitions into two halves, average
each, and correlate the halves across stimuli: that is the reliability of a half. The
Spearman–Brown formula extends it to the average of all repetitions (twice as many as a half).

The reliability ``ρ`` is the share of the variance of the trial-averaged response that is
signal. So a perfect model reaches at most ``R² = ρ`` and ``r = √ρ`` against the averaged
data; :func:`brainalign.encode` divides by these.

(RDM noise ceilings live with the RDM comparisons in :mod:`brainalign.metrics.rsa`.)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..utils import check_count, check_random_state
from .columns import pearson_columns

__all__ = ["fold_halves", "half_averages", "reliability", "spearman_brown", "split_half", "split_masks"]


def spearman_brown(r: Any, factor: float = 2.0) -> Any:
    """The reliability of a measure ``factor`` times as long: ``factor·r / (1 + (factor − 1)·r)``.

    Parameters
    ----------
    r : float or array
        Reliability (correlation between two parallel measures) of the shorter measure.
    factor : float
        How many times longer the new measure is (2 for split-half → full).

    References
    ----------
    .. [1] Spearman, C. (1910). Correlation calculated from faulty data. Br. J. Psychol. 3.
    .. [2] Brown, W. (1910). Some experimental results in the correlation of mental abilities.
       Br. J. Psychol. 3.

    Examples
    --------
    >>> round(spearman_brown(0.5), 4)
    0.6667
    """
    if not np.isfinite(factor) or factor <= 0:
        raise ValueError(f"factor must be a positive number, got {factor!r}.")
    r = np.asarray(r, dtype=float) if not isinstance(r, (int, float)) else float(r)
    with np.errstate(divide="ignore", invalid="ignore"):
        return factor * r / (1.0 + (factor - 1.0) * r)


def _trials(recording: Any) -> tuple[np.ndarray, np.ndarray, dict[str, Any] | None]:
    """(presentation × neuroid values, stimulus code per presentation, the neuroid coords)."""
    if isinstance(recording, xr.DataArray):
        if "neuroid" not in recording.dims:
            raise ValueError(f"recording must have a 'neuroid' dim, got dims {tuple(recording.dims)}.")
        coords = {k: v for k, v in recording.coords.items() if v.dims == ("neuroid",)}
        if "repetition" in recording.dims:
            extra = set(recording.dims) - {"presentation", "neuroid", "repetition"}
            if extra:
                raise ValueError(f"recording has dims {sorted(extra)} besides presentation, neuroid, repetition.")
            arr = recording.transpose("repetition", "presentation", "neuroid").values
            n_rep, n_pres, n_neu = arr.shape
            values = arr.reshape(n_rep * n_pres, n_neu)
            codes = np.tile(np.arange(n_pres), n_rep)
            keep = np.isfinite(values).all(1)  # missing repetitions are NaN-filled
            return values[keep], codes[keep], coords
        if "presentation" not in recording.dims or "stimulus_id" not in recording.coords:
            raise ValueError(
                "recording needs repetitions: a 'repetition' dim, or presentations that repeat a 'stimulus_id'."
            )
        extra = set(recording.dims) - {"presentation", "neuroid"}
        if extra:
            raise ValueError(
                f"recording has dims {sorted(extra)}; select one value of each first (e.g. .sel(latency=...))."
            )
        codes = pd.factorize(np.asarray(recording["stimulus_id"].values))[0]
        return recording.transpose("presentation", "neuroid").values, codes, coords
    arr = np.asarray(recording, dtype=float)
    if arr.ndim != 3:
        raise ValueError(
            f"recording must be a DataArray or an array (repetition, presentation, neuroid), got shape {arr.shape}."
        )
    n_rep, n_pres, n_neu = arr.shape
    values = arr.reshape(n_rep * n_pres, n_neu)
    codes = np.tile(np.arange(n_pres), n_rep)
    keep = np.isfinite(values).all(1)
    return values[keep], codes[keep], None


def split_half(
    recording: Any,
    *,
    n_splits: int = 20,
    correction: bool = True,
    random_state: int | np.random.Generator | None = 0,
) -> xr.DataArray | np.ndarray:
    """Split-half reliability of every neuroid, Spearman–Brown corrected to all repetitions.

    For each of ``n_splits`` random splits, the repetitions of every stimulus are divided into
    two halves (sizes differing by at most one), each half is averaged, and the two averages
    are correlated across stimuli (Pearson), per neuroid. The correlations are averaged over
    splits and, with ``correction``, extended to the full number of repetitions with
    :func:`spearman_brown` (factor 2).

    Parameters
    ----------
    recording : DataArray or array
        A recording with a ``repetition`` dim (missing repetitions NaN-filled), or whose
        presentations repeat a ``stimulus_id``; or an array ``(repetition, presentation,
        neuroid)``.
    n_splits : int
        Random splits averaged.
    correction : bool
        Apply the Spearman–Brown correction (reliability of the mean of all repetitions) or
        return the raw split-half correlation.
    random_state : int, Generator or None
        Seed of the splits.

    Returns
    -------
    DataArray (neuroid) with the recording's neuroid coordinates, or an ndarray (neuroid,)
        The reliability; NaN for a neuroid that does not vary within a half.

    Raises
    ------
    ValueError
        If fewer than 3 stimuli have at least two repetitions.

    References
    ----------
    .. [1] Spearman, C. (1910); Brown, W. (1910). Br. J. Psychol. 3.
    .. [2] Schrimpf, M. et al. (2018). Brain-Score: which artificial neural network for object
       recognition is most brain-like? bioRxiv 407007 (split-half ceilings of neural data).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.normal(size=(1, 200, 3))
    >>> trials = signal + rng.normal(size=(4, 200, 3))   # 4 repetitions, noise = signal variance
    >>> rel = split_half(trials, random_state=0)         # expected 1 / (1 + 1/4) = 0.8
    >>> bool(np.all(np.abs(rel - 0.8) < 0.06))
    True
    """
    if not isinstance(n_splits, (int, np.integer)) or n_splits < 1:
        raise ValueError(f"n_splits must be a positive integer, got {n_splits!r}.")
    values, codes, coords = _trials(recording)
    if not np.isfinite(values).all():
        raise ValueError("recording contains NaN or infinite values; remove or impute them first.")
    counts = np.bincount(codes, minlength=codes.max() + 1 if codes.size else 0)
    usable = np.flatnonzero(counts >= 2)
    if usable.size < 3:
        raise ValueError(
            f"split-half reliability needs at least 3 stimuli with 2 or more repetitions; this recording has "
            f"{usable.size}. Without repetitions there is no noise ceiling (pass ceiling=False)."
        )
    rng = check_random_state(random_state)
    # Stimuli × repetitions × neuroids, padded (repetitions beyond a stimulus' count are unused).
    order = np.argsort(codes, kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    n_rep = int(counts[usable].max())
    slot = np.arange(len(codes)) - np.repeat(starts, counts)
    trials = np.zeros((counts.size, n_rep, values.shape[1]))
    sorted_codes = codes[order]
    trials[sorted_codes, slot] = values[order]
    trials, c = trials[usable], counts[usable]
    j = np.arange(n_rep)[None, :]
    rs = np.empty((n_splits, values.shape[1]))
    available = j < c[:, None]
    for k in range(n_splits):
        in_a, in_b = split_masks(available, rng)
        half_a = (trials * in_a[..., None]).sum(1) / in_a.sum(1)[:, None]
        half_b = (trials * in_b[..., None]).sum(1) / in_b.sum(1)[:, None]
        rs[k] = pearson_columns(half_a, half_b)
    r = rs.mean(0)
    out = spearman_brown(r) if correction else r
    if coords is None:
        return out
    da = xr.DataArray(out, dims=("neuroid",), coords=coords, name="ceiling")
    da.attrs.update(method="split_half", spearman_brown=bool(correction), n_splits=int(n_splits))
    return da


def reliability(recording: xr.DataArray, stimuli: np.ndarray, *, random_state: Any = 0) -> np.ndarray:
    """Split-half reliability (Spearman–Brown to all repetitions) of every target of ``recording``
    on the stimuli ``stimuli``: ``(neuroid,)`` or ``(neuroid, latency)``.

    Every latency is a column of one :func:`split_half` call: the same random splits for all.
    """
    rec = recording.isel(presentation=np.flatnonzero(np.isin(recording["stimulus_id"].values, stimuli)))
    lead = [d for d in ("repetition", "presentation") if d in rec.dims]
    targets = ["neuroid", "latency"] if "latency" in rec.dims else ["neuroid"]
    values = rec.transpose(*lead, *targets).values
    folded = xr.DataArray(
        values.reshape(*values.shape[: len(lead)], -1),
        dims=(*lead, "neuroid"),
        coords={"stimulus_id": ("presentation", np.asarray(rec["stimulus_id"].values))},
    )
    rho = split_half(folded, random_state=random_state)
    return np.asarray(rho.values).reshape(values.shape[len(lead) :])


def split_masks(available: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The one split rule of every split-half ceiling: each stimulus' trials in two random halves.

    ``available`` marks the trials each stimulus has (stimulus × repetition slot). Each
    stimulus' available trials are shuffled and cut in two halves whose sizes differ by at most
    one (the larger half drawn at random for odd counts). Returns the two boolean masks.
    """
    n_stim, n_rep = available.shape
    c = available.sum(axis=1)
    keys = np.where(available, rng.random((n_stim, n_rep)), np.inf)  # shuffle real repetitions only
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)  # each slot's place in the shuffled order
    cut = c // 2 + (c % 2) * rng.integers(2, size=n_stim)
    in_a = available & (rank < cut[:, None])
    return in_a, available & ~in_a


def half_averages(trials: xr.DataArray, rng: np.random.Generator) -> tuple[xr.DataArray, xr.DataArray] | None:
    """Two averages of a random half of each stimulus' trials (:func:`split_masks`); stimuli with
    fewer than two trials are left out (None when fewer than 3 stimuli remain)."""
    order = ["presentation", "neuroid", *(["latency"] if "latency" in trials.dims else [])]
    T = trials.transpose("presentation", "repetition", *order[1:])
    values = T.values
    available = np.isfinite(values.reshape(*values.shape[:2], -1)).all(axis=2)
    keep = available.sum(axis=1) >= 2
    if keep.sum() < 3:
        return None
    values, available = values[keep], available[keep]
    in_a, in_b = split_masks(available, rng)
    shape = (*in_a.shape, *([1] * (values.ndim - 2)))
    filled = np.where(np.isfinite(values), values, 0.0)
    a = (filled * in_a.reshape(shape)).sum(1) / in_a.sum(1).reshape(-1, *shape[2:])
    b = (filled * in_b.reshape(shape)).sum(1) / in_b.sum(1).reshape(-1, *shape[2:])
    kept = T.isel(presentation=keep, repetition=0, drop=True)
    return kept.copy(data=a).transpose(*order), kept.copy(data=b).transpose(*order)


def fold_halves(
    trials: xr.DataArray, rng: np.random.Generator, *, min_folds: int = 2
) -> tuple[xr.DataArray, xr.DataArray] | None:
    """Two random halves of the repetitions, each kept trial-resolved (the split of crossvalidated methods).

    Crossvalidated methods (crossnobis RSA) use each repetition as a fold, so a split-half
    ceiling splits whole repetitions: every stimulus the same way, by :func:`split_masks`' rule
    on one row (halves whose sizes differ by at most one, the larger drawn at random). Each half
    keeps its trials on the ``repetition`` dim, so the method crossvalidates within it.

    Parameters
    ----------
    trials : xarray.DataArray
        Trials with a ``repetition`` dim (:func:`brainalign.data.trials`).
    rng : numpy.random.Generator
        Draws the split.
    min_folds : int
        The fewest repetitions a half may hold.

    Returns
    -------
    tuple of xarray.DataArray or None
        The two halves, or None when there are fewer than ``2 * min_folds`` repetitions.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> T = xr.DataArray(np.zeros((3, 2, 5)), dims=("presentation", "neuroid", "repetition"))
    >>> a, b = fold_halves(T, np.random.default_rng(0))
    >>> sorted([a.sizes["repetition"], b.sizes["repetition"]])
    [2, 3]
    >>> fold_halves(T.isel(repetition=slice(3)), np.random.default_rng(0)) is None
    True
    """
    min_folds = check_count("min_folds", min_folds, 1, "repetitions in each half")
    if "repetition" not in trials.dims:
        raise ValueError(f"trials must have a 'repetition' dim (data.trials(recording)), got dims {trials.dims}.")
    n_rep = trials.sizes["repetition"]
    if n_rep < 2 * min_folds:
        return None
    in_a, in_b = split_masks(np.ones((1, n_rep), dtype=bool), rng)
    return trials.isel(repetition=np.flatnonzero(in_a[0])), trials.isel(repetition=np.flatnonzero(in_b[0]))
