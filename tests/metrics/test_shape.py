import itertools

import numpy as np
import pytest
from scipy.linalg import orthogonal_procrustes

from brainalign import data
from brainalign.metrics import shape

from .conftest import TORCH_BACKENDS


def _whiten(X, alpha):
    """Partial whitening of Williams et al. (2021) as in netrep (eigendecomposition of XᵀX)."""
    lam, V = np.linalg.eigh(X.T @ X)
    d = alpha + (1 - alpha) * lam**-0.5
    d *= np.sqrt(lam.sum() / np.sum((alpha * lam**0.5 + (1 - alpha)) ** 2))
    return X @ (V * d) @ V.T


def _reference(X, Y, alpha, method):
    Xw, Yw = _whiten(X - X.mean(0), alpha), _whiten(Y - Y.mean(0), alpha)
    p = max(Xw.shape[1], Yw.shape[1])
    Xw, Yw = np.pad(Xw, ((0, 0), (0, p - Xw.shape[1]))), np.pad(Yw, ((0, 0), (0, p - Yw.shape[1])))
    R, _ = orthogonal_procrustes(Xw, Yw)
    A = Xw @ R
    if method == "angular":
        return np.arccos(np.clip(np.sum(A * Yw) / (np.linalg.norm(A) * np.linalg.norm(Yw)), -1, 1))
    return np.linalg.norm(A - Yw)


def _rotation(rng, p):
    Q, _ = np.linalg.qr(rng.normal(size=(p, p)))
    return Q


@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.0])
@pytest.mark.parametrize("method", ["angular", "euclidean"])
def test_matches_procrustes_reference(rng, alpha, method):
    X = rng.normal(size=(40, 6))
    Y = X @ rng.normal(size=(6, 6)) + rng.normal(size=(40, 6))
    assert shape.distance(X, Y, alpha, method) == pytest.approx(_reference(X, Y, alpha, method), abs=1e-10)


def test_unequal_widths_are_zero_padded(rng):
    X, Y = rng.normal(size=(30, 4)), rng.normal(size=(30, 7))
    for method in ("angular", "euclidean"):
        assert shape.distance(X, Y, 1.0, method) == pytest.approx(_reference(X, Y, 1.0, method), abs=1e-10)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.0])
def test_rotated_shifted_copy_has_zero_distance(rng, alpha):
    X = rng.normal(size=(35, 5))
    Y = 1.0 * X @ _rotation(rng, 5) + 4.0
    for method in ("angular", "euclidean"):
        assert shape.distance(X, Y, alpha, method) == pytest.approx(0.0, abs=1e-6)
    # Full whitening also forgives any invertible linear map.
    assert shape.distance(X, X @ rng.normal(size=(5, 5)), 0.0) == pytest.approx(0.0, abs=1e-6)
    assert shape.distance(X, X @ np.diag([1, 2, 3, 4, 5.0]), 1.0) > 0.05


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize(
    ("alpha", "method", "group"),
    [
        (1.0, "angular", "orthogonal"),
        (1.0, "euclidean", "orthogonal"),
        (0.5, "angular", "orthogonal"),
        (0.0, "euclidean", "orthogonal"),
        (1.0, "angular", "permutation"),
        (1.0, "euclidean", "permutation"),
    ],
)
def test_metric_properties_on_random_triples(seed, alpha, method, group):
    rng = np.random.default_rng(seed)
    X, Y, Z = (rng.normal(size=(20, w)) for w in (5, 5, 6))
    d = lambda a, b: shape.distance(a, b, alpha, method, group=group)  # noqa: E731
    assert d(X, Y) == pytest.approx(d(Y, X), abs=1e-10)
    assert d(X, X) == pytest.approx(0.0, abs=1e-6)
    assert d(X, Z) <= d(X, Y) + d(Y, Z) + 1e-10


