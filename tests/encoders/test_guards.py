"""Encoders refuse what they cannot fit honestly: complex input and magnitudes their products overflow."""

from __future__ import annotations

import numpy as np
import pytest

import brainalign
from brainalign import data
from brainalign.encoders import AttentionReadout, RidgeEncoder

G = np.random.default_rng(0)
X = G.standard_normal((40, 8))
Y = X @ G.standard_normal((8, 5)) + G.standard_normal((40, 5))


@pytest.mark.parametrize("scale", [1e154, 1e300, 1e-160])
def test_ridge_refuses_magnitudes_that_overflow(scale):
    # RidgeEncoder().fit(X, Y * 1e154) scored NaN; X * 1e-160 scored 0.0 for every target.
    over = "overflow" if scale > 1 else "underflow"
    with pytest.raises(ValueError, match=rf"X has values of magnitude up to .*{over} float64. Rescale X"):
        RidgeEncoder(backend="numpy").fit(X * scale, Y)
    with pytest.raises(ValueError, match=rf"Y has values of magnitude up to .*{over} float64. Rescale Y"):
        RidgeEncoder(backend="numpy").fit(X, Y * scale)


def test_ridge_refuses_complex_input():
    with pytest.raises(TypeError, match="X must hold real numbers: Complex data not supported"):
        RidgeEncoder().fit(X + 1j, Y)
    with pytest.raises(TypeError, match="Y must hold real numbers: Complex data not supported"):
        RidgeEncoder().fit(X, Y + 1j)
    fitted = RidgeEncoder(backend="numpy").fit(X, Y)
    with pytest.raises(TypeError, match="X must hold real numbers: Complex data not supported"):
        fitted.predict(X + 1j)


def test_attention_readout_refuses_complex_and_overflowing_tokens():
    tokens = G.standard_normal((40, 3, 4))
    with pytest.raises(TypeError, match="X must hold real numbers: Complex data not supported"):
        AttentionReadout().fit(tokens + 1j, Y)
    with pytest.raises(ValueError, match=r"X has values of magnitude up to .* float32"):
        AttentionReadout().fit(tokens * 1e300, Y)


def test_encode_checks_random_state_even_without_a_ceiling():
    acts = data.activations({"l1": X[:, :4], "l2": X[:, 4:]}, stimulus_id=np.arange(40))
    rec = data.recording(Y, stimulus_id=np.arange(40), subject="S1", region="V4")
    for bad in ("x", 1e23):
        with pytest.raises(TypeError, match="random_state must be"):
            brainalign.encode(acts, rec, random_state=bad)


def test_alphas_at_the_grid_edge_are_counted_and_logged(caplog):
    # Noise targets choose the largest alpha: this was silent (iEEG channels with near-constant predictions).
    import logging

    acts = data.activations({"l1": X[:, :4], "l2": X[:, 4:]}, stimulus_id=np.arange(40))
    noise = np.random.default_rng(3).standard_normal((40, 3))
    rec = data.recording(noise, stimulus_id=np.arange(40), subject="S1", region="V4")
    grid = [1e-3, 1e-2, 1e-1]
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        out = brainalign.encode(acts, rec, encoder_options={"alphas": grid, "backend": "numpy"})
    n_top = int((out["alpha"] == grid[-1]).sum())
    assert n_top > 0 and out.attrs["n_alpha_at_grid_top"] == n_top
    assert out.attrs["n_alpha_at_grid_edge"] == n_top + int((out["alpha"] == grid[0]).sum())
    assert "the chosen alpha is at the top of the grid" in caplog.text
    amap = brainalign.alignment_map(acts, rec, "ridge", method_options={"alphas": grid, "backend": "numpy"})
    assert amap.attrs["n_alpha_at_grid_edge"] == out.attrs["n_alpha_at_grid_edge"]
