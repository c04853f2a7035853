"""stats.pairwise: differences of layers/models from the map's shared bootstrap samples, and sign-flip tests."""

import numpy as np
import pytest
import xarray as xr
from scipy import stats as sps
from scipy.spatial.distance import pdist, squareform

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
    res = stats.pairwise(amap, test="bootstrap")
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
    for n_sub, test in ((1, "auto"), (1, "bootstrap"), (4, "auto"), (4, "bootstrap")):
        acts, brain = _planted(1, gap=3.0, n_sub=n_sub, noise=0.5, base=0.3, n=60)
        amap = alignment_map(acts, brain, "rsa", n_boot=300, keep_samples=True, ceiling=False)
        res = stats.pairwise(amap, test=test).sel(region="IT")
        if test == "auto":  # the jackknife (of stimuli; × subjects for several), the map holding jack/half
            assert res.attrs["test"].startswith("jackknife")
        if test == "bootstrap" and n_sub > 1:
            assert res.attrs["test"].startswith("dual bootstrap")
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
    with pytest.raises(ValueError, match="jackknife"):
        stats.pairwise(amap, test="jackknife")
    with pytest.raises(ValueError, match="dim"):
        stats.pairwise(amap, dim="model")
    with pytest.raises(ValueError, match="test"):
        stats.pairwise(amap, test="t")
    with pytest.raises(ValueError, match="subject"):
        stats.pairwise(amap.isel(subject=0), test="sign_flip")


def _subject_map(score):
    n_k, _, n_s = score.shape
    return xr.Dataset(
        {"score": (("layer", "region", "subject"), score)},
        coords={"layer": [f"l{i}" for i in range(n_k)], "subject": np.arange(n_s)},
    )


