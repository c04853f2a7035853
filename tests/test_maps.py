import logging

import numpy as np
import pytest
import xarray as xr

from brainalign import alignment_map, data, registry, simulate
from brainalign.methods import MethodInfo


@pytest.fixture
def layered(rng):
    """Activations of a toy 4-layer 'network': each layer a random nonlinear map of the last."""
    x = rng.normal(size=(60, 20))
    layers = {}
    for k in range(4):
        x = np.tanh(x @ rng.normal(scale=1 / np.sqrt(20), size=(20, 20)) * 2)
        layers[f"layer{k}"] = x
    return data.activations(layers, stimulus_id=[f"s{i}" for i in range(60)], model="toy")


def test_planted_layers_are_recovered_with_shuffled_stimulus_order(layered):
    truth = {"V1": "layer0", "V4": "layer1", "IT": "layer3"}
    rec = simulate.linear_recording(layered, truth, n_neuroids=80, snr=4.0, random_state=1)
    rec = rec.isel(presentation=np.random.default_rng(3).permutation(60))
    amap = alignment_map(layered, rec, "rsa")
    assert amap["score"].dims == ("layer", "region")
    assert amap["layer"].values.tolist() == ["layer0", "layer1", "layer2", "layer3"]
    assert amap["region"].values.tolist() == ["V1", "V4", "IT"]
    best = amap["score"].idxmax("layer")
    assert {r: str(best.sel(region=r).item()) for r in truth} == truth
    assert amap.attrs["method"] == "rsa"
    assert amap.attrs["method_params"] == {"metric": "correlation", "compare": "spearman"}
    assert data.validate(amap, "map") == "map"


def test_several_subjects_and_time_resolved(layered, rng):
    a = simulate.linear_recording(layered, {"V1": "layer0"}, n_neuroids=20, random_state=0, subject="S1")
    b = simulate.linear_recording(layered, {"V1": "layer2"}, n_neuroids=20, random_state=1, subject="S2")
    rec = data.recording(
        np.hstack([a.values, b.values]),
        stimulus_id=a["stimulus_id"].values,
        subject=["S1"] * 20 + ["S2"] * 20,
        region="V1",
    )
    amap = alignment_map(layered, rec)
    assert amap["score"].dims == ("layer", "region", "subject")
    assert str(amap["score"].sel(subject="S1", region="V1").idxmax("layer").item()) == "layer0"
    assert str(amap["score"].sel(subject="S2", region="V1").idxmax("layer").item()) == "layer2"
    tr = data.recording(
        np.stack([a.values, b.values], axis=-1),
        stimulus_id=a["stimulus_id"].values,
        latency=[0.1, 0.2],
        subject="S1",
        region="V1",
    )
    tmap = alignment_map(layered, tr)
    assert tmap["score"].dims == ("layer", "region", "latency")
    assert str(tmap["score"].isel(latency=1, region=0).idxmax("layer").item()) == "layer2"


def test_method_objects_and_plain_callables(layered):
    rec = simulate.linear_recording(layered, {"V1": "layer1"}, n_neuroids=30, random_state=0)
    by_name = alignment_map(layered, rec, "rsa", method_options={"metric": "euclidean"})
    by_obj = alignment_map(layered, rec, registry.get("rsa", metric="euclidean"))
    np.testing.assert_allclose(by_name["score"].values, by_obj["score"].values)

    class MeanCorr:  # a similarity without batched kernels (kernels="call"): called per pair
        def __brainalign_info__(self):
            return MethodInfo(family="similarity", kernels="call", score="correlation of the mean responses")

        def get_params(self):
            return {}

        def __call__(self, X, Y):
            return float(np.corrcoef(X.mean(1), Y.mean(1))[0, 1])

    amap = alignment_map(layered, rec, MeanCorr())
    assert amap.attrs["method"] == "MeanCorr"
    assert np.isfinite(amap["score"].values).all()

    class Undeclared:  # what it is must be declared, not guessed
        def __call__(self, X, Y):
            return 0.0

    with pytest.raises(TypeError, match="must declare what it is"):
        alignment_map(layered, rec, Undeclared())


