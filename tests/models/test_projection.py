"""Projection at extraction: against scikit-learn, and the RSA / ridge distortion as a function of k."""

import numpy as np
import pytest

torch = pytest.importorskip("torch")
sklearn = pytest.importorskip("sklearn")

from sklearn.decomposition import PCA  # noqa: E402
from sklearn.random_projection import SparseRandomProjection  # noqa: E402

from brainalign.encoders import RidgeEncoder  # noqa: E402
from brainalign.metrics import rsa  # noqa: E402
from brainalign.models import Projection, extract  # noqa: E402


def test_sparse_matrix_has_sklearns_density_rule_and_statistics():
    d, k = 10_000, 200
    X = np.random.default_rng(0).standard_normal((30, d))
    ours = Projection("sparse_random", k, random_state=0).fit(X)
    ref = SparseRandomProjection(n_components=k, density="auto", random_state=0).fit(X)
    assert ours.density_ == pytest.approx(ref.density_, rel=1e-12)  # 1 / sqrt(d)
    R = ours.components_.toarray()
    S = ref.components_.toarray().T  # sklearn stores (k, d)
    assert np.allclose(np.unique(np.abs(R[R != 0])), np.unique(np.abs(S[S != 0])), rtol=1e-6)  # ±sqrt(1/(s k))
    p, se = ours.density_, np.sqrt(ours.density_ * (1 - ours.density_) / R.size)
    assert abs((R != 0).mean() - p) < 5 * se and abs((S != 0).mean() - p) < 5 * se
    assert abs((R > 0).sum() / (R != 0).sum() - 0.5) < 0.02  # fair signs
    # Distances are preserved on average, with a spread like scikit-learn's (JL concentration).
    i, j = np.triu_indices(30, 1)
    full = ((X[i] - X[j]) ** 2).sum(1)
    ratio_ours = ((ours.transform(X)[i] - ours.transform(X)[j]) ** 2).sum(1) / full
    ratio_ref = ((ref.transform(X)[i] - ref.transform(X)[j]) ** 2).sum(1) / full
    assert abs(ratio_ours.mean() - 1) < 0.05 and abs(ratio_ref.mean() - 1) < 0.05
    assert 0.7 < ratio_ours.std() / ratio_ref.std() < 1.4  # both ≈ sqrt(2 / k) = 0.1


def test_pca_equals_sklearn_up_to_sign():
    X = np.random.default_rng(1).standard_normal((50, 80)) @ np.random.default_rng(2).standard_normal((80, 80))
    ours = Projection("pca", 10).fit(X)
    ref = PCA(n_components=10, svd_solver="full").fit(X)
    signs = np.sign((ours.components_ * ref.components_).sum(1))
    np.testing.assert_allclose(ours.components_, ref.components_ * signs[:, None], atol=1e-6)
    np.testing.assert_allclose(ours.transform(X), ref.transform(X) * signs, rtol=1e-4, atol=1e-4)  # float32 out
    np.testing.assert_allclose(ours.explained_variance_, ref.explained_variance_, rtol=1e-8)


def test_projection_options_and_cache_key(tmp_path):
    net = torch.nn.Sequential(torch.nn.Linear(4, 50), torch.nn.ReLU())
    x = torch.randn(30, 4)
    a = extract(
        net, x, layers=["1"], device="cpu", cache=tmp_path, project={"method": "sparse_random", "n_components": 8}
    )
    b = extract(
        net, x, layers=["1"], device="cpu", cache=tmp_path, project=Projection("sparse_random", 8, random_state=1)
    )
    c = extract(net, x, layers=["0", "1"], device="cpu", cache=tmp_path, project={"method": "pca", "n_components": 8})
    assert a.sizes["unit"] == 8 and not np.allclose(a.values, b.values)  # the seed is part of the key
    assert len(list(tmp_path.glob("act-*.nc"))) == 4
    # PCA fitted on 20 drawn stimuli: the projection of those rows has mean zero
    sub = extract(net, x, layers=["1"], device="cpu", project={"method": "pca", "n_components": 5, "fit_stimuli": 20})
    rows = Projection("pca", 5, fit_stimuli=20).fit_rows(30)
    np.testing.assert_allclose(sub.values[rows].mean(0), 0, atol=1e-5)
    assert c.attrs["project"].startswith("{'method': 'pca'")
    with pytest.raises(ValueError, match="method"):
        extract(net, x, layers=["1"], device="cpu", project={"method": "svd", "n_components": 5})
    with pytest.raises(ValueError, match="unknown keys"):
        extract(net, x, layers=["1"], device="cpu", project={"k": 5})
    with pytest.raises(ValueError, match="exceeds the 30 rows"):
        extract(net, x, layers=["1"], device="cpu", project={"method": "pca", "n_components": 40})
    with pytest.raises(ValueError, match="fit_stimuli is for method='pca'"):
        Projection("sparse_random", 5, fit_stimuli=3).check()


def _planted(seed):
    """A 2000-unit ReLU layer on 120 stimuli; a 20-channel 'brain' reads it linearly, plus noise."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = torch.nn.Sequential(torch.nn.Linear(10, 2000), torch.nn.ReLU())
    x = torch.randn(120, 10, generator=torch.Generator().manual_seed(seed))
    full = extract(net, x, layers=["1"], device="cpu").values
    Y = full @ rng.standard_normal((2000, 20)) / np.sqrt(2000)
    return net, x, full, Y + 0.5 * Y.std() * rng.standard_normal(Y.shape)


def _scores(X, Y):
    r = float(rsa.compare(rsa.rdm(X, metric="correlation"), rsa.rdm(Y, metric="correlation"), method="spearman"))
    ridge = RidgeEncoder(alphas=np.logspace(-2, 6, 9), cv=5, backend="numpy").fit(X[:80], Y[:80])
    return r, float(np.mean(ridge.score(X[80:], Y[80:])))


# Tolerances on |score(projected) − score(full)| (full scores: RSA ≈ 0.50, ridge R² ≈ 0.48).
# Sparse random: the JL distortion shrinks as 1/sqrt(k), so tol = c / sqrt(k) with c = 2.0 (RSA) and
# 1.2 (ridge): the largest deviations measured over 4 seeds were 0.142 / 0.076 at k = 64 and 0.049 /
# 0.032 at k = 256, so the margin is ≥ 1.8×. PCA (fitted on all 120 rows): measured 0.037 / 0.041 at
# k = 32 and 0.029 / 0.004 at k = 100; tolerances 2× those, rounded up.
TABLE = [
    ("sparse_random", 64, 2.0 / 8, 1.2 / 8),
    ("sparse_random", 256, 2.0 / 16, 1.2 / 16),
    ("pca", 32, 0.08, 0.09),
    ("pca", 100, 0.06, 0.02),
]


@pytest.mark.parametrize("seed", [0, 1])
def test_rsa_and_ridge_scores_of_projected_layers_within_tolerance(seed):
    net, x, full, Y = _planted(seed)
    rsa_full, ridge_full = _scores(full, Y)
    for method, k, tol_rsa, tol_ridge in TABLE:
        proj = extract(
            net, x, layers=["1"], device="cpu", project={"method": method, "n_components": k, "random_state": seed}
        )
        assert proj.sizes["unit"] == k
        rsa_k, ridge_k = _scores(proj.values, Y)
        assert abs(rsa_k - rsa_full) < tol_rsa, (method, k, rsa_k, rsa_full)
        assert abs(ridge_k - ridge_full) < tol_ridge, (method, k, ridge_k, ridge_full)
