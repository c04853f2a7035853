"""brainalign.encode: planted layers (real MiniLM), noise ceilings, continuous and time-resolved data."""

import numpy as np
import pytest
import xarray as xr

import brainalign
from brainalign import data, registry, simulate
from brainalign.encoders import RidgeEncoder

pytestmark = pytest.mark.usefixtures("one_thread")

pytest.importorskip("himalaya")
pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def minilm_acts(minilm):
    from brainalign.demo import load_sentences
    from brainalign.models import huggingface as hf

    model, tok = minilm
    with brainalign.set_options(progress=False):
        return hf.extract_text(model, load_sentences(), tokenizer=tok, pool="sentence", device="cpu")


def test_planted_layers_are_recovered_from_real_minilm(minilm_acts):
    truth = {"early": "encoder.layer.0", "middle": "encoder.layer.2", "late": "encoder.layer.5"}
    rec = simulate.linear_recording(minilm_acts, truth, n_neuroids=20, snr=4.0, random_state=0)
    scores = brainalign.encode(minilm_acts, rec, "ridge", cv=5, encoder_options={"backend": "numpy"})
    assert scores["r"].dims == ("layer", "neuroid") and scores.sizes["layer"] == 7
    assert "ceiling" not in scores  # no repetitions
    by_region = scores["r"].groupby("region").mean()
    for region, layer in truth.items():
        assert str(by_region.sel(region=region).idxmax("layer").item()) == layer
        assert float(by_region.sel(region=region, layer=layer)) > 0.4
    assert np.isfinite(scores["alpha"]).all() and scores.attrs["encoder"] == "ridge"


def _condition(rng, n=150, n_rep=4, noise=1.0):
    feats = rng.normal(size=(n, 10))
    W = rng.normal(size=(10, 6)) / np.sqrt(10)
    signal = feats @ W
    trials = signal[..., None] + noise * signal.std(0)[:, None] * rng.normal(size=(n, 6, n_rep))
    acts = data.activations({"true": feats, "noise": rng.normal(size=(n, 10))}, stimulus_id=np.arange(n))
    rec = data.recording(trials, stimulus_id=np.arange(n), subject="S1", region=["A"] * 3 + ["B"] * 3)
    return acts, rec, 1 / (1 + noise**2 / n_rep)


def test_noise_ceiling_normalises_a_perfect_model_to_one(rng):
    acts, rec, rho = _condition(rng, n=600)
    scores = brainalign.encode(acts, rec, "ridge", cv=4, encoder_options={"backend": "numpy"})
    np.testing.assert_allclose(scores["ceiling"], rho, atol=0.06)
    true = scores.sel(layer="true")
    np.testing.assert_allclose(true["r_normalized"], 1.0, atol=0.08)
    np.testing.assert_allclose(true["r2_normalized"], 1.0, atol=0.12)
    assert float(scores["r"].sel(layer="noise").mean()) < 0.2
    assert scores.attrs["ceiling"] == "split_half_spearman_brown"


def test_one_fit_per_layer_and_fold_for_all_regions(rng):
    fits = []

    class Counting(RidgeEncoder):
        def fit(self, X, Y, groups=None):
            fits.append(Y.shape[1])
            return super().fit(X, Y, groups)

    registry.register("counting_ridge", Counting, overwrite=True)
    acts, rec, _ = _condition(rng)
    scores = brainalign.encode(acts, rec, "counting_ridge", cv=3, ceiling=False, encoder_options={"backend": "numpy"})
    assert fits == [6] * 6  # 2 layers × 3 folds, each with every neuroid of both regions
    assert "ceiling" not in scores and scores.attrs["n_folds"] == 3


