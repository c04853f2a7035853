"""Pairwise tests of layers (or models) of a map: which is better, with the map's own resamples."""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import xarray as xr

from ..utils import check_count, check_option, check_random_state, logger, validate_type
from ._crossed import crossed_variance, difference_variance, jackknife_variance
from ._group import sign_flip_test
from ._pvalues import check_ci, fdr_correction

__all__ = ["PAIRWISE_TESTS", "pairwise"]

#: The tests :func:`pairwise` runs.
PAIRWISE_TESTS = ("auto", "jackknife", "bootstrap", "sign_flip")


def pairwise(
    amap: xr.Dataset,
    dim: str = "layer",
    *,
    test: Literal["auto", "jackknife", "bootstrap", "sign_flip"] = "auto",
    ci: float = 0.95,
    alpha: float = 0.05,
    n_perm: int = 10_000,
    random_state: int | np.random.Generator | None = 0,
) -> xr.Dataset:
    """Every pair of layers (or models) of a map: the difference of their scores, its interval and test.

    ``difference[i, j] = score[i] − score[j]`` (the mean over subjects when the map has several),
    for every cell (region, latency) of the map.

    - ``test="auto"`` (default): ``"jackknife"`` when the map holds ``jack`` and ``half`` (RDM
      methods with ``keep_samples=True``), one subject or several, else ``"bootstrap"``;
      ``attrs["test"]`` says which.
    - ``test="jackknife"``: the variance of each difference from the map's leave-one-stimulus-out
      scores ``jack`` and half-sample scores ``half`` (:func:`jackknife_stimuli`), then a t-test
      and the matching t interval. One subject: :func:`jackknife_variance` (the plain jackknife
      counts the pair-specific variance twice, the half samples remove it), ``n_stimuli − 1``
      degrees of freedom; 9 false positives in 200 null runs at α = 0.05 (binomial interval
      4–16), where the stimulus bootstrap gives 0. Several subjects: stimuli and subjects as
      crossed random factors (:func:`crossed_variance`, Notes), ``min(n_subjects, n_stimuli) − 1``
      degrees of freedom; a subject with a NaN in a cell is left out of that cell.
    - ``test="bootstrap"`` (conservative; needs the bootstrap samples: ``alignment_map(..., n_boot=N,
      keep_samples=True)``, whose resamples are shared by all layers, and by all models of maps
      made with the same stimuli and ``random_state``): the variance of each difference over the
      stimulus resamples, and with several subjects rsatoolbox's two-factor ("dual") bootstrap
      over stimuli and subjects (``eval_dual_bootstrap``; Schütt et al. 2023): every stimulus
      resample is paired with a resample of the subjects, and the variances of the stimulus-only,
      subject-only and two-factor bootstraps are combined by its small-sample formula, which
      removes the double counting of the two-factor bootstrap. ``p_value`` is the two-sided
      t-test of the difference with that variance and ``min(n_subjects, n_stimuli) − 1`` degrees
      of freedom, ``ci_low``/``ci_high`` the matching t interval (rsatoolbox's ``t-test``
      pairwise test and ``ci`` error bars).
    - ``test="sign_flip"`` (needs several subjects): the exact two-sided sign-flip test of the
      subjects' differences (random effects over subjects; with ``n`` subjects the smallest
      p-value is ``2 · 2**-n``, so 4 subjects can never reach 0.05). The interval is the
      bootstrap's when the map keeps samples, else the t interval of the subjects' differences.
      Its null is that of these stimuli: with the same stimuli for every subject, a model better
      on them alone is "significant". To generalise over stimuli too, use ``"jackknife"``.

    Calibration (``benchmarks/calibration_pairwise.py``: Spearman RSA, 40 stimuli, models that are
    noisy views of the truth, 400 datasets per row, α = 0.05; "planted" is model noise 1.5 vs 2.5,
    a population difference of 0.048; coverage of 0, or of that difference; ``sign_flip``'s is
    the interval over subjects of a map without samples):

    ========  ==========  ==========  ==========  ==========  ==========
    subjects  test        population  planted:    coverage    coverage
                          null        rejected    (null)      (planted)
    ========  ==========  ==========  ==========  ==========  ==========
    8         jackknife   0.025       0.273       0.975       0.983
    8         bootstrap   0.000       0.040       1.000       1.000
    8         sign_flip   0.155       0.555       0.833       0.845
    16        jackknife   0.043       0.510       0.958       0.958
    16        bootstrap   0.000       0.138       1.000       1.000
    16        sign_flip   0.230       0.805       0.775       0.780
    ========  ==========  ==========  ==========  ==========  ==========

    The sign-flip test rejects under the population null (15.5 % with 8 subjects; 26 of 400,
    6.5 %, under the exact null of these stimuli) because it ignores the stimulus sampling; the
    bootstraps count the pair-specific variance twice (variance 2.2–2.5 × that over datasets) and
    are conservative; the jackknife is near nominal.

    ``p_fdr`` controls the false discovery rate over the distinct pairs of all cells (each pair
    once; the matrices are symmetric) and ``significant`` marks ``p_fdr < alpha``. The diagonal
    (a layer with itself) is not tested.

    Parameters
    ----------
    amap : xarray.Dataset
        An alignment map with ``score`` (and ``boot``); maps of several models concatenated along
        ``model`` (``xr.concat(maps, "model")``, one layer each or the same layers) for
        ``dim="model"``.
    dim : str
        The compared dim (``"layer"`` or ``"model"``).
    test : {"auto", "jackknife", "bootstrap", "sign_flip"}
        See above.
    ci : float
        Coverage of the interval.
    alpha : float
        False discovery rate of ``significant``.
    n_perm : int
        Sign patterns at most (``sign_flip``; exact when ``2**n_subjects <= n_perm``).
    random_state : int or numpy Generator, optional
        Seed of the subject resamples.

    Returns
    -------
    xarray.Dataset
        ``difference``, ``ci_low``, ``ci_high``, ``p_value``, ``p_fdr``, ``significant`` over
        ``(dim, dim_2, *cells)`` — what :func:`brainalign.plot.model_comparison` draws.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import alignment_map, data, stats
    >>> rng = np.random.default_rng(0)
    >>> T = rng.normal(size=(40, 6))
    >>> acts = data.activations({"good": T + 0.3 * rng.normal(size=T.shape), "bad": rng.normal(size=T.shape)},
    ...                         stimulus_id=np.arange(40))
    >>> rec = data.recording(T @ rng.normal(size=(6, 10)), stimulus_id=np.arange(40), subject="S1", region="IT")
    >>> amap = alignment_map(acts, rec, "rsa", n_boot=200, keep_samples=True)
    >>> res = stats.pairwise(amap)
    >>> res["difference"].dims
    ('layer', 'layer_2', 'region')
    >>> bool(res["significant"].sel(layer="good", layer_2="bad", region="IT"))
    True
    """
    validate_type("amap", amap, xr.Dataset, "an alignment map (xarray.Dataset)")
    check_option("test", test, PAIRWISE_TESTS)
    ci = check_ci(ci)
    n_perm = check_count("n_perm", n_perm)
    rng = check_random_state(random_state)
    if "score" not in amap.data_vars:
        raise ValueError(f"amap must hold a 'score' variable; it has {list(amap.data_vars)}.")
    score = amap["score"]
    if dim not in score.dims or score.sizes[dim] < 2:
        raise ValueError(
            f"dim must name a dim of amap['score'] with at least 2 entries (dims {score.dims}), got {dim!r}."
        )
    boot = amap["boot"] if "boot" in amap.data_vars else None
    jack = (amap["jack"], amap["half"]) if {"jack", "half"} <= set(amap.data_vars) else None
    if "subject" in score.dims and score.sizes["subject"] == 1:
        score = score.isel(subject=0)
        boot = None if boot is None else boot.isel(subject=0)
        jack = None if jack is None else tuple(x.isel(subject=0) for x in jack)
    subjects = "subject" in score.dims
    if test == "auto":
        test = "jackknife" if jack is not None else "bootstrap"
    if test == "jackknife" and jack is None:
        raise ValueError(
            "test='jackknife' needs the map's jackknife scores ('jack', 'half'): make the map of an RDM method "
            "with alignment_map(..., n_boot=1000, keep_samples=True)"
            + (" (or use test='sign_flip' over subjects)." if subjects else ".")
        )
    cells = [d for d in score.dims if d not in (dim, "subject")]
    order = [dim, *cells, *(["subject"] if subjects else [])]
    n_k = score.sizes[dim]
    n_c = int(np.prod([score.sizes[d] for d in cells], dtype=int))
    n_s = score.sizes["subject"] if subjects else 1
    S = score.transpose(*order).values.astype(np.float64).reshape(n_k, n_c, n_s)
    samples = None
    if boot is not None:
        if set(boot.dims) != {"sample", *score.dims}:
            raise ValueError(f"amap['boot'] must have dims ('sample', {', '.join(score.dims)}), got {boot.dims}.")
        samples = boot.transpose("sample", *order).values.astype(np.float64).reshape(-1, n_k, n_c, n_s)
    if test == "bootstrap" and samples is None:
        raise ValueError(
            "test='bootstrap' needs the map's bootstrap samples: make the map with alignment_map(..., n_boot=1000, "
            "keep_samples=True) (or use test='sign_flip' over subjects)."
        )
    if test == "sign_flip" and not subjects:
        raise ValueError("test='sign_flip' tests over subjects, and amap['score'] has no 'subject' dim with 2 or more.")
    if test == "jackknife":
        left, half = _jackknife_samples(jack, order, (n_k, n_c, n_s))
        if subjects:  # a subject with a NaN in a cell (any layer, score or jackknife) is left out of that cell
            ok = np.isfinite(S).all(axis=0) & np.isfinite(left).all(axis=(0, 1)) & np.isfinite(half).all(axis=(0, 1))
            S, n_sub = np.where(ok, S, np.nan), ok.sum(axis=-1)
            if n_sub.max() < 2:
                raise ValueError(
                    "test='jackknife' with several subjects needs at least 2 subjects scored in a cell (every "
                    f"layer, 'jack' and 'half'); amap has {n_sub.max()} at most."
                )
            if n_sub.min() < 2:
                logger.warning(
                    "pairwise: %d cells with fewer than 2 subjects scored are left untested (NaN).",
                    int(np.sum(n_sub < 2)),
                )

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells no subject scored stay NaN
        D = S[:, None] - S[None]  # (k, k, cell, subject)
        difference = np.nanmean(D, axis=-1)
    var = None
    if test == "jackknife" and subjects:
        var = crossed_variance(left, half, S)
        dof = np.minimum(n_sub, len(left)) - 1
    elif test == "jackknife":
        var, dof = jackknife_variance(left[..., 0], half[..., 0]), len(left) - 1
    elif samples is not None:
        n_stimuli = int(amap.attrs.get("n_stimuli", 0)) or None
        var, dof = _variance(S, samples, n_stimuli, rng)
    if var is not None:
        from scipy import stats as sps

        with np.errstate(invalid="ignore", divide="ignore"):
            sd = np.sqrt(np.maximum(var, np.finfo(float).eps))
            width = sps.t.ppf((1 + ci) / 2, dof) * sd
            lo, hi = difference - width, difference + width
            p = 2 * sps.t.sf(np.abs(difference) / sd, dof)
    if test == "sign_flip":
        # One null serves both tails and both orders of a pair (D[j, i] = −D[i, j]): the distinct pairs only.
        rows, cols = np.triu_indices(n_k, 1)
        two_sided = sign_flip_test(np.moveaxis(D[rows, cols], -1, 0), n_perm, rng, "two-sided").p_value
        p = np.full((n_k, n_k, n_c), np.nan)
        p[rows, cols] = p[cols, rows] = two_sided
        if samples is None:  # the interval of D[j, i] is that of D[i, j] negated
            lo, hi = np.full((2, n_k, n_k, n_c), np.nan)
            lo[rows, cols], hi[rows, cols] = _subject_interval(D[rows, cols], ci)
            lo[cols, rows], hi[cols, rows] = -hi[rows, cols], -lo[rows, cols]
    diagonal = np.eye(n_k, dtype=bool)[:, :, None]
    p = np.where(diagonal, np.nan, p)
    lo, hi = np.where(diagonal, np.nan, lo), np.where(diagonal, np.nan, hi)
    upper = np.triu(np.ones((n_k, n_k), dtype=bool), 1)[:, :, None]
    _, q = fdr_correction(np.where(upper, p, np.nan), alpha)
    q = np.where(upper, q, np.swapaxes(q, 0, 1))
    out = _dataset(score, dim, cells, {"difference": difference, "ci_low": lo, "ci_high": hi, "p_value": p, "p_fdr": q})
    out["significant"] = out["p_fdr"] < alpha
    out.attrs.update(
        test="jackknife t-test (stimuli × subjects, half-sample corrected)"
        if test == "jackknife" and subjects
        else "jackknife t-test (stimuli, half-sample corrected)"
        if test == "jackknife"
        else "dual bootstrap t-test (stimuli × subjects)"
        if test == "bootstrap" and subjects
        else "bootstrap t-test (stimuli)"
        if test == "bootstrap"
        else "sign-flip test over subjects (two-sided)",
        ci=ci,
        alpha=alpha,
        n_subjects=int(n_s),
        method=amap.attrs.get("method", ""),
        higher_is_better=amap.attrs.get("higher_is_better", 1),
    )
    return out


