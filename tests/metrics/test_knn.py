import numpy as np
import pytest

from brainalign import data
from brainalign.metrics import knn

from .conftest import TORCH_BACKENDS


def _sklearn_mutual_knn(X, Y, k, metric):
    neighbors = pytest.importorskip("sklearn.neighbors")
    sets = []
    for Z in (X, Y):
        nn = neighbors.NearestNeighbors(n_neighbors=k + 1, metric=metric, algorithm="brute").fit(Z)
        idx = nn.kneighbors(Z, return_distance=False)
        sets.append([set(row[row != i][:k]) for i, row in enumerate(idx)])
    return np.mean([len(a & b) / k for a, b in zip(*sets, strict=True)])


@pytest.mark.parametrize("metric", ["cosine", "euclidean"])
@pytest.mark.parametrize("k", [1, 5, 10])
def test_matches_sklearn_neighbours(rng, metric, k):
    X = rng.normal(size=(40, 6))
    Y = X @ rng.normal(size=(6, 8)) + 0.7 * rng.normal(size=(40, 8))
    assert knn.mutual_knn(X, Y, k=k, metric=metric) == pytest.approx(_sklearn_mutual_knn(X, Y, k, metric), abs=1e-12)


def test_self_is_one_and_random_is_near_chance(rng):
    X = rng.normal(size=(60, 10))
    assert knn.mutual_knn(X, X, k=7) == 1.0
    chance = np.mean([knn.mutual_knn(X, rng.normal(size=(60, 10)), k=5) for _ in range(5)])
    assert chance == pytest.approx(5 / 59, abs=0.05)


def test_layers_in_one_call(rng):
    acts = data.activations({"a": rng.normal(size=(30, 4)), "b": rng.normal(size=(30, 4))}, stimulus_id=np.arange(30))
    scores = knn.mutual_knn(acts, acts, k=3)
    assert scores.dims == ("layer", "layer_2")
    np.testing.assert_allclose(np.diag(scores.values), 1.0)


@pytest.mark.parametrize("backend", TORCH_BACKENDS)
def test_backends_agree(rng, backend):
    pytest.importorskip("torch")
    X, Y = rng.normal(size=(30, 5)), rng.normal(size=(30, 7))
    assert knn.mutual_knn(X, Y, k=4, backend=backend) == pytest.approx(knn.mutual_knn(X, Y, k=4), abs=1e-12)


def test_bad_input(rng):
    X = rng.normal(size=(8, 3))
    with pytest.raises(ValueError, match="k=8 must be smaller than the number of stimuli"):
        knn.mutual_knn(X, X, k=8)
    with pytest.raises(ValueError, match="positive integer"):
        knn.mutual_knn(X, X, k=0)
    with pytest.raises(ValueError, match="positive integer"):
        knn.mutual_knn(X, X, k=2.5)
    with pytest.raises(ValueError, match="Invalid value for metric"):
        knn.mutual_knn(X, X, k=2, metric="manhattan")
    with pytest.raises(ValueError, match="all zeros"):
        knn.mutual_knn(np.vstack([np.zeros(3), X]), np.vstack([np.zeros(3), X]), k=2)
