"""P-values, percentile intervals and false discovery rate control."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from ..utils import check_option, validate_type

__all__ = ["ALTERNATIVES", "check_ci", "fdr_correction", "p_value", "percentile_interval"]

ALTERNATIVES = ("greater", "less", "two-sided")


def check_ci(ci: Any) -> float:
    """``ci`` checked as the coverage of an interval, in (0, 1)."""
    validate_type("ci", ci, (float, np.floating), "a float")
    if not 0 < ci < 1:
        raise ValueError(f"ci is the coverage of the interval and must lie in (0, 1), got {ci!r}.")
    return float(ci)


def p_value(null: np.ndarray, observed: np.ndarray, alternative: str = "greater") -> np.ndarray:
    """Permutation p-values over the first axis of ``null``: ``(1 + #{draws at least as extreme}) / (1 + #draws)``.

    ``observed`` broadcasts against ``null`` (a leading axis of 1). Draws within 1e-12 of the
    observed score count as at least as extreme (ties that rounding broke); NaN draws
    (degenerate resamples) are left out; a NaN score, or one without a valid draw, gets NaN.
    ``"two-sided"`` is twice the smaller one-sided p-value (at most 1): right wherever the null
    is centred (the null of a cosine comparison of RDMs sits near 0.9, not at 0).

    Parameters
    ----------
    null : numpy.ndarray
        Scores under the null, draws along the first axis.
    observed : numpy.ndarray
        The observed scores, broadcastable against ``null``.
    alternative : {"greater", "less", "two-sided"}
        Which side is extreme.

    Returns
    -------
    numpy.ndarray
        The p-values, ``null``'s shape without its first axis.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> stats.p_value(np.array([[0.1], [0.5], [0.2]]), np.array([[0.4]])).tolist()
    [0.5]
    """
    check_option("alternative", alternative, ALTERNATIVES)
    if alternative == "two-sided":
        one_sided = np.minimum(p_value(null, observed, "greater"), p_value(null, observed, "less"))
        return np.minimum(1.0, 2.0 * one_sided)
    hits = null >= observed - 1e-12 if alternative == "greater" else null <= observed + 1e-12
    n_valid = np.sum(~np.isnan(null), axis=0)
    p = (1.0 + np.sum(hits, axis=0)) / (1.0 + n_valid)
    return np.where(np.isnan(observed).all(axis=0) | (n_valid == 0), np.nan, p)


def percentile_interval(samples: np.ndarray, ci: float) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval of coverage ``ci`` over the first axis, NaNs (degenerate resamples) left out.

    Parameters
    ----------
    samples : numpy.ndarray
        Resampled scores, draws along the first axis.
    ci : float
        Coverage of the interval, in (0, 1).

    Returns
    -------
    low, high : numpy.ndarray
        The ``(1 − ci) / 2`` and ``(1 + ci) / 2`` percentiles (NaN where no draw is finite).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> low, high = stats.percentile_interval(np.array([[1.0], [2.0], [np.nan], [3.0]]), 0.5)
    >>> low.tolist(), high.tolist()
    ([1.5], [2.5])
    """
    ci = check_ci(ci)
    q = [(1 - ci) / 2 * 100, (1 + ci) / 2 * 100]
    samples = np.asarray(samples)
    flat = samples.reshape(len(samples), -1)
    # np.percentile where no draw is NaN (the same values as np.nanpercentile, which loops over cells).
    gaps = np.isnan(flat).any(axis=0)
    out = np.empty((2, flat.shape[1]))
    if not gaps.all():
        out[:, ~gaps] = np.percentile(flat if not gaps.any() else flat[:, ~gaps], q, axis=0)
    if gaps.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out[:, gaps] = np.nanpercentile(flat[:, gaps], q, axis=0)
    low, high = out.reshape(2, *samples.shape[1:])
    return low, high


def fdr_correction(
    p_values: xr.DataArray | np.ndarray, alpha: float = 0.05
) -> tuple[xr.DataArray | np.ndarray, xr.DataArray | np.ndarray]:
    """Benjamini–Hochberg false discovery rate control across all values (e.g. a whole map).

    Parameters
    ----------
    p_values : xarray.DataArray or array
        P-values of any shape; NaNs (untested cells) are ignored and stay NaN / not rejected.
    alpha : float
        The false discovery rate.

    Returns
    -------
    reject : same type as ``p_values``
        Boolean: which hypotheses are rejected at FDR ``alpha``.
    p_corrected : same type as ``p_values``
        BH-adjusted p-values (q-values), monotone in the p-values and at most 1.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> reject, q = stats.fdr_correction(np.array([0.001, 0.01, 0.03, 0.5]))
    >>> reject.tolist(), q.round(3).tolist()
    ([True, True, True, False], [0.004, 0.02, 0.04, 0.5])
    """
    validate_type("alpha", alpha, (float, np.floating), "a float")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}.")
    values = np.asarray(p_values.values if isinstance(p_values, xr.DataArray) else p_values, dtype=np.float64)
    flat = values.ravel()
    tested = ~np.isnan(flat)
    p = flat[tested]
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p_values must lie in [0, 1] (NaN for untested cells).")
    q = np.full(flat.shape, np.nan)
    reject = np.zeros(flat.shape, dtype=bool)
    if p.size:
        from scipy.stats import false_discovery_control

        q[tested] = false_discovery_control(p, method="bh")
        reject[tested] = q[tested] <= alpha
    q, reject = q.reshape(values.shape), reject.reshape(values.shape)
    if isinstance(p_values, xr.DataArray):
        return p_values.copy(data=reject), p_values.copy(data=q)
    return reject, q
