"""Figures: every plot returns a matplotlib figure and saves PDF/SVG/PNG; brain maps paint the right values."""

import numpy as np
import pytest
import xarray as xr

matplotlib = pytest.importorskip("matplotlib")
matplotlib.use("Agg")

from brainalign import data, plot  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


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


def _drawn(fig):
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def test_layer_profile_ceiling_band_spans_lower_to_upper_bound():
    from matplotlib.collections import PolyCollection

    amap = _map(p=True).drop_vars("ceiling")
    amap["ceiling_low"] = xr.DataArray([0.6, 0.7], dims="region")
    amap["ceiling_high"] = xr.DataArray([0.8, 0.9], dims="region")
    ax = plot.layer_profile(amap).axes[0]
    hatched = [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_hatch()]
    assert len(hatched) == 2  # one ceiling band per region, beside the two CI bands
    for band, (lo, hi) in zip(hatched, [(0.6, 0.8), (0.7, 0.9)], strict=True):
        y = band.get_paths()[0].vertices[:, 1]
        np.testing.assert_allclose([y.min(), y.max()], [lo, hi], atol=1e-12)
        x = band.get_paths()[0].vertices[:, 0]
        assert x.min() < 0 and x.max() > 3  # across every layer
    assert not any(line.get_linestyle() == "--" for line in ax.lines)  # no single ceiling line then
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "noise ceiling [lower, upper]" in labels and "95 % interval" in labels
    # Only `ceiling`: one dashed line per region at its value, labelled as the noise ceiling.
    ax = plot.layer_profile(_map(p=True)).axes[0]
    assert "noise ceiling" in [t.get_text() for t in ax.get_legend().get_texts()]
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert [np.unique(line.get_ydata()).tolist() for line in dashed] == [[0.95], [0.95]]


@pytest.mark.parametrize("figure", ["layer_profile", "model_comparison"])
def test_legend_stands_clear_of_the_data(figure):
    amap = _map(regions=("V1", "V4", "IT", "MT"), p=True)
    amap["score"][:] = np.linspace(0, 1, 4)[:, None]  # lines that climb to the top-right corner
    fig = getattr(plot, figure)(amap, region="IT") if figure == "model_comparison" else plot.layer_profile(amap)
    renderer = _drawn(fig)
    ax = fig.axes[0]
    box = ax.get_legend().get_window_extent(renderer)
    assert box.x0 >= ax.get_window_extent(renderer).x1  # outside the axes, to the right
    for artist in [*ax.lines, *ax.patches]:
        if artist.get_visible() and artist.get_label() and not artist.get_label().startswith("_"):
            assert not box.overlaps(artist.get_window_extent(renderer))


def test_heatmap_stars_only_significant_cells_and_planted_dot_leaves_them_visible():
    amap = _map(p=True)
    amap["p_fdr"][:] = 0.001  # every p-value small, but the map's own decision is `significant`
    amap["significant"] = xr.DataArray(
        [[True, False], [False, False], [False, True], [True, True]], dims=amap["score"].dims
    )
    truth = {"V1": "l0", "IT": "l3"}
    fig = plot.heatmap(amap, truth=truth)
    ax = fig.axes[0]
    stars = [t for t in ax.texts if t.get_text() == "*"]
    assert sorted((round(t.get_position()[1]), round(t.get_position()[0])) for t in stars) == [
        (0, 0),
        (2, 1),
        (3, 0),
        (3, 1),
    ]
    renderer = _drawn(fig)
    planted = [line for line in ax.lines if line.get_marker() == "o"]
    assert len(planted) == 2
    for dot in planted:
        for star in stars:
            assert not dot.get_window_extent(renderer).overlaps(star.get_window_extent(renderer))
    # Without `significant`, FDR-corrected p-values decide; uncorrected p-values never star a cell.
    assert len([t for t in plot.heatmap(amap.drop_vars("significant")).axes[0].texts if t.get_text() == "*"]) == 8
    bare = amap.drop_vars(["significant", "p_fdr"])
    assert not [t for t in plot.heatmap(bare).axes[0].texts if t.get_text() == "*"]


def test_heatmap_colour_scale_diverges_for_scores_only():
    amap = _map(p=True)
    amap["score"] = amap["score"] - 0.5
    image = plot.heatmap(amap).axes[0].images[0]
    lo, hi = image.get_clim()
    assert image.get_cmap().name == "RdBu_r" and lo == -hi == pytest.approx(-np.abs(amap["score"]).max())
    distances = _map().assign_attrs(higher_is_better=0)
    image = plot.heatmap(distances).axes[0].images[0]
    assert image.get_cmap().name == "viridis" and image.get_clim() == pytest.approx(
        (float(distances["score"].min()), float(distances["score"].max()))
    )


