"""extract(..., store=...): zarr written batch by batch, read back lazily, one layer of memory."""

import tracemalloc

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("zarr")
pytest.importorskip("dask")

from brainalign import data  # noqa: E402
from brainalign.io import arrays  # noqa: E402
from brainalign.models import extract  # noqa: E402


def _wide(n_layers, width, seed=0):
    torch.manual_seed(seed)
    mods = [torch.nn.Linear(8, width)] + [torch.nn.Linear(width, width) for _ in range(n_layers - 1)]
    return torch.nn.Sequential(*mods)


def test_store_equals_in_memory_extraction_and_reads_back(tmp_path):
    net = _wide(3, 40)
    x = torch.randn(25, 8, generator=torch.Generator().manual_seed(1))
    ids = [f"s{i}" for i in range(25)]
    layers = ["0", "1", "2"]
    mem = extract(net, x, layers=layers, stimulus_id=ids, batch_size=7, device="cpu")
    lazy = extract(net, x, layers=layers, stimulus_id=ids, batch_size=7, device="cpu", store=tmp_path / "a.zarr")
    assert lazy.chunks is not None  # dask-backed
    assert data.validate(lazy) == "activations"
    back = arrays.load(tmp_path / "a.zarr", lazy=True)
    for got in (lazy, back):
        np.testing.assert_array_equal(got.values, mem.values)
        assert got["stimulus_id"].values.tolist() == ids
        assert got["layer"].values.tolist() == mem["layer"].values.tolist()
        assert got["unit_index"].values.tolist() == mem["unit_index"].values.tolist()
        assert got.attrs["layers"] == layers
    # rerun into the same store (replaced), with a cache: the second run reads the cache, equal values
    again = extract(net, x, layers=layers, batch_size=7, device="cpu", store=tmp_path / "a.zarr", cache=tmp_path / "c")
    cached = extract(net, x, layers=layers, batch_size=7, device="cpu", store=tmp_path / "b.zarr", cache=tmp_path / "c")
    np.testing.assert_array_equal(again.values, mem.values)
    np.testing.assert_array_equal(cached.values, mem.values)


def test_store_peak_memory_is_about_one_layer(tmp_path):
    n, width, n_layers, batch = 2000, 1000, 8, 50
    net = _wide(n_layers, width)
    x = torch.randn(n, 8, generator=torch.Generator().manual_seed(2))
    layers = [str(i) for i in range(n_layers)]
    one_layer = n * width * 4  # float32 bytes
    extract(net, x[:100], layers=layers[:2], batch_size=batch, device="cpu", store=tmp_path / "warm.zarr")  # imports
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        extract(net, x, layers=layers, batch_size=batch, device="cpu", store=tmp_path / "w.zarr")
        _, streamed = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        extract(net, x, layers=layers, batch_size=batch, device="cpu")
        _, in_memory = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Streaming holds one batch of every layer (batch × n_layers × width = 0.2 layer) plus zarr's
    # encode buffers (measured 1.35 layers); in memory the result holds all 8 layers twice.
    assert streamed < 2 * one_layer, (streamed / one_layer, in_memory / one_layer)
    assert in_memory > n_layers * one_layer


def test_store_refuses_a_foreign_path(tmp_path):
    net = _wide(1, 4)
    target = tmp_path / "notes.zarr"
    target.mkdir()
    (target / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="Refusing to replace"):
        extract(net, torch.randn(3, 8), layers=["0"], device="cpu", store=target)
    assert (target / "keep.txt").exists()
