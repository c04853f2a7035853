"""The probe's two stages against HFTP's published selection, and degenerate input."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import xarray as xr

from brainalign.probes import frequency_tagging as ft

SFREQ = 4.0
N_TIMES = 48


def _wave(freq, n=N_TIMES, sfreq=SFREQ):
    return np.cos(2 * np.pi * freq * np.arange(n) / sfreq)


# ------------------------------------------------------- HFTP's two stages, written plainly
def reference_hftp_two_stage(x, ctrl, si_freq, pi_freqs, n_shuffles, seed, alpha=0.05, z_threshold=2.0):
    """HFTP's selection as its published code does it (permutation stage, then the z-score across
    neurons of the experiment-minus-control amplitude), one unit at a time with numpy.fft; the
    permutations are drawn as the probe draws them so that both see the same shuffles."""
    n_trials, n_units, n_times = x.shape
    perms = np.random.default_rng(seed).permuted(np.tile(np.arange(n_times), (n_shuffles, 1)), axis=1)
    freqs = np.fft.rfftfreq(n_times, d=1.0 / SFREQ)
    si_bin = int(np.argmin(np.abs(freqs - si_freq)))
    pi_bins = [int(np.argmin(np.abs(freqs - f))) for f in pi_freqs]
    si_matrix = np.zeros(n_units)
    pi_matrix = np.zeros(n_units)
    passed = np.zeros((n_units, 2), dtype=bool)
    for u in range(n_units):
        # Stage 1: the amplitude of the trial average against the 95th percentile of its shuffles.
        avg = x[:, u, :].mean(axis=0)
        real = np.abs(np.fft.rfft(avg))
        real[0] = 0.0
        shuffled = np.array([np.abs(np.fft.rfft(avg[p])) for p in perms])
        si_pass = real[si_bin] > np.percentile(shuffled[:, si_bin], 100 * (1 - alpha))
        pi_pass = any(real[k] > np.percentile(shuffled[:, k], 100 * (1 - alpha)) for k in pi_bins)
        passed[u] = si_pass, pi_pass
        # Stage 2 entries: mean over trials of each trial's |FFT|, experiment minus control.
        exp_amp = np.mean([np.abs(np.fft.rfft(x[j, u, :])) for j in range(n_trials)], axis=0)
        ctrl_amp = np.mean([np.abs(np.fft.rfft(ctrl[j, u, :])) for j in range(ctrl.shape[0])], axis=0)
        if si_pass:
            si_matrix[u] = exp_amp[si_bin] - ctrl_amp[si_bin]
        if pi_pass:
            positive = [exp_amp[k] - ctrl_amp[k] for k in pi_bins if exp_amp[k] - ctrl_amp[k] > 0]
            pi_matrix[u] = max(positive) if positive else 0.0
    si_z = (si_matrix - si_matrix.mean()) / si_matrix.std()
    pi_z = (pi_matrix - pi_matrix.mean()) / pi_matrix.std()
    labels = []
    for s, p in zip(si_z > z_threshold, pi_z > z_threshold, strict=True):
        labels.append("shared" if s and p else "sentence" if s else "phrase" if p else "none")
    return np.array(labels), np.stack([si_z, pi_z], axis=1), passed


def _experiment_and_control(seed, n_units=80, n_trials=10, n_control_trials=8, rates=(1.0, 2.0)):
    """Units following one rate, the other, both or neither, each more or less also in the control."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_trials, n_units, N_TIMES))
    ctrl = rng.normal(size=(n_control_trials, n_units, N_TIMES))
    kind = rng.integers(0, 4, size=n_units)  # 0 none, 1 sentence, 2 phrase, 3 both
    kept = rng.uniform(0.0, 1.2, size=n_units)  # how much of its rhythm the control keeps
    for u in range(n_units):
        for freq, present in ((rates[0], kind[u] in (1, 3)), (rates[1], kind[u] in (2, 3))):
            if present:
                amp = rng.uniform(0.2, 1.5)
                x[:, u] += amp * _wave(freq)
                ctrl[:, u] += kept[u] * amp * _wave(freq)
    return x, ctrl


