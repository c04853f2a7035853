"""Figures: every plot returns a matplotlib figure and saves PDF/SVG/PNG; brain maps paint the right values."""

import numpy as np
import pytest
import xarray as xr

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from brainalign import data, plot  # noqa: E402


def _map(regions=("V1", "IT"), latency=None, p=False):
    rng = np.random.default_rng(0)
    shape = (4, len(regions)) + ((len(latency),) if latency is not None else ())
    dims = ("layer", "region") + (("latency",) if latency is not None else ())
    score = rng.uniform(size=shape)
    ds = xr.Dataset(
        {"score": (dims, score)},
        coords={"layer": [f"l{k}" for k in range(4)], "region": list(regions)},
        attrs={"method": "rsa", "higher_is_better": 1},
    )
    if latency is not None:
        ds = ds.assign_coords(latency=latency)
    if p:
        ds["ci_low"], ds["ci_high"] = ds["score"] - 0.1, ds["score"] + 0.1
        ds["ceiling"] = xr.DataArray(np.full(len(regions), 0.95), dims="region")
        ds["p_value"] = xr.DataArray(np.where(score > 0.5, 0.001, 0.5), dims=dims)
        ds["p_fdr"] = ds["p_value"]
        ds["significant"] = ds["p_fdr"] < 0.05
    return ds


@pytest.mark.parametrize("suffix", ["png", "pdf", "svg"])
def test_figures_save_in_every_format(tmp_path, suffix):
    fig = plot.heatmap(_map(p=True))
    path = plot.save_figure(fig, tmp_path / f"map.{suffix}")
    assert path.stat().st_size > 1000
    with pytest.raises(FileExistsError):
        plot.save_figure(fig, path)
    with pytest.raises(ValueError, match=r"\.png, \.pdf or \.svg"):
        plot.save_figure(fig, tmp_path / "map.jpg")


def test_heatmap_marks_significant_cells_and_best_layer():
    amap = _map(p=True)
    fig = plot.heatmap(amap)
    stars = [t for t in fig.axes[0].texts if t.get_text() == "*"]
    assert len(stars) == int(amap["significant"].sum())
    distances = amap.assign_attrs(higher_is_better=0)
    best_boxes = [p for p in plot.heatmap(distances).axes[0].patches if p.get_edgecolor()[:3] == (1.0, 1.0, 1.0)]
    rows = sorted(round(b.get_y() + 0.5) for b in best_boxes)
    assert rows == sorted(amap["score"].argmin("layer").values.tolist())


def test_layer_profile_draws_bands_and_ceilings():
    fig = plot.layer_profile(_map(p=True), truth={"V1": "l1"})
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # one CI band per region
    assert sum(1 for line in ax.lines if line.get_linestyle() == "--") == 2  # ceilings
    with pytest.raises(ValueError, match="select them first"):
        plot.layer_profile(_map(latency=np.array([0.1, 0.2])))


def test_time_course():
    fig = plot.time_course(_map(latency=np.array([0.0, 0.1, 0.2]), p=True))
    assert len(fig.axes) == 2 and len(fig.axes[0].get_lines()) >= 4
    with pytest.raises(ValueError, match="no 'latency' dim"):
        plot.time_course(_map())


def _capture(monkeypatch, name):
    import nilearn.plotting

    calls = []
    original = getattr(nilearn.plotting, name)

    def spy(*args, **kwargs):
        calls.append((args, kwargs))
        return original(*args, **kwargs)

    monkeypatch.setattr(nilearn.plotting, name, spy)
    return calls


def test_brain_map_on_the_fsaverage5_surface(monkeypatch, tmp_path):
    datasets = pytest.importorskip("nilearn.datasets")
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path))
    mesh = datasets.load_fsaverage("fsaverage5")["pial"]
    n = mesh.parts["left"].n_vertices
    y = np.concatenate([mesh.parts[h].coordinates[:, 1] for h in ("left", "right")])
    region = np.where(y > -20, "front", "back")
    rec = data.recording(
        np.zeros((3, 2 * n)),
        tr=1.0,
        subject="S1",
        region=region,
        neuroid_coords={"hemisphere": ["left"] * n + ["right"] * n, "vertex": np.r_[np.arange(n), np.arange(n)]},
        attrs={"space": "fsaverage5"},
    )
    amap = xr.Dataset(
        {"score": (("layer", "region"), [[0.9, 0.1], [0.1, 0.2], [0.2, 0.8]])},
        coords={"layer": ["l0", "l1", "l2"], "region": ["back", "front"]},
        attrs={"method": "rsa"},
    )
    calls = _capture(monkeypatch, "plot_surf_stat_map")
    fig = plot.brain_map(amap, rec)
    assert len(calls) == 4  # lateral and medial views of both hemispheres
    textures = {(kw["hemi"], kw["view"]): args[1] for args, kw in calls}
    left = textures["left", "lateral"]
    # back → l0 (depth 0), front → l2 (depth 2).
    np.testing.assert_array_equal(left, np.where(region[:n] == "front", 2.0, 0.0))
    assert fig.axes[-1].get_ylabel() == "best layer"


def test_brain_map_glass_brain_for_electrodes(monkeypatch):
    pytest.importorskip("nilearn.plotting")
    rec = data.recording(
        np.zeros((5, 4)),
        sfreq=100.0,
        subject="S1",
        region=["motor", "motor", "stn", "stn"],
        neuroid_coords={"x": [40.0, 45, 12, 13], "y": [-20.0, -15, -13, -12], "z": [60.0, 58, -8, -7]},
    )
    amap = xr.Dataset(
        {"score": (("layer", "region"), [[0.9, 0.1], [0.1, 0.7]])},
        coords={"layer": ["l0", "l1"], "region": ["motor", "stn"]},
        attrs={"method": "cka"},
    )
    calls = _capture(monkeypatch, "plot_markers")
    plot.brain_map(amap, rec)
    values, coords = calls[0][0][:2]
    np.testing.assert_array_equal(values, [0.0, 0.0, 1.0, 1.0])
    np.testing.assert_array_equal(coords[:, 0], [40, 45, 12, 13])
    calls.clear()
    plot.brain_map(amap, rec, value="score", layer="l1")
    np.testing.assert_allclose(calls[0][0][0], [0.1, 0.1, 0.7, 0.7])


def test_brain_map_bad_input():
    pytest.importorskip("nilearn.plotting")
    rec = data.recording(np.zeros((3, 2)), stimulus_id=[0, 1, 2], subject="S1", region=["a", "b"])
    amap = xr.Dataset(
        {"score": (("layer", "region"), [[0.9, 0.1]])},
        coords={"layer": ["l0"], "region": ["a", "b"]},
        attrs={"method": "rsa"},
    )
    with pytest.raises(ValueError, match="needs neuroid coordinates x, y, z"):
        plot.brain_map(amap, rec)
    with pytest.raises(ValueError, match="needs a surface recording"):
        plot.brain_map(amap, rec, kind="surface")
    with pytest.raises(ValueError, match="needs layer="):
        plot.brain_map(amap, rec, value="score")
    other = rec.assign_coords(region=("neuroid", ["x", "y"]))
    with pytest.raises(ValueError, match="None of the map's regions"):
        plot.brain_map(amap, other)