def test_permutation_variant_matches_brute_force(rng):
    X, Y = rng.normal(size=(15, 4)), rng.normal(size=(15, 4))
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    best = max(np.sum(Xc * Yc[:, list(p)]) for p in itertools.permutations(range(4)))
    expected = np.arccos(best / (np.linalg.norm(Xc) * np.linalg.norm(Yc)))
    assert shape.distance(X, Y, group="permutation") == pytest.approx(expected, abs=1e-12)
    assert shape.distance(X, X[:, [2, 0, 3, 1]] + 1, group="permutation") == pytest.approx(0.0, abs=1e-7)
    assert shape.distance(X, X @ _rotation(rng, 4), group="permutation") > 0.1


def test_pairwise_matches_distance_and_labels(rng):
    nets = [rng.normal(size=(25, w)) for w in (4, 6, 6, 5)]
    D = shape.pairwise(nets, alpha=0.5, method="euclidean", names=list("abcd"))
    assert D.dims == ("network", "network_2")
    np.testing.assert_array_equal(D.values, D.values.T)
    np.testing.assert_array_equal(np.diag(D.values), 0.0)
    for (i, a), (j, b) in itertools.combinations(enumerate(nets), 2):
        assert D.values[i, j] == pytest.approx(shape.distance(a, b, 0.5, "euclidean"), abs=1e-10)


def test_labelled_inputs_are_matched_by_stimulus(rng):
    X = rng.normal(size=(20, 4))
    order = rng.permutation(20)
    a = data.activations({"l": X}, stimulus_id=np.arange(20))
    b = data.recording(X[order] @ _rotation(rng, 4), stimulus_id=order, subject="S", region="V1")
    assert float(shape.distance(a, b).squeeze()) == pytest.approx(0.0, abs=1e-6)
    assert shape.pairwise([a, b]).values[0, 1] == pytest.approx(0.0, abs=1e-6)


@pytest.mark.parametrize("backend", TORCH_BACKENDS)
def test_backends_agree(rng, backend):
    pytest.importorskip("torch")
    X, Y = rng.normal(size=(30, 5)), rng.normal(size=(30, 7))
    for alpha in (1.0, 0.3):
        assert shape.distance(X, Y, alpha, backend=backend) == pytest.approx(shape.distance(X, Y, alpha), abs=1e-10)
    trials = rng.normal(size=(4, 12, 3))
    for method in ("gaussian", "energy"):
        assert shape.stochastic_distance(trials, Y[:12, :3] + 0 * trials, method=method, backend=backend) == (
            pytest.approx(shape.stochastic_distance(trials, Y[:12, :3] + 0 * trials, method=method), abs=1e-8)
        )


# ------------------------------------------------------------------------------- stochastic
@pytest.mark.parametrize("method, alpha", [("gaussian", 0.0), ("gaussian", 1.0), ("gaussian", 2.0), ("energy", 1.0)])
def test_stochastic_rotated_copy_is_zero(rng, method, alpha):
    trials = rng.normal(size=(6, 15, 4)) + rng.normal(size=(1, 15, 4))
    copy = trials @ _rotation(rng, 4) - 2.0
    assert shape.stochastic_distance(trials, copy, alpha, method) == pytest.approx(0.0, abs=1e-6)


def test_gaussian_alpha_2_is_the_procrustes_distance_of_the_means(rng):
    X, Y = rng.normal(size=(5, 20, 3)), rng.normal(size=(7, 20, 4))
    expected = np.sqrt(2 / 20) * shape.distance(X.mean(0), Y.mean(0), 1.0, "euclidean")
    assert shape.stochastic_distance(X, Y, alpha=2.0) == pytest.approx(expected, abs=1e-8)


