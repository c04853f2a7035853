"""Model recovery: planted layers are found without noise, chance is reached with pure noise."""

import logging

import numpy as np
import pytest
import xarray as xr

from brainalign import data, identifiability, simulate
from brainalign.recovery import wilson_interval


@pytest.fixture
def layered(rng):
    x = rng.normal(size=(90, 20))
    layers = {}
    for k in range(4):
        x = np.tanh(x @ rng.normal(scale=1 / np.sqrt(20), size=(20, 20)) * 2)
        layers[f"layer{k}"] = x
    return data.activations(layers, stimulus_id=np.arange(90), model="toy")


METHODS = ["ridge", "rsa", "trsa", "cka", "mutual_knn", "shape"]
OPTIONS = {"ridge": {"backend": "numpy"}, "mutual_knn": {"k": 5}}


def test_no_noise_every_method_finds_the_true_layer(layered):
    res = identifiability(layered, METHODS, snr=[np.inf], n_neuroids=[60], n_repeats=3, method_options=OPTIONS)
    assert res["accuracy"].dims == ("method_name", "snr", "n_stimuli", "n_neuroids")
    np.testing.assert_array_equal(res["accuracy"].values, 1.0)
    assert (res["margin"] > 0).all()
    assert float(res["chance"]) == 0.25 and res.attrs["n_candidates"] == 4


def test_pure_noise_falls_to_chance(layered):
    res = identifiability(
        layered,
        ["ridge", "rsa", "cka"],
        snr=[1e-9],
        n_neuroids=[20],
        n_repeats=40,
        method_options={"ridge": OPTIONS["ridge"]},
        random_state=1,
    )
    n = res.attrs["n_trials_per_condition"]  # 4 true layers × 40 repeats
    # Accuracy within the 99.9 % binomial interval of chance (1/4) for n trials.
    from scipy.stats import binom

    lo, hi = binom.ppf([0.0005, 0.9995], n, 0.25) / n
    acc = res["accuracy"].values.ravel()
    assert ((acc >= lo) & (acc <= hi)).all(), acc
    assert ((res["accuracy_low"] <= 0.25) & (res["accuracy_high"] >= 0.25)).values.mean() >= 2 / 3


def test_accuracy_rises_with_snr_and_stimuli(layered):
    res = identifiability(layered, ["rsa"], snr=[0.01, 10.0], n_stimuli=[20, 90], n_neuroids=[30], n_repeats=6)
    acc = res["accuracy"].sel(method_name="rsa").squeeze("n_neuroids")
    assert float(acc.sel(snr=10.0, n_stimuli=90)) >= float(acc.sel(snr=0.01, n_stimuli=90))
    assert float(acc.sel(snr=10.0, n_stimuli=90)) == 1.0
    assert res["rank"].dims == ("method_name", "snr", "n_stimuli", "n_neuroids", "true_layer", "repeat")


def test_seeded_runs_are_identical(layered):
    def run():
        return identifiability(
            layered,
            ["rsa", "ridge"],
            snr=[0.5],
            n_stimuli=[60],
            n_repeats=3,
            random_state=7,
            method_options={"ridge": OPTIONS["ridge"]},
        )

    xr.testing.assert_identical(run(), run())


def test_which_model(layered, rng):
    # A trained-like model vs a "random" model with the same architecture (other weights).
    x = rng.normal(size=(90, 20))
    other = {}
    for k in range(4):
        x = np.tanh(x @ rng.normal(scale=1 / np.sqrt(20), size=(20, 20)) * 2)
        other[f"layer{k}"] = x
    random_model = data.activations(other, stimulus_id=np.arange(90), model="random")
    res = identifiability(
        {"trained": layered, "random": random_model}, ["rsa"], level="model", snr=[4.0], n_neuroids=[40], n_repeats=4
    )
    assert float(res["chance"]) == 0.5
    assert list(res["candidate"].values) == ["trained", "random"]
    assert list(res["true_layer"].values) == [f"{m}/layer{k}" for m in ("trained", "random") for k in range(4)]
    assert float(res["accuracy"].squeeze()) == 1.0


