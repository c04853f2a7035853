"""A plug-in written as one class with its declaration gets the whole map machinery (docs: writing_a_method)."""

import numpy as np
import pytest
from sklearn.base import BaseEstimator, RegressorMixin

from brainalign import alignment_map, data, registry, simulate
from brainalign.methods import MethodInfo


class MeanPatternCorrelation:
    """Toy similarity: correlation of the stimuli's mean responses (batched kernels)."""

    def __brainalign_info__(self):
        return MethodInfo(
            family="similarity", kernels="represent", ceiling="split_half", score="r of the mean responses"
        )

    def get_params(self):
        return {}

    def represent(self, X):
        m = np.asarray(X, dtype=float).mean(axis=1)
        return (m - m.mean()) / np.linalg.norm(m - m.mean())

    def compare_represented(self, A, B):
        return np.atleast_2d(A) @ np.atleast_2d(B).T

    def __call__(self, X, Y):
        return float(self.compare_represented(self.represent(X), self.represent(Y))[0, 0])


class LeastSquares(RegressorMixin, BaseEstimator):
    """Toy encoder: ordinary least squares with a tiny ridge."""

    def __init__(self, eps=1e-6):
        self.eps = eps

    def __brainalign_info__(self):
        return MethodInfo(family="encoder", kernels="fit", ceiling="reliability", score="held-out r")

    def fit(self, X, Y, groups=None):
        X1 = np.column_stack([X, np.ones(len(X))])
        self.coef_ = np.linalg.solve(X1.T @ X1 + self.eps * np.eye(X1.shape[1]), X1.T @ Y)
        return self

    def predict(self, X):
        return np.column_stack([X, np.ones(len(X))]) @ self.coef_


@pytest.fixture
def toy_methods():
    registry.register("toy_mean_corr", MeanPatternCorrelation)
    registry.register("toy_ols", LeastSquares)
    yield
    registry.unregister("toy_mean_corr")
    registry.unregister("toy_ols")


@pytest.fixture
def planted():
    rng = np.random.default_rng(0)
    x, layers = rng.normal(size=(80, 20)), {}
    for k in range(3):  # a toy 3-layer network: each layer a nonlinear map of the last
        x = np.tanh(x @ rng.normal(scale=1 / np.sqrt(20), size=(20, 20)) * 2)
        layers[f"layer{k}"] = x
    acts = data.activations(layers, stimulus_id=np.arange(80), model="toy")
    rec = simulate.make_recording(
        acts, {"V1": "layer0", "IT": "layer2"}, n_neuroids=12, noise_ceiling=0.7, n_repetitions=4, random_state=1
    )
    return acts, rec


@pytest.mark.parametrize("name", ["toy_mean_corr", "toy_ols"])
def test_a_registered_plugin_gets_maps_ceilings_cis_and_p_values(toy_methods, planted, name):
    acts, rec = planted
    amap = alignment_map(acts, rec, name, n_boot=50, n_perm=50, random_state=0)
    for var in ("score", "ceiling", "normalized", "ci_low", "ci_high", "p_value", "p_fdr", "significant"):
        assert var in amap, var
    assert np.isfinite(amap["score"]).all() and np.isfinite(amap["ceiling"]).all()
    assert (amap["ci_low"] <= amap["ci_high"]).all()
    assert ((amap["p_value"] > 0) & (amap["p_value"] <= 1)).all()
    assert amap.attrs["method"] == name and amap.attrs["score"]
    if name == "toy_ols":  # the encoder finds the planted layers
        assert amap["score"].idxmax("layer").sel(region="IT").item() == "layer2"


def test_a_plugin_that_breaks_its_declaration_is_refused_at_registration():
    class Liar:  # declares batched kernels it does not have
        def __brainalign_info__(self):
            return MethodInfo(family="similarity", kernels="represent")

        def get_params(self):
            return {}

        def __call__(self, X, Y):
            return 0.0

    with pytest.raises(TypeError, match="declares kernels='represent' but lacks"):
        registry.register("toy_liar", Liar)
    assert "toy_liar" not in registry.list_methods()
