"""Item 6 audit: every public option of the wrong type or out of range is refused, naming the option.

The list came from an inspect-based audit of the public API (bool/enum/number options whose
function body did not check them); each case passes one bad value and expects a ValueError or
TypeError whose message names the option.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from brainalign import alignment_map, data, encode, identifiability, simulate, stats
from brainalign.io import arrays
from brainalign.metrics import cka, rsa

RNG = np.random.default_rng(0)
X, Y = RNG.normal(size=(12, 4)), RNG.normal(size=(12, 3))
ACTS = data.activations({"l0": X, "l1": X + RNG.normal(size=X.shape)}, stimulus_id=range(12))
REC = data.recording(Y, stimulus_id=range(12), subject="S", region="A")
FOLDS = [np.arange(6), np.arange(6, 12)]
R = rsa.rdm(ACTS)
NUMPY = {"encoder_options": {"backend": "numpy"}}

CASES = {
    "kernel": lambda: cka.cka(X, Y, kernel="poly"),
    "debiased": lambda: cka.cka(X, Y, debiased="yes"),
    "sigma": lambda: cka.cka(X, Y, kernel="rbf", sigma=-1.0),
    "noise": lambda: rsa.rdm(ACTS, noise="abc"),
    "cv": lambda: rsa.rdm(ACTS, cv=3),
    "blocks": lambda: stats.fold_bootstrap(Y, Y, FOLDS, 10, blocks="yes"),
    "batch": lambda: stats.fold_bootstrap(Y, Y, FOLDS, 10, batch=0),
    "circular": lambda: stats.fold_permutation(Y, Y, FOLDS, [np.arange(3)], 10, circular="yes"),
    "batch ": lambda: stats.fold_permutation(Y, Y, FOLDS, [np.arange(3)], 10, batch=-1),
    "ci": lambda: stats.percentile_interval(np.ones((3, 1)), 1.5),
    "alternative": lambda: stats.p_value(np.ones((3, 1)), np.ones((1, 1)), "both"),
    "n_boot": lambda: stats.bootstrap_stimuli(R, R, n_boot=0),
    "n_perm": lambda: stats.permutation_test(R, R, n_perm=True),
    "backend": lambda: stats.permutation_test(R, R, n_perm=5, backend="gpu!"),
    "tr": lambda: simulate.make_recording(ACTS, {"A": "l0"}, kind="continuous", tr=-1.0, n_neuroids=3),
    "isi": lambda: simulate.make_recording(ACTS, {"A": "l0"}, kind="continuous", isi="4", n_neuroids=3),
    "subject": lambda: simulate.make_recording(ACTS, {"A": "l0"}, subject=3, n_neuroids=3),
    "noise_ceiling": lambda: simulate.make_recording(ACTS, {"A": "l0"}, noise_ceiling=2.0, n_repetitions=2),
    "snr": lambda: simulate.linear_recording(ACTS, {"A": "l0"}, n_neuroids=3, snr="1"),
    "memory_budget": lambda: alignment_map(ACTS, REC, "cka", memory_budget=-5),
    "regions": lambda: alignment_map(ACTS, REC, "cka", regions=3),
    "method_options": lambda: alignment_map(ACTS, REC, "cka", method_options=[1]),
    "ci_method": lambda: alignment_map(ACTS, REC, "cka", n_boot=5, ci_method="bootstrap-t"),
    "on_missing": lambda: alignment_map(ACTS, REC, "cka", on_missing="skip"),
    "return_predictions": lambda: encode(ACTS, REC, return_predictions="x", **NUMPY),
    "ceiling": lambda: encode(ACTS, REC, ceiling="x", **NUMPY),
    "max_regions": lambda: identifiability(ACTS, methods=["cka"], n_repeats=1, max_regions=0),
    "lazy": lambda: arrays.load(__file__, lazy="yes"),
}


@pytest.mark.parametrize("option", list(CASES))
def test_bad_option_is_refused_by_name(option):
    with pytest.raises((ValueError, TypeError)) as err:
        CASES[option]()
    assert re.search(rf"\b{option.strip()}\b", str(err.value)), str(err.value)
