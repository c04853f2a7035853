import warnings

import numpy as np
import pytest
import xarray as xr
from scipy.spatial.distance import squareform
from scipy.stats import pearsonr, spearmanr

from brainalign import data, stats
from brainalign.metrics import rsa


@pytest.fixture
def rdms(rng):
    acts = data.activations({"a": rng.normal(size=(14, 6)), "b": rng.normal(size=(14, 6))}, stimulus_id=np.arange(14))
    brain = rsa.rdm(acts.values[:, :6] + 0.5 * rng.normal(size=(14, 6)))
    return rsa.rdm(acts), brain


@pytest.mark.parametrize("method, ref", [("spearman", spearmanr), ("pearson", pearsonr)])
def test_permutation_null_is_the_loop_over_permuted_rdms(rdms, method, ref):
    layers, brain = rdms
    res = stats.permutation_test(layers, brain, method, n_perm=50, random_state=3, batch_size=16)
    assert res["null"].dims == ("permutation", "layer")
    # The same permutations, done one by one with scipy on the permuted brain RDM.
    rng = np.random.default_rng(3)
    perms = np.concatenate(
        [rng.permuted(np.broadcast_to(np.arange(14), (min(16, 50 - s), 14)), axis=1) for s in range(0, 50, 16)]
    )
    B = brain.values
    for k, layer in enumerate(["a", "b"]):
        a = squareform(layers.sel(layer=layer).values, checks=False)
        loop = [ref(a, squareform(B[p][:, p], checks=False))[0] for p in perms]
        np.testing.assert_allclose(res["null"].values[:, k], loop, atol=1e-12)
        assert float(res["score"].sel(layer=layer)) == pytest.approx(ref(a, squareform(B, checks=False))[0])
    p = res["p_value"].values
    np.testing.assert_allclose(p, (1 + (res["null"].values >= res["score"].values - 1e-12).sum(0)) / 51)
    assert float(res["p_value"].sel(layer="a")) < 0.05  # the brain was made from layer a


@pytest.mark.parametrize("method", ["cosine", "whitened_pearson", "kendall_tau_a"])
def test_permutation_other_methods_match_compare(rdms, method):
    layers, brain = rdms
    res = stats.permutation_test(layers.sel(layer="a"), brain, method, n_perm=20, random_state=0)
    rng = np.random.default_rng(0)
    perms = rng.permuted(np.broadcast_to(np.arange(14), (20, 14)), axis=1)
    loop = [rsa.compare(layers.sel(layer="a").values, brain.values[p][:, p], method) for p in perms]
    np.testing.assert_allclose(res["null"].values, loop, atol=1e-12)


def test_permutation_p_values_are_calibrated_under_the_null(rng):
    p_values = []
    for _ in range(40):
        a, b = rsa.rdm(rng.normal(size=(10, 5))), rsa.rdm(rng.normal(size=(10, 5)))
        p_values.append(float(stats.permutation_test(a, b, n_perm=99, random_state=rng)["p_value"]))
    assert 0.3 < np.mean(p_values) < 0.7
    assert np.mean(np.asarray(p_values) < 0.1) < 0.3


def test_permutation_real_rdms(shared_data):
    scipy_io = pytest.importorskip("scipy.io")
    mat = scipy_io.loadmat(shared_data / "kriegeskorte2008" / "Kriegeskorte_Neuron2008_supplementalData.mat")
    monkey, human = (squareform(np.ravel(r["RDM"]).astype(float)) for r in mat["RDMs_mIT_hIT_fig1"][0])
    res = stats.permutation_test(monkey, human, n_perm=1000, random_state=0)
    assert float(res["p_value"]) == pytest.approx(1 / 1001)
    assert abs(float(res["null"].mean())) < 0.01


