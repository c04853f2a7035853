"""``brainalign run``: cells, resume after interruption, protection of results, Dask, CLI."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import xarray as xr
import yaml

from brainalign import cli, data
from brainalign.config import ConfigError
from brainalign.io import arrays
from brainalign.runner import run

N = 50


def _layered_activations(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N, 16))
    layers = {}
    for k in range(4):
        x = np.tanh(x @ rng.normal(scale=1 / 4, size=(16, 16)) * 2)
        layers[f"layer{k}"] = x
    return data.activations(layers, stimulus_id=np.arange(N), model="toy")


SLOW_METHOD = '''
import time
from brainalign.metrics.rsa import RSA

class SlowRSA(RSA):
    """RSA that takes its time, so that a test can interrupt a run between cells."""
    def represent(self, X):
        time.sleep(0.06)
        return super().represent(X)
'''


@pytest.fixture
def bench(tmp_path):
    """A benchmark folder: saved activations, stimuli, a config with several cells."""
    arrays.save(_layered_activations(), tmp_path / "acts.nc")
    (tmp_path / "stimuli.txt").write_text("\n".join(f"stimulus {i}" for i in range(N)))
    (tmp_path / "slow_method.py").write_text(SLOW_METHOD)
    truth = {"V1": "layer0", "V4": "layer1", "IT": "layer3"}
    cfg = {
        "name": "toy benchmark",
        "output": "results",
        "models": [{"name": "toy", "type": "activations", "path": "acts.nc"}],
        "datasets": [
            {
                "name": f"sim{s}",
                "stimuli": {"type": "text", "path": "stimuli.txt"},
                "simulate": {"model": "toy", "regions": truth, "n_neuroids": 60, "snr": 4.0, "random_state": s},
            }
            for s in (1, 2)
        ],
        "methods": [
            {"name": "rsa"},
            {"name": "rsa", "label": "rsa-euclidean", "options": {"metric": "euclidean"}},
        ],
    }
    (tmp_path / "bench.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path, cfg, truth


def _maps(folder):
    return {p.stem: arrays.load(p) for p in sorted((folder / "maps").glob("*.nc"))}


def test_run_recovers_planted_layers_and_resumes(bench):
    folder, _, truth = bench
    result = run(folder / "bench.yaml")
    assert len(result.computed) == 4 and not result.skipped
    maps = _maps(folder / "results")
    assert sorted(maps) == ["sim1__toy__rsa", "sim1__toy__rsa-euclidean", "sim2__toy__rsa", "sim2__toy__rsa-euclidean"]
    for amap in maps.values():
        best = amap["score"].idxmax("layer")
        assert {r: str(best.sel(region=r).item()) for r in truth} == truth
        assert amap.attrs["truth"] == truth
    for name in maps:
        assert (folder / "results" / "figures" / f"{name}.png").exists()
        assert (folder / "results" / "figures" / f"{name}.pdf").exists()
    report = (folder / "results" / "report.html").read_text()
    assert report.count('<span class="ok">3/3</span>') == 4  # the report shows every recovery
    again = run(folder / "bench.yaml")
    assert again.computed == [] and len(again.skipped) == 4


def test_changed_config_never_overwrites_results(bench):
    folder, cfg, _ = bench
    run(folder / "bench.yaml", report=False)
    before = (folder / "results" / "maps" / "sim1__toy__rsa.nc").read_bytes()
    cfg["datasets"][0]["simulate"]["snr"] = 1.0
    (folder / "bench.yaml").write_text(yaml.safe_dump(cfg))
    with pytest.raises(ConfigError, match=r"different configuration.*--overwrite"):
        run(folder / "bench.yaml", report=False)
    assert (folder / "results" / "maps" / "sim1__toy__rsa.nc").read_bytes() == before
    result = run(folder / "bench.yaml", overwrite=True, report=False)
    assert sorted(result.computed) == ["sim1__toy__rsa", "sim1__toy__rsa-euclidean"]  # only the changed cells
    assert (folder / "results" / "maps" / "sim1__toy__rsa.nc").read_bytes() != before


def _cli(folder, *args, **kwargs):
    env = {
        **os.environ,
        "PYTHONPATH": f"{folder}{os.pathsep}{os.environ.get('PYTHONPATH', '')}",
        "BRAINALIGN_PROGRESS": "0",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "brainalign.cli", *args],
        cwd=folder,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "SIGKILL"])
def test_interrupted_run_finishes_remaining_cells_only(bench, sig):
    folder, cfg, _ = bench
    for method in cfg["methods"]:
        method["name"] = "slow_method:SlowRSA"
    cfg["allow_code"] = True  # the config names code of its own: the slow plug-in
    (folder / "bench.yaml").write_text(yaml.safe_dump(cfg))
    proc = _cli(folder, "run", "bench.yaml")
    maps_dir = folder / "results" / "maps"
    deadline = time.time() + 120
    while time.time() < deadline and not list(maps_dir.glob("*.nc")):
        time.sleep(0.05)
    assert list(maps_dir.glob("*.nc")), proc.communicate()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == (130 if sig == signal.SIGINT else -signal.SIGKILL), err
    done = sorted(p.stem for p in maps_dir.glob("*.nc"))
    assert 1 <= len(done) < 4
    for path in maps_dir.glob("*.nc"):  # every map in place is complete
        arrays.load(path)
    # The rerun computes the remaining cells only ...
    proc = _cli(folder, "run", "bench.yaml")
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert f"{4 - len(done)} cell(s) computed, {len(done)} already done" in out
    assert not [p for p in maps_dir.iterdir() if p.name.startswith(".")]  # no temporary files left
    # ... and the maps equal those of an uninterrupted run.
    cfg["output"] = "fresh"
    (folder / "fresh.yaml").write_text(yaml.safe_dump(cfg))
    sys.path.insert(0, str(folder))  # the slow plug-in method
    try:
        run(folder / "fresh.yaml", report=False)
    finally:
        sys.path.remove(str(folder))
    resumed, uninterrupted = _maps(folder / "results"), _maps(folder / "fresh")
    assert sorted(resumed) == sorted(uninterrupted)
    for name in resumed:
        xr.testing.assert_identical(resumed[name], uninterrupted[name])


def test_dask_run_equals_serial_run(bench):
    distributed = pytest.importorskip("distributed")
    folder, cfg, _ = bench
    serial = run(folder / "bench.yaml", report=False)
    cfg["output"] = "dask-results"
    (folder / "dask.yaml").write_text(yaml.safe_dump(cfg))
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        result = run(folder / "dask.yaml", scheduler=cluster.scheduler_address, report=False)
    assert sorted(result.computed) == sorted(serial.computed)
    a, b = _maps(folder / "results"), _maps(folder / "dask-results")
    assert sorted(a) == sorted(b)
    for name in a:
        xr.testing.assert_identical(a[name], b[name])


def test_cli_errors_are_one_line_and_exit_2(bench, capsys):
    folder, cfg, _ = bench
    cfg["methods"] = ["not_a_method"]
    (folder / "typo.yaml").write_text(yaml.safe_dump(cfg))
    assert cli.main(["run", str(folder / "typo.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("brainalign: error: methods[0].name: 'not_a_method' is not a registered method")
    assert "rsa" in err and "\n" not in err
    cfg["methods"] = ["rsa"]
    cfg["datasets"][0]["stimuli"]["path"] = "missing.txt"
    (folder / "missing.yaml").write_text(yaml.safe_dump(cfg))
    assert cli.main(["run", str(folder / "missing.yaml")]) == 2
    assert "stimuli.path" in capsys.readouterr().err
    cfg["datasets"][0]["stimuli"]["path"] = "stimuli.txt"
    cfg["datasets"][0]["simulate"]["regions"] = {"V1": "layer9"}
    (folder / "layer.yaml").write_text(yaml.safe_dump(cfg))
    assert cli.main(["run", str(folder / "layer.yaml")]) == 2
    assert "'layer9' is not a layer of 'toy'" in capsys.readouterr().err
    assert cli.main(["report", str(folder / "nowhere")]) == 2
    assert "No maps" in capsys.readouterr().err


def test_no_stimulus_in_common(bench, capsys):
    folder, cfg, _ = bench
    rec = data.recording(
        np.random.default_rng(0).normal(size=(5, 3)), stimulus_id=np.arange(100, 105), subject="S1", region="V1"
    )
    arrays.save(rec, folder / "rec.nc")
    cfg["datasets"] = [{"name": "real", "stimuli": {"type": "text", "path": "stimuli.txt"}, "recording": "rec.nc"}]
    (folder / "nocommon.yaml").write_text(yaml.safe_dump(cfg))
    assert cli.main(["run", str(folder / "nocommon.yaml")]) == 2
    assert "no stimulus_id in common" in capsys.readouterr().err
    assert not list((folder / "results" / "maps").glob("*.nc"))


def test_report_command_rebuilds(bench, tmp_path, capsys):
    folder, _, _ = bench
    run(folder / "bench.yaml", report=False)
    out = tmp_path / "r.html"
    assert cli.main(["report", str(folder / "results"), "-o", str(out)]) == 0
    assert out.read_text().count("<img") == 8
    assert cli.main(["report", str(folder / "results"), "-o", str(out)]) == 2  # exists
    assert "overwrite" in capsys.readouterr().err


def test_subjects_latencies_encoders_and_statistics(bench):
    from brainalign import simulate

    folder, cfg, truth = bench
    acts = arrays.load(folder / "acts.nc")
    subjects = [
        simulate.make_recording(acts, truth, n_neuroids=12, snr=3.0, random_state=s, subject=f"S{s}") for s in range(3)
    ]
    multi = data.recording(
        np.hstack([r.values for r in subjects]),
        stimulus_id=subjects[0]["stimulus_id"].values,
        subject=np.concatenate([r["subject"].values for r in subjects]),
        region=np.concatenate([r["region"].values for r in subjects]),
    )
    arrays.save(multi, folder / "multi.nc")
    meg = simulate.make_recording(
        acts,
        {"early": "layer0", "late": "layer3"},
        kind="time_resolved",
        n_neuroids=8,
        snr=8.0,
        latency=np.round(np.arange(0, 0.5, 0.1), 3),
        random_state=0,
        peak_latency={"early": 0.1, "late": 0.3},
    )
    arrays.save(meg, folder / "meg.nc")
    cfg["datasets"] = [
        {"name": "multi", "stimuli": {"type": "text", "path": "stimuli.txt"}, "recording": "multi.nc"},
        {"name": "meg", "stimuli": {"type": "text", "path": "stimuli.txt"}, "recording": "meg.nc"},
    ]
    cfg["methods"] = [{"name": "ridge", "options": {"backend": "numpy"}, "cv": 4}, "rsa"]
    cfg["statistics"] = {"n_boot": 50, "n_perm": 50, "random_state": 0}
    (folder / "full.yaml").write_text(yaml.safe_dump(cfg))
    result = run(folder / "full.yaml")
    assert len(result.computed) == 4
    maps = _maps(folder / "results")
    multi_ridge = maps["multi__toy__ridge"]
    assert multi_ridge["score"].dims == ("layer", "region", "subject")
    assert multi_ridge["group_score"].dims == ("layer", "region")
    assert multi_ridge.attrs["group_test"].endswith("(exact)")  # 2**3 <= 50 sign patterns
    for var in ("ci_low", "ci_high", "p_value", "p_fdr", "significant"):
        assert var in multi_ridge and "group_" + var in multi_ridge
    assert multi_ridge.attrs["n_folds"] == 4 and multi_ridge.attrs["method"] == "ridge"
    assert maps["meg__toy__rsa"]["score"].dims == ("layer", "region", "latency")
    report = (folder / "results" / "report.html").read_text()
    assert "group map (3 subjects" in report
    assert report.count('alt="time course of') == 2  # the two time-resolved cells
    assert report.count("<img") == 4 * 2 + 2


def test_every_method_recovers_a_planted_benchmark_and_the_report_shows_it(bench):
    folder, cfg, _ = bench
    # Neuron-sampled regions (best_match looks for single best units) with 4 trials per stimulus
    # (stochastic_shape compares trials), listed in a shuffled order.
    for ds in cfg["datasets"]:
        ds["simulate"].update(readout="sample", n_neuroids=12, n_repetitions=4)
    cfg["datasets"] = cfg["datasets"][:1]
    # anc needs units in correspondence and attention_readout token-level features: not these.
    names = ["ridge", "banded_ridge", "rsa", "trsa", "cka", "mutual_knn", "best_match", "shape", "stochastic_shape"]
    cfg["methods"] = [{"name": n, "options": {"backend": "numpy"}} if "ridge" in n else n for n in names]
    (folder / "all.yaml").write_text(yaml.safe_dump(cfg))
    result = run(folder / "all.yaml")
    assert len(result.computed) == len(names)
    report = (folder / "results" / "report.html").read_text()
    assert report.count('<span class="ok">3/3</span>') == len(names)  # every cell recovers every region
    assert '<span class="bad">' not in report


def test_each_datasets_inputs_are_built_once(bench, monkeypatch):
    from brainalign import runner

    folder, cfg, _ = bench
    arrays.save(_layered_activations(seed=1), folder / "other.nc")
    cfg["models"].append({"name": "other", "type": "activations", "path": "other.nc"})
    (folder / "two.yaml").write_text(yaml.safe_dump(cfg))
    calls = []
    real = runner.get_activations
    monkeypatch.setattr(runner, "get_activations", lambda m, *a: calls.append(m["name"]) or real(m, *a))
    result = run(folder / "two.yaml", report=False)
    assert len(result.computed) == 8  # 2 datasets × 2 models × 2 methods
    # Each model once per dataset: the simulation's source ("toy") is not extracted again for "other".
    assert sorted(calls) == ["other", "other", "toy", "toy"]


# ------------------------------------------------------------------ reliability (issue 13 / 16)
def _small(folder, cfg, name="small.yaml", **changes):
    cfg = {**cfg, "datasets": cfg["datasets"][:1], "methods": ["rsa"], **changes}
    (folder / name).write_text(yaml.safe_dump(cfg))
    return folder / name


def test_changed_input_file_is_not_already_done(bench):
    folder, cfg, _ = bench
    path = _small(folder, cfg)
    run(path, report=False)
    before = (folder / "results" / "maps" / "sim1__toy__rsa.nc").read_bytes()
    arrays.save(_layered_activations(seed=5), folder / "acts.nc", overwrite=True)  # same path, new values
    with pytest.raises(ConfigError, match=r"another version of .*acts\.nc \(changed since\).*--overwrite"):
        run(path, report=False)
    assert (folder / "results" / "maps" / "sim1__toy__rsa.nc").read_bytes() == before
    result = run(path, overwrite=True, report=False)
    assert result.computed == ["sim1__toy__rsa"]
    amap = arrays.load(folder / "results" / "maps" / "sim1__toy__rsa.nc")
    assert str(folder / "acts.nc") in amap.attrs["cell_inputs"]
    (folder / "stimuli.txt").write_text("\n".join(f"stimulus {i}!" for i in range(N)))  # stimuli count too
    with pytest.raises(ConfigError, match=r"stimuli\.txt \(changed since\)"):
        run(path, report=False)


def test_files_brainalign_did_not_write_are_never_replaced(bench):
    folder, cfg, _ = bench
    mine = {"config.json": b'{"mine": 1}', "report.html": b"<p>my report</p>"}
    for name, content in mine.items():
        (folder / name).write_bytes(content)
    path = _small(folder, cfg, output=".")
    for name in mine:
        with pytest.raises(FileExistsError, match=rf"{name}' exists and was not written by brainalign"):
            run(path)
        assert (folder / name).read_bytes() == mine[name]
        (folder / name).rename(folder / f"{name}.bak")
    assert not (folder / "maps").exists() or not list((folder / "maps").glob("*.nc"))  # refused before computing
    run(path)  # now free: writes config.json and report.html, and records them as its own
    (folder / "figures" / "sim1__toy__rsa.png").write_bytes(b"my figure")  # the user's, replacing ours
    with pytest.raises(FileExistsError, match=r"sim1__toy__rsa\.png' exists and was not written"):
        run(path, recompute=True)
    assert (folder / "figures" / "sim1__toy__rsa.png").read_bytes() == b"my figure"
    (folder / "figures" / "sim1__toy__rsa.png").unlink()
    assert run(path, recompute=True).computed == ["sim1__toy__rsa"]  # its own files are replaced


def test_recompute_recomputes_cells_of_the_same_config(bench, capsys):
    folder, cfg, _ = bench
    path = _small(folder, cfg)
    run(path, report=False)
    assert run(path, overwrite=True, report=False).skipped == ["sim1__toy__rsa"]  # --overwrite keeps them
    assert run(path, recompute=True, report=False).computed == ["sim1__toy__rsa"]
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "maps made by this same config and inputs are kept: see --recompute" in help_text
    assert "--allow-code" in help_text


def test_second_run_on_a_folder_exits_2_and_leaves_the_first_alone(bench):
    folder, cfg, _ = bench
    cfg["methods"] = [{"name": "slow_method:SlowRSA"}]
    cfg["allow_code"] = True
    (folder / "bench.yaml").write_text(yaml.safe_dump(cfg))
    first = _cli(folder, "run", "bench.yaml")
    lock = folder / "results" / ".brainalign" / "lock"
    deadline = time.time() + 120
    while time.time() < deadline and not lock.exists():
        time.sleep(0.02)
    assert lock.exists(), first.communicate()
    temp = folder / "results" / "maps" / ".in-flight.nc.tmp-0123456789"  # as the first run's atomic writes name them
    temp.write_bytes(b"partial")
    second = _cli(folder, "run", "bench.yaml")
    _, err = second.communicate(timeout=120)
    assert second.returncode == 2
    assert f"is in use by another brainalign run (process {first.pid} on" in err
    assert temp.exists()  # the second run removed nothing
    _, err = first.communicate(timeout=180)
    assert first.returncode == 0, err
    assert not lock.exists()
    temp.write_bytes(b"partial")  # a leftover of a run that is gone: removed by the next run
    assert _cli(folder, "run", "bench.yaml").wait(timeout=180) == 0
    assert not temp.exists()


def test_a_lock_of_a_process_that_is_gone_is_taken_over(bench):
    import json
    import socket

    folder, cfg, _ = bench
    path = _small(folder, cfg)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (folder / "results" / ".brainalign").mkdir(parents=True)
    (folder / "results" / ".brainalign" / "lock").write_text(
        json.dumps({"pid": dead.pid, "host": socket.gethostname()})
    )
    assert run(path, report=False).computed == ["sim1__toy__rsa"]


def test_messages_say_what_to_do(bench, capsys):
    folder, cfg, _ = bench
    path = _small(folder, cfg)
    run(path, report=False)
    target = folder / "results" / "maps" / "sim1__toy__rsa.nc"
    target.write_bytes(b"")  # a zero-length map
    for kwargs in ({}, {"overwrite": True}):
        with pytest.raises(ConfigError, match=r"not a map brainalign can read \(0 bytes.*delete it and rerun") as info:
            run(path, report=False, **kwargs)
        assert "--overwrite" not in str(info.value)
    target.unlink()
    run(path, report=False)
    (folder / "acts.nc").rename(folder / "moved.nc")  # a missing input file in a used folder
    assert cli.main(["run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "models[toy].path:" in err and "does not exist" in err and "different configuration" not in err
    (folder / "moved.nc").rename(folder / "acts.nc")
    assert cli.main(["report", str(folder / "results")]) == 0
    assert cli.main(["report", str(folder / "results")]) == 2
    err = capsys.readouterr().err
    assert "--overwrite" in err and "overwrite=True in Python" in err


def test_code_in_a_config_runs_only_when_allowed(bench, capsys):
    folder, cfg, _ = bench
    marker = folder / "touched"
    cfg["models"].append(
        {
            "name": "evil",
            "type": "torch",
            "factory": "subprocess:run",
            "factory_options": {"args": ["touch", str(marker)]},
            "layers": ["x"],
        }
    )
    path = _small(folder, cfg)
    assert cli.main(["run", str(path)]) == 2
    assert "names code to import and call" in capsys.readouterr().err
    assert not marker.exists()
    assert cli.main(["run", str(path), "--allow-code"]) == 2  # allowed: it runs what it names, then is refused
    assert marker.exists()
    capsys.readouterr()


def test_resource_keys_are_refused_with_exit_2(bench, capsys, monkeypatch):
    folder, cfg, _ = bench
    path = _small(folder, cfg, statistics={"n_perm": 100_000_000_000})
    assert cli.main(["run", str(path)]) == 2
    assert capsys.readouterr().err.startswith("brainalign: error: statistics.n_perm: 100000000000 is above the limit")
    path = _small(folder, cfg, statistics={"n_perm": 900_000})  # within the bound, too big for a small machine
    from brainalign import config_limits

    need = config_limits.estimate_cell_bytes(n_stimuli=N, n_layers=4, n_cells=3, n_perm=900_000, n_boot=0)
    monkeypatch.setattr(config_limits, "total_memory", lambda: need["statistics.n_perm"])  # a machine it cannot fit
    assert cli.main(["run", str(path)]) == 2
    assert "statistics.n_perm: cell sim1__toy__rsa would need" in capsys.readouterr().err


def test_one_log_line_per_cell_and_layer_profiles_in_figures(bench):
    folder, cfg, _ = bench
    cfg["methods"] = [{"name": "ridge", "options": {"backend": "numpy"}, "cv": 3}, "rsa", "cka"]
    path = _small(folder, cfg, methods=cfg["methods"])
    proc = _cli(folder, "run", str(path))
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert "RidgeEncoder:" not in err  # per-fold details are DEBUG
    logged = [line for line in err.splitlines() if line.strip() and "it/s]" not in line]  # progress bars aside
    assert logged[:3] == [f"run: sim1__toy__{m} done" for m in ("ridge", "rsa", "cka")], err  # one line per cell
    assert len(logged) == 4 and logged[3].startswith("report: wrote"), err
    figures = sorted(p.name for p in (folder / "results" / "figures").iterdir())
    for cell in ("sim1__toy__ridge", "sim1__toy__rsa", "sim1__toy__cka"):
        for suffix in (".png", ".pdf", ".profile.png", ".profile.pdf"):
            assert cell + suffix in figures


def test_searchlight_dataset_finds_the_planted_layer_and_draws_a_brain(bench):
    pytest.importorskip("nilearn")
    folder, cfg, _ = bench
    acts = arrays.load(folder / "acts.nc")
    from brainalign import simulate

    rec = simulate.make_recording(acts, {"V1": "layer0"}, n_neuroids=27, snr=8.0, random_state=0)
    ijk = np.argwhere(np.ones((3, 3, 3), bool))
    rec = rec.assign_coords(
        x=("neuroid", 10.0 * ijk[:, 0]), y=("neuroid", 10.0 * ijk[:, 1]), z=("neuroid", 10.0 * ijk[:, 2])
    )
    arrays.save(rec, folder / "vox.nc")
    from brainalign import alignment_map, searchlight

    alignment_map(acts, rec, "rsa", regions=searchlight.spheres(rec, radius=15.0))  # the engine takes searchlights
    ds = {"name": "vox", "stimuli": {"type": "text", "path": "stimuli.txt"}, "recording": "vox.nc"}
    path = _small(folder, cfg, datasets=[{**ds, "searchlight": {"radius": 15.0}}])
    run(path)
    amap = arrays.load(folder / "results" / "maps" / "vox__toy__rsa.nc")
    assert amap["score"].dims == ("layer", "center") and amap.sizes["center"] == 27
    assert (amap["score"].idxmax("layer") == "layer0").all()  # every sphere reads the planted layer
    assert (folder / "results" / "figures" / "vox__toy__rsa.brain.png").read_bytes()[:4] == b"\x89PNG"
    assert 'alt="brain map of vox · toy · rsa"' in (folder / "results" / "report.html").read_text()


def test_rdm_dataset_from_a_file(bench):
    from scipy.spatial.distance import pdist

    from brainalign import alignment_map

    folder, cfg, _ = bench
    acts = arrays.load(folder / "acts.nc")
    layer2 = acts.isel(unit=acts["layer"].values == "layer2").values
    np.save(folder / "it.npy", pdist(layer2, "correlation"))
    ds = {
        "name": "rdm",
        "stimuli": {"type": "text", "path": "stimuli.txt"},
        "rdms": {"path": "it.npy", "subject": "S1", "region": "IT"},
    }
    path = _small(folder, cfg, datasets=[ds], methods=["ridge"])
    with pytest.raises(ConfigError, match=r"methods\[ridge\]: 'ridge' needs responses.*holds brain RDMs"):
        run(path, report=False)
    rdms = data.load_rdms(folder / "it.npy", stimulus_id=list(range(N)), subject="S1", region="IT")
    alignment_map(acts, rdms, "rsa")  # the engine takes brain RDMs
    path = _small(folder, cfg, datasets=[ds], methods=["rsa"])
    run(path, report=False)
    amap = arrays.load(folder / "results" / "maps" / "rdm__toy__rsa.nc")
    assert str(amap["score"].idxmax("layer").sel(region="IT").item()) == "layer2"