def test_bad_method(layered):
    rec = simulate.linear_recording(layered, {"V1": "layer1"}, n_neuroids=5, random_state=0)
    with pytest.raises(ValueError, match=r"Unknown method 'rsaa'.*Did you mean 'rsa'.*Registered methods"):
        alignment_map(layered, rec, "rsaa")
    with pytest.raises(TypeError, match="Invalid options for method 'rsa'"):
        alignment_map(layered, rec, "rsa", method_options={"metrik": "x"})
    with pytest.raises(ValueError, match=r"region 'V1' of subject 'sim-01'.*constant"):
        alignment_map(layered, rec.isel(neuroid=[0]), "rsa")


def test_registry_register_and_entry_point_errors():
    class Dot:
        def __brainalign_info__(self):
            return MethodInfo(family="similarity", kernels="call")

        def get_params(self):
            return {}

        def __call__(self, X, Y):
            return 0.0

    registry.register("test_dot_method", Dot)
    try:
        assert "test_dot_method" in registry.list_methods()
        with pytest.raises(ValueError, match="already registered"):
            registry.register("test_dot_method", Dot)
        assert isinstance(registry.get("test_dot_method"), Dot)
    finally:
        registry._REGISTRY.pop("test_dot_method")


def test_simulate_bad_input(layered):
    with pytest.raises(ValueError, match="not a layer"):
        simulate.linear_recording(layered, {"V1": "layer9"})
    with pytest.raises(ValueError, match="snr must be a positive"):
        simulate.linear_recording(layered, {"V1": "layer0"}, snr=0)
    with pytest.raises(ValueError, match="n_neuroids"):
        simulate.linear_recording(layered, {"V1": "layer0"}, n_neuroids=0)


def test_simulate_snr_and_reproducibility(layered):
    a = simulate.linear_recording(layered, {"V1": "layer0"}, n_neuroids=200, snr=1.0, random_state=5)
    b = simulate.linear_recording(layered, {"V1": "layer0"}, n_neuroids=200, snr=1.0, random_state=5)
    np.testing.assert_array_equal(a.values, b.values)
    clean = simulate.linear_recording(layered, {"V1": "layer0"}, n_neuroids=200, snr=np.inf, random_state=5)
    noise = a.values - clean.values
    ratio = clean.values.var(axis=0) / noise.var(axis=0)
    # Each neuroid's ratio of two sample variances over 60 stimuli has sd ≈ √(4/59) ≈ 0.26; the median of
    # 200 of them ≈ 0.26·1.25/√200 ≈ 0.023, so rel=0.1 is about 4 sd (it was 0.25, 10 sd).
    assert np.median(ratio) == pytest.approx(1.0, rel=0.1)
    assert a.attrs["truth"] == {"V1": "layer0"} and a.attrs["simulated"] is True


@pytest.mark.parametrize(
    "method, options",
    [
        ("trsa", {}),
        ("cka", {}),
        ("cka", {"kernel": "rbf", "debiased": True}),
        ("mutual_knn", {"k": 5}),
        ("best_match", {}),
        ("shape", {}),
        ("shape", {"alpha": 0.5, "method": "euclidean"}),
    ],
)
def test_every_registered_metric_recovers_planted_layers(layered, method, options):
    truth = {"V1": "layer0", "V4": "layer1", "IT": "layer3"}
    rec = simulate.linear_recording(layered, truth, n_neuroids=80, snr=4.0, random_state=1)
    amap = alignment_map(layered, rec, method, method_options=options)
    best = amap["score"].idxmax("layer") if amap.attrs["higher_is_better"] else amap["score"].idxmin("layer")
    assert {r: str(best.sel(region=r).item()) for r in truth} == truth
    assert amap.attrs["higher_is_better"] == int(method != "shape")
    # The batched map equals the method called pair by pair.
    obj = registry.get(method, **options)
    a, r = data.align(layered, rec)
    x = a.sel(unit=a.layer == "layer1").values
    y = r.sel(neuroid=r.region == "IT").values
    assert float(amap["score"].sel(layer="layer1", region="IT")) == pytest.approx(obj(x, y), abs=1e-10)