def test_bootstrap_stimuli_leaves_out_self_pairs(rdms):
    layers, brain = rdms
    a = layers.sel(layer="a")
    res = stats.bootstrap_stimuli(a, brain, "spearman", n_boot=30, random_state=5, batch_size=7)
    rng = np.random.default_rng(5)
    draws = np.concatenate([rng.integers(0, 14, size=(min(7, 30 - s), 14)) for s in range(0, 30, 7)])
    iu = np.triu_indices(14, 1)
    expected = []
    for s in draws:
        keep = s[iu[0]] != s[iu[1]]
        expected.append(spearmanr(a.values[s[iu[0]], s[iu[1]]][keep], brain.values[s[iu[0]], s[iu[1]]][keep])[0])
    np.testing.assert_allclose(res["bootstrap"].values, expected, atol=1e-12)
    assert float(res["ci_low"]) < float(res["score"]) < float(res["ci_high"])
    assert float(res["score"]) == pytest.approx(rsa.compare(a, brain))
    for method in ("pearson", "cosine", "kendall_tau_a"):
        other = stats.bootstrap_stimuli(layers, brain, method, n_boot=10, random_state=0)
        assert other["ci_low"].dims == ("layer",)
        assert float(other["score"].sel(layer="a")) == pytest.approx(rsa.compare(a, brain, method))


def test_bootstrap_subjects_and_fdr():
    scores = xr.DataArray(
        np.random.default_rng(0).normal([0.2, 0.5], 0.05, size=(10, 2)),
        dims=("subject", "layer"),
        coords={"layer": ["a", "b"]},
    )
    res = stats.bootstrap_subjects(scores, n_boot=2000, random_state=0)
    np.testing.assert_allclose(res["score"].values, scores.mean("subject").values)
    sem = scores.std("subject", ddof=1).values / np.sqrt(10)
    np.testing.assert_allclose(res["ci_high"].values - res["ci_low"].values, 2 * 1.96 * sem, rtol=0.25)
    p = np.array([[0.001, 0.2], [0.04, np.nan], [0.03, 0.8]])
    reject, q = stats.fdr_correction(xr.DataArray(p, dims=("layer", "region")), alpha=0.05)
    tested = ~np.isnan(p)
    np.testing.assert_allclose(q.values[tested], __import__("scipy.stats").stats.false_discovery_control(p[tested]))
    assert np.isnan(q.values[1, 1]) and not reject.values[1, 1]
    assert reject.values.tolist() == [[True, False], [False, False], [False, False]]


def test_bad_input(rdms):
    layers, brain = rdms
    with pytest.raises(ValueError, match="n_perm must be an integer"):
        stats.permutation_test(layers, brain, n_perm=0)
    with pytest.raises(ValueError, match="Invalid value for alternative"):
        stats.permutation_test(layers, brain, alternative="bigger")
    with pytest.raises(ValueError, match="Invalid value for method"):
        stats.bootstrap_stimuli(layers, brain, "whitened_pearson")
    with pytest.raises(ValueError, match=r"must lie in \(0, 1\)"):
        stats.bootstrap_stimuli(layers, brain, ci=95.0)
    with pytest.raises(ValueError, match="different stimuli"):
        stats.permutation_test(layers, brain.isel(stimulus_id=slice(1, None), stimulus_id_2=slice(1, None)))
    with pytest.raises(ValueError, match="no 'subject' dim"):
        stats.bootstrap_subjects(xr.DataArray(np.ones(3), dims="layer"))
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        stats.fdr_correction(np.array([0.5, 1.5]))


def test_two_sided_p_value_holds_for_a_null_away_from_zero(rng):
    # Cosine comparisons of RDMs have their null near 0.8, not 0. A score far *below* it is
    # extreme; the old rule |null| ≥ |score| called it typical (p = 1).
    A = rsa.rdm(rng.normal(size=(12, 5))).values
    a = squareform(A, checks=False)
    B = squareform(a.max() + a.min() - a)  # the reversed geometry
    res = {
        alt: stats.permutation_test(A, B, "cosine", n_perm=199, random_state=0, alternative=alt)
        for alt in ("greater", "less", "two-sided")
    }
    null, score = res["two-sided"]["null"].values, float(res["two-sided"]["score"])
    assert null.mean() > 0.7 and score < null.min()
    old_rule = (1 + np.sum(np.abs(null) >= abs(score) - 1e-12)) / 200
    assert old_rule == 1.0
    assert float(res["less"]["p_value"]) == pytest.approx(1 / 200)
    assert float(res["greater"]["p_value"]) == 1.0
    assert float(res["two-sided"]["p_value"]) == pytest.approx(2 / 200)
    p_greater, p_less = (float(res[alt]["p_value"]) for alt in ("greater", "less"))
    assert float(res["two-sided"]["p_value"]) == pytest.approx(min(1.0, 2 * min(p_greater, p_less)))