def test_sign_flip_two_sided_uses_one_null_for_both_tails():
    """Random sign patterns: both tails (and both orders of a pair) from one set of flips, equal to an
    independent numpy sign-flip test with the same flips (np.random.default_rng(seed).choice, the
    draws pairwise makes) and p_value's rule; enough cells that the null is computed in blocks. The
    interval: the t interval over subjects (scipy's t quantile), to 1e-12."""
    n_k, n_c, n_s, n_perm, seed = 3, 1000, 12, 2000, 4
    rng = np.random.default_rng(1)
    score = rng.normal(size=(n_k, n_c, n_s)) + np.array([0.0, 0.3, 0.1])[:, None, None]
    res = stats.pairwise(_subject_map(score), test="sign_flip", n_perm=n_perm, random_state=seed)
    draws = np.random.default_rng(seed)
    signs = draws.choice([-1.0, 1.0], size=(n_perm, n_s))
    rows, cols = np.triu_indices(n_k, 1)
    d = score[rows] - score[cols]  # (pair, cell, subject)
    observed = d.mean(-1)
    null = np.einsum("ps,kcs->pkc", signs, d) / n_s
    greater = (1 + np.sum(null >= observed - 1e-12, axis=0)) / (1 + n_perm)
    less = (1 + np.sum(null <= observed + 1e-12, axis=0)) / (1 + n_perm)
    expected = np.minimum(1.0, 2 * np.minimum(greater, less))
    p = res["p_value"].values
    np.testing.assert_array_equal(p[rows, cols], expected)
    np.testing.assert_array_equal(p[cols, rows], expected)
    assert np.all(np.isnan(p[np.arange(n_k), np.arange(n_k)]))
    from scipy import stats as sps

    half = sps.t.ppf(0.975, n_s - 1) * d.std(-1, ddof=1) / np.sqrt(n_s)  # the t interval over subjects
    low, high = observed - half, observed + half
    lo, hi = res["ci_low"].values, res["ci_high"].values
    np.testing.assert_allclose(lo[rows, cols], low, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(hi[rows, cols], high, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(lo[cols, rows], -hi[rows, cols])
    np.testing.assert_array_equal(hi[cols, rows], -lo[rows, cols])


def test_sign_flip_exact_enumerates_every_pattern():
    """2**n_subjects <= n_perm: every sign pattern (itertools), the identity included, no rng used."""
    import itertools

    n_s = 6
    rng = np.random.default_rng(2)
    score = rng.normal(size=(3, 4, n_s)) + np.array([0.0, 0.6, 0.2])[:, None, None]
    score[2, 1, 3] = np.nan  # a subject without this cell: left out of its mean and patterns
    res = stats.pairwise(_subject_map(score), test="sign_flip", n_perm=64, random_state=0)
    for i, j in itertools.combinations(range(3), 2):
        for c in range(4):
            d = score[i, c] - score[j, c]
            d = d[np.isfinite(d)]
            means = np.array([np.mean(np.array(s) * d) for s in itertools.product([1, -1], repeat=d.size)])
            obs = d.mean()
            one = min(np.mean(means >= obs - 1e-12), np.mean(means <= obs + 1e-12))
            expected = min(1.0, 2 * one)
            assert float(res["p_value"][i, j, c]) == expected
            assert float(res["p_value"][j, i, c]) == expected


def test_sign_flip_test_sides_share_one_null():
    rng = np.random.default_rng(3)
    values = rng.normal(0.1, 1.0, size=(14, 50))
    kw = dict(n_perm=400, random_state=9)
    greater = stats.sign_flip_test(values, **kw).p_value
    less = stats.sign_flip_test(values, alternative="less", **kw).p_value
    np.testing.assert_array_equal(less, stats.sign_flip_test(-values, **kw).p_value)
    two = stats.sign_flip_test(values, alternative="two-sided", **kw).p_value
    np.testing.assert_array_equal(two, np.minimum(1.0, 2 * np.minimum(greater, less)))
    with pytest.raises(ValueError, match="alternative"):
        stats.sign_flip_test(values, alternative="both")


@pytest.mark.parametrize("method", ["spearman", "pearson", "cosine"])
def test_jackknife_scores_match_a_loop_over_left_out_stimuli(method):
    """Every left-out stimulus: the comparison recomputed on the reduced RDMs (scipy), to 1e-10;
    the half samples reproducible."""
    rng = np.random.default_rng(5)
    n = 14
    X = rng.normal(size=(n, 6))
    a = np.stack([squareform(pdist(X + s * rng.normal(size=X.shape), "correlation")) for s in (0.5, 1.0)])
    b = squareform(pdist(X + rng.normal(size=X.shape), "correlation"))
    b[0, 1] = b[1, 0] = b[2, 3]  # a tie: Spearman averages it
    res = stats.jackknife_stimuli(a, b, method, n_half=5, random_state=0)
    ref = {
        "spearman": lambda x, y: sps.spearmanr(x, y).statistic,
        "pearson": lambda x, y: sps.pearsonr(x, y).statistic,
        "cosine": lambda x, y: x @ y / np.sqrt((x @ x) * (y @ y)),
    }[method]
    for i in range(n):
        keep = np.delete(np.arange(n), i)
        for k in range(2):
            expected = ref(squareform(a[k][np.ix_(keep, keep)]), squareform(b[np.ix_(keep, keep)]))
            assert float(res["jackknife"][i, k]) == pytest.approx(expected, abs=1e-10)
    # The half samples: one set of random halves, reproducible from random_state.
    again = stats.jackknife_stimuli(a, b, method, n_half=5, random_state=0)
    assert res["half"].shape == (5, 2) and np.all(np.isfinite(res["half"]))
    np.testing.assert_array_equal(res["half"], again["half"])


def test_jackknife_variance_recovers_the_variance_over_stimulus_sets():
    """A sum over pairs with known Hoeffding parts (stimulus effects u, pair noise e):
    V(n) = 4σu²/n + 2σe²/(n(n − 1)) exactly; the raw jackknife gives about twice the pair part."""
    n, reps = 40, 400
    rng = np.random.default_rng(6)
    iu = np.triu_indices(n, 1)
    est, raw = [], []
    for _ in range(reps):
        u, e = 0.05 * rng.normal(size=n), rng.normal(size=(n, n))
        g = (u[:, None] + u[None] + (e + e.T) / np.sqrt(2))[iu]  # symmetric kernel g(i, j)
        left = np.array([g[(iu[0] != i) & (iu[1] != i)].mean() for i in range(n)])
        halves = []
        for _ in range(200):
            inside = np.zeros(n, bool)
            inside[rng.permutation(n)[: n // 2]] = True
            halves.append(g[inside[iu[0]] & inside[iu[1]]].mean())
        left2 = np.stack([left, np.zeros(n)], axis=1)[:, :, None]
        half2 = np.stack([halves, np.zeros(200)], axis=1)[:, :, None]
        est.append(stats.jackknife_variance(left2, half2)[0, 1, 0])
        raw.append((n - 1) / n * np.sum((left - left.mean()) ** 2))
    true = 4 * 0.05**2 / n + 2 * 1.0 / (n * (n - 1))
    # Within 15 %: clipped to the range α, β ≥ 0 allows, the noisy estimate errs up near that range's lower end.
    assert np.mean(est) == pytest.approx(true, rel=0.15)
    assert np.mean(raw) == pytest.approx(true * 1.9, rel=0.15)


def test_maps_keep_the_jackknife_of_stimuli():
    """Responses and brain RDMs give the same jackknife scores; the default test reads them."""
    acts, brain = _planted(7, n=20)
    amap = alignment_map(acts, brain, "rsa", n_boot=20, keep_samples=True, ceiling=False)
    assert amap["jack"].dims == ("stimulus", "layer", "region") and amap.sizes["stimulus"] == 20
    assert amap["half"].dims == ("half_sample", "layer", "region") and amap.sizes["half_sample"] == 20
    rdm_a = np.stack([squareform(pdist(acts.sel(unit=acts["layer"] == k).values, "correlation")) for k in "ab"])
    ref = stats.jackknife_stimuli(rdm_a, brain.values[0], "spearman", n_half=0)
    np.testing.assert_allclose(amap["jack"].values[:, :, 0], ref["jackknife"].values, atol=1e-12)
    rng = np.random.default_rng(7)
    rec = data.recording(rng.normal(size=(20, 8)), stimulus_id=np.arange(20), subject="S1", region="IT")
    rmap = alignment_map(acts, rec, "rsa", n_boot=20, keep_samples=True, ceiling=False)
    rdm_b = squareform(pdist(rec.values, "correlation"))
    ref = stats.jackknife_stimuli(rdm_a, rdm_b, "spearman", n_half=0)
    np.testing.assert_allclose(rmap["jack"].values[:, :, 0], ref["jackknife"].values, atol=1e-12)
    assert stats.pairwise(rmap).attrs["test"].startswith("jackknife")


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
    hits = {"jackknife": 0, "bootstrap": 0}
    for seed in range(runs):
        acts, brain = _planted(seed)
        amap = alignment_map(acts, brain, "rsa", n_boot=200, keep_samples=True, ceiling=False, random_state=seed)
        for test in hits:
            p = float(stats.pairwise(amap, test=test)["p_value"].sel(layer="a", layer_2="b", region="IT"))
            hits[test] += p < alpha
    # The default for one subject (the half-sample-corrected jackknife) is nominal: 9 of 200 when measured.
    assert low <= hits["jackknife"] <= high, hits
    assert hits["bootstrap"] <= high, hits
