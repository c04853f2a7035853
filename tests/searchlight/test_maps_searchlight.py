"""Searchlight maps through the map engine: the batched cell path equals the per-cell path (1e-10,
float64), crossnobis RSA maps from trials, family-wise error control by the max statistic, and
planted truths on a voxel grid and on fsaverage5 discs."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import brainalign
from brainalign import alignment_map, data, maps, searchlight
from brainalign.maps.scoring import Scorer
from brainalign.methods import method_info
from brainalign.metrics import rsa

brainalign.set_options(progress=False)


VOXEL = ("voxel_i", "voxel_j", "voxel_k")


def _layers(rng, n_stim, n_layers=4, width=10):
    return data.activations(
        {f"l{k}": rng.normal(size=(n_stim, width)) for k in range(n_layers)}, stimulus_id=np.arange(n_stim)
    )


def _volume(rng, acts, shape=(12, 12, 6), voxel=3.0, planted=2, centre=(5, 5, 3), radius=2.2, gain=1.0, noise=1.0):
    """Voxels of a grid (x/y/z in mm), a ball of which carries layer ``planted`` plus noise."""
    ijk = np.argwhere(np.ones(shape, bool))
    n = acts.sizes["presentation"]
    Y = noise * rng.normal(size=(n, len(ijk)))
    truth = np.linalg.norm(ijk - np.asarray(centre), axis=1) < radius
    X = acts.sel(unit=acts["layer"] == f"l{planted}").values
    Y[:, truth] += gain * X @ rng.normal(size=(X.shape[1], truth.sum()))
    xyz = voxel * ijk
    rec = data.recording(
        Y,
        stimulus_id=np.arange(n),
        subject="S1",
        region="grid",
        neuroid_coords={**dict(zip("xyz", xyz.T, strict=True)), **dict(zip(VOXEL, ijk.T, strict=True))},
    )
    return rec, truth


@pytest.mark.parametrize("metric", ["correlation", "cosine", "euclidean", "sqeuclidean"])
@pytest.mark.parametrize("compare", ["spearman", "pearson", "cosine", "kendall_tau_a", "whitened_pearson"])
def test_batched_cells_equal_per_cell_scores(metric, compare):
    rng = np.random.default_rng(0)
    acts = _layers(rng, 15)
    rec, _ = _volume(rng, acts, shape=(5, 5, 3))
    sl = searchlight.spheres(rec, radius=4.0)
    method = rsa.RSA(metric, compare)
    X = acts.values
    layer_of = acts["layer"].values
    blocks = [X[:, layer_of == f"l{k}"] for k in range(4)]
    scorer = Scorer(method, method_info(method), "rsa", blocks, [f"l{k}" for k in range(4)], "raise")
    assert scorer.cells_batched == (compare in searchlight.CELL_COMPARE)
    Y = rec.values
    batched = scorer.scores_cells(Y, list(sl.neighbours), memory_budget="200KB")  # several chunks
    per_cell = np.stack([scorer.scores(Y[:, nb]) for nb in sl.neighbours], axis=1)
    np.testing.assert_allclose(batched, per_cell, rtol=0, atol=1e-10)
    # The engine: every centre equals RSA called on the centre's neighbours.
    amap = alignment_map(acts, rec, method, regions=sl)
    for c in (0, len(sl) // 2, len(sl) - 1):
        ref = [method(b, Y[:, sl.neighbours[c]]) for b in blocks]
        np.testing.assert_allclose(amap["score"].isel(center=c).values, ref, rtol=0, atol=1e-10)


def _trial_volume(rng, acts, n_rep=4, shape=(5, 5, 3)):
    rec, truth = _volume(rng, acts, shape=shape, centre=(2, 2, 1), radius=1.8)
    trials = rec.values[..., None] + rng.normal(size=(*rec.shape, n_rep))
    return data.recording(
        trials,
        stimulus_id=np.arange(rec.sizes["presentation"]),
        subject="S1",
        region=np.where(truth, "in", "out"),
        neuroid_coords={k: rec[k].values for k in ("x", "y", "z", "voxel_i", "voxel_j", "voxel_k")},
    ), truth


@pytest.mark.parametrize("compare", ["spearman", "pearson", "whitened_pearson"])
def test_crossnobis_maps_regions_and_searchlight(compare):
    rng = np.random.default_rng(1)
    acts = _layers(rng, 12)
    rec, _ = _trial_volume(rng, acts)
    assert "repetition" in rec.dims
    method = rsa.RSA("crossnobis", compare)
    info = method_info(method)
    assert info.needs_trials and info.rdm_metric == "crossnobis"
    # Regions: each region's crossnobis RDM (repetitions as folds) against each layer's squared Euclidean RDM.
    amap = alignment_map(acts, rec, method)
    layer_rdms = rsa.rdm(acts, "sqeuclidean")
    region_rdms = rsa.rdm(rec.transpose("repetition", "presentation", "neuroid"), "crossnobis", by="region")
    ref = rsa.compare(layer_rdms, region_rdms, compare)
    np.testing.assert_allclose(amap["score"].values, ref.transpose("layer", "region").values, rtol=0, atol=1e-10)
    assert amap.attrs["ceiling_method"] == "split_half_spearman_brown"  # 4 repetitions: 2 + 2 folds
    assert np.isfinite(amap["ceiling"]).all() and (amap["ceiling"] <= 1).all()
    # Searchlight: the batched crossnobis cells equal rsa.rdm per centre.
    sl = searchlight.spheres(rec, radius=4.0)
    smap = alignment_map(acts, rec, method, regions=sl)
    trials = rec.transpose("repetition", "presentation", "neuroid").values
    for c in (0, 7, len(sl) - 1):
        D = rsa.rdm(trials[:, :, sl.neighbours[c]], "crossnobis")
        want = rsa.compare(layer_rdms, D, compare).values
        np.testing.assert_allclose(smap["score"].isel(center=c).values, want, rtol=0, atol=1e-10)


def test_crossnobis_refuses_a_recording_without_trials():
    rng = np.random.default_rng(2)
    acts = _layers(rng, 10)
    rec, _ = _volume(rng, acts, shape=(3, 3, 2))
    with pytest.raises(ValueError, match="repetition"):
        alignment_map(acts, rec, "rsa", method_options={"metric": "crossnobis"})


def _outside(sl, truth):
    """Centres whose neighbourhood holds no planted neuroid (where a flag is a false positive)."""
    return np.array([not truth[nb].any() for nb in sl.neighbours])


def test_planted_volume_sphere_is_found_and_fwe_flags_nothing_outside():
    rng = np.random.default_rng(3)
    acts = _layers(rng, 40)
    rec, truth = _volume(rng, acts, planted=2, radius=2.6, gain=1.0)
    sl = searchlight.spheres(rec, radius=4.5)
    amap = alignment_map(acts, rec, "rsa", regions=sl, n_perm=100, correction="fwe", random_state=0)
    inside = truth[sl.centers]
    best = maps.best_layer(amap).values
    assert np.mean(best[inside] == "l2") >= 0.9
    flagged = amap["significant"].any("layer").values
    outside = _outside(sl, truth)
    assert not flagged[outside].any()
    assert flagged[inside].mean() >= 0.9
    # The max statistic is stricter than the uncorrected test, never looser.
    assert np.all(amap["p_fwe"].values >= amap["p_value"].values - 1e-12)
    assert amap.attrs["correction"] == "fwe"


def test_fwe_controls_false_positives_under_the_null():
    """No signal anywhere: across seeds, a map with any p_fwe < 0.05 happens rarely; FDR and FWE
    differ from the raw p-values."""
    hits = 0
    for seed in range(10):
        rng = np.random.default_rng(100 + seed)
        acts = _layers(rng, 12, n_layers=2)
        rec, _ = _volume(rng, acts, shape=(5, 5, 3), gain=0.0)
        sl = searchlight.spheres(rec, radius=4.0)
        amap = alignment_map(acts, rec, "rsa", regions=sl, n_perm=50, random_state=seed)
        hits += bool((amap["p_fwe"] < 0.05).any())
    assert hits <= 2  # expected 0.5 of 10 at α = 0.05; 3+ has probability < 0.012


def test_planted_surface_disc_on_fsaverage5():
    datasets = pytest.importorskip("nilearn.datasets")
    mesh = datasets.load_fsaverage("fsaverage5")["pial"]
    coords = np.asarray(mesh.parts["left"].coordinates, float)
    seed_vertex = 1234
    dist = np.linalg.norm(coords - coords[seed_vertex], axis=1)
    vert = np.flatnonzero(dist < 30.0)  # a patch of cortex
    truth = dist[vert] < 9.0
    rng = np.random.default_rng(4)
    acts = _layers(rng, 40)
    Y = rng.normal(size=(40, len(vert)))
    X = acts.sel(unit=acts["layer"] == "l1").values
    Y[:, truth] += X @ rng.normal(size=(X.shape[1], truth.sum()))
    rec = data.recording(
        Y, stimulus_id=np.arange(40), subject="S1", region="ctx",
        neuroid_coords={"hemisphere": ["left"] * len(vert), "vertex": vert},
    )  # fmt: skip
    sl = searchlight.surface(rec, radius=6.0, mesh=mesh)
    amap = alignment_map(acts, rec, "rsa", regions=sl, n_perm=100, correction="fwe")
    inside = truth[sl.centers]
    assert np.mean(maps.best_layer(amap).values[inside] == "l1") >= 0.9
    flagged = amap["significant"].any("layer").values
    assert not flagged[_outside(sl, truth)].any()
    assert flagged[inside].mean() >= 0.9
    img = searchlight.to_image(amap["score"].sel(layer="l1"), rec, centers=sl.centers)
    np.testing.assert_array_equal(img["left"][vert[sl.centers]], amap["score"].sel(layer="l1").values)


def test_group_map_of_per_subject_searchlight_maps_on_a_common_grid():
    rng = np.random.default_rng(5)
    acts = _layers(rng, 20)
    per_subject = []
    for subject in ("S1", "S2", "S3"):
        rec, _ = _volume(rng, acts, shape=(6, 6, 3), centre=(3, 3, 1), radius=2.0)
        rec = rec.assign_coords(subject=("neuroid", [subject] * rec.sizes["neuroid"]))
        sl = searchlight.spheres(rec, radius=4.0)
        per_subject.append(alignment_map(acts, rec, "rsa", regions=sl))
    stacked = xr.concat(per_subject, dim="subject")
    group = maps.group_map(stacked, n_boot=50, n_perm=64, random_state=0)
    assert group["score"].dims == ("layer", "center")
    np.testing.assert_allclose(group["score"].values, np.mean([m["score"].values for m in per_subject], axis=0))
    assert group["p_value"].sizes["center"] == per_subject[0].sizes["center"]
