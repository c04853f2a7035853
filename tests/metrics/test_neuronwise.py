import logging

import numpy as np
import pytest
from scipy.stats import pearsonr

from brainalign import data
from brainalign.metrics import neuronwise

from .conftest import TORCH_BACKENDS


def test_anc_matches_scipy_pearson_per_unit(rng):
    X = rng.normal(size=(30, 6))
    Y = X + rng.normal(size=X.shape)
    expected = np.mean([pearsonr(X[:, i], Y[:, i])[0] for i in range(6)])
    assert neuronwise.anc(X, Y) == pytest.approx(expected, abs=1e-12)
    assert neuronwise.anc(X, 2 * X - 3) == pytest.approx(1.0, abs=1e-12)


def test_best_match_matches_corrcoef(rng):
    X, Y = rng.normal(size=(40, 5)), rng.normal(size=(40, 9))
    C = np.corrcoef(X.T, Y.T)[:5, 5:]
    assert neuronwise.best_match(X, Y) == pytest.approx(C.max(axis=1).mean(), abs=1e-12)
    # A permuted, rescaled copy is matched unit for unit; ANC needs the correspondence.
    perm = rng.permutation(5)
    assert neuronwise.best_match(X, 4 * X[:, perm]) == pytest.approx(1.0, abs=1e-12)
    assert neuronwise.anc(X, X[:, perm]) < 0.5


def test_constant_units_are_left_out_with_a_warning(rng, caplog):
    X = rng.normal(size=(20, 4))
    Xd = np.hstack([X, np.zeros((20, 1))])  # a dead unit
    Yd = np.hstack([X + 0.1 * rng.normal(size=X.shape), rng.normal(size=(20, 1))])
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        score = neuronwise.anc(Xd, Yd)
    assert "1 of 5 units are constant" in caplog.text
    assert score == pytest.approx(neuronwise.anc(X, Yd[:, :4]), abs=1e-12)
    with pytest.raises(ValueError, match="X has no variance across stimuli"):
        neuronwise.best_match(np.ones((10, 3)), rng.normal(size=(10, 3)))


def test_layers_and_regions_with_labels(rng):
    acts = data.activations({"a": rng.normal(size=(25, 3)), "b": rng.normal(size=(25, 3))}, stimulus_id=np.arange(25))
    out = neuronwise.anc(acts, acts)
    assert out.dims == ("layer", "layer_2")
    np.testing.assert_allclose(np.diag(out.values), 1.0)


@pytest.mark.parametrize("backend", TORCH_BACKENDS)
def test_backends_agree(rng, backend):
    pytest.importorskip("torch")
    X, Y = rng.normal(size=(20, 4)), rng.normal(size=(20, 4))
    assert neuronwise.anc(X, Y, backend=backend) == pytest.approx(neuronwise.anc(X, Y), abs=1e-12)
    assert neuronwise.best_match(X, Y, backend=backend) == pytest.approx(neuronwise.best_match(X, Y), abs=1e-12)


def test_bad_input(rng):
    with pytest.raises(ValueError, match="correspond one to one"):
        neuronwise.anc(rng.normal(size=(10, 3)), rng.normal(size=(10, 4)))
    with pytest.raises(ValueError, match="at least 3"):
        neuronwise.best_match(rng.normal(size=(2, 3)), rng.normal(size=(2, 3)))
    with pytest.raises(ValueError, match="2-D"):
        neuronwise.anc(rng.normal(size=(4, 3, 2)), rng.normal(size=(4, 3)))
