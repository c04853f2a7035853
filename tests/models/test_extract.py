import numpy as np
import pytest

torch = pytest.importorskip("torch")

from brainalign import data  # noqa: E402
from brainalign.models import extract, list_layers  # noqa: E402


def _mlp(seed=0):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 3))


class Counter:
    """Counts forward passes of a module."""

    def __init__(self, module):
        self.n = 0
        module.register_forward_hook(lambda *a: setattr(self, "n", self.n + 1))


def test_hooks_record_what_the_layers_compute():
    net = _mlp()
    x = torch.randn(10, 4, generator=torch.Generator().manual_seed(1))
    acts = extract(net, x, layers=["0", "1", "2"], stimulus_id=[f"s{i}" for i in range(10)], device="cpu")
    with torch.no_grad():
        h0 = net[0](x)
        h1 = torch.relu(h0)
        h2 = net[2](h1)
    assert data.layer_names(acts) == ["0", "1", "2"]
    for name, ref in (("0", h0), ("1", h1), ("2", h2)):
        np.testing.assert_allclose(acts.sel(unit=acts.layer == name).values, ref.numpy(), rtol=1e-6, atol=1e-6)
    assert acts["stimulus_id"].values.tolist() == [f"s{i}" for i in range(10)]
    assert acts.dtype == np.float32
    assert set(acts["model"].values) == {"Sequential"}
    assert data.validate(acts) == "activations"


def test_input_taps_and_batch_size_invariance():
    net = _mlp()
    x = np.random.default_rng(0).normal(size=(9, 4)).astype(np.float32)
    a1 = extract(net, x, layers=["1", "2:input"], batch_size=1, device="cpu")
    a4 = extract(net, x, layers=["1", "2:input"], batch_size=4, device="cpu")
    np.testing.assert_allclose(a1.values, a4.values, rtol=1e-6)
    # The input of layer 2 is the output of layer 1.
    np.testing.assert_array_equal(a1.sel(unit=a1.layer == "1").values, a1.sel(unit=a1.layer == "2:input").values)


def test_conv_reductions():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Conv2d(3, 5, 3), torch.nn.ReLU())
    x = torch.randn(6, 3, 8, 8)
    with torch.no_grad():
        ref = net(x)
    flat = extract(net, x, layers=["1"], device="cpu")
    assert flat.sizes["unit"] == 5 * 6 * 6
    np.testing.assert_allclose(flat.values, ref.reshape(6, -1).numpy(), rtol=1e-6)
    pooled = extract(net, x, layers=["1"], reduce="channel_mean", device="cpu")
    np.testing.assert_allclose(pooled.values, ref.mean(dim=(2, 3)).numpy(), rtol=1e-5)
    custom = extract(net, x, layers=["1"], reduce=lambda t: t.amax(dim=(2, 3)), device="cpu")
    np.testing.assert_allclose(custom.values, ref.amax(dim=(2, 3)).numpy())


def test_model_mode_and_dict_inputs_with_collate():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.a = torch.nn.Linear(2, 3)
            self.b = torch.nn.Linear(2, 3)
            self.drop = torch.nn.Dropout(0.5)

        def forward(self, left, right):
            return self.drop(self.a(left) + self.b(right))

    net = Net().train()
    items = [{"left": [float(i), 1.0], "right": [0.0, float(i)]} for i in range(5)]

    def collate(batch):
        return {k: torch.tensor([item[k] for item in batch]) for k in ("left", "right")}

    acts = extract(net, items, layers=["drop", "a"], collate=collate, batch_size=2, device="cpu")
    assert net.training  # restored
    with torch.no_grad():
        ref = net.a(torch.tensor([it["left"] for it in items])) + net.b(torch.tensor([it["right"] for it in items]))
    # Dropout is off during extraction (eval mode): the output equals the pre-dropout sum.
    np.testing.assert_allclose(acts.sel(unit=acts.layer == "drop").values, ref.numpy(), rtol=1e-6)


