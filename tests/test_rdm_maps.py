"""alignment_map with brain RDMs (data.rdms) and model RDMs: scores, ceilings, statistics, samples."""

import warnings

import numpy as np
import pytest
import scipy.io as sio
from scipy.spatial.distance import pdist, squareform

from brainalign import alignment_map, data, stats
from brainalign.metrics import rsa
from brainalign.metrics.trsa import TRSA

N_STIM = 30


@pytest.fixture
def planted(rng):
    """Four layers drifting away from a true representation; 3 subjects' noisy RDMs of it."""
    T = rng.normal(size=(N_STIM, 10))
    acts = data.activations(
        {f"l{i}": T + 0.8 * i * rng.normal(size=T.shape) for i in range(4)},
        stimulus_id=np.arange(N_STIM),
    )
    subjects = np.stack([pdist(T + rng.normal(size=T.shape), "correlation") for _ in range(3)])
    brain = data.rdms(subjects, stimulus_id=np.arange(N_STIM), subject=["a", "b", "c"], region="IT")
    return acts, brain


def test_scores_are_rsa_compare_of_each_subject(planted):
    acts, brain = planted
    amap = alignment_map(acts, brain, "rsa")
    assert amap["score"].dims == ("layer", "region", "subject")
    expected = rsa.compare(rsa.rdm(acts), brain, "spearman")  # (layer, rdm)
    np.testing.assert_allclose(amap["score"].sel(region="IT").values, expected.values, rtol=0, atol=1e-12)
    # The ceiling is the noise ceiling across subjects; ceiling = its lower bound.
    nc = rsa.noise_ceiling(brain.values, "spearman")
    assert float(amap["ceiling_low"].sel(region="IT")) == pytest.approx(nc.lower, abs=1e-12)
    assert float(amap["ceiling_high"].sel(region="IT")) == pytest.approx(nc.upper, abs=1e-12)
    assert float(amap["ceiling"].sel(region="IT")) == float(amap["ceiling_low"].sel(region="IT"))
    np.testing.assert_allclose(amap["normalized"], amap["score"] / amap["ceiling_low"])
    # The planted order: the first layer is the best of every subject.
    assert (amap["score"].idxmax("layer") == "l0").all()
    assert amap.attrs["input"] == "brain RDMs"


def test_model_rdms_in_place_of_activations(planted):
    acts, brain = planted
    from_acts = alignment_map(acts, brain, "rsa", ceiling=False)
    model = rsa.rdm(acts)  # (layer, stimulus_id, stimulus_id_2)
    shuffled = model.isel(stimulus_id=np.arange(N_STIM)[::-1], stimulus_id_2=np.arange(N_STIM)[::-1])
    assert from_acts["score"].equals(alignment_map(shuffled, brain, "rsa", ceiling=False)["score"])
    # data.rdms-like: model RDMs along 'rdm' with a 'layer' coordinate.
    as_rdms = model.rename(layer="rdm").assign_coords(layer=("rdm", model["layer"].values))
    np.testing.assert_allclose(alignment_map(as_rdms, brain, "rsa")["score"], from_acts["score"], atol=1e-12)
    with pytest.raises(ValueError, match="layer"):
        alignment_map(model.rename(layer="rdm"), brain, "rsa")
    rec = data.recording(np.ones((N_STIM, 2)), stimulus_id=np.arange(N_STIM), subject="a", region="IT")
    with pytest.raises(ValueError, match="model RDMs"):
        alignment_map(model, rec, "rsa")


def test_trsa_transforms_both_sides(planted):
    acts, brain = planted
    method = TRSA(lower=0.2, upper=0.7)
    amap = alignment_map(acts, brain, method, ceiling=False)
    layer = acts.sel(unit=acts["layer"] == "l1").values
    # By hand: transform both RDMs, then Spearman of the upper triangles.
    from scipy.stats import spearmanr

    iu = np.triu_indices(N_STIM, 1)
    model_t = method.prepare_rdm(rsa.rdm(layer).values)
    for k, subject in enumerate(["a", "b", "c"]):
        brain_t = method.prepare_rdm(brain.values[k])
        ref = spearmanr(model_t[iu], brain_t[iu])[0]
        assert float(amap["score"].sel(layer="l1", region="IT", subject=subject)) == pytest.approx(ref, abs=1e-12)


def test_methods_without_rdm_input_are_refused(planted):
    acts, brain = planted
    for name in ("cka", "ridge"):
        with pytest.raises(ValueError, match=r"accepts_rdms=False"):
            alignment_map(acts, brain, name)


def test_statistics_on_rdm_input_reuse_stats(planted):
    acts, brain = planted
    amap = alignment_map(acts, brain, "rsa", n_boot=100, n_perm=99, keep_samples=True, random_state=3)
    assert amap["boot"].dims == ("sample", "layer", "region", "subject")
    # The same as stats.bootstrap_stimuli / permutation_test with the map's seed.
    seed = int(np.random.default_rng(3).integers(2**31))
    boot = stats.bootstrap_stimuli(rsa.rdm(acts), brain, n_boot=100, random_state=seed)
    np.testing.assert_allclose(
        amap["boot"].sel(region="IT").values, boot["bootstrap"].transpose("bootstrap", "layer", "rdm").values
    )
    np.testing.assert_allclose(amap["ci_low"].sel(region="IT").values, boot["ci_low"].values)
    perm = stats.permutation_test(rsa.rdm(acts), brain, n_perm=99, random_state=seed + 1)
    np.testing.assert_allclose(amap["p_value"].sel(region="IT").values, perm["p_value"].values)
    assert "p_fdr" in amap and "significant" in amap
    with pytest.raises(ValueError, match="whitened_pearson"):
        alignment_map(acts, brain, "rsa", method_options={"compare": "whitened_pearson"}, n_boot=10)