def test_anc_in_a_map_needs_unit_correspondence(layered):
    rec = data.recording(
        layered.sel(unit=layered.layer == "layer2").values * 2 + 1,
        stimulus_id=layered["stimulus_id"].values,
        subject="S1",
        region="copy",
    )
    amap = alignment_map(layered, rec, "anc")
    assert str(amap["score"].sel(region="copy").idxmax("layer").item()) == "layer2"
    assert float(amap["score"].sel(layer="layer2", region="copy")) == pytest.approx(1.0)
    small = rec.isel(neuroid=slice(0, 5))
    with pytest.raises(ValueError, match="correspond one to one"):
        alignment_map(layered, small, "anc")


def test_stochastic_shape_uses_the_trials(layered, rng):
    truth = {"V1": "layer0", "IT": "layer3"}
    clean = simulate.linear_recording(layered, truth, n_neuroids=30, snr=np.inf, random_state=2)
    trials = clean.values[..., None] + 0.3 * clean.values.std() * rng.normal(size=(*clean.shape, 6))
    rec = data.recording(trials, stimulus_id=clean["stimulus_id"].values, subject="S1", region=clean["region"].values)
    amap = alignment_map(layered, rec, "stochastic_shape", method_options={"alpha": 1.5})
    assert amap.attrs["higher_is_better"] == 0
    assert {r: str(amap["score"].sel(region=r).idxmin("layer").item()) for r in truth} == truth
    with pytest.raises(ValueError, match="'repetition' dim"):
        alignment_map(layered, clean, "stochastic_shape")
    with pytest.raises(ValueError, match="needs the trials"):
        alignment_map(layered, rec, "stochastic_shape", repetitions="average")


def test_new_methods_are_listed_and_lazy():
    names = registry.list_methods()
    for name in ("rsa", "trsa", "cka", "mutual_knn", "anc", "best_match", "shape", "stochastic_shape"):
        assert name in names
    assert registry.get("shape", alpha=0.2).get_params() == {"alpha": 0.2, "method": "angular", "group": "orthogonal"}


@pytest.mark.parametrize("method", ["rsa", "cka", "shape", "best_match"])
def test_map_on_the_torch_backend_matches_numpy(layered, method):
    pytest.importorskip("torch")
    rec = simulate.linear_recording(layered, {"V1": "layer0", "IT": "layer2"}, n_neuroids=20, random_state=0)
    ref = alignment_map(layered, rec, method)
    on_torch = alignment_map(layered, rec, method, method_options={"backend": "torch"})
    np.testing.assert_allclose(on_torch["score"].values, ref["score"].values, atol=1e-10)


# ----------------------------------------------------------------------- the full map (issue 8)
from brainalign.maps import best_layer, group_map  # noqa: E402
from brainalign.stats import fold_permutation, weighted_r  # noqa: E402

TRUTH = {"V1": "layer0", "V4": "layer1", "IT": "layer3"}


@pytest.fixture
def trials(layered):
    """4 trials per stimulus (reliability 0.6) of neurons sampled from the planted layers, in a shuffled order.

    (Neuron sampling: best_match looks for each neuroid's single best unit, which a random linear
    mixture of many units does not have.)
    """
    rec = simulate.make_recording(
        layered, TRUTH, readout="sample", n_neuroids=16, noise_ceiling=0.6, n_repetitions=4, random_state=1
    )
    return rec.isel(presentation=np.random.default_rng(7).permutation(rec.sizes["presentation"]))


# anc needs unit correspondence (the same units in both representations), which a layer and a
# brain region do not have; attention_readout needs token-level features (tested below).
MAP_METHODS = ["ridge", "banded_ridge", "rsa", "trsa", "cka", "mutual_knn", "best_match", "shape", "stochastic_shape"]


