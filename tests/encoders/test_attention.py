"""AttentionReadout: it routes where ridge cannot, matches ridge where the mapping is linear."""

import numpy as np
import pytest
import xarray as xr

from brainalign import registry
from brainalign.backend import gpu_available
from brainalign.encoders import AttentionReadout, RidgeEncoder

pytestmark = pytest.mark.usefixtures("one_thread")

torch = pytest.importorskip("torch")
pytest.importorskip("sklearn")

N, T, D, TARGETS = 500, 8, 12, 8


def _tokens(seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, T, D)).astype(np.float32)
    W = rng.normal(size=(D, TARGETS))
    W[0] = 0
    return rng, X, W


def _r2(model, X, Y):
    return float(np.mean(model.score(X, Y)))


def test_routing_beats_ridge():
    # One token per presentation carries a marker (unit 0); the response reads that token's content.
    rng, X, W = _tokens()
    where = rng.integers(0, T, N)
    X[:, :, 0] = 0
    X[np.arange(N), where, 0] = 3.0
    S = X[np.arange(N), where] @ W
    Y = S + 0.3 * S.std(0) * rng.normal(size=S.shape)
    tr, te = slice(0, 400), slice(400, None)
    att = AttentionReadout(random_state=0, backend="torch").fit(X[tr], Y[tr])
    ridge_mean = RidgeEncoder(backend="numpy").fit(X[tr].mean(1), Y[tr])
    ridge_flat = RidgeEncoder(backend="numpy").fit(X[tr].reshape(400, -1), Y[tr])
    r2_att = _r2(att, X[te], Y[te])
    assert r2_att > 0.8
    assert r2_att > _r2(ridge_mean, X[te].mean(1), Y[te]) + 0.5
    assert r2_att > _r2(ridge_flat, X[te].reshape(100, -1), Y[te]) + 0.5
    # It attends to the marked token.
    attn = att.attention(X[te])[:, 0, 0]
    assert np.mean(attn.argmax(-1) == where[te]) > 0.95


def test_matches_ridge_when_linear_and_position_free():
    rng, X, W = _tokens(1)
    S = X.mean(1) @ W
    Y = S + S.std(0) * rng.normal(size=S.shape)  # R² ceiling 0.5
    tr, te = slice(0, 400), slice(400, None)
    att = AttentionReadout(random_state=0, backend="torch").fit(X[tr], Y[tr])
    ridge = RidgeEncoder(backend="numpy").fit(X[tr].mean(1), Y[tr])
    assert _r2(att, X[te], Y[te]) == pytest.approx(_r2(ridge, X[te].mean(1), Y[te]), abs=0.05)


def test_groups_masks_labels_and_determinism():
    _, X, W = _tokens(2)
    # Group "early" reads token 0, group "late" token 5; padding hides the last two tokens of half the rows.
    Y = np.column_stack([X[:, 0] @ W[:, :3], X[:, 5] @ W[:, 3:6]])
    mask = np.ones((N, T), dtype=bool)
    mask[::2, 6:] = False
    X[~mask] = 0.0
    feats = xr.DataArray(
        X,
        dims=("presentation", "token", "unit"),
        coords={"stimulus_id": ("presentation", np.arange(N)), "token_mask": (("presentation", "token"), mask)},
    )
    rec = xr.DataArray(
        Y,
        dims=("presentation", "neuroid"),
        coords={"stimulus_id": ("presentation", np.arange(N)), "region": ("neuroid", ["early"] * 3 + ["late"] * 3)},
    )
    kw = {"max_epochs": 40, "random_state": 7, "backend": "torch"}
    a = AttentionReadout(**kw).fit(feats[:400], rec[:400])
    b = AttentionReadout(**kw).fit(feats[:400], rec[:400])
    np.testing.assert_array_equal(a.predict(feats[400:]), b.predict(feats[400:]))  # seeded, deterministic on CPU
    assert a.groups_ == ["early", "late"]
    attn = a.attention(feats[400:])[:, :, 0]
    assert attn[..., 6:][~mask[400:, 6:][:, None, :].repeat(2, 1)].max() == 0  # padding gets no attention
    assert np.mean(attn[:, 0].argmax(-1) == 0) > 0.9 and np.mean(attn[:, 1].argmax(-1) == 5) > 0.9
    assert a.score(feats[400:], rec[400:]).min() > 0.8
    c = AttentionReadout(**{**kw, "random_state": 8}).fit(feats[:400], rec[:400])
    assert not np.array_equal(a.predict(feats[400:]), c.predict(feats[400:]))
    assert isinstance(registry.get("attention_readout", n_queries=2), AttentionReadout)


@pytest.mark.gpu
@pytest.mark.skipif(not gpu_available(), reason="needs a CUDA device")
def test_cuda_matches_cpu_quality():
    _, X, W = _tokens(3)
    Y = X[:, 2] @ W
    cpu = AttentionReadout(max_epochs=60, random_state=0, backend="torch").fit(X[:400], Y[:400])
    gpu = AttentionReadout(max_epochs=60, random_state=0, backend="torch_cuda").fit(X[:400], Y[:400])
    assert gpu.backend_.startswith("cuda")
    assert _r2(gpu, X[400:], Y[400:]) == pytest.approx(_r2(cpu, X[400:], Y[400:]), abs=0.05)


def test_bad_input():
    _, X, W = _tokens(4)
    Y = X[:, 0] @ W
    est = AttentionReadout(max_epochs=2, backend="torch")
    with pytest.raises(ValueError, match="X has 500 samples but Y has 499"):
        est.fit(X, Y[:-1])
    with pytest.raises(ValueError, match="constant target"):
        est.fit(X, np.column_stack([Y, np.zeros(N)]))
    bad = X.copy()
    bad[3, 2, 1] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        est.fit(bad, Y)
    mask = np.ones((N, T), dtype=bool)
    mask[7] = False
    with pytest.raises(ValueError, match="presentation 7 without any token"):
        est.fit(X, Y, token_mask=mask)
    with pytest.raises(ValueError, match="leaks time"):
        est.fit(X, Y, groups=np.tile([0, 1], N // 2))
    with pytest.raises(ValueError, match="one group per target"):
        est.fit(X, Y, target_groups=[0, 1])
    with pytest.raises(ValueError, match="validation_fraction"):
        AttentionReadout(validation_fraction=1.5).fit(X, Y)
    fitted = est.fit(X, Y)
    with pytest.raises(ValueError, match="more than the 8 the positional embedding"):
        fitted.predict(np.zeros((2, 9, D), np.float32))


def test_diverged_training_is_a_clear_error():
    _, X, W = _tokens(5)
    Y = X[:, 0] @ W
    # Targets so large that the squared error overflows float32 are refused before training.
    with pytest.raises(ValueError, match=r"Y has values of magnitude up to .*overflow float32"):
        AttentionReadout(max_epochs=3, standardize=False, backend="torch").fit(X, Y * 1e25)
    with pytest.raises(ValueError, match=r"training diverged \(validation loss not finite.*lower lr"):
        AttentionReadout(max_epochs=3, lr=1e30, backend="torch").fit(X, Y)