def test_simulated_ceiling_matches_the_estimated_one(layered):
    from brainalign.metrics.ceiling import split_half

    rec = simulate.make_recording(
        layered, {"V1": "layer0", "IT": "layer3"}, n_neuroids=200, noise_ceiling=0.6, n_repetitions=4, random_state=0
    )
    assert rec.attrs["noise_ceiling"] == pytest.approx(0.6)
    estimated = split_half(rec, random_state=0)
    assert float(np.nanmean(estimated)) == pytest.approx(0.6, abs=0.05)


def test_bad_input(layered):
    with pytest.raises(ValueError, match=r"snr must hold positive values.*ratio"):
        identifiability(layered, ["rsa"], snr=[0.0])
    with pytest.raises(ValueError, match="Unknown method"):
        identifiability(layered, ["rsaa"])
    with pytest.raises(ValueError, match=r"method_options names \['cka'\]"):
        identifiability(layered, ["rsa"], method_options={"cka": {}})
    with pytest.raises(ValueError, match=r"n_neuroids=40 is more than the units"):
        identifiability(layered, ["rsa"], n_neuroids=[40], readout="sample")
    with pytest.raises(ValueError, match="not more than the 5 cross-validation folds"):
        identifiability(layered, ["ridge"], n_stimuli=[5])
    with pytest.raises(ValueError, match="exceed the 90 stimuli"):
        identifiability(layered, ["rsa"], n_stimuli=[100])
    with pytest.raises(ValueError, match="truth"):
        identifiability(layered, ["rsa"], truth=["layer9"])
    with pytest.raises(ValueError, match="two models"):
        identifiability(layered, ["rsa"], level="model")


def test_wilson_interval():
    lo, hi = wilson_interval(np.array([0, 10]), 10)
    assert lo[0] == 0 and hi[1] == pytest.approx(1) and 0 < hi[0] < 0.35 and 0.65 < lo[1] < 1


# ------------------------------------------------------------------------------- simulations
@pytest.mark.parametrize("readout", ["linear", "sample", "nonlinear"])
def test_readouts_and_mixtures(layered, readout):
    rec = simulate.make_recording(
        layered,
        {"A": "layer1", "B": {"layer0": 0.25, "layer3": 0.75}},
        readout=readout,
        n_neuroids=10,
        snr=2.0,
        n_repetitions=3,
        random_state=0,
    )
    assert rec.dims == ("presentation", "neuroid", "repetition")
    assert rec.attrs["truth"] == {"A": "layer1", "B": "layer3"}
    assert rec.attrs["mixtures"]["B"] == {"layer0": 0.25, "layer3": 0.75}
    assert data.validate(rec) == "condition"
    if readout == "sample":  # the neuroids are units of the layer (plus noise)
        clean = simulate.make_recording(
            layered, {"A": "layer1"}, readout="sample", n_neuroids=10, snr=np.inf, random_state=0
        )
        units = layered.sel(unit=layered.layer == "layer1").values
        assert all(np.any(np.all(np.isclose(units, clean.values[:, [j]]), axis=0)) for j in range(10))


def test_snr_is_the_per_trial_variance_ratio(layered):
    rec = simulate.make_recording(layered, {"A": "layer2"}, n_neuroids=300, snr=0.5, n_repetitions=2, random_state=3)
    clean = simulate.make_recording(layered, {"A": "layer2"}, n_neuroids=300, snr=np.inf, random_state=3)
    noise = rec.values[..., 0] - clean.values
    assert np.median(clean.values.var(axis=0) / noise.var(axis=0)) == pytest.approx(0.5, rel=0.15)


def test_continuous_and_time_resolved_variants(layered):
    fmri = simulate.make_recording(
        layered, {"STG": "layer3"}, kind="continuous", n_neuroids=5, tr=2.0, isi=3.0, n_runs=3, random_state=0
    )
    assert data.validate(fmri) == "continuous" and fmri.attrs["tr"] == 2.0
    events = fmri.attrs["events"]
    assert len(events["onset"]) == 90 and set(events["run"]) == {0, 1, 2}
    meg = simulate.make_recording(
        layered,
        {"early": "layer0", "late": "layer3"},
        kind="time_resolved",
        n_neuroids=6,
        n_sensors=16,
        snr=np.inf,
        random_state=0,
    )
    assert meg.dims == ("presentation", "neuroid", "latency") and meg.sizes["neuroid"] == 16
    assert meg.attrs["peak_latency"] == {"early": 0.1, "late": 0.4}