@pytest.mark.parametrize("method", MAP_METHODS)
def test_every_method_recovers_the_planted_layers(layered, trials, method):
    options = {"backend": "numpy"} if method in ("ridge", "banded_ridge") else None
    amap = alignment_map(layered, trials, method, method_options=options)
    best = best_layer(amap)
    assert {r: str(best.sel(region=r).item()) for r in TRUTH} == TRUTH
    assert data.validate(amap, "map") == "map"
    assert amap.attrs["method"] == method and amap.attrs["brainalign_version"]


def test_attention_readout_map_on_token_features(rng):
    # Token-level features whose token average is each layer's representation.
    n, tokens = 60, 4
    x = rng.normal(size=(n, 8))
    layers, reps = {}, {}
    for k in range(3):
        x = np.tanh(x @ rng.normal(scale=1 / np.sqrt(8), size=(8, 8)) * 2)
        reps[f"layer{k}"] = x
        layers[f"layer{k}"] = x[:, None, :] + 0.05 * rng.normal(size=(n, tokens, 8))
    values = np.concatenate(list(layers.values()), axis=2)
    acts = xr.DataArray(
        values.astype(np.float32),
        dims=("presentation", "token", "unit"),
        coords={
            "stimulus_id": ("presentation", np.arange(n)),
            "model": ("unit", ["m"] * 24),
            "layer": ("unit", np.repeat(list(layers), 8)),
            "unit_index": ("unit", np.tile(np.arange(8), 3)),
        },
    )
    pooled = data.activations(reps, stimulus_id=np.arange(n))
    rec = simulate.make_recording(pooled, {"A": "layer2"}, n_neuroids=6, snr=8.0, random_state=0)
    amap = alignment_map(acts, rec, "attention_readout", method_options={"max_epochs": 150, "random_state": 0}, cv=3)
    assert str(best_layer(amap).sel(region="A").item()) == "layer2"


def test_encoders_fit_once_per_layer_not_per_region(layered):
    from brainalign.encoders import RidgeEncoder

    class CountingRidge(RidgeEncoder):
        fits = 0

        def fit(self, X, Y, groups=None):
            type(self).fits += 1
            return super().fit(X, Y, groups=groups)

    regions = {f"R{i}": f"layer{i % 4}" for i in range(6)}
    rec = simulate.make_recording(layered, regions, n_neuroids=10, snr=4.0, random_state=0)
    amap = alignment_map(layered, rec, CountingRidge(backend="numpy"), cv=4)
    assert CountingRidge.fits == 4 * 4  # 4 layers × 4 outer folds, for all 6 regions at once
    assert amap.sizes["region"] == 6


def test_encoder_ceiling_matches_the_planted_reliability(layered, trials):
    amap = alignment_map(layered, trials, "ridge", method_options={"backend": "numpy"})
    # Reliability of the trial average is 0.6, so the best achievable r is sqrt(0.6).
    np.testing.assert_allclose(amap["ceiling"].values, np.sqrt(0.6), atol=0.05)
    np.testing.assert_allclose(amap["normalized"].values, amap["score"].values / amap["ceiling"].values)
    assert amap.attrs["ceiling_method"] == "split_half_spearman_brown"


def test_rsa_ceiling_is_split_half_spearman_brown(layered, trials):
    amap = alignment_map(layered, trials, "rsa")
    assert amap["ceiling"].dims == ("region",)
    # The noise-free planted layer scores close to the ceiling (never far above it).
    assert ((amap["ceiling"] > amap["score"].max("layer") - 0.1) & (amap["ceiling"] <= 1)).all()
    no_trials = alignment_map(layered, trials.mean("repetition"), "rsa")
    assert "ceiling" not in no_trials


