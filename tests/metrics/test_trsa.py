import numpy as np
import pytest
from scipy.sparse.csgraph import csgraph_from_dense, shortest_path
from scipy.spatial.distance import squareform

from brainalign import alignment_map, data, registry, simulate
from brainalign.metrics import rsa, trsa

from .conftest import TORCH_BACKENDS


@pytest.fixture
def rdm(rng):
    return rsa.rdm(rng.normal(size=(15, 8)))


def _paper(d, lo, hi):
    return np.clip((d - lo) / (hi - lo), 0.0, 1.0)


def test_transform_is_the_papers_formula(rdm):
    v = squareform(rdm.values, checks=False)
    lo, hi = np.quantile(v, [0.1, 0.5])
    out = trsa.geotopological(rdm, lower=0.1, upper=0.5)
    np.testing.assert_allclose(squareform(out.values, checks=False), _paper(v, lo, hi), atol=1e-12)
    assert out.dims == rdm.dims and out.attrs["transform"] == "geotopological"
    np.testing.assert_array_equal(np.diag(out.values), 0.0)
    # Absolute thresholds read the same numbers directly.
    absolute = trsa.geotopological(rdm, lower=float(lo), upper=float(hi), thresholds="absolute")
    np.testing.assert_allclose(absolute.values, out.values, atol=1e-12)


def test_extremes_normalised_rdm_and_binary_graph(rdm):
    v = squareform(rdm.values, checks=False)
    # lower=0, upper=max (absolute) is the RDM divided by its maximum; quantiles 0 and 1 min–max.
    np.testing.assert_allclose(
        trsa.geotopological(rdm, 0.0, float(v.max()), thresholds="absolute").values, rdm.values / v.max(), atol=1e-12
    )
    minmax = (v - v.min()) / (v.max() - v.min())
    np.testing.assert_allclose(squareform(trsa.geotopological(rdm, 0.0, 1.0).values, checks=False), minmax, atol=1e-12)
    # lower == upper: the adjacency of a graph (pure topology).
    median = np.median(v)
    binary = squareform(trsa.geotopological(rdm, 0.5, 0.5).values, checks=False)
    np.testing.assert_array_equal(binary, (v > median).astype(float))


def test_geodesic_matches_scipy_shortest_paths_with_zero_length_edges(rdm):
    T = trsa.geotopological(rdm, 0.2, 0.6).values
    graph = np.where(T >= 1.0, np.inf, T)  # ceiling edges removed, sub-threshold pairs length 0
    np.fill_diagonal(graph, np.inf)
    ref = shortest_path(csgraph_from_dense(graph, null_value=np.inf), method="FW", directed=False)
    np.testing.assert_allclose(trsa.geotopological(rdm, 0.2, 0.6, geodesic=True).values, ref, atol=1e-12)


def test_input_is_not_modified_unlike_rsatoolbox(kriegeskorte):
    rsr = pytest.importorskip("rsatoolbox.rdm")
    transform = pytest.importorskip("rsatoolbox.rdm.transform")
    human = kriegeskorte["human"]
    v = squareform(human, checks=False)
    before = human.copy()
    ours = squareform(trsa.geotopological(human, 0.1, 0.5), checks=False)
    np.testing.assert_array_equal(human, before)
    theirs_in = rsr.RDMs(v[None].copy())
    theirs = transform.geotopological_transform(theirs_in, 0.1, 0.5).get_vectors()[0]
    assert not np.array_equal(theirs_in.get_vectors()[0], v)  # rsatoolbox overwrote its input
    # rsatoolbox clamps the rescaled values a second time at the upper threshold (here < 1).
    upper = np.quantile(v, 0.5)
    assert upper < 1
    np.testing.assert_allclose(ours, _paper(v, *np.quantile(v, [0.1, 0.5])), atol=1e-12)
    np.testing.assert_allclose(theirs, np.where(ours > upper, 1.0, ours), atol=1e-12)
    assert np.abs(ours - theirs).max() > 0.1