def test_simulation_bad_input(layered):
    with pytest.raises(ValueError, match="not both"):
        simulate.make_recording(layered, {"A": "layer0"}, snr=1.0, noise_ceiling=0.5, n_repetitions=2)
    with pytest.raises(ValueError, match="needs n_repetitions >= 2"):
        simulate.make_recording(layered, {"A": "layer0"}, noise_ceiling=0.5)
    with pytest.raises(ValueError, match="weights must be positive"):
        simulate.make_recording(layered, {"A": {"layer0": -1.0}})
    with pytest.raises(ValueError, match="Invalid value for readout"):
        simulate.make_recording(layered, {"A": "layer0"}, readout="quadratic")
    with pytest.raises(ValueError, match="snr must be a positive"):
        simulate.make_recording(layered, {"A": "layer0"}, snr=-1)


def test_identify_command(layered, tmp_path, capsys):
    import yaml

    from brainalign import cli
    from brainalign.io import arrays

    arrays.save(layered, tmp_path / "acts.nc")
    (tmp_path / "stimuli.txt").write_text("\n".join(f"s{i}" for i in range(90)))
    cfg = {
        "name": "toy recovery",
        "models": [{"name": "toy", "type": "activations", "path": "acts.nc"}],
        "stimuli": {"type": "text", "path": "stimuli.txt"},
        "methods": [
            {"name": "ridge", "options": {"backend": "numpy"}, "cv": 3},
            {"name": "ridge", "label": "ridge-5", "options": {"backend": "numpy"}, "cv": 5},
            "rsa",
            {"name": "trsa", "label": "trsa-0.2-0.6", "options": {"lower": 0.2, "upper": 0.6}},
        ],
        "conditions": {"snr": [0.01, 1.0, ".inf"], "n_stimuli": [40, 90], "n_neuroids": [30], "n_repeats": 3},
    }
    (tmp_path / "id.yaml").write_text(yaml.safe_dump(cfg))
    assert cli.main(["identify", str(tmp_path / "id.yaml")]) == 0
    out = capsys.readouterr().out
    assert "top-1 accuracy of the true layer (chance 0.25)" in out and "trsa-0.2-0.6" in out
    result = arrays.load(tmp_path / "identifiability" / "identifiability.nc")
    assert list(result["method_name"].values) == ["ridge", "ridge-5", "rsa", "trsa-0.2-0.6"]
    assert result.attrs["cv"] == {"ridge": 3, "ridge-5": 5}  # each encoder its own folds, not the first one's
    assert {k: v["cv"] for k, v in result.attrs["methods"].items() if "cv" in v} == {"ridge": 3, "ridge-5": 5}
    assert not np.allclose(result["score"].sel(method_name="ridge"), result["score"].sel(method_name="ridge-5"))
    assert np.isinf(result["snr"].values[-1])
    assert (result["accuracy"].sel(snr=np.inf) == 1).all()
    assert (tmp_path / "identifiability" / "identifiability.png").stat().st_size > 5000
    assert cli.main(["identify", str(tmp_path / "id.yaml")]) == 2  # the result exists
    assert "--overwrite" in capsys.readouterr().err
    cfg["conditions"]["snr"] = [0.0]
    (tmp_path / "bad.yaml").write_text(yaml.safe_dump(cfg))
    assert cli.main(["identify", str(tmp_path / "bad.yaml")]) == 2
    assert "conditions.snr: values must be above 0" in capsys.readouterr().err