def _jackknife_samples(jack: tuple[xr.DataArray, xr.DataArray], order: list[str], shape: tuple[int, int, int]):
    """The map's ``jack`` and ``half`` → arrays ``(n, k, cell, subject)`` and ``(h, k, cell, subject)``."""
    out = []
    for x, lead, least in zip(jack, ("stimulus", "half_sample"), (4, 2), strict=True):
        name = "jack" if lead == "stimulus" else "half"
        if set(x.dims) != {lead, *order}:
            raise ValueError(f"amap[{name!r}] must have dims ({lead}, {', '.join(order)}), got {x.dims}.")
        if x.sizes[lead] < least:
            raise ValueError(
                f"amap[{name!r}] holds {x.sizes[lead]} {lead} entries; the jackknife test needs at least {least} "
                f"(stimuli: 4; half samples: 2; alignment_map(..., n_boot=N, keep_samples=True) keeps N)."
            )
        out.append(x.transpose(lead, *order).values.astype(np.float64).reshape(-1, *shape))
    return out[0], out[1]


def _subject_means(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``values (..., subject)`` weighted by ``weights (B, subject)`` → ``(B, ...)``, NaNs left out."""
    finite = np.isfinite(values)
    filled = np.where(finite, values, 0.0)
    lead = values.shape[:-1]
    num = weights @ filled.reshape(-1, values.shape[-1]).T
    den = weights @ finite.reshape(-1, values.shape[-1]).T.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (num / den).reshape(len(weights), *lead)


def _variance(
    S: np.ndarray, samples: np.ndarray, n_stimuli: int | None, rng: np.random.Generator
) -> tuple[np.ndarray, int]:
    """The variance of every difference and its degrees of freedom (rsatoolbox's rules)."""
    n_b, _, _, n_s = samples.shape
    n_p = n_stimuli
    if n_s == 1:  # stimulus bootstrap only
        var = difference_variance(samples[..., 0])
        if n_p:
            var = var * n_p / (n_p - 1)
        return var, (n_p - 1) if n_p else n_b - 1
    draws = rng.integers(0, n_s, size=(n_b, n_s))
    counts = np.zeros((n_b, n_s))
    np.add.at(counts, (np.arange(n_b)[:, None], draws), 1.0)
    # The two-factor samples: stimulus resample b with subject resample b; and each factor alone.
    finite = np.isfinite(samples)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        both = np.einsum("bs,bkcs->bkc", counts, np.where(finite, samples, 0.0)) / np.einsum(
            "bs,bkcs->bkc", counts, finite.astype(float)
        )
        stimuli_only = np.nanmean(samples, axis=-1)
    subjects_only = _subject_means(S, counts)
    v_both, v_rdm, v_pattern = (difference_variance(x) for x in (both, subjects_only, stimuli_only))
    if not n_p:  # rsatoolbox's rule without the numbers of subjects and stimuli
        var = np.minimum(np.maximum(np.maximum(2 * (v_rdm + v_pattern) - v_both, v_rdm), v_pattern), v_both)
        return var, n_s - 1
    r, p = n_s / (n_s - 1), n_p / (n_p - 1)
    var = r * v_rdm + p * v_pattern - r * p * (v_both - v_rdm - v_pattern)
    var = np.minimum(np.maximum(np.maximum(var, r * v_rdm), p * v_pattern), v_both)
    return var, min(n_s, n_p) - 1


def _subject_interval(D: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """The t interval of the mean difference over subjects (``D`` ``(..., subject)``, NaNs left out):
    mean ± t(n − 1) · sd/√n. The percentile bootstrap over subjects covered 0.867 of 300 exact nulls
    with 8 subjects at ci = 0.95 (benchmarks/calibration_pairwise.py), this interval 0.943."""
    from scipy import stats as sps

    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        n = np.isfinite(D).sum(axis=-1)
        mean = np.nanmean(D, axis=-1)
        half = sps.t.ppf((1 + ci) / 2, n - 1) * np.nanstd(D, axis=-1, ddof=1) / np.sqrt(n)
    return mean - half, mean + half


def _dataset(score: xr.DataArray, dim: str, cells: list[str], values: dict[str, np.ndarray]) -> xr.Dataset:
    """Arrays ``(k, k, flat cells)`` → a Dataset over ``(dim, dim_2, *cells)``."""
    other = f"{dim}_2"
    shape = tuple(score.sizes[d] for d in cells)
    coords: dict[str, Any] = {}
    if dim in score.coords:
        coords[dim] = score[dim].values
        coords[other] = score[dim].values
    for name, coord in score.coords.items():
        if name != dim and set(coord.dims) <= set(cells):
            coords[name] = coord
    k = score.sizes[dim]
    data_vars = {key: ((dim, other, *cells), v.reshape(k, k, *shape)) for key, v in values.items()}
    return xr.Dataset(data_vars, coords=coords)
