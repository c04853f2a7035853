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


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored by KFold")
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
    with pytest.raises(ValueError, match="samples of each run must be contiguous"):  # the schema check
        brainalign.encode(acts.assign_coords(run=("time", interleaved["run"].values)), interleaved)
    # Valid inputs, but run labels given to encode that interleave: encode's own fold check refuses them.
    with pytest.raises(ValueError, match="groups leaks time: run 0 appears in separate blocks"):
        brainalign.encode(acts, rec, cv=4, groups=np.tile([0, 1], n_runs * n_tr // 2))
    sk = pytest.importorskip("sklearn.model_selection")
    with pytest.raises(ValueError, match="must not be shuffled"):
        brainalign.encode(acts, rec, cv=sk.KFold(4, shuffle=True, random_state=0))


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
    # The band parts add up to the held-out R² (of the mean-centred prediction, so slightly above it).
    gap = banded["r2_split"].sum("band") - banded["r2"]
    assert float(gap.min()) >= -1e-12 and float(gap.max()) < 0.01

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


def test_plain_sklearn_estimator_matches_manual_cross_validation(rng):
    sk = pytest.importorskip("sklearn.model_selection")
    from sklearn.base import clone
    from sklearn.linear_model import Ridge
    from sklearn.metrics import r2_score

    n, n_runs = 200, 5
    run = np.repeat(np.arange(n_runs), n // n_runs)
    acts = data.activations({"a": rng.normal(size=(n, 6)), "b": rng.normal(size=(n, 6))}, stimulus_id=np.arange(n))
    Y = acts.values[:, :6] @ rng.normal(size=(6, 4)) + 0.5 * rng.normal(size=(n, 4))
    rec = data.recording(Y, stimulus_id=np.arange(n), subject="S1", region="V1").assign_coords(
        run=("presentation", run)
    )
    # Ridge.fit takes no groups: encode uses the runs for its outer folds only (leave one run out).
    scores = brainalign.encode(acts, rec, Ridge(alpha=3.0), cv=n_runs, return_predictions=True)
    assert scores.attrs["cv_groups"] == "run" and "alpha" not in scores
    for k, layer in enumerate(["a", "b"]):
        X = acts.values[:, 6 * k : 6 * (k + 1)]
        r, r2, pred = [], [], np.empty_like(Y)
        for train, test in sk.LeaveOneGroupOut().split(X, Y, run):
            pred[test] = clone(Ridge(alpha=3.0)).fit(X[train], Y[train]).predict(X[test])
            r.append([np.corrcoef(Y[test, j], pred[test, j])[0, 1] for j in range(Y.shape[1])])
            r2.append(r2_score(Y[test], pred[test], multioutput="raw_values"))
        np.testing.assert_allclose(scores["prediction"].sel(layer=layer), pred, rtol=1e-5, atol=1e-5)  # float32
        np.testing.assert_allclose(scores["r"].sel(layer=layer), np.mean(r, 0), rtol=1e-10)
        np.testing.assert_allclose(scores["r2"].sel(layer=layer), np.mean(r2, 0), rtol=1e-10)


def _trials(rec):
    """A recording with a repetition dim as one presentation per trial (repetition-major)."""
    values = rec.transpose("repetition", "presentation", "neuroid").values
    n_rep, n = values.shape[:2]
    return data.recording(
        values.reshape(n_rep * n, -1),
        stimulus_id=np.tile(rec["stimulus_id"].values, n_rep),
        subject="S1",
        region=rec["region"].values,
    ).assign_coords(repetition=("presentation", np.repeat(np.arange(n_rep), n)))


def test_single_trials_have_a_single_trial_ceiling_and_folds_of_whole_stimuli(rng):
    acts, rec, _ = _condition(rng, n=600, n_rep=4, noise=1.0)
    single_trial = 1 / (1 + 1.0**2)  # signal variance over single-trial variance
    scores = brainalign.encode(
        acts, rec, "ridge", cv=4, repetitions="keep", return_predictions=True, encoder_options={"backend": "numpy"}
    )
    assert scores.attrs["ceiling"] == "split_half_spearman_brown_single_trial"
    assert scores.attrs["cv_groups"] == "stimulus_id" and scores.attrs["n_samples"] == 2400
    np.testing.assert_allclose(scores["ceiling"], single_trial, atol=0.06)
    true = scores.sel(layer="true")
    np.testing.assert_allclose(true["r_normalized"], 1.0, atol=0.08)
    np.testing.assert_allclose(true["r2_normalized"], 1.0, atol=0.12)
    # A repetition dim and repeated stimulus_ids are the same trials: the same scores.
    as_rows = brainalign.encode(
        acts, _trials(rec), "ridge", cv=4, repetitions="keep", encoder_options={"backend": "numpy"}
    )
    for name in ("r", "r2", "ceiling", "r2_normalized"):
        np.testing.assert_allclose(as_rows[name], scores[name], rtol=1e-12)


def test_single_trial_folds_never_split_a_stimulus(rng):
    # Trials in random order; each stimulus has its own response, unrelated to the features, which
    # are many: a ridge that saw other trials of a test stimulus would predict it from memory.
    n, n_rep, p = 120, 4, 300
    stim = rng.permutation(np.tile(np.arange(n), n_rep))
    own = rng.normal(size=(n, 5))
    Y = own[stim] + 0.3 * rng.normal(size=(n * n_rep, 5))
    acts = data.activations({"random": rng.normal(size=(n, p))}, stimulus_id=np.arange(n))
    rec = data.recording(Y, stimulus_id=stim, subject="S1", region="A")
    scores = brainalign.encode(
        acts, rec, "ridge", cv=4, repetitions="keep", return_predictions=True, encoder_options={"backend": "numpy"}
    )
    fold = scores["fold"].values
    assert (fold >= 0).all() and len(np.unique(fold)) == 4
    for s in range(n):  # every stimulus is held out in one fold only, all its trials together
        assert len(np.unique(fold[stim == s])) == 1
    assert abs(float(scores["r"].mean())) < 0.1  # nothing to learn from the features
    # The predictions come back in the recording's row order, with their folds.
    pred = scores["prediction"].sel(layer="random").values
    r = [[np.corrcoef(Y[fold == f, j], pred[fold == f, j])[0, 1] for j in range(5)] for f in range(4)]
    # Predictions keep the working dtype (float64 here), so the stored ones reproduce the scores exactly.
    assert pred.dtype == np.float64
    np.testing.assert_allclose(scores["r"].sel(layer="random"), np.mean(r, 0), rtol=1e-10)
    # Given folds index the trials grouped by stimulus (4 rows each); folds that split one are refused.
    whole = [(np.arange(240, 480), np.arange(0, 240)), (np.arange(0, 240), np.arange(240, 480))]
    given = brainalign.encode(acts, rec, cv=whole, repetitions="keep", encoder_options={"backend": "numpy"})
    assert given.attrs["n_folds"] == 2 and given.attrs["cv_groups"] == "stimulus_id"
    with pytest.raises(ValueError, match=r"fold 0 has trials of stimulus .* in both its training and its test set"):
        brainalign.encode(acts, rec, cv=[(np.arange(242, 480), np.arange(0, 242))], repetitions="keep")
    sk = pytest.importorskip("sklearn.model_selection")
    grouped = brainalign.encode(
        acts, rec, cv=sk.GroupKFold(4), repetitions="keep", encoder_options={"backend": "numpy"}
    )
    assert abs(float(grouped["r"].mean())) < 0.1
    # Runs that hold every trial of their stimuli stay the fold groups.
    nested = np.repeat(np.arange(n), n_rep)
    in_runs = data.recording(Y, stimulus_id=nested, subject="S1", region="A")
    in_runs = in_runs.assign_coords(run=("presentation", nested // 30))
    by_run = brainalign.encode(
        acts, in_runs, cv="runs", repetitions="keep", return_predictions=True, encoder_options={"backend": "numpy"}
    )
    assert by_run.attrs["cv_groups"] == "run" and by_run.attrs["n_folds"] == 4
    np.testing.assert_array_equal(by_run["fold"].values, nested // 30)
    with pytest.raises(ValueError, match="cv='runs' with repetitions='keep'"):
        brainalign.encode(
            acts, rec.assign_coords(run=("presentation", np.repeat([0, 1], 240))), cv="runs", repetitions="keep"
        )


def test_ceiling_of_every_latency_in_one_split_half_call(rng):
    from brainalign.metrics import ceiling

    signal = rng.normal(size=(30, 4, 3, 1))
    trials = signal + rng.normal(size=(30, 4, 3, 5))
    trials[2, :, :, 4] = np.nan  # a missing repetition
    rec = xr.DataArray(
        trials,
        dims=("presentation", "neuroid", "latency", "repetition"),
        coords={
            "stimulus_id": ("presentation", np.arange(30)),
            "latency": [0.0, 0.1, 0.2],
            "subject": ("neuroid", ["S1"] * 4),
            "region": ("neuroid", ["V1"] * 4),
        },
    )
    ids = np.arange(2, 28)
    loop = np.stack(
        [ceiling.split_half(rec.isel(presentation=ids).sel(latency=lat), random_state=3) for lat in rec["latency"]],
        axis=-1,
    )
    np.testing.assert_array_equal(ceiling.reliability(rec, ids, random_state=3), loop)
    # The same trials as one presentation each (missing ones left out): the same ceiling.
    rows = data.trials(rec, layout="rows", min_trials=1)
    assert rows.sizes["presentation"] == 30 * 5 - 1 and "repetition" not in rows.dims
    np.testing.assert_array_equal(ceiling.reliability(rows, ids, random_state=3), loop)


def test_banded_bands_named_by_a_coordinate(rng):
    from brainalign.encoders import BandedRidgeEncoder

    n = 240
    acts = data.activations({"a": rng.normal(size=(n, 5)), "b": rng.normal(size=(n, 5))}, stimulus_id=np.arange(n))
    Y = acts.values[:, :5] @ rng.normal(size=(5, 3)) + 0.3 * rng.normal(size=(n, 3))
    rec = data.recording(Y, stimulus_id=np.arange(n), subject="S1", region="V1")
    opts = {"n_iter": 4, "random_state": 0, "backend": "numpy"}
    default = brainalign.encode(acts, rec, BandedRidgeEncoder(**opts), cv=3)
    by_name = brainalign.encode(acts, rec, BandedRidgeEncoder(bands="layer", **opts), cv=3)
    np.testing.assert_array_equal(by_name["r2_split"], default["r2_split"])
    assert by_name["band"].values.tolist() == ["a", "b"]
    # Any unit coordinate: here the first two units of each layer against the rest.
    kind = np.tile(["head"] * 2 + ["tail"] * 3, 2)
    custom = brainalign.encode(acts.assign_coords(kind=("unit", kind)), rec, BandedRidgeEncoder(bands="kind", **opts))
    assert custom["band"].values.tolist() == ["head", "tail"]
    with pytest.raises(ValueError, match="bands='nope' names no coordinate on the features' 'unit' dim"):
        brainalign.encode(acts, rec, BandedRidgeEncoder(bands="nope", **opts))
