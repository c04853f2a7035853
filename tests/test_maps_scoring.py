"""The map engine's scorer: layer RDMs computed once per map; scores kept within the method's declared range."""

from collections import Counter

import numpy as np
import pytest
from scipy.spatial.distance import pdist
from scipy.stats import spearmanr

from brainalign import alignment_map, data, registry
from brainalign.methods import MethodInfo
from brainalign.metrics.rsa import RSA

N_STIM, N_UNITS, N_REGIONS = 24, 9, 8


#: ``rdm_matrix`` calls of :class:`CountingRSA` by the width of the block (layers: N_UNITS columns).
CALLS: Counter = Counter()


class CountingRSA(RSA):
    """RSA that counts its ``rdm_matrix`` calls."""

    def rdm_matrix(self, X):
        CALLS[np.shape(X)[-1]] += 1
        return super().rdm_matrix(X)


@pytest.fixture
def counting_rsa():
    registry.register("toy_counting_rsa", CountingRSA)
    CALLS.clear()
    yield CALLS
    registry.unregister("toy_counting_rsa")


def _time_resolved(n_latencies, seed=0):
    """3 layers of N_UNITS units; N_REGIONS regions of 4 neuroids, each latency its own responses."""
    rng = np.random.default_rng(seed)
    T = rng.normal(size=(N_STIM, N_UNITS))
    acts = data.activations(
        {f"l{k}": T + k * rng.normal(size=T.shape) for k in range(3)}, stimulus_id=np.arange(N_STIM)
    )
    values = T @ rng.normal(size=(N_UNITS, 4 * N_REGIONS))
    values = values[..., None] + rng.normal(size=(*values.shape, n_latencies))
    rec = data.recording(
        values,
        stimulus_id=np.arange(N_STIM),
        latency=np.arange(n_latencies) / 10,
        subject="S1",
        region=np.repeat([f"r{i}" for i in range(N_REGIONS)], 4),
    )
    return acts, rec


@pytest.mark.parametrize("n_latencies", [1, 5])
def test_layer_rdms_are_computed_once_whatever_the_latencies(counting_rsa, n_latencies):
    """The batched cell path (>= 8 cells) scores every latency with the same layer RDMs: 3 layers,
    3 rdm_matrix calls on layer blocks, for 1 or 5 latencies (before: 3 per latency); the scores
    equal scipy's Spearman of the correlation RDMs, to 1e-10."""
    acts, rec = _time_resolved(n_latencies)
    amap = alignment_map(acts, rec, "toy_counting_rsa", ceiling=False)
    assert counting_rsa[N_UNITS] == 3
    layer = acts.sel(unit=acts["layer"] == "l1").values
    cell = rec.isel(latency=n_latencies - 1).sel(neuroid=rec["region"] == "r2").values
    expected = spearmanr(pdist(layer, "correlation"), pdist(cell, "correlation")).statistic
    got = float(amap["score"].sel(layer="l1", region="r2").isel(latency=n_latencies - 1))
    assert got == pytest.approx(expected, abs=1e-10)


def test_map_statistics_reuse_the_layer_rdms(counting_rsa):
    """Bootstrap, permutations and the kept jackknife read the same layer RDMs: still one
    rdm_matrix call per layer; the statistics equal those of the built-in rsa."""
    acts, rec = _time_resolved(3, seed=1)
    kw = dict(n_boot=20, n_perm=20, keep_samples=True, ceiling=False, random_state=0)
    amap = alignment_map(acts, rec, "toy_counting_rsa", **kw)
    assert counting_rsa[N_UNITS] == 3
    ref = alignment_map(acts, rec, "rsa", **kw)
    for var in ("score", "ci_low", "ci_high", "p_value", "boot", "jack", "half"):
        np.testing.assert_array_equal(amap[var].values, ref[var].values, err_msg=var)


class ConstantScore:
    """Toy similarity declaring scores in [-1, 1] that returns ``value`` in float32."""

    def __init__(self, value=1 + 2e-7):
        self.value = value

    def __brainalign_info__(self):
        return MethodInfo(family="similarity", kernels="call", ceiling="none", score_range=(-1.0, 1.0))

    def get_params(self):
        return {"value": self.value}

    def __call__(self, X, Y):
        return np.float32(self.value)


@pytest.fixture
def constant_score():
    registry.register("toy_constant", ConstantScore)
    yield
    registry.unregister("toy_constant")


def _identical(dtype, seed=0):
    X = np.random.default_rng(seed).normal(size=(30, 12)).astype(dtype)
    acts = data.activations({"a": X}, stimulus_id=np.arange(30))
    return acts, data.recording(X.copy(), stimulus_id=np.arange(30), subject="S1", region="IT")


def test_rounding_beyond_the_declared_range_is_clipped_more_is_refused(constant_score):
    """float32: 1 + 2e-7 (float32 1.00000024, within 8 eps) is the bound 1.0; 1.01 is a bug, refused
    naming the method and the value; in float64 the tolerance is 8 float64 eps, so 1 + 2e-7 is refused."""
    acts, rec = _identical(np.float32)
    amap = alignment_map(acts, rec, "toy_constant", n_boot=5, keep_samples=True, random_state=0)
    assert float(amap["score"].item()) == 1.0
    assert float(amap["boot"].max()) == 1.0
    assert float(alignment_map(acts, rec, "toy_constant", method_options={"value": -1 - 2e-7})["score"].item()) == -1.0
    with pytest.raises(ValueError, match=r"toy_constant returned the score 1\.0099.*score_range \(-1\.0, 1\.0\)"):
        alignment_map(acts, rec, "toy_constant", method_options={"value": 1.01})
    acts64, rec64 = _identical(np.float64)
    with pytest.raises(ValueError, match=r"toy_constant returned the score 1\.0000002.*float64"):
        alignment_map(acts64, rec64, "toy_constant")


@pytest.mark.parametrize(
    ("method", "options"),
    [("rsa", {}), ("rsa", {"compare": "pearson"}), ("rsa", {"compare": "cosine"}), ("cka", {}), ("anc", {})],
)
def test_float32_scores_of_identical_representations_are_at_most_one(method, options):
    """Unclipped, these came out at 1.0000001 or 1.0000002 for some of the seeds (float32 rounding)."""
    for seed in range(6):
        acts, rec = _identical(np.float32, seed)
        score = float(alignment_map(acts, rec, method, method_options=options, ceiling=False)["score"].item())
        assert score <= 1.0 and score == pytest.approx(1.0, abs=1e-6)
