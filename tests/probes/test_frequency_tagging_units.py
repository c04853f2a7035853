"""ft.probe does not depend on the data's units: huge or tiny responses tag the same units, with
the same statistics, as the unscaled ones (a power of two scales every floating-point step exactly)."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign.probes import frequency_tagging as ft

STATISTICS = ("p_value", "q_value", "z", "snr", "itpc", "contrast_z", "passed_null", "tagged", "label")
AMPLITUDES = ("amplitude", "peak_amplitude", "threshold", "contrast")


def _planted(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(6, 12, 32))
    ctrl = rng.normal(size=(6, 12, 32))
    x[:, :4] += np.cos(np.pi / 2 * np.arange(32))  # 1 Hz at 4 samples per second
    x[:, 4:6] += np.cos(np.pi * np.arange(32))  # 2 Hz
    return x, ctrl


@pytest.mark.parametrize("exponent", [1000, 900, -900, -1000])
@pytest.mark.parametrize("null", ["shuffle", "circular"])
def test_probe_is_unit_free(exponent, null):
    x, ctrl = _planted()
    ref = ft.probe(x, n_shuffles=200, control=ctrl, null=null)
    assert (ref["label"] != "none").sum() >= 2
    scale = 2.0**exponent  # representable for |exponent| ≤ 1000; the data stay normal numbers
    with np.errstate(all="raise"):  # no overflow or underflow inside
        res = ft.probe(x * scale, n_shuffles=200, control=ctrl * scale, null=null)
    for name in STATISTICS:  # exactly equal: the statistics are scale-invariant
        np.testing.assert_array_equal(res[name].values, ref[name].values, err_msg=name)
    for name in AMPLITUDES:  # in the data's units (exact: powers of two)
        np.testing.assert_array_equal(res[name].values, ref[name].values * scale, err_msg=name)


@pytest.mark.parametrize("factor", [1e300, 1e-300])
def test_probe_decimal_scales_tag_the_same_units(factor):
    x, ctrl = _planted(1)
    ref = ft.probe(x, n_shuffles=200, control=ctrl)
    res = ft.probe(x * factor, n_shuffles=200, control=ctrl * factor)
    np.testing.assert_array_equal(res["label"].values, ref["label"].values)
    # × 1e300 is not exact, so the statistics agree to rounding (rel 1e-9), not bit for bit
    for name in ("z", "contrast_z", "snr"):
        np.testing.assert_allclose(res[name].values, ref[name].values, rtol=1e-9, err_msg=name)
    assert np.isfinite(res["z"].values).all()


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("alpha", True, TypeError),
        ("alpha", "0.05", TypeError),
        ("alpha", 1.5, ValueError),
        ("z_threshold", True, TypeError),
        ("z_threshold", "2", TypeError),
        ("z_threshold", float("nan"), ValueError),
        ("n_shuffles", 0, ValueError),
        ("n_shuffles", 10.5, ValueError),
        ("n_neighbours", True, ValueError),
        ("sfreq", -1.0, ValueError),
        ("sfreq", "4", TypeError),
        ("word_rate", 0.0, ValueError),
        ("null", "perm", ValueError),
        ("selection", "hfpt", ValueError),
        ("correction", "bonferroni", ValueError),
        ("random_state", 1e23, (ValueError, TypeError)),
        ("rates", {"sentence": "1"}, TypeError),
        ("backend", "gpu-please", ValueError),
    ],
)
def test_probe_options_are_checked(option, value, error):
    x, _ = _planted()
    with pytest.raises(error, match=option):
        ft.probe(x, **{"n_shuffles": 50, option: value})


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("n_trials", 0, ValueError),
        ("n_sentences", 1.5, ValueError),
        ("n_words", True, ValueError),
        ("word_rate", float("inf"), ValueError),
        ("control", "random", ValueError),
        ("column", 3, TypeError),
        ("random_state", "seed", (ValueError, TypeError)),
    ],
)
def test_make_trials_options_are_checked(option, value, error):
    corpus = ["the small dog runs home", "a red car goes fast", "my old cat eats fish"] * 2
    with pytest.raises(error, match=option):
        ft.make_trials(corpus, **{"n_trials": 2, "n_sentences": 3, option: value})


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("mlp", 1, TypeError),
        ("word_reduce", "median", ValueError),
        ("batch_size", 0, ValueError),
        ("word_rate", -4.0, ValueError),
        ("layers", "encoder.layer.0", TypeError),
    ],
)
def test_model_responses_options_are_checked(option, value, error):
    trials = ft.make_trials(["the small dog runs home", "a red car goes fast"], n_trials=1, n_sentences=2)
    with pytest.raises(error, match=option):
        # The options are checked before the model is touched: no model is needed to refuse them.
        ft.model_responses(object(), trials, tokenizer=object(), **{option: value})