def test_cv_none_keeps_each_encoders_own_folds(layered):
    from brainalign import Encoding

    kwargs = {"snr": [1.0], "n_neuroids": [20], "n_repeats": 2, "random_state": 3}
    numpy = {"backend": "numpy"}
    methods = {
        "r3": Encoding("ridge", cv=3, encoder_options=numpy),
        "r5": Encoding("ridge", cv=5, encoder_options=numpy),
    }
    both = identifiability(layered, methods, cv=None, **kwargs)
    assert both.attrs["cv"] == {"r3": 3, "r5": 5}
    assert {k: v["cv"] for k, v in both.attrs["methods"].items()} == {"r3": 3, "r5": 5}
    for label, folds in (("r3", 3), ("r5", 5)):  # the same simulations, each scored with its own folds
        alone = identifiability(layered, {label: "ridge"}, method_options={label: numpy}, cv=folds, **kwargs)
        np.testing.assert_array_equal(both["score"].sel(method_name=label), alone["score"].sel(method_name=label))
    assert not np.allclose(both["score"].sel(method_name="r3"), both["score"].sel(method_name="r5"))
    with pytest.raises(ValueError, match="not more than the 5 cross-validation folds \\(cv\\) of 'r5'"):
        identifiability(layered, methods, cv=None, n_stimuli=[5], **kwargs)


def test_identifiability_figure(layered):
    import matplotlib

    matplotlib.use("Agg")
    from brainalign import plot

    res = identifiability(layered, ["rsa", "cka"], snr=[0.1, 1.0, np.inf], n_stimuli=[30, 90], n_repeats=2)
    fig = plot.identifiability(res)
    assert len(fig.axes) == 2  # against SNR and against the number of stimuli
    assert len(fig.axes[0].get_lines()) == 3  # two methods + chance
    with pytest.raises(ValueError, match=r"output of brainalign\.identifiability"):
        plot.identifiability(res[["rank"]])


def test_dask_gives_the_same_result(layered):
    distributed = pytest.importorskip("distributed")
    serial = identifiability(layered, ["rsa", "cka"], snr=[0.1, 1.0], n_stimuli=[40, 90], n_repeats=3)
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        on_dask = identifiability(
            layered,
            ["rsa", "cka"],
            snr=[0.1, 1.0],
            n_stimuli=[40, 90],
            n_repeats=3,
            scheduler=cluster.scheduler_address,
        )
    xr.testing.assert_identical(serial, on_dask)


def _small(rng):
    return data.activations({"l1": rng.normal(size=(30, 6)), "l2": rng.normal(size=(30, 6))}, stimulus_id=np.arange(30))


def test_all_trials_failed_is_an_error_not_accuracy_zero(rng):
    # n_stimuli=[2]: RSA cannot score any draw; this was accuracy 0.0 with CI [0, 0.39].
    with pytest.raises(ValueError, match="every trial failed for every method and condition"):
        identifiability(_small(rng), ["rsa"], snr=[1.0], n_stimuli=[2], n_neuroids=[5], n_repeats=3)


def test_a_condition_where_every_trial_failed_has_no_accuracy(rng, caplog):
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        res = identifiability(_small(rng), ["rsa"], snr=[1.0], n_stimuli=[2, 30], n_neuroids=[5], n_repeats=3)
    failed = res.sel(n_stimuli=2)
    assert (failed["n_failed"] == 6).all()
    assert np.isnan(failed["accuracy"]).all() and np.isnan(failed["accuracy_low"]).all()
    assert np.isfinite(res.sel(n_stimuli=30)["accuracy"]).all()
    assert "n_stimuli=2, n_neuroids=5: 6/6 failed" in caplog.text


def test_a_study_that_cannot_fit_is_refused_before_any_simulation():
    # The planner's estimate of the study's largest map, per method, against memory_budget; the
    # prefix shows the study's own check refused it (a map's refusal would not name the study).
    from brainalign import planning

    rng = np.random.default_rng(0)
    acts = data.activations({f"l{k}": rng.normal(size=(60, 8)) for k in range(3)}, stimulus_id=np.arange(60))
    with pytest.raises(
        ValueError,
        match=r"identifiability: method 'rsa', one map of 12 simulated regions: .*memory budget is 64.0 KiB.*"
        r"lower max_regions",
    ):
        identifiability(acts, ["rsa"], snr=[1.0], n_neuroids=[50], n_repeats=4, memory_budget="64KiB")
    plan = planning.estimate_from_shapes(60, [8] * 3, 3 * 4 * 50, 3 * 4, "rsa", itemsize=8, recording_itemsize=8)
    assert plan.peak_bytes > 64 * 1024  # what the refusal measured
    res = identifiability(acts, ["rsa"], snr=[10.0], n_neuroids=[20], n_repeats=2, memory_budget="1GB")
    assert float(res["accuracy"].mean()) > 0.5
