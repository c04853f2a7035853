import numpy as np
import pytest

from brainalign import data
from brainalign.metrics import cka

from .conftest import TORCH_BACKENDS


def _hsic_biased(K, L):
    n = len(K)
    H = np.eye(n) - 1.0 / n
    return np.trace(K @ H @ L @ H)


def _hsic_unbiased(K, L):
    # Song et al. (2012), eq. 5, written term by term.
    n = len(K)
    K, L = K.copy(), L.copy()
    np.fill_diagonal(K, 0)
    np.fill_diagonal(L, 0)
    one = np.ones(n)
    return (
        np.trace(K @ L) + (one @ K @ one) * (one @ L @ one) / ((n - 1) * (n - 2)) - 2 / (n - 2) * (one @ K @ L @ one)
    ) / (n * (n - 3))


def _cka(K, L, hsic):
    return hsic(K, L) / np.sqrt(hsic(K, K) * hsic(L, L))


def _rbf(X, sigma=1.0):
    sq = ((X[:, None] - X[None]) ** 2).sum(-1)
    return np.exp(-sq / (2 * sigma**2 * np.median(sq)))


@pytest.fixture
def XY(rng):
    X = rng.normal(size=(25, 8))
    return X, X @ rng.normal(size=(8, 12)) + rng.normal(size=(25, 12))


def test_linear_matches_feature_space_formula_and_hsic(XY):
    X, Y = XY
    Xc, Yc = X - X.mean(0), Y - Y.mean(0)
    feature = np.linalg.norm(Yc.T @ Xc) ** 2 / (np.linalg.norm(Xc.T @ Xc) * np.linalg.norm(Yc.T @ Yc))
    assert cka.cka(X, Y) == pytest.approx(feature, abs=1e-12)
    assert cka.cka(X, Y) == pytest.approx(_cka(X @ X.T, Y @ Y.T, _hsic_biased), abs=1e-12)


def test_debiased_and_rbf_match_their_definitions(XY):
    X, Y = XY
    assert cka.cka(X, Y, debiased=True) == pytest.approx(_cka(X @ X.T, Y @ Y.T, _hsic_unbiased), abs=1e-12)
    assert cka.cka(X, Y, kernel="rbf", sigma=0.8) == pytest.approx(
        _cka(_rbf(X, 0.8), _rbf(Y, 0.8), _hsic_biased), abs=1e-12
    )
    assert cka.cka(X, Y, kernel="rbf", debiased=True) == pytest.approx(
        _cka(_rbf(X), _rbf(Y), _hsic_unbiased), abs=1e-12
    )


@pytest.mark.parametrize("kernel", ["linear", "rbf"])
@pytest.mark.parametrize("debiased", [False, True])
def test_orthogonal_transform_and_scale_give_one(rng, kernel, debiased):
    X = rng.normal(size=(30, 6))
    Q, _ = np.linalg.qr(rng.normal(size=(6, 6)))
    assert cka.cka(X, 3.0 * X @ Q + 1.0, kernel, debiased) == pytest.approx(1.0, abs=1e-10)


def test_debiased_removes_the_bias_of_wide_random_features(rng):
    # Independent random features, many more than stimuli: biased CKA is far from 0, debiased is not.
    X, Y = rng.normal(size=(20, 500)), rng.normal(size=(20, 500))
    assert cka.cka(X, Y) > 0.5
    assert abs(cka.cka(X, Y, debiased=True)) < 0.1


def test_layers_by_regions_in_one_call(rng):
    acts = data.activations({"a": rng.normal(size=(20, 5)), "b": rng.normal(size=(20, 7))}, stimulus_id=np.arange(20))
    order = rng.permutation(20)
    rec = data.recording(
        acts.values[order][:, :5] @ rng.normal(size=(5, 9)),
        stimulus_id=order,
        subject="S1",
        region=["V1"] * 4 + ["IT"] * 5,
    )
    scores = cka.cka(acts, rec)
    assert scores.dims == ("layer", "region")
    a, r = data.align(acts, rec)
    for layer in ("a", "b"):
        for region in ("V1", "IT"):
            expected = cka.cka(a.sel(unit=a.layer == layer).values, r.sel(neuroid=r.region == region).values)
            assert float(scores.sel(layer=layer, region=region)) == pytest.approx(expected, abs=1e-12)
    assert float(scores.sel(layer="a", region="IT")) > float(scores.sel(layer="b", region="IT"))


@pytest.mark.parametrize("backend", TORCH_BACKENDS)
@pytest.mark.parametrize("kernel", ["linear", "rbf"])
def test_backends_agree(XY, backend, kernel):
    torch = pytest.importorskip("torch")
    X, Y = XY
    for debiased in (False, True):
        ref = cka.cka(X, Y, kernel, debiased)
        assert cka.cka(X, Y, kernel, debiased, backend=backend) == pytest.approx(ref, abs=1e-10)
    device = "cuda" if backend == "torch_cuda" else "cpu"
    assert cka.cka(torch.as_tensor(X, device=device), torch.as_tensor(Y, device=device)) == pytest.approx(
        cka.cka(X, Y), abs=1e-10
    )


def test_bad_input(rng):
    X = rng.normal(size=(10, 3))
    with pytest.raises(ValueError, match="Invalid value for kernel"):
        cka.cka(X, X, kernel="poly")
    with pytest.raises(ValueError, match="at least 4"):
        cka.cka(X[:3], X[:3], debiased=True)
    with pytest.raises(ValueError, match="no variance"):
        cka.cka(np.ones((10, 3)), X)
    with pytest.raises(ValueError, match="NaN"):
        cka.cka(np.where(X > 1, np.nan, X), X)
    with pytest.raises(ValueError, match="10 stimuli and Y has 9"):
        cka.cka(X, X[:9])
    with pytest.raises(ValueError, match="sigma"):
        cka.cka(X, X, kernel="rbf", sigma=0)
    a = data.activations({"l": X}, stimulus_id=np.arange(10))
    b = data.activations({"l": X}, stimulus_id=np.arange(1, 11))
    with pytest.raises(ValueError, match="different stimuli"):
        cka.cka(a, b)