def test_statistics_of_a_similarity_map_match_brainalign_stats(layered, trials):
    from brainalign import stats
    from brainalign.metrics import rsa

    amap = alignment_map(layered, trials, "rsa", ceiling=False, n_boot=100, n_perm=200, random_state=3)
    # The map draws one seed from its generator: the bootstrap uses it, the permutations seed + 1.
    seed = int(np.random.default_rng(3).integers(2**31))
    a, r = data.align(layered, trials)
    region = r.sel(neuroid=r.region == "V4")
    expected = stats.permutation_test(
        rsa.rdm(a), rsa.rdm(region, by=None), "spearman", n_perm=200, random_state=seed + 1
    )
    np.testing.assert_allclose(amap["p_value"].sel(region="V4").values, expected["p_value"].values)
    boot = stats.bootstrap_stimuli(rsa.rdm(a), rsa.rdm(region, by=None), "spearman", n_boot=100, random_state=seed)
    np.testing.assert_allclose(amap["ci_low"].sel(region="V4").values, boot["ci_low"].values)
    assert (amap["p_fdr"] >= amap["p_value"] - 1e-12).all()
    assert amap["significant"].dtype == bool


def test_encoder_statistics(layered):
    regions = {"A": "layer2", "noise": "layer2"}
    rec = simulate.make_recording(layered, regions, n_neuroids=8, snr=4.0, random_state=0)
    # Replace the "noise" region by pure noise: its p-values must not be small.
    noise = rec.region == "noise"
    rec = rec.where(~noise, np.random.default_rng(1).normal(size=rec.shape))
    amap = alignment_map(layered, rec, "ridge", method_options={"backend": "numpy"}, n_boot=200, n_perm=200)
    assert (amap["ci_low"] <= amap["score"] + 1e-9).all() and (amap["score"] <= amap["ci_high"] + 1e-9).all()
    assert float(amap["p_value"].sel(layer="layer2", region="A")) < 0.01
    assert float(amap["p_value"].sel(region="noise").min()) > 0.05
    assert bool(amap["significant"].sel(layer="layer2", region="A"))


def test_encoder_statistics_on_single_trials(layered, trials):
    """repetitions="keep": the statistics resample the very rows encode scored (one per trial)."""
    amap = alignment_map(
        layered, trials, "ridge", method_options={"backend": "numpy"}, repetitions="keep", n_boot=50, n_perm=50
    )
    plain = alignment_map(layered, trials, "ridge", method_options={"backend": "numpy"}, repetitions="keep")
    xr.testing.assert_allclose(amap["score"], plain["score"])
    assert (amap["ci_low"] <= amap["score"] + 1e-9).all() and (amap["score"] <= amap["ci_high"] + 1e-9).all()
    for region, layer in TRUTH.items():
        assert float(amap["p_value"].sel(layer=layer, region=region)) < 0.05


def test_weighted_r_is_pearson_of_the_resampled_rows(rng):
    Y, P = rng.normal(size=(12, 3)), rng.normal(size=(12, 3))
    rows = rng.integers(0, 12, size=12)
    C = np.bincount(rows, minlength=12)[None].astype(float)
    expected = [np.corrcoef(Y[rows, j], P[rows, j])[0, 1] for j in range(3)]
    np.testing.assert_allclose(weighted_r(C, Y, P)[0], expected, rtol=1e-10)


def test_group_map(layered):
    recs = [
        simulate.make_recording(layered, TRUTH, n_neuroids=20, snr=2.0, random_state=s, subject=f"S{s}")
        for s in range(4)
    ]
    rec = data.recording(
        np.hstack([r.values for r in recs]),
        stimulus_id=recs[0]["stimulus_id"].values,
        subject=np.concatenate([r["subject"].values for r in recs]),
        region=np.concatenate([r["region"].values for r in recs]),
    )
    per_subject = alignment_map(layered, rec, "rsa")
    assert per_subject["score"].dims == ("layer", "region", "subject")
    group = group_map(per_subject, n_boot=500, n_perm=1000, random_state=0)
    assert group["score"].dims == ("layer", "region")
    np.testing.assert_allclose(group["score"].values, per_subject["score"].mean("subject").values)
    # 4 subjects, all positive: the exact sign-flip test gives p = 1/16 (all 16 patterns enumerated).
    np.testing.assert_allclose(group["p_value"].values, 1 / 16)
    assert group.attrs["group_test"].endswith("(exact)") and group.attrs["n_subjects"] == 4
    assert (group["ci_low"] <= group["score"]).all() and (group["score"] <= group["ci_high"]).all()
    assert {r: str(best_layer(group).sel(region=r).item()) for r in TRUTH} == TRUTH
    with pytest.raises(ValueError, match="no 'subject' dim"):
        group_map(group)


