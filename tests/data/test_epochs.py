"""data.epochs: continuous recording + events → time-resolved recording, checked against mne.Epochs."""

import numpy as np
import pandas as pd
import pytest

from brainalign import data

mne = pytest.importorskip("mne")


def _mne_epochs(values, sfreq, samples, tmin, tmax, baseline):
    """mne.Epochs on the same samples (channels × time), events given in samples."""
    info = mne.create_info(
        [f"ch{i}" for i in range(values.shape[1])], sfreq, ch_types="eeg"
    )  # a data channel: MNE baseline-corrects data channels only
    raw = mne.io.RawArray(values.T, info, verbose=False)
    events = np.column_stack([samples, np.zeros_like(samples), np.ones_like(samples)])
    ep = mne.Epochs(raw, events, tmin=tmin, tmax=tmax, baseline=baseline, preload=True, verbose=False)
    assert len(ep) == len(samples)  # nothing dropped
    return ep.get_data(), ep.times


@pytest.mark.parametrize(
    ("tmin", "tmax", "baseline"),
    [(-0.2, 0.5, (None, 0)), (-0.1, 0.3, None), (-0.25, 0.4, (-0.1, 0.05)), (0.0, 0.2, (None, None))],
)
def test_matches_mne_epochs(rng, tmin, tmax, baseline):
    sfreq = 100.0
    values = rng.normal(size=(1000, 3)).cumsum(0)  # drifting signals: the baseline matters
    cont = data.recording(values, sfreq=sfreq, subject="S1", region=["A", "A", "B"])
    samples = np.array([50, 123, 400, 777, 900])
    # Onsets a little off the sample grid: each event goes to the nearest sample.
    onsets = samples / sfreq + rng.uniform(-0.004, 0.004, size=samples.size)
    events = pd.DataFrame({"onset": onsets, "stimulus_id": ["a", "b", "a", "c", "b"], "word": list("vwxyz")})
    ep = data.epochs(cont, events, tmin=tmin, tmax=tmax, baseline=baseline)
    ref, times = _mne_epochs(values, sfreq, samples, tmin, tmax, baseline)
    assert ep.dims == ("presentation", "neuroid", "latency")
    np.testing.assert_allclose(ep.values, ref, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ep["latency"].values, times, rtol=0, atol=1e-12)
    assert ep["stimulus_id"].values.tolist() == ["a", "b", "a", "c", "b"]
    assert ep["word"].values.tolist() == list("vwxyz")
    assert ep["region"].values.tolist() == ["A", "A", "B"]
    assert data.validate(ep) == "time_resolved"
    assert ep.attrs["sfreq"] == sfreq


def test_runs_and_planted_events(rng):
    # Two runs; a planted response (a bump 100 ms after each event) comes back at latency 0.1 s.
    sfreq, n = 50.0, 300
    values = 0.01 * rng.normal(size=(2 * n, 1))
    onsets = {0: [1.0, 3.0], 1: [2.0, 4.5]}
    for r, times in onsets.items():
        for t in times:
            values[r * n + round((t + 0.1) * sfreq), 0] += 1.0
    cont = data.recording(values, sfreq=sfreq, run=[0] * n + [1] * n, subject="S1", region="A")
    events = pd.DataFrame(
        {"onset": [1.0, 3.0, 2.0, 4.5], "run": [0, 0, 1, 1], "stimulus_id": [1, 2, 3, 4]}
    )  # fmt: skip
    ep = data.epochs(cont, events, tmin=-0.2, tmax=0.4, baseline=None)
    peak = ep["latency"].values[ep.values[:, 0].argmax(axis=1)]
    np.testing.assert_allclose(peak, 0.1, atol=1e-12)
    assert ep["run"].values.tolist() == [0, 0, 1, 1]
    with pytest.raises(ValueError, match="events needs a column 'run'"):
        data.epochs(cont, events.drop(columns="run"), tmin=-0.2, tmax=0.4)


def test_refusals(rng):
    cont = data.recording(rng.normal(size=(100, 2)), sfreq=10.0, subject="S1", region="A")
    events = pd.DataFrame({"onset": [1.0, 9.5], "stimulus_id": ["a", "b"]})
    with pytest.raises(ValueError, match="leaves the run"):
        data.epochs(cont, events, tmin=-0.2, tmax=0.8)
    with pytest.raises(ValueError, match=r"tmin .* must not be later"):
        data.epochs(cont, events, tmin=0.5, tmax=0.1)
    with pytest.raises(ValueError, match="no column 'stimulus_id'"):
        data.epochs(cont, events.rename(columns={"stimulus_id": "stim"}), tmin=0, tmax=0.1)
    with pytest.raises(ValueError, match="baseline"):
        data.epochs(cont, events.iloc[:1], tmin=-0.2, tmax=0.2, baseline=(-1.0, 0))
    with pytest.raises(TypeError, match="events must be a pandas DataFrame"):
        data.epochs(cont, [1.0, 2.0], tmin=0, tmax=0.1)
    with pytest.raises(TypeError, match="tmin must be a number"):
        data.epochs(cont, events.iloc[:1], tmin="0", tmax=0.1)
    with pytest.raises(TypeError, match="mixes strings"):
        data.epochs(cont, pd.DataFrame({"onset": [1.0, 2.0], "stimulus_id": [1, "1"]}), tmin=0, tmax=0.1)
    cond = data.recording(rng.normal(size=(3, 2)), stimulus_id=list("abc"), subject="S1", region="A")
    with pytest.raises(ValueError, match="must be continuous"):
        data.epochs(cond, events, tmin=0, tmax=0.1)


@pytest.mark.shared_data
def test_real_gripforce_ieeg_matches_mne(shared_data):
    from brainalign.io.ieeg import load_ieeg

    folder = shared_data / "ieeg_gripforce" / "sub-testsub" / "ses-EphysMedOff" / "ieeg"
    vhdr = folder / "sub-testsub_ses-EphysMedOff_task-gripforce_run-0_ieeg.vhdr"
    if not vhdr.exists():
        pytest.skip("the grip-force iEEG recording is absent")
    rec = load_ieeg(vhdr)
    assert data.validate(rec) == "continuous"
    sfreq = rec.attrs["sfreq"]
    samples = np.arange(1500, rec.sizes["time"] - 1500, 1700)  # an event every 1.7 s
    events = pd.DataFrame({"onset": rec["time"].values[samples], "stimulus_id": [f"g{i}" for i in range(samples.size)]})
    ep = data.epochs(rec, events, tmin=-0.5, tmax=1.0, baseline=(None, 0))
    ref, times = _mne_epochs(rec.transpose("time", "neuroid").values, sfreq, samples, -0.5, 1.0, (None, 0))
    scale = np.abs(ref).max()
    np.testing.assert_allclose(ep.values / scale, ref / scale, rtol=0, atol=1e-10)
    np.testing.assert_allclose(ep["latency"].values, times, atol=1e-12)
    assert ep.sizes["neuroid"] == rec.sizes["neuroid"] and ep.sizes["presentation"] == samples.size