def test_continuous_recording_with_delays_and_runs(rng):
    n_runs, n_tr, tr = 4, 80, 2.0
    run = np.repeat(np.arange(n_runs), n_tr)
    time = np.tile(np.arange(n_tr) * tr, n_runs)
    feats = rng.normal(size=(n_runs * n_tr, 5))
    lagged = data.fir_delays(feats, run, [2, 3])  # the response follows the features 2-3 TRs later
    bold = lagged @ rng.normal(size=(10, 8)) + 0.5 * rng.normal(size=(n_runs * n_tr, 8))
    acts = data.activations({"layer": feats}, time=time, run=run)
    rec = data.recording(bold, tr=tr, run=run, subject="S1", region="STG")
    with_delays = brainalign.encode(acts, rec, cv=4, delays=[1, 2, 3, 4], encoder_options={"backend": "numpy"})
    without = brainalign.encode(acts, rec, cv=4, encoder_options={"backend": "numpy"})
    assert with_delays.attrs["cv_groups"] == "run" and with_delays.attrs["delays"] == [1, 2, 3, 4]
    assert float(with_delays["r"].min()) > 0.8 > float(without["r"].max()) + 0.5
    interleaved = rec.assign_coords(run=("time", np.tile([0, 1], n_runs * n_tr // 2)))
    with pytest.raises(ValueError):  # align or the folds refuse runs that interleave
        brainalign.encode(acts.assign_coords(run=("time", interleaved["run"].values)), interleaved)


def test_time_resolved_recording_scores_every_latency(rng):
    n = 120
    feats = rng.normal(size=(n, 6))
    resp = np.stack([feats @ rng.normal(size=(6, 3)) * w for w in (0.0, 1.0)], axis=-1)
    resp = resp + 0.3 * rng.normal(size=resp.shape)
    rec = data.recording(resp, stimulus_id=np.arange(n), latency=[0.0, 0.1], subject="S1", region="MEG")
    acts = data.activations({"l": feats}, stimulus_id=np.arange(n))
    scores = brainalign.encode(acts, rec, cv=4, encoder_options={"backend": "numpy"})
    assert scores["r"].dims == ("layer", "neuroid", "latency")
    assert float(scores["r"].sel(latency=0.1).min()) > 0.9 > 0.3 > float(scores["r"].sel(latency=0.0).max())


def test_banded_and_attention_through_encode(rng):
    pytest.importorskip("torch")
    n = 300
    acts = data.activations({"a": rng.normal(size=(n, 6)), "b": rng.normal(size=(n, 6))}, stimulus_id=np.arange(n))
    Y = acts.values[:, :6] @ rng.normal(size=(6, 4)) + 0.3 * rng.normal(size=(n, 4))
    rec = data.recording(Y, stimulus_id=np.arange(n), subject="S1", region="V1")
    banded = brainalign.encode(
        acts, rec, "banded_ridge", cv=3, encoder_options={"n_iter": 5, "random_state": 0, "backend": "numpy"}
    )
    assert banded["share"].dims == ("band", "neuroid") and banded["band"].values.tolist() == ["a", "b"]
    assert float(banded["share"].sel(band="a").min()) > 0.9
    np.testing.assert_allclose(banded["share"].sum("band"), 1.0)

    tokens = rng.normal(size=(n, 4, 5)).astype(np.float32)
    feats = xr.DataArray(
        tokens,
        dims=("presentation", "token", "unit"),
        coords={
            "stimulus_id": ("presentation", np.arange(n)),
            "model": ("unit", ["m"] * 5),
            "layer": ("unit", ["l"] * 5),
            "unit_index": ("unit", np.arange(5)),
        },
    )
    rec2 = data.recording(tokens[:, 1] @ rng.normal(size=(5, 3)), stimulus_id=np.arange(n), subject="S", region="A")
    att = brainalign.encode(
        feats, rec2, "attention_readout", cv=3, encoder_options={"max_epochs": 60, "backend": "torch"}
    )
    assert float(att["r"].min()) > 0.9
    with pytest.raises(ValueError, match="needs pooled features"):
        brainalign.encode(feats, rec2, "ridge")
    with pytest.raises(ValueError, match="needs token-level features"):
        brainalign.encode(acts, rec, "attention_readout")


def test_bad_input(rng):
    acts, rec, _ = _condition(rng, n=40)
    with pytest.raises(TypeError, match="encoder must be an encoder"):
        brainalign.encode(acts, rec, "rsa")
    with pytest.raises(ValueError, match="ceiling=True needs repeated presentations"):
        brainalign.encode(acts, rec.mean("repetition"), ceiling=True)
    with pytest.raises(ValueError, match="not in features"):
        brainalign.encode(acts, rec, layers=["nope"])
    with pytest.raises(ValueError, match="no activations"):
        brainalign.encode(acts.isel(presentation=slice(0, 30)), rec)
    with pytest.raises(ValueError, match="n_samples = 40 is fewer than the 50 folds"):
        brainalign.encode(acts, rec, cv=50)
    flat = rec.mean("repetition")
    flat[:, 0] = 1.0
    with pytest.raises(ValueError, match="constant target"):
        brainalign.encode(acts, flat)
    with pytest.raises(ValueError, match="encoder_options apply to an encoder given by name"):
        brainalign.encode(acts, rec, RidgeEncoder(), encoder_options={"cv": 3})
    with pytest.raises(ValueError, match="ceiling must be"):
        brainalign.encode(acts, rec, ceiling="yes")
