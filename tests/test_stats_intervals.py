"""Bootstrap intervals (percentile, basic, BCa) against scipy.stats.bootstrap on the same resamples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps

from brainalign import stats


def _scipy(data, statistic, method, seed, paired=False):
    res = sps.bootstrap(
        data,
        statistic,
        n_resamples=999,
        confidence_level=0.9,
        method=method,
        random_state=seed,
        paired=paired,
        vectorized=True,
    )
    return res


def _jackknife_mean(x):
    n = len(x)
    return (x.sum() - x) / (n - 1)


@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
@pytest.mark.parametrize("seed", [0, 1])
def test_mean_matches_scipy(method, seed):
    x = np.random.default_rng(seed).exponential(size=30)  # skewed: the three rules differ
    res = _scipy((x,), np.mean, method, seed)
    samples = res.bootstrap_distribution  # the same resamples as scipy's interval
    low, high = stats.bootstrap_interval(samples, x.mean(), 0.9, method, jackknife=_jackknife_mean(x))
    # tolerance: rounding of the quantile interpolation only
    assert low == pytest.approx(res.confidence_interval.low, rel=1e-10, abs=1e-12)
    assert high == pytest.approx(res.confidence_interval.high, rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_correlation_matches_scipy(method):
    rng = np.random.default_rng(3)
    x = rng.normal(size=25)
    y = 0.9 * x + 0.3 * rng.normal(size=25)  # r near its bound 1

    def r(a, b, axis=-1):
        a = a - a.mean(axis=axis, keepdims=True)
        b = b - b.mean(axis=axis, keepdims=True)
        return (a * b).sum(axis) / np.sqrt((a * a).sum(axis) * (b * b).sum(axis))

    res = _scipy((x, y), r, method, 5, paired=True)
    keep = ~np.eye(25, dtype=bool)
    jack = np.array([r(x[k], y[k]) for k in keep])
    low, high = stats.bootstrap_interval(res.bootstrap_distribution, r(x, y), 0.9, method, jackknife=jack)
    assert low == pytest.approx(res.confidence_interval.low, rel=1e-10)
    assert high == pytest.approx(res.confidence_interval.high, rel=1e-10)


def test_closed_forms_and_vectorised_cells():
    s = np.arange(1.0, 102.0)[:, None] * np.array([1.0, -1.0, np.nan])  # 101 draws, 3 cells
    s[:50, 1] = np.nan  # NaN draws are left out
    low, high = stats.bootstrap_interval(s, np.array([10.0, -60.0, 0.0]), 0.9, "percentile")
    np.testing.assert_allclose(low[:2], [np.percentile(s[:, 0], 5), np.nanpercentile(s[:, 1], 5)], rtol=1e-12)
    np.testing.assert_allclose(high[:2], [np.percentile(s[:, 0], 95), np.nanpercentile(s[:, 1], 95)], rtol=1e-12)
    assert np.isnan(low[2]) and np.isnan(high[2])
    blow, bhigh = stats.bootstrap_interval(s, np.array([10.0, -60.0, 0.0]), 0.9, "basic")
    np.testing.assert_allclose([blow[0], bhigh[0]], [20 - high[0], 20 - low[0]], rtol=1e-12)
    # BCa with no bias and no acceleration is the percentile interval
    sym = np.random.default_rng(0).normal(size=(2001, 1))
    med = np.median(sym)
    lo_b, hi_b = stats.bootstrap_interval(sym, med, 0.9, "bca", jackknife=np.ones((5, 1)))
    lo_p, hi_p = stats.bootstrap_interval(sym, med, 0.9)
    np.testing.assert_allclose([lo_b, hi_b], [lo_p, hi_p], rtol=1e-12)


def test_bca_undefined_where_the_estimate_lies_outside_every_sample():
    s = np.linspace(0.0, 1.0, 50)
    low, high = stats.bootstrap_interval(s, 2.0, 0.9, "bca", jackknife=np.linspace(0, 1, 5))
    assert np.isnan(low) and np.isnan(high)


@pytest.mark.parametrize(
    ("kwargs", "error", "name"),
    [
        ({"method": "student"}, ValueError, "method"),
        ({"ci": 1.5}, ValueError, "ci"),
        ({"ci": "0.9"}, TypeError, "ci"),
        ({"method": "bca"}, ValueError, "jackknife"),
    ],
)
def test_bad_input(kwargs, error, name):
    with pytest.raises(error, match=name):
        stats.bootstrap_interval(np.ones((5, 2)), 1.0, **kwargs)
    with pytest.raises(ValueError, match="samples"):
        stats.bootstrap_interval(np.ones(1), 1.0)