def test_p_value_rules_are_shared_with_the_map():
    null = np.array([[0.1, 0.5, np.nan, 0.3], [0.2, np.nan, np.nan, 0.3], [0.3 + 1e-13, 0.4, np.nan, 0.3]])
    observed = np.array([0.3, 0.45, 0.2, np.nan])
    p = stats.p_value(null, observed[None], "greater")
    # Ties within 1e-12 count; NaN draws are left out of both counts; no valid draw or a NaN score: NaN.
    np.testing.assert_allclose(p, [(1 + 1) / 4, (1 + 1) / 3, np.nan, np.nan])
    np.testing.assert_allclose(stats.p_value(null, observed[None], "less"), [(1 + 3) / 4, (1 + 1) / 3, np.nan, np.nan])
    # Two-sided: twice the smaller one-sided p-value, at most 1.
    np.testing.assert_allclose(stats.p_value(null, observed[None], "two-sided"), [1.0, 1.0, np.nan, np.nan])
    np.testing.assert_allclose(stats.p_value(null, np.array([[0.05]]), "two-sided"), [2 / 4, 2 / 3, np.nan, 2 / 4])


def test_bootstrap_subjects_equals_the_resampled_means(rng):
    # The count-matrix form equals the mean of the resampled subjects (the old n_boot × n_sub ×
    # cells gather), draw for draw.
    values = rng.normal(size=(7, 3, 4, 2))
    values[0, 0, 0, 0] = np.nan
    values[:, 1, 1, 1] = np.nan  # an untested cell
    scores = xr.DataArray(values, dims=("subject", "layer", "region", "latency"))
    res = stats.bootstrap_subjects(scores, n_boot=300, ci=0.9, random_state=4)
    draws = np.random.default_rng(4).integers(0, 7, size=(300, 7))
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        boot = np.nanmean(values[draws], axis=1)
        low, high = np.nanquantile(boot, [0.05, 0.95], axis=0)
        mean = np.nanmean(values, axis=0)
    np.testing.assert_allclose(res["ci_low"].values, low, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res["ci_high"].values, high, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res["score"].values, mean, rtol=1e-12)
    assert np.isnan(res["ci_low"].values[1, 1, 1]) and res["ci_low"].dims == ("layer", "region", "latency")
    # Subjects along another axis are moved first.
    moved = stats.bootstrap_subjects(scores.transpose("layer", "subject", ...), n_boot=300, ci=0.9, random_state=4)
    np.testing.assert_allclose(moved["ci_high"].values, high, rtol=1e-12, atol=1e-14)


def test_kendall_permutations_reuse_tie_counts(rdms, monkeypatch):
    # Ties do not change when the values are reordered: counted once per RDM, not per permutation.
    from brainalign.metrics import comparisons

    layers, brain = rdms
    calls = []
    original = comparisons.tied_pairs
    monkeypatch.setattr(comparisons, "tied_pairs", lambda x: calls.append(1) or original(x))
    stats.permutation_test(layers, brain, "kendall_tau_a", n_perm=30, random_state=2)
    calls_30 = len(calls)
    calls.clear()
    res = stats.permutation_test(layers, brain, "kendall_tau_a", n_perm=15, random_state=2)
    # Two layers and one brain RDM, counted once for the observed scores and once for all the
    # permutations (one batch), whatever the number of permutations.
    assert len(calls) == calls_30 == 2 * 3
    monkeypatch.undo()
    rng = np.random.default_rng(2)
    perms = rng.permuted(np.broadcast_to(np.arange(14), (15, 14)), axis=1)
    loop = [rsa.compare(layers.values[1], brain.values[p][:, p], "kendall_tau_a") for p in perms]
    np.testing.assert_allclose(res["null"].values[:, 1], loop, atol=1e-12)


def test_fdr_is_scipys_benjamini_hochberg(rng):
    from scipy.stats import false_discovery_control

    p = rng.uniform(size=(4, 5)) ** 3
    reject, q = stats.fdr_correction(p, alpha=0.1)
    np.testing.assert_allclose(q.ravel(), false_discovery_control(p.ravel()), rtol=1e-15)
    np.testing.assert_array_equal(reject, q <= 0.1)
    empty_reject, empty_q = stats.fdr_correction(np.full(3, np.nan))
    assert np.isnan(empty_q).all() and not empty_reject.any()


