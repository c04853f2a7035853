import numpy as np
import pytest

from brainalign import alignment_map, data, registry, simulate


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

    class MeanCorr:  # a plain callable similarity (no represent): called per pair
        def __call__(self, X, Y):
            return float(np.corrcoef(X.mean(1), Y.mean(1))[0, 1])

    amap = alignment_map(layered, rec, MeanCorr())
    assert amap.attrs["method"] == "MeanCorr"
    assert np.isfinite(amap["score"].values).all()


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
    assert np.median(ratio) == pytest.approx(1.0, rel=0.25)
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