def test_time_resolved_encoder_map(layered):
    rec = simulate.make_recording(
        layered,
        {"early": "layer0", "late": "layer3"},
        kind="time_resolved",
        n_neuroids=10,
        snr=8.0,
        latency=np.round(np.arange(0, 0.5, 0.05), 3),
        random_state=0,
        peak_latency={"early": 0.1, "late": 0.35},
    )
    amap = alignment_map(layered, rec, "ridge", method_options={"backend": "numpy"})
    assert amap["score"].dims == ("layer", "region", "latency")
    # Sensors mix both regions; the peak latencies tell them apart.
    assert str(best_layer(amap).sel(region="sensors", latency=0.1).item()) == "layer0"
    assert str(best_layer(amap).sel(region="sensors", latency=0.35).item()) == "layer3"


def test_continuous_encoder_map_with_hrf(layered):
    rec = simulate.make_recording(
        layered, {"STG": "layer3"}, kind="continuous", n_neuroids=10, snr=4.0, tr=2.0, isi=3.0, n_runs=2, random_state=0
    )
    events = rec.attrs["events"]
    order = [int(np.flatnonzero(layered["stimulus_id"].values == sid)[0]) for sid in events["stimulus_id"]]
    acts = data.activations(
        {layer: layered.sel(unit=layered.layer == layer).values[order] for layer in data.layer_names(layered)},
        time=events["onset"],
        run=events["run"],
    )
    amap = alignment_map(acts, rec, "ridge", method_options={"backend": "numpy"}, hrf_model="glover", cv=2)
    assert str(best_layer(amap).sel(region="STG").item()) == "layer3"
    assert amap.attrs["hrf_model"] == "glover" and amap.attrs["cv_groups"] == "run"


def test_best_layer_of_distances(layered, trials):
    amap = alignment_map(layered, trials, "shape")
    assert amap.attrs["higher_is_better"] == 0
    assert (best_layer(amap) == amap["score"].idxmin("layer")).all()


def test_map_bad_input(layered, trials):
    with pytest.raises(ValueError, match="n_boot must be a non-negative integer"):
        alignment_map(layered, trials, "rsa", n_boot=-1)
    with pytest.raises(ValueError, match="ci must be in"):
        alignment_map(layered, trials, "rsa", ci=95)
    with pytest.raises(ValueError, match="delays / hrf_model apply to encoders"):
        alignment_map(layered, trials, "rsa", delays=[1, 2])
    with pytest.raises(ValueError, match="banded_ridge maps"):
        alignment_map(layered, trials, "banded_ridge", n_perm=10)


def test_permutation_shortcut_matches_brute_force(rng):
    Y, P = rng.normal(size=(30, 5)), rng.normal(size=(30, 5))
    folds = [np.arange(0, 15), np.arange(15, 30)]
    groups = [np.array([0, 1, 2]), np.array([3, 4])]
    null = fold_permutation(Y, P, folds, groups, 20, np.random.default_rng(5), circular=False)
    replay = np.random.default_rng(5)
    expected = np.zeros((20, 2))
    for idx in folds:
        perms = np.argsort(replay.random((20, len(idx))), axis=1)
        for p, perm in enumerate(perms):
            r = [np.corrcoef(Y[idx, v], P[idx][perm, v])[0, 1] for v in range(5)]
            expected[p] += [np.mean(r[:3]), np.mean(r[3:])]
    np.testing.assert_allclose(null, expected / 2, rtol=1e-10)