def test_counts_are_checked_by_the_shared_helper():
    from brainalign.utils import check_count

    assert check_count("n", np.int64(3)) == 3 and isinstance(check_count("n", np.int64(3)), int)
    for bad in (0, -1, 2.5, True, "3", None):
        with pytest.raises(ValueError, match=r"n must be an integer ≥ 1"):
            check_count("n", bad)
    with pytest.raises(ValueError, match=r"n_words must be an integer ≥ 3 \(words per sentence\), got 2"):
        check_count("n_words", 2, 3, "words per sentence")
    with pytest.raises(ValueError, match="n_boot must be an integer"):
        stats.bootstrap_subjects(xr.DataArray(np.ones((3, 2)), dims=("subject", "layer")), n_boot=1.5)
    with pytest.raises(ValueError, match="batch_size must be an integer"):
        stats.bootstrap_stimuli(rsa.rdm(np.eye(5)), rsa.rdm(np.eye(5)), batch_size=0)


# ----------------------------------------------------------------------- fold statistics
def _folds_data(rng, n=60, targets=5):
    Y = rng.normal(size=(n, targets))
    P = 0.5 * Y + rng.normal(size=(n, targets))
    P[:20, 4] = 1.0  # a target whose prediction is constant in the first fold
    return Y, P, [np.arange(20), np.arange(20, 45), np.arange(45, 60)]


