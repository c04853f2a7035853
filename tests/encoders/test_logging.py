"""Encoders log one DEBUG line per fit: a 5-fold encode adds no per-fold lines at INFO."""

import logging

import numpy as np
import pytest

import brainalign
from brainalign import data

pytestmark = pytest.mark.usefixtures("one_thread")

pytest.importorskip("himalaya")
pytest.importorskip("sklearn")


def _pair(n=100, seed=0):
    rng = np.random.default_rng(seed)
    feats = {"a": rng.normal(size=(n, 8)), "b": rng.normal(size=(n, 6))}
    Y = feats["a"] @ rng.normal(size=(8, 4)) + rng.normal(size=(n, 4))
    acts = data.activations(feats, stimulus_id=np.arange(n))
    rec = data.recording(Y, stimulus_id=np.arange(n), subject="S1", region=["A"] * 2 + ["B"] * 2)
    return acts, rec


@pytest.mark.parametrize(
    ("encoder", "prefix", "n_fits"),
    [("ridge", "RidgeEncoder:", 2 * 5), ("banded_ridge", "BandedRidgeEncoder:", 5)],  # per layer; bands together
)
def test_per_fold_fit_logs_are_debug_only(encoder, prefix, n_fits, caplog):
    acts, rec = _pair()
    options = {"backend": "numpy"} if encoder == "ridge" else {"backend": "numpy", "n_iter": 2, "random_state": 0}
    with caplog.at_level(logging.INFO, logger="brainalign"):
        brainalign.encode(acts, rec, encoder, cv=5, encoder_options=options)
    assert not [r for r in caplog.records if r.getMessage().startswith(prefix)]
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="brainalign"):
        brainalign.encode(acts, rec, encoder, cv=5, encoder_options=options)
    fits = [r for r in caplog.records if r.getMessage().startswith(prefix)]
    assert len(fits) == n_fits and all(r.levelno == logging.DEBUG for r in fits)
