import numpy as np
import pytest
from scipy.spatial.distance import pdist, squareform
from scipy.stats import pearsonr, spearmanr

from brainalign import data
from brainalign.metrics import rsa


@pytest.mark.parametrize("metric", ["correlation", "cosine", "euclidean", "sqeuclidean"])
def test_rdm_matches_scipy_pdist(rng, metric):
    X = rng.normal(size=(12, 7))
    D = rsa.rdm(X, metric)
    np.testing.assert_allclose(D.values, squareform(pdist(X, metric)), rtol=1e-10, atol=1e-12)


def test_rdm_matches_rsatoolbox(rng):
    rsd = pytest.importorskip("rsatoolbox.data")
    rsr = pytest.importorskip("rsatoolbox.rdm")
    X = rng.normal(size=(10, 6))
    ref = rsr.calc_rdm(rsd.Dataset(X), method="correlation").get_matrices()[0]
    np.testing.assert_allclose(rsa.rdm(X).values, ref, rtol=1e-10, atol=1e-12)


def test_rdm_per_layer_and_labels(rng):
    acts = data.activations({"b": rng.normal(size=(5, 4)), "a": rng.normal(size=(5, 3))}, stimulus_id=list("vwxyz"))
    D = rsa.rdm(acts)
    assert D.dims == ("layer", "stimulus_id", "stimulus_id_2")
    assert D["layer"].values.tolist() == ["b", "a"]
    np.testing.assert_allclose(
        D.sel(layer="a").values, squareform(pdist(acts.values[:, 4:], "correlation")), atol=1e-12
    )
    assert float(D.sel(layer="b", stimulus_id="w", stimulus_id_2="y")) == pytest.approx(
        pdist(acts.values[[1, 3], :4], "correlation")[0]
    )


@pytest.mark.parametrize("method, ref", [("pearson", pearsonr), ("spearman", spearmanr)])
def test_compare_matches_scipy(rng, method, ref):
    A, B = rng.normal(size=(9, 5)), rng.normal(size=(9, 8))
    expected = ref(pdist(A, "correlation"), pdist(B, "correlation"))[0]
    assert rsa.compare(rsa.rdm(A), rsa.rdm(B), method) == pytest.approx(expected, abs=1e-12)


def test_compare_aligns_stimulus_order_and_batches(rng):
    acts = data.activations({"l1": rng.normal(size=(6, 4)), "l2": rng.normal(size=(6, 4))}, stimulus_id=list("abcdef"))
    order = [3, 0, 5, 1, 4, 2]
    rec = data.recording(
        rng.normal(size=(6, 9))[order],
        stimulus_id=np.array(list("abcdef"))[order],
        subject="S1",
        region=["V1"] * 4 + ["IT"] * 5,
    )
    scores = rsa.compare(rsa.rdm(acts), rsa.rdm(rec))
    assert scores.dims == ("layer", "region")
    a, r = data.align(acts, rec)
    for layer in ("l1", "l2"):
        for region in ("V1", "IT"):
            x = a.sel(unit=a.layer == layer).values
            y = r.sel(neuroid=r.region == region).values
            assert float(scores.sel(layer=layer, region=region)) == pytest.approx(
                spearmanr(pdist(x, "correlation"), pdist(y, "correlation"))[0], abs=1e-12
            )
    same = rsa.compare(rsa.rdm(acts), rsa.rdm(acts))
    assert same.dims == ("layer", "layer_2")
    np.testing.assert_allclose(np.diag(same.values), 1.0)


def test_human_vs_monkey_it_on_real_rdms(shared_data):
    scipy_io = pytest.importorskip("scipy.io")
    mat = scipy_io.loadmat(shared_data / "kriegeskorte2008" / "Kriegeskorte_Neuron2008_supplementalData.mat")
    rdms = mat["RDMs_mIT_hIT_fig1"][0]
    assert [str(r["name"][0]) for r in rdms] == ["mIT_674neurons", "hITvisStim_316vx"]
    monkey, human = (squareform(np.ravel(r["RDM"])) for r in rdms)
    assert monkey.shape == (92, 92)
    ours = rsa.compare(monkey, human, "spearman")
    assert ours == pytest.approx(spearmanr(squareform(monkey), squareform(human))[0], abs=1e-12)
    assert ours > 0.2  # human and monkey IT share their category structure (Kriegeskorte et al. 2008)


def test_bad_input(rng):
    with pytest.raises(ValueError, match="at least 3"):
        rsa.rdm(rng.normal(size=(2, 4)))
    with pytest.raises(ValueError, match="Invalid value for metric"):
        rsa.rdm(rng.normal(size=(4, 4)), "manhattan")
    with pytest.raises(ValueError, match="constant"):
        rsa.rdm(np.ones((4, 3)))
    A = rsa.rdm(rng.normal(size=(5, 3)))
    B = rsa.rdm(data.activations({"l": rng.normal(size=(5, 3))}, stimulus_id=[0, 1, 2, 3, 9]))
    with pytest.raises(ValueError, match="different stimuli"):
        rsa.compare(A, B)
    bad = A.copy()
    bad[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        rsa.compare(bad, A)
    with pytest.raises(ValueError, match="Invalid value for method"):
        rsa.compare(A, A, "kendall")
