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
