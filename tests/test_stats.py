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
