"""Neighbourhoods against independent implementations: rsatoolbox's volume searchlight, exact
all-pairs Dijkstra on a mesh patch, brute-force Euclidean distances; the image round trip."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign import data, searchlight


def _volume_rec(mask: np.ndarray, voxel: float = 3.0, origin=(-10.0, 4.0, 2.0), n_stim: int = 4, seed: int = 0):
    ijk = np.argwhere(mask)
    xyz = ijk * voxel + np.asarray(origin)
    values = np.random.default_rng(seed).normal(size=(n_stim, len(ijk)))
    return data.recording(
        values,
        stimulus_id=[f"s{i}" for i in range(n_stim)],
        subject="S1",
        region="V1",
        neuroid_coords={
            "x": xyz[:, 0],
            "y": xyz[:, 1],
            "z": xyz[:, 2],
            "voxel_i": ijk[:, 0],
            "voxel_j": ijk[:, 1],
            "voxel_k": ijk[:, 2],
        },
    )


def _blob_mask(shape=(9, 10, 8), seed=0):
    rng = np.random.default_rng(seed)
    g = np.stack(np.meshgrid(*[np.arange(s) for s in shape], indexing="ij"), axis=-1)
    centre = np.asarray(shape) / 2
    mask = np.linalg.norm((g - centre) / (np.asarray(shape) / 2.2), axis=-1) < 1.0
    mask &= rng.random(shape) > 0.1  # holes, so that fractions vary
    return mask


@pytest.mark.parametrize(("radius", "threshold"), [(2, 1.0), (2, 0.7), (3, 0.5), (2.5, 0.0)])
def test_spheres_match_rsatoolbox_volume_searchlight(radius, threshold):
    sl_mod = pytest.importorskip("rsatoolbox.util.searchlight")
    mask = _blob_mask()
    rec = _volume_rec(mask, voxel=3.0)
    centers, neighbors = sl_mod.get_volume_searchlight(
        mask, radius=radius, threshold=threshold, truncate_at_boundary=True
    )
    # rsatoolbox's centres follow its truncate_at_boundary=False rule (fraction of in-grid sphere voxels in the mask):
    ref_c, _ = sl_mod.get_volume_searchlight(mask, radius=radius, threshold=threshold)
    ours = searchlight.spheres(
        rec, radius=3.0 * radius, min_fraction=threshold if threshold > 0 else None, grid_shape=mask.shape
    )
    # rsatoolbox indexes the flat grid; ours index neuroids (the mask's voxels in C order).
    flat = np.ravel_multi_index(np.argwhere(mask).T, mask.shape)
    assert np.array_equal(flat[ours.centers], ref_c)
    truncated = dict(zip(centers.tolist(), neighbors, strict=True))
    for c, nb in zip(ours.centers, ours.neighbours, strict=True):
        assert np.array_equal(np.sort(flat[nb]), np.sort(truncated[int(flat[c])]))


def test_spheres_brute_force_sensors_and_rules():
    rng = np.random.default_rng(1)
    xyz = rng.uniform(-50, 50, size=(60, 3))
    rec = data.recording(
        rng.normal(size=(5, 60)),
        stimulus_id=list("abcde"),
        subject="S1",
        region="EEG",
        neuroid_coords={"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]},
    )
    mask = rng.random(60) > 0.3
    sl = searchlight.spheres(rec, radius=25.0, min_neuroids=3, mask=mask)
    D = np.linalg.norm(xyz[:, None] - xyz[None], axis=-1)
    expected = [c for c in np.flatnonzero(mask) if np.sum(D[c] < 25.0) >= 3]
    assert sl.kind == "sensor"
    assert sl.centers.tolist() == expected
    for c, nb in zip(sl.centers, sl.neighbours, strict=True):
        assert nb.tolist() == np.flatnonzero(D[c] < 25.0).tolist()
    assert sl.table["neuroid"].tolist() == expected
    assert np.allclose(sl.table[["x", "y", "z"]].to_numpy(), xyz[expected])
    assert "Searchlight (sensor)" in repr(sl)
    sub = sl.subset(sl.table["n_neighbours"].to_numpy() > 4)
    assert len(sub) == int(np.sum(sl.sizes > 4)) and np.all(sub.sizes > 4)
    with pytest.raises(ValueError, match="min_fraction needs a voxel grid"):
        searchlight.spheres(rec, radius=10.0, min_fraction=0.5)
    with pytest.raises(ValueError, match="radius"):
        searchlight.spheres(rec, radius=-1.0)
    with pytest.raises(ValueError, match="mask"):
        searchlight.spheres(rec, radius=5.0, mask=np.ones(3, bool))


def test_sphere_at_exact_radius_is_out():
    rec = data.recording(
        np.zeros((3, 2)),
        stimulus_id=list("abc"),
        subject="S",
        region="R",
        neuroid_coords={"x": [0.0, 6.0], "y": [0.0, 0.0], "z": [0.0, 0.0]},
    )
    assert [n.tolist() for n in searchlight.spheres(rec, radius=6.0).neighbours] == [[0], [1]]


def _patch_graph(coords, faces, keep):
    """The mesh restricted to ``keep`` vertices (faces with all three corners kept)."""
    sub = faces[np.all(keep[faces], axis=1)]
    old = np.flatnonzero(keep)
    new = np.full(len(coords), -1)
    new[old] = np.arange(len(old))
    return searchlight.edge_graph(coords[old], new[sub]), old


def test_surface_discs_match_exact_dijkstra_on_fsaverage5_patch():
    datasets = pytest.importorskip("nilearn.datasets")
    from scipy.sparse.csgraph import shortest_path

    mesh = datasets.load_fsaverage("fsaverage5")["pial"]
    coords = np.asarray(mesh.parts["left"].coordinates, float)
    faces = np.asarray(mesh.parts["left"].faces)
    seed_vertex, radius = 1234, 8.0
    keep = np.linalg.norm(coords - coords[seed_vertex], axis=1) < 40.0
    graph, old = _patch_graph(coords, faces, keep)
    exact = shortest_path(graph, method="D", directed=False)  # exact all pairs on the patch
    # Centres whose Euclidean 20 mm ball lies inside the patch: every path shorter than the radius stays inside.
    inner = np.flatnonzero(np.linalg.norm(coords[old] - coords[seed_vertex], axis=1) < 15.0)
    n_v = len(coords)
    rng = np.random.default_rng(0)
    hemi_mask = rng.random(n_v) > 0.2  # recorded vertices (the rest, e.g. a medial wall, is missing)
    vert = np.flatnonzero(hemi_mask)
    rec = data.recording(
        np.zeros((3, len(vert))),
        stimulus_id=list("abc"),
        subject="S",
        region="ctx",
        neuroid_coords={"hemisphere": ["left"] * len(vert), "vertex": vert},
    )
    centre_vertices = old[inner][:40]
    is_centre = np.isin(vert, centre_vertices)
    sl = searchlight.surface(rec, radius=radius, mesh=mesh, mask=is_centre)
    assert sl.kind == "surface" and len(sl) == int(is_centre.sum())
    pos = {v: i for i, v in enumerate(old)}
    for c, nb, frac in zip(sl.centers, sl.neighbours, sl.table["fraction"], strict=True):
        row = exact[pos[vert[c]]]
        disc = old[row < radius]
        assert np.array_equal(vert[nb], np.intersect1d(disc, vert))
        assert frac == pytest.approx(len(np.intersect1d(disc, vert)) / len(disc))


def test_surface_errors():
    rec = data.recording(np.zeros((3, 2)), stimulus_id=list("abc"), subject="S", region="R")
    with pytest.raises(ValueError, match="hemisphere"):
        searchlight.surface(rec, radius=5.0, mesh={"left": (np.zeros((3, 3)), np.array([[0, 1, 2]]))})


def test_with_latency_indexes_neuroid_latency_pairs():
    rng = np.random.default_rng(0)
    lat = np.round(np.arange(-0.1, 0.31, 0.02), 6)
    rec = data.recording(
        rng.normal(size=(4, 3, len(lat))),
        stimulus_id=list("abcd"),
        subject="S",
        region="MEG",
        latency=lat,
        neuroid_coords={"x": [0.0, 10.0, 50.0], "y": [0.0, 0.0, 0.0], "z": [0.0, 0.0, 0.0]},
    )
    st = searchlight.with_latency(searchlight.spheres(rec, radius=15.0), rec, window=0.04)
    flat = searchlight.latency_patterns(rec).values
    n_lat = len(lat)
    # the latency centres: those whose whole ±40 ms window is recorded (mne-rsa skips the edges)
    assert st.table["latency_index"].unique().tolist() == list(range(2, n_lat - 2))
    for row, nb in zip(st.table.itertuples(), st.neighbours, strict=True):
        spatial = [0, 1] if row.neuroid < 2 else [2]
        window = np.flatnonzero(np.abs(lat - row.latency) <= 0.04 + 1e-9)
        expected = rec.values[:, spatial][:, :, window].reshape(4, -1)
        assert np.array_equal(flat[:, nb], expected)
        assert len(window) == 5
    with pytest.raises(ValueError, match="window"):
        searchlight.with_latency(searchlight.spheres(rec, radius=15.0), rec, window=1.0)


def test_to_image_round_trip_volume_and_surface():
    nib = pytest.importorskip("nibabel")
    mask = _blob_mask((6, 7, 5))
    rec = _volume_rec(mask, voxel=2.5, origin=(-7.0, 3.0, 11.0))
    sl = searchlight.spheres(rec, radius=4.0, min_neuroids=5)
    scores = np.random.default_rng(0).normal(size=len(sl))
    img = searchlight.to_image(scores, rec, centers=sl.centers, grid_shape=mask.shape)
    assert isinstance(img, nib.Nifti1Image) and img.shape == mask.shape
    assert np.allclose(img.affine, np.diag([2.5, 2.5, 2.5, 1.0]) + np.c_[np.zeros((4, 3)), [-7.0, 3.0, 11.0, 0.0]])
    vol = img.get_fdata()
    ijk = np.argwhere(mask)[sl.centers]
    assert np.allclose(vol[tuple(ijk.T)], scores, atol=1e-6)
    assert np.isnan(vol).sum() == vol.size - len(sl)
    # back from the image with nilearn's masker: the same values at the same voxels
    from nilearn.maskers import NiftiMasker

    back = NiftiMasker(nib.Nifti1Image(mask.astype(np.int8), img.affine)).fit().transform(img).reshape(-1)
    assert np.allclose(back[sl.centers], scores, atol=1e-6)
    surf = data.recording(
        np.zeros((3, 4)),
        stimulus_id=list("abc"),
        subject="S",
        region="ctx",
        neuroid_coords={"hemisphere": ["left", "left", "right", "right"], "vertex": [0, 2, 1, 3]},
    )
    out = searchlight.to_image(np.array([1.0, 2.0, 3.0, 4.0]), surf)
    assert np.array_equal(out["left"], [1.0, np.nan, 2.0], equal_nan=True)
    assert np.array_equal(out["right"], [np.nan, 3.0, np.nan, 4.0], equal_nan=True)
    sensors = data.recording(np.zeros((3, 2)), stimulus_id=list("abc"), subject="S", region="R")
    with pytest.raises(ValueError, match="to_image needs"):
        searchlight.to_image(np.zeros(2), sensors)


def test_volume_grid_refuses_a_single_slice_without_affine():
    mask = np.ones((4, 4, 1), bool)
    rec = _volume_rec(mask)
    with pytest.raises(ValueError, match="affine"):
        searchlight.volume_grid(rec)
    g = searchlight.volume_grid(rec, affine=np.diag([3.0, 3.0, 3.0, 1.0]))
    assert g.shape == (4, 4, 1)
