"""Batched cell RDMs and their comparison, centre by centre against brainalign.metrics.rsa (1e-10,
float64) and rsatoolbox (1e-8); torch against numpy (1e-6); a planted layer is found."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import rankdata as scipy_rankdata

from brainalign import searchlight
from brainalign.backend import to_numpy
from brainalign.metrics import rsa

N_STIM = 12


def _neighbourhoods(rng, n_features=40, n_cells=11):
    """Cells of different sizes (3..25), some overlapping, in no particular order."""
    return [np.sort(rng.choice(n_features, size=int(rng.integers(3, 26)), replace=False)) for _ in range(n_cells)]


def _collect(blocks, n_cells):
    out = None
    for sl, R in blocks:
        R = to_numpy(R)
        out = np.empty((n_cells, R.shape[1])) if out is None else out
        out[sl] = R
    return out


def _upper(D):
    return D[np.triu_indices(D.shape[-1], 1)]


@pytest.mark.parametrize("metric", ["correlation", "cosine", "euclidean", "sqeuclidean"])
@pytest.mark.parametrize("chunk", [None, 3])
def test_cell_rdms_equal_rsa_rdm_per_centre(metric, chunk):
    rng = np.random.default_rng(0)
    Y = rng.normal(size=(N_STIM, 40)) + 0.5
    nbrs = _neighbourhoods(rng)
    got = _collect(searchlight.cell_rdms(Y, nbrs, metric, chunk=chunk), len(nbrs))
    for c, nb in enumerate(nbrs):
        ref = _upper(rsa.rdm(Y[:, nb], metric).values)
        np.testing.assert_allclose(got[c], ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("noise", ["shrinkage_diag", "diag", "full", None])
def test_crossnobis_cells_equal_rsa_rdm_per_centre(noise):
    rng = np.random.default_rng(1)
    n_rep = 4
    trials = rng.normal(size=(N_STIM, 30, n_rep)) + rng.normal(size=(N_STIM, 30, 1))
    nbrs = [nb[:8] if noise == "full" else nb for nb in _neighbourhoods(rng, 30, 7)]  # full cov needs dof > size
    got = _collect(searchlight.cell_rdms(trials, nbrs, "crossnobis", noise=noise, chunk=3), len(nbrs))
    for c, nb in enumerate(nbrs):
        folds = np.transpose(trials[:, nb, :], (2, 0, 1))  # (n_folds, n_stimuli, n_features)
        ref = _upper(rsa.rdm(folds, "crossnobis", noise=noise).values)
        np.testing.assert_allclose(got[c], ref, rtol=0, atol=1e-10)


@pytest.mark.parametrize("compare", ["spearman", "pearson", "cosine"])
def test_compare_cells_equals_rsa_compare(compare):
    rng = np.random.default_rng(2)
    Y = rng.normal(size=(N_STIM, 40))
    nbrs = _neighbourhoods(rng)
    layers = np.stack([rsa.rdm(rng.normal(size=(N_STIM, 7))).values for _ in range(5)])
    layers[0] = np.round(layers[0], 1)  # ties: average ranks
    scores = searchlight.compare_cells(searchlight.cell_rdms(Y, nbrs, chunk=4), layers, compare)
    assert scores.shape == (len(nbrs), 5)
    for c, nb in enumerate(nbrs):
        cell = rsa.rdm(Y[:, nb]).values
        ref = [rsa.compare(cell, layer, compare) for layer in layers]
        np.testing.assert_allclose(scores[c], ref, rtol=0, atol=1e-10)


def test_ranks_are_scipy_average_ranks():
    rng = np.random.default_rng(3)
    V = np.round(rng.normal(size=(4, 30)), 1)
    from brainalign.backend import get_backend

    np.testing.assert_array_equal(rsa.rankdata(get_backend("numpy"), V), scipy_rankdata(V, axis=1))


def _rsatoolbox_dataset(rsd, values, stim, **obs):
    return rsd.Dataset(values, obs_descriptors={"stim": stim, **obs})


def test_correlation_spearman_equals_rsatoolbox():
    rsd = pytest.importorskip("rsatoolbox.data")
    rsr = pytest.importorskip("rsatoolbox.rdm")
    rng = np.random.default_rng(4)
    Y = rng.normal(size=(N_STIM, 40))
    nbrs = _neighbourhoods(rng)
    layer_X = [rng.normal(size=(N_STIM, 9)) for _ in range(3)]
    stim = np.arange(N_STIM)
    layer_rdms = rsr.calc_rdm([_rsatoolbox_dataset(rsd, X, stim) for X in layer_X], descriptor="stim")
    ours = searchlight.compare_cells(searchlight.cell_rdms(Y, nbrs), layer_rdms.dissimilarities, "spearman")
    for c, nb in enumerate(nbrs):
        cell = rsr.calc_rdm(_rsatoolbox_dataset(rsd, Y[:, nb], stim), method="correlation", descriptor="stim")
        ref = rsr.compare(cell, layer_rdms, method="spearman")[0]
        np.testing.assert_allclose(ours[c], ref, rtol=0, atol=1e-8)


def test_crossnobis_pearson_equals_rsatoolbox():
    rsd = pytest.importorskip("rsatoolbox.data")
    rsr = pytest.importorskip("rsatoolbox.rdm")
    noise_mod = pytest.importorskip("rsatoolbox.data.noise")
    rng = np.random.default_rng(5)
    n_rep = 3
    trials = rng.normal(size=(N_STIM, 30, n_rep)) + rng.normal(size=(N_STIM, 30, 1))
    nbrs = _neighbourhoods(rng, 30, 6)
    layers = rng.normal(size=(2, N_STIM * (N_STIM - 1) // 2))
    ours = searchlight.compare_cells(searchlight.cell_rdms(trials, nbrs, "crossnobis"), layers, "pearson")
    layer_rdms = rsr.RDMs(layers)
    stim = np.tile(np.arange(N_STIM), n_rep)
    rep = np.repeat(np.arange(n_rep), N_STIM)
    for c, nb in enumerate(nbrs):
        values = np.concatenate([trials[:, nb, r] for r in range(n_rep)])  # rows: rep-major, then stimulus
        means = trials[:, nb, :].mean(axis=2)
        resid = values - means[stim]
        prec = noise_mod.prec_from_residuals(resid, dof=len(values) - N_STIM, method="shrinkage_diag")
        ds = _rsatoolbox_dataset(rsd, values, stim, rep=rep)
        cell = rsr.calc_rdm(ds, method="crossnobis", descriptor="stim", cv_descriptor="rep", noise=prec)
        ref = rsr.compare(cell, layer_rdms, method="corr")[0]
        np.testing.assert_allclose(ours[c], ref, rtol=0, atol=1e-8)


@pytest.mark.parametrize("metric", ["correlation", "euclidean", "crossnobis"])
def test_torch_equals_numpy(metric):
    pytest.importorskip("torch")
    rng = np.random.default_rng(6)
    Y = rng.normal(size=(N_STIM, 30, 3)) if metric == "crossnobis" else rng.normal(size=(N_STIM, 30))
    nbrs = _neighbourhoods(rng, 30, 9)
    layers = rng.normal(size=(4, N_STIM * (N_STIM - 1) // 2))
    ref = searchlight.compare_cells(searchlight.cell_rdms(Y, nbrs, metric), layers)
    got = searchlight.compare_cells(searchlight.cell_rdms(Y, nbrs, metric, backend="torch", chunk=4), layers)
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-6)
    R_np = _collect(searchlight.cell_rdms(Y, nbrs, metric), len(nbrs))
    R_t = _collect(searchlight.cell_rdms(Y, nbrs, metric, backend="torch"), len(nbrs))
    np.testing.assert_allclose(R_t, R_np, rtol=1e-6, atol=1e-6)


def test_planted_layer_is_found_where_it_was_planted():
    rng = np.random.default_rng(7)
    n_feat = 60
    layer_X = [rng.normal(size=(N_STIM, 10)) for _ in range(3)]
    Y = rng.normal(size=(N_STIM, n_feat))
    Y[:, 0:20] = layer_X[0] @ rng.normal(size=(10, 20)) + 0.05 * rng.normal(size=(N_STIM, 20))
    Y[:, 20:40] = layer_X[2] @ rng.normal(size=(10, 20)) + 0.05 * rng.normal(size=(N_STIM, 20))
    nbrs = [np.arange(0, 20), np.arange(20, 40)]
    layers = np.stack([rsa.rdm(X).values for X in layer_X])
    scores = searchlight.compare_cells(searchlight.cell_rdms(Y, nbrs), layers)
    assert scores.argmax(axis=1).tolist() == [0, 2]
    assert scores.max(axis=1).min() > 0.6
    assert np.abs(np.sort(scores, axis=1)[:, :2]).max() < 0.3  # the other layers: near 0


def test_memory_budget_sets_the_chunks_and_bad_input_is_refused():
    rng = np.random.default_rng(8)
    Y = rng.normal(size=(N_STIM, 20))
    nbrs = [np.arange(5)] * 10
    small = [s for s, _ in searchlight.cell_rdms(Y, nbrs, memory_budget=20_000)]
    assert len(small) > 1 and small[-1].stop == 10
    assert [s for s, _ in searchlight.cell_rdms(Y, nbrs, memory_budget="1GB")] == [slice(0, 10)]
    Y_const = Y.copy()
    Y_const[3, :5] = 1.0
    with pytest.raises(ValueError, match="Centre 0: the pattern of stimulus 3 is constant"):
        list(searchlight.cell_rdms(Y_const, nbrs))
    with pytest.raises(ValueError, match="indexes feature"):
        list(searchlight.cell_rdms(Y, [np.array([0, 25])]))
    with pytest.raises(ValueError, match="metric"):
        list(searchlight.cell_rdms(Y, nbrs, "mahalanobis"))
    with pytest.raises(ValueError, match="pairs"):
        searchlight.compare_cells(searchlight.cell_rdms(Y, nbrs), rng.normal(size=(2, 10)))
    with pytest.raises(ValueError, match="all dissimilarities equal"):
        searchlight.compare_cells(searchlight.cell_rdms(Y, nbrs), np.ones((2, 66)))
