"""stats.pairwise: differences of layers/models from the map's shared bootstrap samples, and sign-flip tests."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats as sps
from scipy.spatial.distance import pdist

from brainalign import alignment_map, data, stats

N_STIM = 40


def _planted(seed, *, gap=0.0, n_sub=1, n=N_STIM, noise=1.5, base=1.5):
    """Layers 'a' and 'b' equally noisy copies of the truth (gap=0), or 'b' noisier by ``gap``."""
    rng = np.random.default_rng(seed)
    T = rng.normal(size=(n, 20))
    acts = data.activations(
        {"a": T + base * rng.normal(size=T.shape), "b": T + (base + gap) * rng.normal(size=T.shape)},
        stimulus_id=np.arange(n),
    )
    subjects = np.stack([pdist(T + noise * rng.normal(size=T.shape), "correlation") for _ in range(n_sub)])
    brain = data.rdms(subjects, stimulus_id=np.arange(n), subject=[f"s{i}" for i in range(n_sub)], region="IT")
    return acts, brain


def test_shape_symmetry_and_the_bootstrap_variance():
    acts, brain = _planted(0)
    amap = alignment_map(acts, brain, "rsa", n_boot=300, keep_samples=True, ceiling=False)
    res = stats.pairwise(amap)
    assert set(res.data_vars) == {"difference", "ci_low", "ci_high", "p_value", "p_fdr", "significant"}
    assert res["difference"].dims == ("layer", "layer_2", "region")
    d = res["difference"].sel(region="IT").values
    np.testing.assert_allclose(d, -d.T)
    assert np.isnan(res["p_value"].sel(layer="a", layer_2="a", region="IT"))
    # Stimulus bootstrap only: the t-test with the variance of the sampled differences (× n/(n − 1)).
    diff = (amap["boot"].sel(layer="a") - amap["boot"].sel(layer="b")).values.ravel()
    sd = np.sqrt(np.var(diff, ddof=1) * N_STIM / (N_STIM - 1))
    t = abs(d[0, 1]) / sd
    assert float(res["p_value"].sel(layer="a", layer_2="b", region="IT")) == pytest.approx(
        2 * sps.t.sf(t, N_STIM - 1), rel=1e-10
    )
    half = sps.t.ppf(0.975, N_STIM - 1) * sd
    assert float(res["ci_high"].sel(layer="a", layer_2="b", region="IT")) == pytest.approx(d[0, 1] + half, rel=1e-10)


def test_a_planted_better_layer_is_found():
    for n_sub in (1, 4):
        acts, brain = _planted(1, gap=3.0, n_sub=n_sub, noise=0.5, base=0.3, n=60)
        amap = alignment_map(acts, brain, "rsa", n_boot=300, keep_samples=True, ceiling=False)
        res = stats.pairwise(amap).sel(region="IT")
        assert bool(res["significant"].sel(layer="a", layer_2="b"))
        assert float(res["difference"].sel(layer="a", layer_2="b")) > 0
        assert float(res["ci_low"].sel(layer="a", layer_2="b")) > 0


def test_resamples_are_shared_across_models():
    acts, brain = _planted(2)
    one = alignment_map(acts.sel(unit=acts["layer"] == "a"), brain, "rsa", n_boot=100, keep_samples=True)
    other = acts.sel(unit=acts["layer"] == "b").assign_coords(layer=("unit", ["a"] * 20))
    two = alignment_map(other, brain, "rsa", n_boot=100, keep_samples=True)
    # The same stimulus draws: a model compared with itself has identical samples.
    again = alignment_map(acts.sel(unit=acts["layer"] == "a"), brain, "rsa", n_boot=100, keep_samples=True)
    assert one["boot"].equals(again["boot"])
    both = xr.concat([one, two], dim=xr.DataArray(["m1", "m2"], dims="model")).squeeze("layer", drop=True)
    res = stats.pairwise(both, dim="model")
    assert res["difference"].dims == ("model", "model_2", "region")
    expected = float(one["score"].squeeze() - two["score"].squeeze())
    assert float(res["difference"].sel(model="m1", model_2="m2", region="IT")) == pytest.approx(expected)


def test_sign_flip_matches_scipy_and_refusals():
    rng = np.random.default_rng(3)
    score = rng.normal(size=(3, 1, 6)) + np.array([0.0, 0.5, 0.1])[:, None, None]
    amap = xr.Dataset(
        {"score": (("layer", "region", "subject"), score)},
        coords={"layer": ["x", "y", "z"], "region": ["IT"], "subject": list("abcdef")},
        attrs={"method": "rsa"},
    )
    res = stats.pairwise(amap, test="sign_flip")
    d = score[0, 0] - score[1, 0]
    ref = sps.permutation_test((d,), np.mean, permutation_type="samples", alternative="two-sided", n_resamples=10_000)
    assert float(res["p_value"].sel(layer="x", layer_2="y", region="IT")) == pytest.approx(ref.pvalue, abs=1e-12)
    with pytest.raises(ValueError, match="keep_samples=True"):
        stats.pairwise(amap)
    with pytest.raises(ValueError, match="dim"):
        stats.pairwise(amap, dim="model")
    with pytest.raises(ValueError, match="test"):
        stats.pairwise(amap, test="t")
    with pytest.raises(ValueError, match="subject"):
        stats.pairwise(amap.isel(subject=0), test="sign_flip")


@pytest.mark.slow
def test_false_positive_rates_on_planted_equal_layers():
    """200 seeded null runs each. The sign-flip test over 10 subjects is exact: its rate lies in the
    binomial 95 % interval of alpha = 0.05. The stimulus bootstrap is conservative (its variance
    over resamples without duplicate pairs exceeds the variance over stimulus sets, as rsatoolbox's):
    its rate is at most the interval's upper end."""
    runs, alpha = 200, 0.05
    low, high = sps.binom.interval(0.95, runs, alpha)
    # Exact test: subjects' scores with the same mean for every layer.
    hits = 0
    for seed in range(runs):
        rng = np.random.default_rng(seed)
        amap = xr.Dataset(
            {"score": (("layer", "region", "subject"), 0.3 + 0.1 * rng.normal(size=(2, 1, 10)))},
            coords={"layer": ["a", "b"], "region": ["IT"], "subject": np.arange(10)},
            attrs={"method": "rsa"},
        )
        hits += float(stats.pairwise(amap, test="sign_flip")["p_value"][0, 1, 0]) < alpha
    # The largest exact p-value lattice point below 0.05 with 10 subjects is 0.0488.
    assert low <= hits <= high, hits
    hits = 0
    for seed in range(runs):
        acts, brain = _planted(seed)
        amap = alignment_map(acts, brain, "rsa", n_boot=200, keep_samples=True, ceiling=False, random_state=seed)
        hits += float(stats.pairwise(amap)["p_value"].sel(layer="a", layer_2="b", region="IT")) < alpha
    assert hits <= high, hits
