import numpy as np
import pytest
from scipy.stats import rankdata as scipy_rankdata

from brainalign.backend import get_backend
from brainalign.metrics import comparisons, rsa

from .conftest import TORCH_BACKENDS


def test_table_lists_every_comparison_and_refuses_unknown_names():
    assert tuple(comparisons.COMPARISONS) == rsa.COMPARE_METHODS
    assert comparisons.list_comparisons(resampled=True) == ("spearman", "pearson", "kendall_tau_a", "cosine")
    with pytest.raises(ValueError, match=r"Invalid value for method: 'spearmann'.*'spearman', 'pearson'"):
        comparisons.get_comparison("spearmann")
    with pytest.raises(ValueError, match="cannot be computed on resampled pairs"):
        comparisons.get_comparison("whitened_pearson").weighted(get_backend("numpy"), None, None, None)


@pytest.mark.parametrize("backend", ["numpy", *TORCH_BACKENDS])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rankdata_equals_scipy_on_ties_and_random_data(rng, backend, dtype):
    if backend != "numpy":
        pytest.importorskip("torch")
    be = get_backend(backend)
    for V in (rng.integers(0, 6, size=(5, 40)), rng.random((3, 1000)), np.array([[1.0, 1.0, 1.0]])):
        V = V.astype(dtype)
        ranks = be.to_numpy(rsa.rankdata(be, be.asarray(V)))
        assert ranks.dtype == np.dtype(dtype)  # float32 stays float32
        np.testing.assert_array_equal(ranks, scipy_rankdata(V, axis=-1, method="average"))


def test_float32_ranks_in_chunks_equal_scipy(rng, monkeypatch):
    # Chunk boundaries of the packing and scatter (BLOCK_VALUES) and of the runs of ties (2**16
    # positions) fall inside runs; negative values, -0.0 and +0.0 (which tie) included.
    from brainalign.metrics import _ranks

    monkeypatch.setattr(_ranks, "BLOCK_VALUES", 1000)
    be = get_backend("numpy")
    V = rng.integers(-300, 300, size=(2, 200_001)).astype(np.float32) / 7
    V[0, :5000] = 2.5  # a run of ties across several chunks
    V[1, 10] = -0.0
    V[1, 11] = 0.0
    V[1, 12] = np.float32(-1e-30)
    ranks = rsa.rankdata(be, V)
    assert ranks.dtype == np.float32
    np.testing.assert_array_equal(ranks, scipy_rankdata(V, axis=-1))
    distinct = rng.permutation(200_001).astype(np.float32)[None]  # no ties: the 1 … m fast path
    np.testing.assert_array_equal(rsa.rankdata(be, distinct), scipy_rankdata(distinct, axis=-1))


@pytest.mark.parametrize("metric", ["correlation", "cosine", "euclidean", "sqeuclidean"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("block_values", [1, 50, 2**20])
def test_condensed_rdm_is_the_squares_upper_triangle(rng, metric, dtype, block_values):
    # Row blocks of any size give the square kernel's upper triangle (same products, so the
    # same rounding up to the order of the sums: 4 float eps).
    be = get_backend("numpy")
    X = rng.normal(size=(37, 11)).astype(dtype)
    got = rsa.condensed_rdm(be, X, metric, block_values=block_values)
    want = rsa.upper(be, rsa.rdm_kernel(be, X, metric)[None])
    assert got.shape == (1, 37 * 36 // 2) and got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, want, rtol=0, atol=4 * np.finfo(dtype).eps * np.abs(want).max())