@pytest.mark.parametrize("blocks", [False, True])
def test_fold_bootstrap_is_the_loop_over_resampled_rows(rng, blocks):
    Y, P, folds = _folds_data(rng)
    boot = stats.fold_bootstrap(Y, P, folds, 70, np.random.default_rng(1), blocks, 6, batch=32)
    # The same draws, one by one, with scipy's r on the resampled rows.
    draws = np.random.default_rng(1)
    expected = np.zeros((70, 5))
    for idx in folds:
        m = len(idx)
        for start in range(0, 70, 32):
            b = min(32, 70 - start)
            if blocks and m > 6:
                starts = draws.integers(0, m - 6 + 1, size=(b, -(-m // 6)))
                rows = (starts[..., None] + np.arange(6)).reshape(b, -1)
            else:
                rows = draws.integers(0, m, size=(b, m))
            for t, r in enumerate(rows):
                for j in range(5):
                    y, p = Y[idx][r, j], P[idx][r, j]
                    expected[start + t, j] += np.nan if np.ptp(p) == 0 else pearsonr(y, p)[0]
    expected /= len(folds)
    np.testing.assert_allclose(boot, expected, rtol=1e-10, atol=1e-12)
    assert np.isnan(boot[:, 4]).all() and np.isfinite(boot[:, :4]).all()


@pytest.mark.parametrize("circular", [False, True])
def test_fold_permutation_is_the_loop_over_shuffled_predictions(rng, circular):
    Y, P, folds = _folds_data(rng)
    groups = [np.array([0, 1]), np.array([2, 3, 4]), np.array([4])]
    null = stats.fold_permutation(Y, P, folds, groups, 40, np.random.default_rng(2), circular)
    draws = np.random.default_rng(2)
    expected = np.zeros((40, len(groups)))
    for idx in folds:
        m = len(idx)
        if circular:
            shifts = draws.integers(max(1, m // 10), max(2, m - m // 10), size=40)
            perms = (np.arange(m)[None, :] + shifts[:, None]) % m
        else:
            perms = np.argsort(draws.random((40, m)), axis=1)
        for t, perm in enumerate(perms):
            r = [np.nan if np.ptp(P[idx][:, j]) == 0 else pearsonr(Y[idx][:, j], P[idx][perm, j])[0] for j in range(5)]
            for g, cols in enumerate(groups):
                kept = [r[j] for j in cols if np.isfinite(r[j])]
                expected[t, g] += np.mean(kept) if kept else np.nan
    expected /= len(folds)
    np.testing.assert_allclose(null, expected, rtol=1e-10, atol=1e-12)
    assert np.isnan(null[:, 2]).all()  # target 4 is constant in one fold: no score for that fold
    # Planted truth: the observed (unshuffled) score of group 0 lies far in the null's upper tail.
    observed = np.mean([pearsonr(Y[idx][:, j], P[idx][:, j])[0] for idx in folds for j in (0, 1)])
    assert float(stats.p_value(null[:, :1], np.array([[observed]]))[0]) < 0.05


def test_fold_statistics_bad_input(rng):
    Y, P, folds = _folds_data(rng)
    with pytest.raises(ValueError, match="Y and P must be 2-D arrays of one shape"):
        stats.fold_bootstrap(Y, P[:, :2], folds, 10)
    with pytest.raises(ValueError, match="n_perm must be an integer"):
        stats.fold_permutation(Y, P, folds, [np.arange(2)], 0)


# ----------------------------------------------------------------------- group statistics
def test_sign_flip_test_exact_and_random(rng):
    import itertools

    values = rng.normal(0.3, 0.5, size=(6, 3))
    values[2, 1] = np.nan  # a subject without this cell
    values[:, 2] = np.nan  # a cell no subject scored
    res = stats.sign_flip_test(values, n_perm=100, random_state=0)
    assert res.exact and res.n_patterns == 2**6
    # Brute force: every sign pattern, NaN scores left out of the mean.
    for c in range(2):
        v = values[:, c][np.isfinite(values[:, c])]
        means = [np.mean(np.array(s) * v) for s in itertools.product([1, -1], repeat=v.size)]
        p = np.mean(np.array(means) >= np.mean(v) - 1e-12)
        assert res.p_value[c] == pytest.approx(p, rel=1e-12)
        assert res.mean[c] == pytest.approx(np.mean(v))
    assert np.isnan(res.p_value[2]) and np.isnan(res.mean[2])
    # More patterns than n_perm: random signs and p_value's rule.
    many = rng.normal(0.0, 1.0, size=(12, 2))
    res = stats.sign_flip_test(many, n_perm=300, random_state=np.random.default_rng(5))
    signs = np.random.default_rng(5).choice([-1.0, 1.0], size=(300, 12))
    null = signs @ many / 12
    assert not res.exact and res.n_patterns == 300
    np.testing.assert_allclose(res.p_value, stats.p_value(null, many.mean(0)[None]), rtol=1e-12)
    # Planted effect vs none.
    assert stats.sign_flip_test(np.full((10, 1), 0.2) + 0.01 * rng.normal(size=(10, 1)), 2000, 0).p_value[0] < 0.01
    with pytest.raises(ValueError, match="at least 2 subjects"):
        stats.sign_flip_test(np.ones((1, 3)))


def test_percentile_interval_leaves_out_nans(rng):
    samples = rng.normal(size=(200, 3))
    samples[::7, 1] = np.nan
    samples[:, 2] = np.nan
    low, high = stats.percentile_interval(samples, 0.9)
    kept = samples[:, 1][np.isfinite(samples[:, 1])]
    assert low[0] == pytest.approx(np.percentile(samples[:, 0], 5)) and high[1] == pytest.approx(
        np.percentile(kept, 95)
    )
    assert np.isnan(low[2]) and np.isnan(high[2])


@pytest.mark.parametrize("method", ["pearson", "cosine", "kendall_tau_a", "spearman"])
def test_bootstrap_stimuli_other_methods_are_the_loop(rdms, method):
    layers, brain = rdms
    # Tied dissimilarities, so that ranks and τa meet ties within and across resampled pairs.
    layers = layers.round(1)
    res = stats.bootstrap_stimuli(layers, brain, method, n_boot=25, random_state=6, batch_size=10)
    draw = np.random.default_rng(6)
    draws = np.concatenate([draw.integers(0, 14, size=(min(10, 25 - s), 14)) for s in (0, 10, 20)])
    iu = np.triu_indices(14, 1)

    def score(a, b):
        if method == "pearson":
            return pearsonr(a, b)[0]
        if method == "spearman":
            return spearmanr(a, b)[0]
        if method == "cosine":
            return a @ b / np.sqrt(a @ a * (b @ b))
        signs = np.sign(a[:, None] - a[None, :]) * np.sign(b[:, None] - b[None, :])  # τa by definition
        return signs[np.triu_indices(a.size, 1)].sum() / (a.size * (a.size - 1) / 2)

    for k, layer in enumerate(["a", "b"]):
        A = layers.sel(layer=layer).values
        expected = []
        for s in draws:
            keep = s[iu[0]] != s[iu[1]]
            expected.append(score(A[s[iu[0]], s[iu[1]]][keep], brain.values[s[iu[0]], s[iu[1]]][keep]))
        np.testing.assert_allclose(res["bootstrap"].values[:, k], expected, atol=1e-12)
