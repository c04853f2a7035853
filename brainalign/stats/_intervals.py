"""Bootstrap confidence intervals: percentile, basic and BCa, from given bootstrap samples."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..utils import check_option
from ._pvalues import check_ci

__all__ = ["CI_METHODS", "bootstrap_interval", "jackknife_acceleration"]

#: Interval rules of :func:`bootstrap_interval` (and of ``alignment_map(..., ci_method=...)``).
CI_METHODS = ("percentile", "basic", "bca")


def bootstrap_interval(
    samples: np.ndarray,
    observed: np.ndarray | float,
    ci: float = 0.95,
    method: str = "percentile",
    jackknife: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap confidence interval of coverage ``ci`` from resampled statistics.

    - ``"percentile"``: the ``(1 − ci)/2`` and ``(1 + ci)/2`` quantiles of the samples. Right when
      the statistic's bootstrap distribution is centred on the estimate and symmetric; it
      misleads when the statistic is biased or its distribution skewed — near a bound (a
      correlation near 1, a variance share near 0) the samples pile up on one side and the
      interval can even exclude the point estimate.
    - ``"basic"`` (reverse percentile): ``2·observed − q_high``, ``2·observed − q_low``; corrects
      a bias of the estimate by reflecting the samples around it (it may cross a bound).
    - ``"bca"``: bias-corrected and accelerated (Efron 1987): the quantiles are shifted by the
      bias ``z₀ = Φ⁻¹(share of samples below the estimate, ties counting half)`` and the
      acceleration ``a`` from a delete-one ``jackknife``. Second-order accurate; it needs the
      jackknife, and gives NaN where ``z₀`` is infinite (the estimate lies outside every sample).

    Quantiles interpolate linearly (numpy's default). NaN samples (degenerate resamples) are
    left out; a cell without a finite sample gets NaN. The same rules as
    :func:`scipy.stats.bootstrap` with the same resamples.

    Parameters
    ----------
    samples : numpy.ndarray
        Bootstrap statistics, draws along the first axis.
    observed : numpy.ndarray or float
        The statistic on the data, broadcastable against ``samples[0]``.
    ci : float
        Coverage of the interval, in (0, 1).
    method : {"percentile", "basic", "bca"}
        The interval rule (see above).
    jackknife : numpy.ndarray, optional
        Delete-one statistics ``(n, ...)`` (the statistic without observation ``i``, every
        ``i``); required by ``"bca"``.

    Returns
    -------
    low, high : numpy.ndarray
        The bounds, ``samples``' shape without its first axis.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> s = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    >>> [float(v) for v in stats.bootstrap_interval(s, 2.0, 0.5)]
    [2.0, 4.0]
    >>> [float(v) for v in stats.bootstrap_interval(s, 2.0, 0.5, "basic")]
    [0.0, 2.0]

    References
    ----------
    Efron, B. (1987). Better bootstrap confidence intervals. JASA 82, 171-185.
    Davison, A. C. & Hinkley, D. V. (1997). Bootstrap Methods and their Application. CUP, ch. 5.
    """
    ci = check_ci(float(ci) if isinstance(ci, (int, np.integer)) and not isinstance(ci, bool) else ci)
    check_option("method", method, CI_METHODS)
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 0 or samples.shape[0] < 2:
        raise ValueError(f"samples must hold at least 2 bootstrap draws along its first axis, got {samples.shape}.")
    observed = np.broadcast_to(np.asarray(observed, dtype=np.float64), samples.shape[1:])
    tail = (1.0 - ci) / 2
    if method == "bca":
        if jackknife is None:
            raise ValueError("method='bca' needs the jackknife: the delete-one statistics (n, ...) of the data.")
        from scipy.special import ndtr, ndtri

        with np.errstate(invalid="ignore", divide="ignore"):
            n_finite = np.sum(np.isfinite(samples), axis=0)
            share = (np.sum(samples < observed, axis=0) + np.sum(samples <= observed, axis=0)) / (2.0 * n_finite)
            z0 = ndtri(share)
            a = jackknife_acceleration(jackknife)
            z = ndtri(tail)
            q_low = ndtr(z0 + (z0 + z) / (1 - a * (z0 + z)))
            q_high = ndtr(z0 + (z0 - z) / (1 - a * (z0 - z)))
        bad = ~(np.isfinite(z0) & np.isfinite(a))
        q_low, q_high = np.where(bad, np.nan, q_low), np.where(bad, np.nan, q_high)
        return _quantiles(samples, q_low), _quantiles(samples, q_high)
    low, high = _quantiles(samples, tail), _quantiles(samples, 1.0 - tail)
    if method == "basic":
        return 2 * observed - high, 2 * observed - low
    return low, high


def jackknife_acceleration(jackknife: np.ndarray) -> np.ndarray:
    """BCa's acceleration ``a = Σ dᵢ³ / (6 (Σ dᵢ²)^{3/2})``, ``dᵢ = mean − θ₍ᵢ₎``, over the first axis.

    NaN delete-one values are left out; ``a = 0`` where every delete-one value is the same.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> float(stats.jackknife_acceleration(np.array([1.0, 1.0, 1.0])))
    0.0
    """
    jk = np.asarray(jackknife, dtype=np.float64)
    if jk.ndim == 0 or jk.shape[0] < 2:
        raise ValueError(f"jackknife must hold at least 2 delete-one statistics along its first axis, got {jk.shape}.")
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN cells: NaN
        d = np.nanmean(jk, axis=0) - jk
        num, den = np.nansum(d**3, axis=0), np.nansum(d**2, axis=0)
        return np.where(den > 0, num / (6.0 * den**1.5), np.where(np.isfinite(jk).any(axis=0), 0.0, np.nan))


def _quantiles(samples: np.ndarray, q: Any) -> np.ndarray:
    """Linear-interpolation quantiles over the first axis, NaNs left out, ``q`` per cell (NaN → NaN)."""
    s = np.sort(samples, axis=0)  # NaNs last
    n = np.sum(~np.isnan(samples), axis=0)
    q = np.broadcast_to(np.asarray(q, dtype=np.float64), samples.shape[1:])
    ok = (n > 0) & np.isfinite(q)
    h = np.where(ok, q, 0.0) * np.maximum(n - 1, 0)
    lo = np.floor(h).astype(np.intp)
    hi = np.minimum(lo + 1, np.maximum(n - 1, 0))
    t = h - lo
    a = np.take_along_axis(s, lo[None], axis=0)[0]
    b = np.take_along_axis(s, hi[None], axis=0)[0]
    with np.errstate(invalid="ignore"):
        value = np.where(t >= 0.5, b - (b - a) * (1 - t), a + (b - a) * t)
    return np.where(ok, value, np.nan)