def _electrodes():
    return data.recording(
        np.zeros((5, 4)),
        sfreq=100.0,
        subject="S1",
        region=["motor", "motor", "stn", "stn"],
        neuroid_coords={"x": [40.0, 45, 12, 13], "y": [-20.0, -15, -13, -12], "z": [60.0, 58, -8, -7]},
    )


def test_brain_map_colour_scale_and_significance(monkeypatch):
    pytest.importorskip("nilearn.plotting")
    from nilearn.plotting.displays import OrthoProjector

    amap = xr.Dataset(
        {
            "score": (("layer", "region"), [[0.9, -0.3], [0.1, 0.7]]),
            "significant": (("layer", "region"), [[True, False], [False, True]]),
        },
        coords={"layer": ["l0", "l1"], "region": ["motor", "stn"]},
        attrs={"method": "rsa", "higher_is_better": 1},
    )
    calls = _capture(monkeypatch, "plot_markers")
    hollow = []
    original = OrthoProjector.add_markers

    def spy(self, marker_coords, **kwargs):
        if isinstance(kwargs.get("marker_color"), str) and kwargs["marker_color"] == "none":
            hollow.append(marker_coords)
        return original(self, marker_coords, **kwargs)

    monkeypatch.setattr(OrthoProjector, "add_markers", spy)
    plot.brain_map(amap, _electrodes(), value="score", layer="l0")
    kw = calls[0][1]
    assert kw["node_cmap"] == "RdBu_r" and kw["node_vmin"] == -kw["node_vmax"] == pytest.approx(-0.9)
    np.testing.assert_allclose(calls[0][0][0], [0.9, 0.9])  # motor is significant at l0; stn is not
    np.testing.assert_array_equal(hollow[0][:, 0], [12, 13])  # stn drawn hollow
    calls.clear()
    distances = amap.drop_vars("significant").assign(score=np.abs(amap["score"])).assign_attrs(higher_is_better=0)
    plot.brain_map(distances, _electrodes(), value="score", layer="l0")
    kw = calls[0][1]
    assert kw["node_cmap"] == "viridis" and (kw["node_vmin"], kw["node_vmax"]) == pytest.approx((0.3, 0.9))