def test_one_dimensional_closed_forms(rng):
    # In one dimension the rotations are ±1 and the Bures distance is (σx − σy)².
    X = rng.normal(size=(8, 10, 1)) * rng.uniform(0.5, 2, size=(1, 10, 1)) + rng.normal(size=(1, 10, 1))
    Y = rng.normal(size=(6, 10, 1)) * rng.uniform(0.5, 2, size=(1, 10, 1)) + rng.normal(size=(1, 10, 1))
    Xc, Yc = X - X.mean(), Y - Y.mean()
    mx, my = Xc.mean(0)[:, 0], Yc.mean(0)[:, 0]
    sx, sy = Xc.std(0, ddof=1)[:, 0], Yc.std(0, ddof=1)[:, 0]
    for alpha in (0.5, 1.0, 1.5):
        gauss = min(np.mean(alpha * (mx - s * my) ** 2 + (2 - alpha) * (sx - sy) ** 2) for s in (1, -1))
        assert shape.stochastic_distance(X, Y, alpha) == pytest.approx(np.sqrt(gauss), abs=1e-8)

    def energy(sign):
        xy = np.abs(Xc[:, None, :, 0] - sign * Yc[None, :, :, 0]).mean(axis=(0, 1))
        iu_x, iu_y = np.triu_indices(8, 1), np.triu_indices(6, 1)
        xx = np.abs(Xc[:, None, :, 0] - Xc[None, :, :, 0])[iu_x].mean(0)
        yy = np.abs(Yc[:, None, :, 0] - Yc[None, :, :, 0])[iu_y].mean(0)
        return np.mean(xy) - 0.5 * (np.mean(xx) + np.mean(yy))

    expected = np.sqrt(max(min(energy(1), energy(-1)), 0))
    assert shape.stochastic_distance(X, Y, method="energy") == pytest.approx(expected, abs=1e-8)


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("method", ["gaussian", "energy"])
def test_stochastic_metric_properties(seed, method):
    rng = np.random.default_rng(seed)
    X, Y, Z = (
        rng.normal(size=(5, 12, 3)) * rng.uniform(0.3, 2, size=(1, 12, 3)) + rng.normal(size=(1, 12, 3))
        for _ in range(3)
    )
    d = lambda a, b: shape.stochastic_distance(a, b, method=method)  # noqa: E731
    assert d(X, Y) == pytest.approx(d(Y, X), abs=1e-6)
    assert d(X, X) == pytest.approx(0.0, abs=1e-6)
    assert d(X, Z) <= d(X, Y) + d(Y, Z) + 1e-6


def test_stochastic_labelled_recordings_and_pairwise(rng):
    values = rng.normal(size=(10, 3, 4))  # presentation × neuroid × repetition
    a = data.recording(values, stimulus_id=np.arange(10), subject="S1", region="V1")
    b = data.recording(values[::-1], stimulus_id=np.arange(10)[::-1], subject="S2", region="V1")
    assert shape.stochastic_distance(a, b) == pytest.approx(0.0, abs=1e-6)
    D = shape.pairwise([a, b, rng.normal(size=(4, 10, 3))], method="gaussian")
    assert D.values[0, 1] == pytest.approx(0.0, abs=1e-6) and D.values[0, 2] > 0.1


def test_bad_input(rng):
    X = rng.normal(size=(10, 3))
    for alpha in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"alpha must lie in \[0, 1\]"):
            shape.distance(X, X, alpha)
    with pytest.raises(ValueError, match=r"alpha must lie in \[0, 2\]"):
        shape.stochastic_distance(X, X, alpha=2.5)
    with pytest.raises(ValueError, match="method='gaussian' only"):
        shape.stochastic_distance(X, X, alpha=0.5, method="energy")
    with pytest.raises(ValueError, match="needs alpha=1"):
        shape.distance(X, X, 0.5, group="permutation")
    with pytest.raises(ValueError, match="Invalid value for method"):
        shape.distance(X, X, method="cosine")
    with pytest.raises(ValueError, match=r"\(n_trials, n_stimuli, n_units\)"):
        shape.stochastic_distance(rng.normal(size=(2, 3, 4, 5)), X)
    with pytest.raises(ValueError, match="at least 3"):
        shape.stochastic_distance(X[:2], X[:2])
    with pytest.raises(ValueError, match="same stimuli"):
        shape.stochastic_distance(X, X[:9])
    with pytest.raises(ValueError, match="no variance"):
        shape.distance(np.ones((10, 3)), X)
    with pytest.raises(ValueError, match="at least 2 representations"):
        shape.pairwise([X])
    with pytest.raises(ValueError, match="NaN"):
        shape.stochastic_distance(np.where(X > 1, np.nan, X), X)
