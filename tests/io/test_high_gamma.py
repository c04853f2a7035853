"""high_gamma: a non-negative envelope after resampling, and attrs that state the band."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign import data

mne = pytest.importorskip("mne")
ieeg = pytest.importorskip("brainalign.io.ieeg")
SFREQ = 1000.0


def _burst(seed=0, amp=5.0):
    """Noise plus a 100 Hz burst of amplitude ``amp`` from 2.0 to 2.5 s, with sharp edges."""
    rng = np.random.default_rng(seed)
    t = np.arange(4000) / SFREQ
    x = 0.2 * rng.normal(size=(2, t.size))
    inside = (t >= 2.0) & (t < 2.5)
    x[:, inside] += amp * np.sin(2 * np.pi * 100 * t[inside])
    return t, x, inside


def test_burst_envelope_matches_scipy_and_stays_non_negative_when_resampled():
    from scipy import signal

    t, x, _ = _burst()
    rec = data.recording(x.T, sfreq=SFREQ, subject="S1", region="STG")
    full = ieeg.high_gamma(rec)
    # the independent reference: a Butterworth band-pass (zero phase) and scipy's Hilbert transform
    sos = signal.butter(4, [70, 150], btype="bandpass", fs=SFREQ, output="sos")
    ref = np.abs(signal.hilbert(signal.sosfiltfilt(sos, x, axis=-1), axis=-1)).T
    core = (t > 2.1) & (t < 2.4)
    np.testing.assert_allclose(full.values[core], 5.0, rtol=0.1)  # the planted amplitude
    np.testing.assert_allclose(full.values[core], ref[core], rtol=0.05)
    assert np.corrcoef(full.values[:, 0], ref[:, 0])[0, 1] > 0.98
    down = ieeg.high_gamma(rec, sfreq=100.0)
    assert down.sizes["time"] == 400 and down.attrs["sfreq"] == 100.0
    assert float(down.min()) >= 0.0  # an amplitude: never negative, by construction
    late = down.sel(time=slice(2.1, 2.39)).values
    np.testing.assert_allclose(late, 5.0, rtol=0.1)
    quiet = down.sel(time=slice(0.5, 1.5)).values
    assert quiet.max() < 0.5
    # a normalised non-negative kernel keeps the mean level of the envelope
    np.testing.assert_allclose(down.values.mean(axis=0), full.values.mean(axis=0), rtol=0.02)
    assert down.attrs["band"] == [70.0, 150.0] and down.attrs["highpass"] == 70.0 and down.attrs["lowpass"] == 150.0
    assert down.attrs["envelope_smoothing_sigma"] == pytest.approx(0.00375)
    # the same envelope through MNE's Raw (same type back, same values)
    raw = mne.io.RawArray(x, mne.create_info(["a", "b"], SFREQ, "ecog"), verbose="error")
    raw_env = ieeg.high_gamma(raw, sfreq=100.0)
    assert isinstance(raw_env, mne.io.BaseRaw) and raw_env.info["sfreq"] == 100.0
    assert raw_env.get_data().min() >= 0.0
    # (MNE pads its Hilbert transform differently: the two agree away from the edges)
    np.testing.assert_allclose(raw_env.get_data().T[20:380], down.values[20:380], rtol=0, atol=1e-4)


def test_resampling_an_envelope_with_an_fft_rings_below_zero():
    """Why high_gamma does not use mne.filter.resample: the same burst goes negative."""
    _, x, _ = _burst(amp=50.0)
    rec = data.recording(x.T, sfreq=SFREQ, subject="S1", region="STG")
    env = ieeg.high_gamma(rec).values.T.astype(float)
    assert mne.filter.resample(env, up=0.1, down=1.0, verbose="error").min() < 0
    assert float(ieeg.high_gamma(rec, sfreq=100.0).min()) >= 0


@pytest.mark.shared_data
def test_real_gripforce_high_gamma_is_non_negative(shared_data):
    folder = shared_data / "ieeg_gripforce" / "sub-testsub" / "ses-EphysMedOff" / "ieeg"
    path = folder / "sub-testsub_ses-EphysMedOff_task-gripforce_run-0_ieeg.vhdr"
    hg = ieeg.load_ieeg(path, reference="bipolar", band=(70, 150), sfreq=100.0)
    assert hg.attrs["sfreq"] == 100.0 and hg.sizes["time"] == 1900
    assert float(hg.min()) >= 0.0  # was -1.68 with MNE's resampling
    assert hg.attrs["band"] == [70.0, 150.0] and (hg.attrs["highpass"], hg.attrs["lowpass"]) == (70.0, 150.0)
    # the level follows the full-rate envelope (mean kept, slow course kept)
    full = ieeg.load_ieeg(path, reference="bipolar", band=(70, 150))
    assert float(full.min()) >= 0.0
    np.testing.assert_allclose(hg.values.mean(axis=0), full.values.mean(axis=0), rtol=0.02)
    slow = full.values[:19000].reshape(190, 100, -1).mean(axis=1)  # 0.1 s bin means of the full-rate envelope
    down = hg.values.reshape(190, 10, -1).mean(axis=1)
    r = [np.corrcoef(slow[:, k], down[:, k])[0, 1] for k in range(hg.sizes["neuroid"])]
    assert min(r) > 0.97