@pytest.mark.parametrize("seed", [1, 5])
def test_two_stage_labels_equal_hftps_published_selection(seed):
    x, ctrl = _experiment_and_control(seed)
    expected, z_ref, passed_ref = reference_hftp_two_stage(x, ctrl, 1.0, [2.0], n_shuffles=300, seed=seed)
    res = ft.probe(x, control=ctrl, n_shuffles=300, random_state=seed, backend="numpy")
    assert res.attrs["selection"] == "hftp"
    np.testing.assert_array_equal(res["passed_null"].values, passed_ref)
    np.testing.assert_allclose(res["contrast_z"].values, z_ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(res["label"].values.astype(str), expected)
    # Not a trivial agreement: every label occurs, and stage 2 drops units that passed stage 1.
    assert {"sentence", "phrase", "shared", "none"} <= set(expected)
    assert (res["passed_null"] & ~res["tagged"]).any()


def test_two_stage_labels_with_several_phrase_frequencies():
    rates = ft.natural_rates(8)  # sentence 0.5 Hz; phrase any of 4/k Hz, k = 2..7
    x, ctrl = _experiment_and_control(2, rates=(0.5, 4.0 / 3.0))
    expected, z_ref, _ = reference_hftp_two_stage(x, ctrl, rates["sentence"], rates["phrase"], 300, seed=2)
    res = ft.probe(x, rates=rates, control=ctrl, n_shuffles=300, random_state=2, backend="numpy")
    np.testing.assert_allclose(res["contrast_z"].values, z_ref, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(res["label"].values.astype(str), expected)
    assert (res["contrast"].sel(rate="phrase") >= 0).all()  # the largest positive difference, or 0


def test_units_that_match_the_control_are_dropped():
    """Every unit passes the shuffle stage; only those that differ from the control stay tagged."""
    rng = np.random.default_rng(1)
    n_units = 40
    x = rng.normal(scale=0.3, size=(10, n_units, N_TIMES)) + _wave(1.0)
    ctrl = rng.normal(scale=0.3, size=(10, n_units, N_TIMES)) + _wave(1.0)
    ctrl[:, -3:] -= _wave(1.0)  # units 37-39: no sentence rhythm in the control
    rates = {"sentence": 1.0}
    res = ft.probe(x, rates=rates, control=ctrl, n_shuffles=200)
    assert res["passed_null"].all()
    assert np.flatnonzero(res["tagged"].sel(rate="sentence")).tolist() == [37, 38, 39]
    assert res["label"].values.tolist() == ["none"] * 37 + ["sentence"] * 3
    # The neighbouring-bin rule, which ignores the control, keeps them all.
    neighbours = ft.probe(x, rates=rates, control=ctrl, n_shuffles=200, selection="neighbours")
    assert neighbours["tagged"].all() and neighbours.attrs["selection"] == "neighbours"
    np.testing.assert_array_equal(neighbours["contrast_z"], res["contrast_z"])
    # Without a second stage the shuffle stage alone decides.
    assert ft.probe(x, rates=rates, control=ctrl, n_shuffles=200, z_threshold=None)["tagged"].all()


def test_no_unit_passes_the_null_gives_no_z(caplog):
    x = np.ones((4, 3, N_TIMES))  # dead units: none can pass the shuffle stage
    ctrl = np.random.default_rng(1).normal(size=(4, 3, N_TIMES))
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        res = ft.probe(x, control=ctrl, n_shuffles=100)
    assert not res["passed_null"].any() and not res["tagged"].any()
    assert np.isnan(res["contrast_z"]).all() and "does not vary across units (0 passed the null)" in caplog.text
    assert np.isfinite(res["contrast"]).all()


def test_control_labelled_and_bad(caplog):
    x, ctrl = _experiment_and_control(0, n_units=12)

    def labelled(values, layer="a"):
        return xr.DataArray(
            values,
            dims=("presentation", "unit", "latency"),
            coords={
                "stimulus_id": ("presentation", np.arange(len(values))),
                "latency": np.arange(N_TIMES) / SFREQ,
                "model": ("unit", ["toy"] * values.shape[1]),
                "layer": ("unit", [layer] * values.shape[1]),
                "unit_index": ("unit", np.arange(values.shape[1])),
            },
        )

    plain = ft.probe(x, control=ctrl, n_shuffles=100)
    res = ft.probe(labelled(x), control=labelled(ctrl), n_shuffles=100)
    np.testing.assert_array_equal(res["label"].values, plain["label"].values)
    with pytest.raises(ValueError, match="other units"):
        ft.probe(labelled(x), control=labelled(ctrl, layer="b"), n_shuffles=100)
    with pytest.raises(ValueError, match="control must hold the same units and samples"):
        ft.probe(x, control=ctrl[:, :5], n_shuffles=100)
    with pytest.raises(ValueError, match="control must hold the same units and samples"):
        ft.probe(x, control=ctrl[..., :40], n_shuffles=100)
    with pytest.raises(ValueError, match="control is empty"):
        ft.probe(x, control=ctrl[:0], n_shuffles=100)
    with pytest.raises(ValueError, match="control contains 1 NaN"):
        bad = ctrl.copy()
        bad[0, 0, 0] = np.nan
        ft.probe(x, control=bad, n_shuffles=100)
    with pytest.raises(ValueError, match="selection='hftp' compares every unit with a control"):
        ft.probe(x, selection="hftp", n_shuffles=100)
    with pytest.raises(ValueError, match="Invalid value for selection"):
        ft.probe(x, selection="zscore", n_shuffles=100)


# ------------------------------------------------------------------------- degenerate input
@pytest.mark.parametrize(
    "shape, missing", [((0, 6, 48), "trial"), ((4, 0, 48), "unit"), ((4, 6, 0), "time"), ((0, 0, 0), "trial")]
)
def test_empty_responses_are_refused(shape, missing):
    with pytest.raises(ValueError, match=f"responses is empty: it has no {missing}"):
        ft.probe(np.random.default_rng(0).standard_normal(shape))


def test_empty_labelled_responses_are_refused():
    da = xr.DataArray(
        np.zeros((0, 2, N_TIMES)),
        dims=("presentation", "unit", "latency"),
        coords={"stimulus_id": ("presentation", []), "latency": np.arange(N_TIMES) / SFREQ},
    )
    with pytest.raises(ValueError, match="responses is empty: it has no presentation"):
        ft.probe(da)


def test_complex_and_non_finite_responses_are_refused():
    x = np.random.default_rng(0).normal(size=(4, 3, N_TIMES))
    with pytest.raises(ValueError, match="responses must hold real numbers, got complex"):
        ft.probe(x + 1j)
    with pytest.raises(ValueError, match="responses contains 1 NaN or infinite"):
        bad = x.copy()
        bad[1, 2, 3] = np.inf
        ft.probe(bad)
    with pytest.raises(TypeError, match="responses must hold real numbers, got dtype <U1"):
        ft.probe(np.full((4, 3, N_TIMES), "a"))


@pytest.mark.parametrize("null", ["shuffle", "circular"])
def test_constant_units_are_explained_not_tested(null, caplog):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 4, N_TIMES))
    x[:, 0] = 0.3  # a dead unit
    x[:, 1] = np.arange(6)[:, None] * 0.7  # constant within each trial, so is the average
    x[:, 3] += _wave(1.0)
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        res = ft.probe(x, n_shuffles=200, null=null)
    assert "2 of 4 units (e.g. index 0) have a constant trial-averaged series" in caplog.text
    for name in ("p_value", "q_value", "z", "snr", "threshold"):
        assert np.isnan(res[name].values[:2]).all(), name
        assert np.isfinite(res[name].values[2:]).all(), name
    assert res["label"].values.tolist()[:2] == ["none", "none"] and res["label"].values[3] == "sentence"
    assert res.attrs["n_constant"] == 2 and not res["passed_null"].values[:2].any()
    assert (res["amplitude"].values[:2] == 0).all()
