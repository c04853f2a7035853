import warnings

import numpy as np
import pytest
import xarray as xr
from scipy.spatial.distance import pdist, squareform
from scipy.stats import kendalltau, pearsonr, spearmanr

from brainalign import data
from brainalign.metrics import crossnobis, rsa

from .conftest import TORCH_BACKENDS


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
    with pytest.raises(ValueError, match="all equal"):
        rsa.compare(np.ones((4, 4)) - np.eye(4), A.values[:4, :4])
    # The same stimuli in another order are aligned by id, not refused.
    C = rsa.rdm(data.activations({"l": rng.normal(size=(5, 3))}, stimulus_id=[4, 3, 2, 1, 0]))
    assert rsa.compare(A, C) == pytest.approx(
        rsa.compare(A, C.sel(stimulus_id=A.stimulus_id.values, stimulus_id_2=A.stimulus_id.values))
    )


# ------------------------------------------------------------------ comparisons, references
RSATOOLBOX_NAMES = {
    "spearman": "spearman",
    "pearson": "corr",
    "kendall_tau_a": "tau-a",
    "cosine": "cosine",
    "whitened_pearson": "corr_cov",
}


def _rsatoolbox_rdms(*matrices):
    rsr = pytest.importorskip("rsatoolbox.rdm")
    return rsr.RDMs(np.stack([squareform(m, checks=False) for m in matrices]))


@pytest.mark.parametrize("method", list(RSATOOLBOX_NAMES))
def test_compare_matches_rsatoolbox(rng, method):
    rsr = pytest.importorskip("rsatoolbox.rdm")
    A, B = rng.normal(size=(12, 7)), rng.normal(size=(12, 9))
    ra, rb = rsa.rdm(A), rsa.rdm(B)
    ref = rsr.compare(_rsatoolbox_rdms(ra.values), _rsatoolbox_rdms(rb.values), RSATOOLBOX_NAMES[method])[0, 0]
    assert rsa.compare(ra, rb, method) == pytest.approx(ref, abs=1e-12)


def test_kendall_tau_a_matches_definition_and_scipy(rng):
    # Without ties τa is scipy's τb; with ties it is (concordant − discordant) / all pairs.
    a, b = rng.normal(size=(10, 4)), rng.normal(size=(10, 6))
    ra, rb = rsa.rdm(a), rsa.rdm(b)
    assert rsa.compare(ra, rb, "kendall_tau_a") == pytest.approx(
        kendalltau(pdist(a, "correlation"), pdist(b, "correlation"))[0], abs=1e-12
    )
    va, vb = np.round(pdist(a, "correlation"), 1), np.round(pdist(b, "correlation"), 1)  # many ties
    signs = np.sign(va[:, None] - va[None, :]) * np.sign(vb[:, None] - vb[None, :])
    brute = signs[np.triu_indices(va.size, 1)].sum() / (va.size * (va.size - 1) / 2)
    assert rsa.compare(squareform(va), squareform(vb), "kendall_tau_a") == pytest.approx(brute, abs=1e-12)


def test_rankdata_matches_scipy(rng):
    from scipy.stats import rankdata

    from brainalign.backend import get_backend

    V = rng.integers(0, 6, size=(5, 40)).astype(float)  # heavy ties
    be = get_backend("numpy")
    np.testing.assert_array_equal(rsa.rankdata(be, V), rankdata(V, axis=-1))


@pytest.mark.parametrize("method", list(RSATOOLBOX_NAMES))
def test_real_human_vs_monkey_it_all_methods(kriegeskorte, method):
    rsr = pytest.importorskip("rsatoolbox.rdm")
    monkey, human = kriegeskorte["monkey"], kriegeskorte["human"]
    ref = rsr.compare(_rsatoolbox_rdms(monkey), _rsatoolbox_rdms(human), RSATOOLBOX_NAMES[method])[0, 0]
    assert rsa.compare(monkey, human, method) == pytest.approx(ref, abs=1e-10)


