"""The memory planner: estimates against measured peaks, budgets and refusals."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

import brainalign
from brainalign import data, planning


def _pair(n: int, n_layers: int = 6, n_units: int = 128, n_voxels: int = 50, dtype=np.float32):
    rng = np.random.default_rng(0)
    layers = {f"l{k}": rng.normal(size=(n, n_units)).astype(dtype) for k in range(n_layers)}
    acts = data.activations(layers, stimulus_id=np.arange(n), dtype=dtype)
    y = (layers["l1"][:, :n_voxels] + rng.normal(size=(n, n_voxels))).astype(dtype)
    y = np.concatenate([y, layers["l4"][:, :n_voxels]], axis=1)
    rec = data.recording(y, stimulus_id=np.arange(n), subject="S1", region=["A"] * n_voxels + ["B"] * n_voxels)
    return acts, rec


def _traced_peak(func) -> int:
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        func()
        return tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [400, 800, 1600])
def test_rsa_estimate_within_30_percent_of_the_traced_peak(n, dtype):
    # One layer at a time: a deterministic peak (threads representing layers in parallel peak
    # together or not, as the scheduler has it; their estimate assumes they do, tested below).
    acts, rec = _pair(n, dtype=dtype)
    brainalign.alignment_map(acts.isel(presentation=slice(0, 30)), rec.isel(presentation=slice(0, 30)), "rsa")
    with brainalign.set_options(workers=1):
        plan = planning.estimate(acts, rec, "rsa")
        peak = _traced_peak(lambda: brainalign.alignment_map(acts, rec, "rsa", ceiling=False))
    assert plan.batch["workers"] == 1
    assert 0.7 * peak <= plan.peak_bytes <= 1.3 * peak, (plan.summary(), peak)


def test_parallel_layers_estimate_assumes_their_peaks_coincide():
    acts, rec = _pair(800)
    with brainalign.set_options(workers=2):
        plan = planning.estimate(acts, rec, "rsa")
        peak = _traced_peak(lambda: brainalign.alignment_map(acts, rec, "rsa", ceiling=False))
    assert plan.batch["workers"] == 2
    # Coinciding peaks assumed: never more than 30 % under (as one worker), at most 2× over.
    assert 0.7 * peak <= plan.peak_bytes <= 2.0 * peak, (plan.summary(), peak)


def test_plan_reports_parts_batches_and_shapes():
    acts, rec = _pair(200)
    plan = planning.estimate(acts, rec, "rsa", budget="4GB", workers=2)
    assert plan.batch == {"workers": 2}
    assert plan.shape["stimuli"] == 200 and plan.shape["layers"] == 6 and plan.shape["cells"] == 2
    assert plan.peak_bytes == sum(plan.parts.values())
    assert "cell representations" in plan.parts  # 2 cells < 6 layers: the layers are streamed
    assert plan.vram_bytes is None  # numpy
    ridge = planning.estimate(acts, rec, "ridge", budget="4GB")
    assert 1 <= ridge.batch["targets"] <= rec.sizes["neuroid"]


def test_rdm_estimate_grows_quadratically_with_stimuli():
    small = planning.estimate_from_shapes(2000, [256] * 6, 200, 2, "rsa", workers=1)
    large = planning.estimate_from_shapes(8000, [256] * 6, 200, 2, "rsa", workers=1)
    assert 12 < large.peak_bytes / small.peak_bytes < 16.5


def test_statistics_hold_every_rdm():
    plain = planning.estimate_from_shapes(1000, [64] * 12, 100, 2, "rsa", workers=1)
    stats = planning.estimate_from_shapes(1000, [64] * 12, 100, 2, "rsa", n_perm=100, workers=1)
    assert "statistics (square RDMs)" in stats.parts
    assert stats.peak_bytes > plain.peak_bytes + 14 * 1000 * 1000 * 4


def test_check_refuses_naming_what_to_change():
    plan = planning.estimate_from_shapes(10_000, [256] * 20, 200, 2, "rsa", n_boot=1000, budget="8GiB")
    with pytest.raises(ValueError, match=r"rsa map needs about .* memory budget is 8\.0 GiB.*n_boot/n_perm"):
        plan.check("8GiB")
    assert plan.check("1TB") is plan


def test_alignment_map_refuses_a_map_over_its_budget():
    acts, rec = _pair(300)
    with pytest.raises(ValueError, match=r"memory budget is 1\.0 MiB"):
        brainalign.alignment_map(acts, rec, "rsa", memory_budget="1MiB")
    amap = brainalign.alignment_map(acts, rec, "rsa", memory_budget="2GB", ceiling=False)
    assert amap["score"].sel(region="A").idxmax("layer").item() == "l1"


def test_budgets_and_dry_run_rows():
    assert planning.resolve_budget("2 GiB") == 2 * 2**30
    assert 0 < planning.resolve_budget(0.5) <= planning.default_budget(1.0)
    with pytest.raises(ValueError, match="memory_budget"):
        planning.resolve_budget(1.5)
    row = planning.estimate_cell(10_000, [576] * 20, 50_000, 8, "rsa", budget="1GB")
    assert row["fits"] is False and row["method"] == "rsa" and row["peak_bytes"] > 2**30
    assert set(row) == {"method", "peak_bytes", "vram_bytes", "batch", "parts", "fits", "summary"}


def test_plan_map_defers_unreadable_inputs_to_the_map_validation():
    assert planning.plan_map(np.ones((3, 3)), None, "rsa") is None
    with pytest.raises(TypeError, match="activations"):
        brainalign.alignment_map(np.ones((3, 3)), None, "rsa")


@pytest.mark.parametrize("n", [300, 800])
def test_searchlight_estimate_within_30_percent_of_the_traced_peak(n):
    # Many cells: chunks of cell RDMs against every layer's RDM (searchlight.cell_rdms / compare_cells).
    from brainalign import searchlight

    rng = np.random.default_rng(0)
    acts = data.activations(
        {f"l{k}": rng.normal(size=(n, 64)).astype(np.float32) for k in range(6)}, stimulus_id=np.arange(n)
    )
    ijk = np.argwhere(np.ones((14, 14, 8), bool))
    coords = {
        **dict(zip("xyz", 3.0 * ijk.T, strict=True)),
        **dict(zip(("voxel_i", "voxel_j", "voxel_k"), ijk.T, strict=True)),
    }
    y = rng.normal(size=(n, len(ijk))).astype(np.float32)
    rec = data.recording(y, stimulus_id=np.arange(n), subject="S1", region="grid", neuroid_coords=coords)
    sl = searchlight.spheres(rec, radius=4.0)
    plan = planning.estimate(acts, rec, "rsa", regions=sl)
    assert "cell RDM chunks" in plan.parts
    peak = _traced_peak(lambda: brainalign.alignment_map(acts, rec, "rsa", regions=sl, ceiling=False))
    assert 0.7 * peak <= plan.peak_bytes <= 1.3 * peak, (plan.summary(), peak)