def test_sessions_are_averaged_and_regions_kept_apart(rng, planted):
    acts, brain = planted
    two = np.concatenate([brain.values, brain.values[::-1]])
    sessions = data.rdms(
        two, stimulus_id=np.arange(N_STIM), subject=["a", "b", "c"] * 2, region="IT", session=[1, 1, 1, 2, 2, 2]
    )
    amap = alignment_map(acts, sessions, "rsa", ceiling=False)
    mean = data.rdms((two[:3] + two[3:]) / 2, stimulus_id=np.arange(N_STIM), subject=["a", "b", "c"], region="IT")
    np.testing.assert_allclose(amap["score"], alignment_map(acts, mean, "rsa", ceiling=False)["score"], atol=1e-12)
    # A region with one subject: scored, without a ceiling.
    v1 = data.rdms(brain.values[:1], stimulus_id=np.arange(N_STIM), subject="a", region="V1")
    both = data.rdms(
        np.concatenate([brain.values, v1.values]),
        stimulus_id=np.arange(N_STIM),
        subject=["a", "b", "c", "a"],
        region=["IT", "IT", "IT", "V1"],
    )
    amap = alignment_map(acts, both, "rsa")
    assert np.isnan(amap["ceiling_low"].sel(region="V1")) and np.isfinite(amap["ceiling_low"].sel(region="IT"))
    assert np.isnan(amap["score"].sel(region="V1", subject="b")).all()


def test_missing_stimuli_and_bad_options_are_refused(planted):
    acts, brain = planted
    with pytest.raises(ValueError, match="lack 5"):
        alignment_map(acts.isel(presentation=slice(5, None)), brain, "rsa")
    with pytest.raises(ValueError, match="keep_samples"):
        alignment_map(acts, brain, "rsa", keep_samples=True)
    with pytest.raises(ValueError, match="regions"):
        alignment_map(acts, brain, "rsa", regions="hemisphere")


# --- real data: the 92 images (Kriegeskorte et al. 2008), against rsatoolbox 0.3.2 ----------------------------


@pytest.fixture
def human_it(shared_data):
    path = shared_data / "kriegeskorte2008" / "92_brainRDMs.mat"
    patterns = shared_data / "kriegeskorte2008" / "simTruePatterns.mat"
    if not path.exists() or not patterns.exists():
        pytest.skip("the kriegeskorte2008 files are absent")
    raw = sio.loadmat(path)["RDMs"].ravel()
    names = [str(e["name"].squeeze()) for e in raw]
    ids = [f"img{i + 1:02d}" for i in range(92)]
    brain = data.load_rdms(
        path,
        "RDMs",
        stimulus_id=ids,
        subject=[n.split("|")[1].strip() for n in names],
        session=[int(n.split(":")[1]) for n in names],
        region="hIT",
    )
    sim = sio.loadmat(patterns)
    acts = data.activations(
        {"sim1": sim["simTruePatterns"].astype(float), "sim2": sim["simTruePatterns2"].astype(float)},
        stimulus_id=ids,
    )
    return acts, brain


@pytest.mark.parametrize("method", ["spearman", "pearson", "cosine"])
def test_real_scores_and_ceiling_match_rsatoolbox(human_it, method):
    rsr = pytest.importorskip("rsatoolbox.rdm")
    rsd = pytest.importorskip("rsatoolbox.data")
    inference = pytest.importorskip("rsatoolbox.inference")
    names = {"spearman": "spearman", "pearson": "corr", "cosine": "cosine"}
    acts, brain = human_it
    amap = alignment_map(acts, brain, "rsa", method_options={"compare": method})
    subjects = [str(s) for s in amap["subject"].values]
    per_subject = np.stack([brain.where(brain.subject == s, drop=True).values.mean(axis=0) for s in subjects])
    ref_brain = rsr.RDMs(np.stack([squareform(m, checks=False) for m in per_subject]))
    for layer in ("sim1", "sim2"):
        X = acts.sel(unit=acts["layer"] == layer).values
        model = rsr.calc_rdm(rsd.Dataset(X), method="correlation")
        ref = rsr.compare(model, ref_brain, names[method])[0]
        got = amap["score"].sel(layer=layer, region="hIT").values
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-10)  # the same numbers, to rounding
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lower, upper = inference.boot_noise_ceiling(ref_brain, method=names[method])
    # boot_noise_ceiling is deterministic (leave one out, all subjects): the same bounds to rounding.
    assert float(amap["ceiling_low"].sel(region="hIT")) == pytest.approx(lower, abs=1e-10)
    assert float(amap["ceiling_high"].sel(region="hIT")) == pytest.approx(upper, abs=1e-10)