@pytest.mark.parametrize("method", list(RSATOOLBOX_NAMES))
def test_noise_ceiling_matches_rsatoolbox_on_real_subjects(kriegeskorte, method):
    inference = pytest.importorskip("rsatoolbox.inference")
    subjects = kriegeskorte["subjects"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # rsatoolbox warns that τ ceilings use averaged ranks
        lower, upper = inference.boot_noise_ceiling(_rsatoolbox_rdms(*subjects), method=RSATOOLBOX_NAMES[method])
    labelled = xr.DataArray(subjects, dims=("subject", "stimulus_id", "stimulus_id_2"))
    nc = rsa.noise_ceiling(labelled, method)
    assert nc.lower == pytest.approx(lower, abs=1e-10)
    assert nc.upper == pytest.approx(upper, abs=1e-10)
    assert nc.lower < nc.upper


def test_noise_ceiling_brackets_the_true_model(rng):
    truth = rng.normal(size=(15, 40))
    subjects = np.stack([rsa.rdm(truth + rng.normal(size=truth.shape) * 1.5).values for _ in range(8)])
    nc = rsa.noise_ceiling(subjects, "pearson")
    true_score = np.mean([rsa.compare(rsa.rdm(truth), s, "pearson") for s in subjects])
    assert nc.lower < true_score < nc.upper
    with pytest.raises(ValueError, match="at least 2 subjects"):
        rsa.noise_ceiling(subjects[:1], "pearson")


# ------------------------------------------------------------------------------- crossnobis
def _trials(rng, n_stim=6, n_runs=4, p=10, reps=1):
    U = rng.normal(size=(n_stim, p))
    trials = np.concatenate([U + rng.normal(size=U.shape) for _ in range(n_runs * reps)])
    stim = np.tile(np.arange(n_stim), n_runs * reps)
    run = np.repeat(np.arange(n_runs), n_stim * reps)
    return U, trials, stim, run


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")  # inside rsatoolbox
@pytest.mark.parametrize("noise", [None, "shrinkage_diag", "shrinkage_eye", "diag", "full"])
def test_crossnobis_matches_rsatoolbox(rng, noise):
    rsd = pytest.importorskip("rsatoolbox.data")
    rsr = pytest.importorskip("rsatoolbox.rdm")
    noise_mod = pytest.importorskip("rsatoolbox.data.noise")
    _, trials, stim, run = _trials(rng, reps=2)  # two trials per stimulus in each run
    ids = np.array([f"s{i}" for i in stim])
    X = xr.DataArray(
        trials,
        dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", ids), "run": ("presentation", run)},
    )
    ds = rsd.Dataset(trials, obs_descriptors={"stim": ids, "run": run})
    precision = None
    if noise is not None:  # the same residuals and estimator, inverted for rsatoolbox
        means = np.stack([trials[ids == s].mean(0) for s in np.unique(ids)])
        resid = trials - means[np.searchsorted(np.unique(ids), ids)]
        cov = noise_mod.cov_from_residuals(resid, dof=len(trials) - 6, method=noise)
        np.testing.assert_allclose(crossnobis.shrinkage_covariance(resid, len(trials) - 6, noise), cov, atol=1e-12)
        precision = np.linalg.inv(cov)
    ref = rsr.calc_rdm(ds, method="crossnobis", descriptor="stim", cv_descriptor="run", noise=precision)
    ours = rsa.rdm(X, "crossnobis", noise=noise)
    order = [list(ours["stimulus_id"].values).index(s) for s in ref.pattern_descriptors["stim"]]
    np.testing.assert_allclose(ours.values[np.ix_(order, order)], ref.get_matrices()[0], atol=1e-12)


def test_crossnobis_is_unbiased_and_accepts_repetitions_and_arrays(rng):
    # Pure noise: the crossvalidated distance is ~0 on average (the plain one is biased upwards).
    noise_only = rng.normal(size=(8, 10, 50))  # (folds, stimuli, features)
    D = rsa.rdm(noise_only, "crossnobis", noise=None)
    off = squareform(D.values, checks=False)
    assert abs(off.mean()) < 3 * off.std() / np.sqrt(off.size) + 0.02
    assert (off < 0).any()
    assert rsa.rdm(noise_only.mean(0), "sqeuclidean").values.mean() > 0.5
    # A 'repetition' dim is read as folds, like the plain (folds, stimuli, features) array.
    rec = data.recording(np.moveaxis(noise_only, 0, -1), stimulus_id=np.arange(10), subject="S1", region="V1")
    labelled = rsa.rdm(rec, "crossnobis", noise=None)
    assert labelled.dims == ("region", "stimulus_id", "stimulus_id_2")
    np.testing.assert_allclose(labelled.sel(region="V1").values, D.values, atol=1e-12)


def test_crossnobis_bad_input(rng):
    with pytest.raises(ValueError, match=r"\(n_folds, n_stimuli, n_features\)"):
        rsa.rdm(rng.normal(size=(5, 3)), "crossnobis")
    rec = data.recording(rng.normal(size=(6, 4)), stimulus_id=list("abcdef"), subject="S1", region="V1")
    with pytest.raises(ValueError, match="needs trials in folds"):
        rsa.rdm(rec, "crossnobis")
    _, trials, stim, run = _trials(rng)
    X = xr.DataArray(
        trials,
        dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", stim), "run": ("presentation", run)},
    )
    with pytest.raises(ValueError, match="every stimulus in every fold"):
        rsa.rdm(X.isel(presentation=slice(1, None)), "crossnobis")
    with pytest.raises(ValueError, match="Invalid value for noise"):
        rsa.rdm(X, "crossnobis", noise="ledoit")
    with pytest.raises(ValueError, match=r"\(10, 10\) covariance"):
        rsa.rdm(X, "crossnobis", noise=np.eye(3))
    with pytest.raises(ValueError, match="needs trial-resolved data"):
        rsa.RSA(metric="crossnobis")(trials[:6], trials[6:12])


# -------------------------------------------------------------------------------- backends
@pytest.mark.parametrize("backend", TORCH_BACKENDS)
@pytest.mark.parametrize("method", list(RSATOOLBOX_NAMES))
def test_backends_agree(rng, backend, method):
    torch = pytest.importorskip("torch")
    acts = data.activations({"a": rng.normal(size=(15, 6)), "b": rng.normal(size=(15, 4))}, stimulus_id=np.arange(15))
    Y = rng.normal(size=(15, 5))
    ref = rsa.compare(rsa.rdm(acts, "correlation"), rsa.rdm(Y), method)
    other = rsa.compare(
        rsa.rdm(acts, "correlation", backend=backend), rsa.rdm(Y, backend=backend), method, backend=backend
    )
    np.testing.assert_allclose(other.values, ref.values, atol=1e-10)
    # A torch tensor stays in torch (backend=None follows the input).
    tensor = torch.as_tensor(Y, device="cuda" if backend == "torch_cuda" else "cpu")
    np.testing.assert_allclose(rsa.rdm(tensor, "euclidean").values, squareform(pdist(Y)), atol=1e-10)
    method_obj = rsa.RSA(compare=method, backend=backend)
    assert method_obj(acts.values[:, :6], Y) == pytest.approx(rsa.RSA(compare=method)(acts.values[:, :6], Y), abs=1e-10)


def test_float32_input_is_computed_in_float32(rng):
    X = rng.normal(size=(20, 30)).astype(np.float32)
    D = rsa.rdm(X)
    assert D.dtype == np.float32
    np.testing.assert_allclose(D.values, squareform(pdist(X.astype(float), "correlation")), atol=1e-5)