@pytest.mark.parametrize("method", ["rsa", "trsa", "cka", "mutual_knn", "best_match", "shape", "stochastic_shape"])
def test_float32_activations_with_a_float64_recording_on_torch(layered, trials, method):
    # Torch refuses a matmul of float32 with float64: every method promotes both sides to one precision.
    pytest.importorskip("torch")
    acts = layered.astype(np.float32)
    rec = trials if method == "stochastic_shape" else trials.mean("repetition")
    assert acts.dtype == np.float32 and rec.dtype == np.float64
    ref = alignment_map(layered, rec, method, ceiling=False)
    on_torch = alignment_map(acts, rec, method, method_options={"backend": "torch"}, ceiling=False)
    np.testing.assert_allclose(on_torch["score"].values, ref["score"].values, atol=1e-4)


def test_whitened_pearson_map_is_bootstrapped_by_recomputing_the_rdms(layered, trials):
    # bootstrap_stimuli refuses the whitened Pearson (it needs complete RDMs): the map recomputes
    # the RDMs on each resample of the stimuli instead, with the seed the RDM bootstrap would use.
    from brainalign.metrics import rsa

    options = {"compare": "whitened_pearson"}
    amap = alignment_map(layered, trials, "rsa", method_options=options, ceiling=False, n_boot=20, n_perm=30)
    assert np.isfinite(amap["ci_low"].values).all() and (amap["ci_low"] < amap["ci_high"]).all()
    assert np.isfinite(amap["p_value"].values).all()
    seed = int(np.random.default_rng(0).integers(2**31))
    replay = np.random.default_rng(seed)
    a, r = data.align(layered, trials)
    method = rsa.RSA(compare="whitened_pearson")
    x = [a.sel(unit=a.layer == layer).values for layer in ["layer0", "layer1", "layer2", "layer3"]]
    y = r.sel(neuroid=r.region == "V4").values
    boot = []
    for _ in range(20):
        rows = replay.integers(0, len(y), size=len(y))
        boot.append([method(xl[rows], y[rows]) for xl in x])
    low, high = np.percentile(boot, [2.5, 97.5], axis=0)
    np.testing.assert_allclose(amap["ci_low"].sel(region="V4").values, low, atol=1e-12)
    np.testing.assert_allclose(amap["ci_high"].sel(region="V4").values, high, atol=1e-12)


def test_ceiling_has_its_own_interval_and_explains_itself(caplog):
    # Pure noise with 4 repetitions: normalized CKA left [-1, 1] silently and the RSA ceiling was NaN with
    # no reason given; the ceiling's own uncertainty was not reported.
    g = np.random.default_rng(0)
    acts = data.activations({"l1": g.normal(size=(30, 6)), "l2": g.normal(size=(30, 6))}, stimulus_id=np.arange(30))
    rec = data.recording(
        g.normal(size=(30, 4, 4)), stimulus_id=np.arange(30), subject="S1", region=["V1"] * 2 + ["V2"] * 2
    )
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        cka_map = alignment_map(acts, rec, "cka", random_state=0)
        rsa_map = alignment_map(acts, rec, "rsa", random_state=0)
    for amap in (cka_map, rsa_map):
        ok = np.isfinite(amap["ceiling"])
        assert (amap["ceiling_low"] <= amap["ceiling"] + 1e-12).where(ok, True).all()
        assert (amap["ceiling"] <= amap["ceiling_high"] + 1e-12).where(ok, True).all()
        assert (np.isnan(amap["ceiling_low"]) == ~ok).all()
    assert (np.abs(cka_map["normalized"]) > 1).any()
    assert "cka: normalized = score / ceiling leaves [-1, 1]" in caplog.text
    if np.isnan(rsa_map["ceiling"]).any():
        assert "rsa: no noise ceiling for region" in caplog.text and "do not agree" in caplog.text