def test_brain_map_draws_encode_per_neuroid_output(monkeypatch):
    pytest.importorskip("nilearn.plotting")
    pytest.importorskip("sklearn")
    import brainalign

    rng = np.random.default_rng(0)
    acts = data.activations({"l1": rng.normal(size=(60, 5)), "l2": rng.normal(size=(60, 5))}, stimulus_id=np.arange(60))
    Y = acts.values[:, 5:] @ rng.normal(size=(5, 4)) + rng.normal(size=(60, 4))
    rec = data.recording(
        Y,
        stimulus_id=np.arange(60),
        subject="S1",
        region="ecog",
        neuroid_coords={"x": [40.0, 45, 12, 13], "y": [-20.0, -15, -13, -12], "z": [60.0, 58, -8, -7]},
    )
    scores = brainalign.encode(acts, rec, "ridge", encoder_options={"backend": "numpy"})
    calls = _capture(monkeypatch, "plot_markers")
    fig = plot.brain_map(scores, value="r", layer="l2")
    values, coords = calls[0][0][:2]
    expected = dict(zip(scores["x"].values, scores["r"].sel(layer="l2").values, strict=True))
    np.testing.assert_allclose(values, [expected[x] for x in coords[:, 0]])  # every neuroid its own r
    assert sorted(coords[:, 0]) == [12, 13, 40, 45]
    assert fig.axes[-1].get_ylabel() == "r of l2"
    calls.clear()
    plot.brain_map(scores)  # best layer of every neuroid: l2 carries the signal
    np.testing.assert_array_equal(calls[0][0][0], [1.0, 1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="needs layer="):
        plot.brain_map(scores, value="r")
    with pytest.raises(ValueError, match="recording is needed"):
        plot.brain_map(_map())


def _pairwise(layers, significant, regions=None):
    dims = ("layer", "layer_2") + (("region",) if regions else ())
    sig = np.asarray(significant, bool)
    pw = xr.Dataset(
        {"difference": (dims, np.zeros(sig.shape)), "significant": (dims, sig)},
        coords={"layer": layers, "layer_2": layers} | ({"region": regions} if regions else {}),
    )
    for var in ("ci_low", "ci_high", "p_value", "p_fdr"):
        pw[var] = pw["difference"]
    return pw


def test_model_comparison_bars_ceiling_band_and_significant_pairs():
    from matplotlib.collections import PolyCollection

    amap = _map(p=True).drop_vars("ceiling")
    amap["ceiling_low"] = xr.DataArray([0.6, 0.7], dims="region")
    amap["ceiling_high"] = xr.DataArray([0.8, 0.9], dims="region")
    layers = [f"l{k}" for k in range(4)]
    sig = np.zeros((4, 4, 2), bool)
    sig[0, 2, 1] = sig[2, 0, 1] = True  # l0 vs l2 in IT (both orders: one bracket)
    sig[1, 3, 1] = True  # l1 vs l3 in IT
    sig[0, 1, 0] = True  # l0 vs l1 in V1 only
    fig = plot.model_comparison(amap, _pairwise(layers, sig, ["V1", "IT"]))
    assert len(fig.axes) == 2
    for ax, region, n_pairs in zip(fig.axes, ["V1", "IT"], [1, 2], strict=True):
        heights = [p.get_height() for p in ax.patches if p.get_width() == pytest.approx(0.8)]
        np.testing.assert_allclose(heights, amap["score"].sel(region=region).values)
        band = [c for c in ax.collections if isinstance(c, PolyCollection) and c.get_hatch()]
        y = band[0].get_paths()[0].vertices[:, 1]
        lo, hi = float(amap["ceiling_low"].sel(region=region)), float(amap["ceiling_high"].sel(region=region))
        np.testing.assert_allclose([y.min(), y.max()], [lo, hi])
        assert sum(t.get_text() == "*" for t in ax.texts) == n_pairs
        brackets = sorted(
            (line.get_xdata()[0], line.get_xdata()[-1]) for line in ax.lines if len(line.get_xdata()) == 4
        )
        assert brackets == ([(0, 1)] if region == "V1" else [(0, 2), (1, 3)])
        ys = [max(line.get_ydata()) for line in ax.lines if len(line.get_xdata()) == 4]
        assert min(ys) > hi and max(ys) < ax.get_ylim()[1]  # above the ceiling, inside the axes
    # Overlapping brackets ((0, 2) and (1, 3)) stand on two levels.
    it = fig.axes[1]
    assert len({max(line.get_ydata()) for line in it.lines if len(line.get_xdata()) == 4}) == 2
    # Plain scores over models, no pairwise.
    scores = xr.DataArray([0.2, 0.4], dims="model", coords={"model": ["a", "b"]})
    ax = plot.model_comparison(scores).axes[0]
    assert ax.get_xlabel() == "model" and [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    with pytest.raises(ValueError, match="draw one region"):
        plot.model_comparison(
            amap.sel(region=["IT"]).squeeze("region", drop=True), _pairwise(layers, sig, ["V1", "IT"])
        )
    with pytest.raises(ValueError, match="none of which are the bars"):
        plot.model_comparison(amap, _pairwise(["x0", "x1"], np.ones((2, 2)), None), region="IT")
    with pytest.raises(ValueError, match="select them first"):
        plot.model_comparison(_map(latency=np.array([0.1, 0.2])))


def test_brain_map_draws_a_searchlight_map_on_its_voxel_grid_and_glass_brain():
    pytest.importorskip("nilearn")
    from brainalign import alignment_map, searchlight

    rng = np.random.default_rng(0)
    acts = data.activations({f"l{k}": rng.normal(size=(20, 6)) for k in range(3)}, stimulus_id=np.arange(20))
    ijk = np.argwhere(np.ones((5, 5, 3), bool))
    Y = rng.normal(size=(20, len(ijk)))
    truth = np.linalg.norm(ijk - [2, 2, 1], axis=1) < 1.8
    Y[:, truth] += 2 * acts.values[:, 6:12] @ rng.normal(size=(6, truth.sum()))
    coords = {
        **{c: 3.0 * ijk[:, i] for i, c in enumerate("xyz")},
        **{f"voxel_{a}": ijk[:, i] for i, a in enumerate("ijk")},
    }
    rec = data.recording(Y, stimulus_id=np.arange(20), subject="S1", region="grid", neuroid_coords=coords)
    sl = searchlight.spheres(rec, radius=4.0)
    amap = alignment_map(acts, rec, "rsa", regions=sl, n_perm=40, correction="fwe")
    fig = plot.brain_map(amap, rec, value="score", layer="l1")  # kind="auto": axial slices of the grid
    assert fig.axes[-1].get_ylabel() == "score of l1"
    assert "not painted" in fig.texts[0].get_text()
    fig = plot.brain_map(amap, rec, kind="glass")  # markers at the centres
    assert fig.axes[-1].get_ylabel() == "best layer"
    with pytest.raises(ValueError, match="recording is needed"):
        plot.brain_map(amap)