def test_rsatoolbox_geodesic_drops_zero_length_edges_on_real_data(kriegeskorte):
    rsr = pytest.importorskip("rsatoolbox.rdm")
    transform = pytest.importorskip("rsatoolbox.rdm.transform")
    human = kriegeskorte["human"]
    gt = trsa.geotopological(human, 0.1, 0.5)
    ours = trsa.geotopological(human, 0.1, 0.5, geodesic=True)
    # rsatoolbox's geodesic transform on the same (already min–max) transformed RDM: networkx reads
    # the zeros of the sub-threshold pairs as missing edges, so paths through them get longer.
    theirs = squareform(transform.geodesic_transform(rsr.RDMs(squareform(gt, checks=False)[None])).get_vectors()[0])
    assert np.isfinite(ours).all() and np.isfinite(theirs).all()
    difference = np.abs(ours - theirs).max()
    assert difference == pytest.approx(0.77, abs=0.01)
    assert (theirs >= ours - 1e-12).all()  # dropping edges only lengthens paths


def test_stacks_disconnected_graphs_and_plain_arrays(rng):
    acts = data.activations({"a": rng.normal(size=(10, 5)), "b": rng.normal(size=(10, 5))}, stimulus_id=np.arange(10))
    D = rsa.rdm(acts)
    G = trsa.geotopological(D, 0.0, 0.05, geodesic=True)
    assert G.dims == ("layer", "stimulus_id", "stimulus_id_2")
    assert np.isinf(G.values).any()  # few edges below the ceiling: some stimuli unreachable
    for k, layer in enumerate(["a", "b"]):
        np.testing.assert_allclose(
            trsa.geotopological(D.sel(layer=layer).values, 0.0, 0.05, geodesic=True), G.values[k], atol=1e-12
        )
    with pytest.raises(ValueError, match="infinite"):
        rsa.compare(G.isel(layer=0), G.isel(layer=1))


@pytest.mark.parametrize("backend", TORCH_BACKENDS)
def test_backends_agree(rdm, backend):
    pytest.importorskip("torch")
    for geodesic in (False, True):
        ref = trsa.geotopological(rdm, 0.1, 0.6, geodesic)
        np.testing.assert_allclose(
            trsa.geotopological(rdm, 0.1, 0.6, geodesic, backend=backend).values, ref.values, atol=1e-10
        )


def test_bad_input(rdm):
    with pytest.raises(ValueError, match=r"quantile and must lie in \[0, 1\]"):
        trsa.geotopological(rdm, 0.1, 1.5)
    with pytest.raises(ValueError, match="must not exceed upper"):
        trsa.geotopological(rdm, 0.6, 0.2)
    with pytest.raises(ValueError, match="Invalid value for thresholds"):
        trsa.geotopological(rdm, 0.1, 0.5, thresholds="percent")
    bad = rdm.copy()
    bad[0, 1] = bad[1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        trsa.geotopological(bad)
    with pytest.raises(ValueError, match="at least 3"):
        trsa.geotopological(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="geodesic"):
        trsa.geotopological(rdm, geodesic="yes")


def test_trsa_map_recovers_planted_layers(rng):
    x = rng.normal(size=(50, 16))
    layers = {}
    for k in range(3):
        x = np.tanh(x @ rng.normal(scale=1 / 4, size=(16, 16)) * 2)
        layers[f"l{k}"] = x
    acts = data.activations(layers, stimulus_id=np.arange(50))
    truth = {"V1": "l0", "IT": "l2"}
    rec = simulate.linear_recording(acts, truth, n_neuroids=60, snr=4.0, random_state=0)
    for geodesic in (False, True):
        amap = alignment_map(acts, rec, "trsa", method_options={"lower": 0.05, "upper": 0.7, "geodesic": geodesic})
        assert {r: str(amap["score"].sel(region=r).idxmax("layer").item()) for r in truth} == truth
        assert amap.attrs["method_params"]["geodesic"] is geodesic
    assert registry.get("trsa").get_params()["compare"] == "spearman"
