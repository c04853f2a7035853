import numpy as np
import pytest
import xarray as xr

from brainalign.backend import BACKENDS, get_backend, gpu_available


def _available():
    names = ["numpy"]
    try:
        import torch  # noqa: F401

        names.append("torch")
        if gpu_available():
            names.append("torch_cuda")
    except ImportError:
        pass
    return names


@pytest.mark.parametrize("name", _available())
def test_round_trip_and_namespace(name):
    be = get_backend(name)
    assert be.name == name
    x = np.arange(6, dtype=np.float64).reshape(2, 3)
    arr = be.asarray(xr.DataArray(x, dims=("a", "b")))
    np.testing.assert_array_equal(be.to_numpy(arr), x)
    xp = be.xp
    # One code path for every backend: array-API names, axis= keywords.
    np.testing.assert_allclose(be.to_numpy(xp.sum(arr, axis=1)), [3.0, 12.0])
    np.testing.assert_allclose(be.to_numpy(xp.matmul(arr, xp.matrix_transpose(arr))), x @ x.T)
    assert be.to_numpy(be.asarray(x, dtype="float32")).dtype == np.float32
    # Views with negative strides (reversed columns) are taken as they are, on every backend.
    np.testing.assert_array_equal(be.to_numpy(be.asarray(x[:, ::-1])), x[:, ::-1])


def test_auto_and_errors():
    be = get_backend("auto")
    assert be.name == ("torch_cuda" if gpu_available() else "numpy")
    assert get_backend(be) is be
    with pytest.raises(ValueError, match="Invalid value for backend"):
        get_backend("jax")
    assert set(BACKENDS) == {"numpy", "torch", "torch_cuda"}
    if not gpu_available():
        pytest.importorskip("torch")
        with pytest.raises(ValueError, match="needs a CUDA GPU"):
            get_backend("torch_cuda")


def test_himalaya_backend_is_restored():
    hb = pytest.importorskip("himalaya.backend")
    pytest.importorskip("torch")
    before = hb.get_backend().name
    with get_backend("torch").himalaya() as module:
        assert module.name == "torch"
        assert hb.get_backend().name == "torch"
    assert hb.get_backend().name == before


def test_memory_budget_and_description():
    from brainalign.backend import parse_memory

    be = get_backend("numpy")
    free = be.free_memory()
    assert free > 0
    assert 0 < be.memory_budget(0.5) <= free
    assert be.memory_budget("2 GiB") == 2 * 2**30 and be.memory_budget(1000) == 1000
    assert parse_memory("1.5GB") == 1_500_000_000 and parse_memory("512 MiB") == 512 * 2**20
    for bad in (0.0, 1.5, -3, "lots", "-1GB", True):
        with pytest.raises(ValueError, match="memory_budget"):
            be.memory_budget(bad)
    assert be.describe().startswith("numpy (cpu, ") and "GiB free" in be.describe()
    with be.tf32(True):  # a no-op off CUDA
        pass


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs a CUDA device")
def test_tf32_is_restored_on_cuda():
    import torch

    be = get_backend("torch_cuda")
    before = torch.backends.cuda.matmul.allow_tf32
    with be.tf32(True):
        assert torch.backends.cuda.matmul.allow_tf32
    assert torch.backends.cuda.matmul.allow_tf32 == before
    assert "cuda" in be.describe()


def test_array_helpers():
    from brainalign.backend import is_dataarray, to_numpy

    x = np.arange(6.0).reshape(2, 3)
    da = xr.DataArray(x, dims=("a", "b"))
    assert is_dataarray(da) and not is_dataarray(x) and not is_dataarray(da.to_dataset(name="v"))
    np.testing.assert_array_equal(to_numpy(da), x)
    assert to_numpy([[1, 2]]).shape == (1, 2)
    torch = pytest.importorskip("torch")
    t = torch.as_tensor(x, dtype=torch.float32).requires_grad_()
    out = to_numpy(t)
    assert isinstance(out, np.ndarray) and out.dtype == np.float32
    np.testing.assert_array_equal(out, x)