def test_cache_hits_misses_and_partial_layers(tmp_path):
    net = _mlp()
    counter = Counter(net[0])
    x = torch.randn(12, 4, generator=torch.Generator().manual_seed(2))
    first = extract(net, x, layers=["0", "2"], cache=tmp_path, batch_size=5, device="cpu")
    assert counter.n == 3 and len(list(tmp_path.glob("act-*.nc"))) == 2
    again = extract(
        net, x, layers=["0", "2"], cache=tmp_path, batch_size=5, stimulus_id=list("abcdefghijkl"), device="cpu"
    )
    assert counter.n == 3  # no forward pass: read from the cache
    np.testing.assert_array_equal(again.values, first.values)
    assert again["stimulus_id"].values.tolist() == list("abcdefghijkl")  # ids are the caller's, not the cache's
    # One more layer: one pass over the data, for that layer only; the others come from the cache.
    more = extract(net, x, layers=["0", "1", "2"], cache=tmp_path, batch_size=5, device="cpu")
    assert counter.n == 6
    np.testing.assert_array_equal(more.sel(unit=more.layer == "2").values, first.sel(unit=first.layer == "2").values)
    # Other stimuli, or other weights: recomputed.
    extract(net, x[:6], layers=["0"], cache=tmp_path, batch_size=5, device="cpu")
    assert counter.n == 8
    with torch.no_grad():
        net[0].weight[0, 0] += 1.0
    changed = extract(net, x, layers=["0"], cache=tmp_path, batch_size=5, device="cpu")
    assert counter.n == 11
    assert not np.allclose(changed.values, first.sel(unit=first.layer == "0").values)


def test_bad_input():
    net = _mlp()
    x = torch.randn(3, 4)
    with pytest.raises(ValueError, match=r"Unknown layer '3'.*list_layers"):
        extract(net, x, layers=["3"], device="cpu")
    with pytest.raises(ValueError, match="Did you mean"):
        nested = torch.nn.Sequential(torch.nn.ModuleDict({"encoder": torch.nn.Linear(4, 2)}))
        extract(nested, x, layers=["0.encodr"], device="cpu")
    with pytest.raises(ValueError, match="duplicate"):
        extract(net, x, layers=["0", "0"], device="cpu")
    with pytest.raises(ValueError, match="layers is empty"):
        extract(net, x, layers=[], device="cpu")
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        extract(lambda t: t, x, layers=["0"], device="cpu")
    with pytest.raises(ValueError, match="batch_size"):
        extract(net, x, layers=["0"], batch_size=0, device="cpu")
    with pytest.raises(ValueError, match="one id per stimulus"):
        extract(net, x, layers=["0"], stimulus_id=[1, 2], device="cpu")
    with pytest.raises(ValueError, match="duplicate stimulus_id"):
        extract(net, x, layers=["0"], stimulus_id=[1, 2, 1], device="cpu")
    with pytest.raises(ValueError, match="Invalid value for reduce"):
        extract(net, x, layers=["0"], reduce="max", device="cpu")
    with pytest.raises(ValueError, match="device must be"):
        extract(net, x, layers=["0"], device="tpu:0:1")


def test_unused_layer_is_reported():
    class Net(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.used = torch.nn.Linear(2, 2)
            self.unused = torch.nn.Linear(2, 2)

        def forward(self, x):
            return self.used(x)

    with pytest.raises(RuntimeError, match="'unused' was not called"):
        extract(Net(), torch.zeros(2, 2), layers=["unused"], device="cpu")


def test_list_layers():
    net = torch.nn.Sequential(torch.nn.Sequential(torch.nn.Linear(2, 2)), torch.nn.ReLU())
    assert list_layers(net) == ["0", "0.0", "1"]
    assert list_layers(net, leaves_only=True) == ["0.0", "1"]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu():
    net = _mlp()
    x = torch.randn(32, 4)
    cpu = extract(net, x, layers=["0", "2"], device="cpu")
    gpu = extract(net, x, layers=["0", "2"], device="cuda")
    np.testing.assert_allclose(gpu.values, cpu.values, rtol=1e-4, atol=1e-5)
    assert next(net.parameters()).device.type == "cpu"  # the model is moved back
