"""``brainalign run --dry-run``: every cell's memory estimate from the inputs' shapes, nothing written."""

import numpy as np
import pytest
import torch
import yaml

from brainalign import cli, data, planning
from brainalign.io import arrays
from brainalign.runner_dry import dry_run
from brainalign.runner_inputs import get_activations, get_recording, load_stimuli

N = 40


@pytest.fixture
def bench(tmp_path):
    rng = np.random.default_rng(0)
    layers = {f"layer{k}": rng.normal(size=(N, 8 * (k + 1))) for k in range(3)}
    arrays.save(data.activations(layers, stimulus_id=np.arange(N), model="toy"), tmp_path / "acts.nc")
    (tmp_path / "stimuli.txt").write_text("\n".join(f"stimulus {i}" for i in range(N)))
    cfg = {
        "name": "dry",
        "output": "results",
        "models": [{"name": "toy", "type": "activations", "path": "acts.nc"}],
        "datasets": [
            {
                "name": "sim",
                "stimuli": {"type": "text", "path": "stimuli.txt"},
                "simulate": {"model": "toy", "regions": {"V1": "layer0", "IT": "layer2"}, "n_neuroids": 30},
            }
        ],
        "methods": ["rsa", "ridge"],
        "statistics": {"n_perm": 50},
    }
    (tmp_path / "bench.yaml").write_text(yaml.safe_dump(cfg))
    return tmp_path, cfg


def test_dry_run_prints_every_cell_and_writes_nothing(bench, capsys):
    folder, _ = bench
    assert cli.main(["run", "--dry-run", str(folder / "bench.yaml")]) == 0
    out = capsys.readouterr().out
    assert "sim__toy__rsa: 40 stimuli, 3 layers, 60 neuroids, 2 cells; fits" in out
    assert "sim__toy__ridge:" in out and "2 cell(s) planned, 0 would not fit" in out
    assert "rsa: peak" in out and "statistics" in out  # the planner's parts, n_perm included
    assert not (folder / "results").exists()


def test_dry_run_rows_equal_the_planner_on_the_loaded_inputs(bench, monkeypatch):
    folder, cfg = bench
    monkeypatch.chdir(folder)
    rows = {row["cell"]: row for row in dry_run(cfg, budget="1GB")}
    stimuli, ids = load_stimuli({"type": "text", "path": "stimuli.txt"})
    model = {"name": "toy", "type": "activations", "path": "acts.nc", "layers": None}
    acts = get_activations(model, stimuli, ids, None)
    from brainalign.config import validate_config

    dataset = validate_config(cfg)["datasets"][0]
    rec = get_recording(dataset, acts, ids)
    for method in ("rsa", "ridge"):
        plan = planning.estimate(acts.astype(np.float32), rec.astype(np.float32), method, n_perm=50, budget="1GB")
        assert rows[f"sim__toy__{method}"]["peak_bytes"] == plan.peak_bytes
    assert all(row["fits"] for row in rows.values())
    assert not any(row["fits"] for row in dry_run(cfg, budget=64 * 1024))  # refused on a tiny budget


class _Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.a = torch.nn.Linear(3, 5)
        self.b = torch.nn.Linear(5, 7)

    def forward(self, x):
        return self.b(torch.relu(self.a(x)))


def make_net():
    return _Net()


def collate(batch):
    return torch.tensor(np.stack([[len(s), s.count("1"), 1.0] for s in batch]), dtype=torch.float32)


def test_dry_run_learns_an_extractors_layer_widths_from_one_stimulus(bench, monkeypatch):
    folder, cfg = bench
    monkeypatch.chdir(folder)
    monkeypatch.syspath_prepend(str(__import__("pathlib").Path(__file__).parent))
    cfg["models"] = [
        {
            "name": "net",
            "type": "torch",
            "factory": "test_runner_dry:make_net",
            "preprocess": "test_runner_dry:collate",
            "layers": ["a", "b"],
        }
    ]
    cfg["datasets"][0]["simulate"]["model"] = "net"
    cfg["datasets"][0]["simulate"]["regions"] = {"V1": "a"}
    (row,) = [r for r in dry_run(cfg, allow_code=True) if r["method"] == "rsa"]
    assert row["layers"] == 2 and row["stimuli"] == N
    assert row["peak_bytes"] == planning.estimate_cell(N, [5, 7], 30, 1, "rsa", n_perm=50)["peak_bytes"]
    assert not (folder / "results").exists()
