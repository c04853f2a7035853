"""Group statistics: subjects as the unit of inference."""

from __future__ import annotations

import warnings
from typing import NamedTuple

import numpy as np
import xarray as xr

from ..utils import check_count, check_option, check_random_state, fill_doc, validate_type
from ._pvalues import ALTERNATIVES, check_ci, p_value

__all__ = ["SignFlipTest", "bootstrap_subjects", "sign_flip_test"]


def bootstrap_subjects(
    scores: xr.DataArray | xr.Dataset,
    *,
    dim: str = "subject",
    n_boot: int = 10_000,
    ci: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """Bootstrap confidence intervals of the mean score over subjects.

    Parameters
    ----------
    scores : xarray.DataArray or Dataset
        Scores with a subject dim (e.g. ``alignment_map(...)["score"]`` of a recording with
        several subjects); a Dataset uses its ``score`` variable.
    dim : str
        The dim to resample.
    n_boot : int
        Number of bootstrap samples.
    ci : float
        Coverage of the percentile interval.
    random_state : int or numpy Generator, optional
        Seed of the resampling.

    Returns
    -------
    xarray.Dataset
        ``score`` (the mean over subjects), ``ci_low`` and ``ci_high``, over the other dims.
        Subjects with a NaN score are left out of their cell's mean.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from brainalign import stats
    >>> s = xr.DataArray(np.random.default_rng(0).normal(0.5, 0.1, size=(8, 2)), dims=("subject", "layer"))
    >>> res = stats.bootstrap_subjects(s, random_state=0)
    >>> bool((res["ci_low"] < res["score"]).all())
    True
    """
    if isinstance(scores, xr.Dataset):
        if "score" not in scores.data_vars:
            raise ValueError(f"scores must hold a 'score' variable; it has {list(scores.data_vars)}.")
        scores = scores["score"]
    validate_type("scores", scores, xr.DataArray, "an xarray.DataArray or Dataset")
    if dim not in scores.dims:
        raise ValueError(f"scores has no {dim!r} dim to resample (dims {scores.dims}); pass dim=...")
    n_sub = scores.sizes[dim]
    if n_sub < 2:
        raise ValueError(f"Bootstrapping over {dim!r} needs at least 2, got {n_sub}.")
    n_boot = check_count("n_boot", n_boot)
    ci = check_ci(ci)
    rng = check_random_state(random_state)
    values = np.moveaxis(scores.values.astype(np.float64), scores.get_axis_num(dim), 0)
    flat = values.reshape(n_sub, -1)  # subject × cell
    draws = rng.integers(0, n_sub, size=(n_boot, n_sub))
    # A bootstrap mean is a weighted mean: each subject weighs the times it was drawn, so all
    # samples are one product with the counts (n_boot × n_sub), never n_boot × n_sub × cells.
    counts = np.zeros((n_boot, n_sub))
    np.add.at(counts, (np.arange(n_boot)[:, None], draws), 1.0)
    scored = ~np.isnan(flat)
    filled = np.where(scored, flat, 0.0)
    low, high = np.empty(flat.shape[1]), np.empty(flat.shape[1])
    step = max(1, 2**22 // n_boot)  # cells per block: 32 MiB of bootstrap means
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells no subject scored stay NaN
        for start in range(0, flat.shape[1], step):
            block = slice(start, start + step)
            boot = (counts @ filled[:, block]) / (counts @ scored[:, block])  # NaN-skipping means
            low[block], high[block] = np.nanquantile(boot, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
        mean = np.nanmean(values, axis=0)
    low, high = low.reshape(values.shape[1:]), high.reshape(values.shape[1:])
    other = [d for d in scores.dims if d != dim]
    coords = {name: c for name, c in scores.coords.items() if dim not in c.dims}
    out = xr.Dataset({"score": (other, mean), "ci_low": (other, low), "ci_high": (other, high)}, coords=coords)
    out.attrs.update(n_boot=n_boot, ci=ci, resampled=dim)
    return out


class SignFlipTest(NamedTuple):
    """Result of :func:`sign_flip_test`."""

    #: Mean over subjects of each cell (NaN scores left out).
    mean: np.ndarray
    #: P-value of ``alternative`` per cell (default one-sided, ``mean > 0``; NaN where no subject has a score).
    p_value: np.ndarray
    #: Sign patterns used (``2**n_subjects`` when exact, else ``n_perm``).
    n_patterns: int
    #: Whether every sign pattern was enumerated.
    exact: bool


@fill_doc
def sign_flip_test(
    values: np.ndarray,
    n_perm: int = 10_000,
    random_state: int | np.random.Generator | None = None,
    alternative: str = "greater",
) -> SignFlipTest:
    """Sign-flip permutation test of the mean over subjects against 0 (random effects).

    Under the null each subject's score is symmetric around 0, so flipping the signs of any
    subset of subjects gives an equally likely mean. With ``2**n_subjects <= n_perm`` every sign
    pattern is enumerated (an exact test: ``p = #{patterns with mean ≥ observed} / 2**n``, the
    identity included, so the smallest p-value is ``2**-n_subjects``); otherwise ``n_perm``
    random sign patterns give ``(1 + #{null ≥ observed}) / (1 + n_perm)``
    (:func:`p_value`'s rule). One set of sign patterns serves every side: ``"less"`` counts
    ``null ≤ observed`` and ``"two-sided"`` is twice the smaller one-sided p-value (at most 1),
    from the same null. NaN scores (a subject without the cell) are left out of that cell's
    mean; a cell no subject scored gets NaN. The null is computed for blocks of cells (32 MiB),
    so memory does not grow with ``n_perm`` × cells.

    Parameters
    ----------
    values : numpy.ndarray
        Scores ``(n_subjects, ...)``, subjects along the first axis.
    n_perm : int
        Sign patterns at most.
    %(random_state)s
    alternative : {"greater", "less", "two-sided"}
        Which side of 0 is tested.

    Returns
    -------
    SignFlipTest
        ``(mean, p_value, n_patterns, exact)``; ``mean`` and ``p_value`` have the shape of
        ``values`` without its first axis.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> res = stats.sign_flip_test(np.array([0.3, 0.2, 0.4, 0.1, 0.5]), n_perm=1000)
    >>> float(res.p_value), res.n_patterns, res.exact
    (0.03125, 32, True)
    >>> float(stats.sign_flip_test(np.array([0.3, 0.2, 0.4, 0.1, 0.5]), alternative="two-sided").p_value)
    0.0625
    """
    values = np.asarray(values, dtype=np.float64)
    if values.ndim < 1 or values.shape[0] < 2:
        raise ValueError(f"values must hold at least 2 subjects along its first axis, got shape {values.shape}.")
    n_perm = check_count("n_perm", n_perm)
    check_option("alternative", alternative, ALTERNATIVES)
    rng = check_random_state(random_state)
    n_subjects = values.shape[0]
    exact = 2**n_subjects <= n_perm
    if exact:  # few subjects: every sign pattern
        signs = 1.0 - 2.0 * ((np.arange(2**n_subjects)[:, None] >> np.arange(n_subjects)) & 1)
    else:
        signs = rng.choice([-1.0, 1.0], size=(n_perm, n_subjects))
    flat = values.reshape(n_subjects, -1)
    scored = np.isfinite(flat)
    filled = np.where(scored, flat, 0.0)
    counts = scored.sum(axis=0).astype(float)
    counts = np.where(counts == 0, np.nan, counts)
    observed = filled.sum(axis=0) / counts
    p = np.full(observed.shape, np.nan)
    step = max(1, 2**22 // len(signs))  # cells per block: 32 MiB of null means
    for start in range(0, flat.shape[1], step):
        block = slice(start, start + step)
        null = (signs @ filled[:, block]) / counts[block]
        if exact:  # the identity is one of the enumerated patterns
            p[block] = _enumerated_p(null, observed[block], alternative)
        else:
            p[block] = p_value(null, observed[block][None], alternative)
    shape = values.shape[1:]
    return SignFlipTest(observed.reshape(shape), p.reshape(shape), len(signs), bool(exact))


def _enumerated_p(null: np.ndarray, observed: np.ndarray, alternative: str) -> np.ndarray:
    """The exact p-value over all sign patterns ``null`` (patterns × cells), the identity among them."""
    if alternative == "two-sided":
        one_sided = np.minimum(_enumerated_p(null, observed, "greater"), _enumerated_p(null, observed, "less"))
        return np.minimum(1.0, 2.0 * one_sided)
    hits = null >= observed[None] - 1e-12 if alternative == "greater" else null <= observed[None] + 1e-12
    return np.where(np.isnan(observed), np.nan, np.sum(hits, axis=0) / len(null))
