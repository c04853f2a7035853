"""MEG/EEG adapters: files written with MNE (FIF, EDF, BrainVision), loaded back and compared."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainalign import data

mne = pytest.importorskip("mne")
meg = pytest.importorskip("brainalign.io.meg")

SFREQ = 200.0
NAMES = ["Fz", "Cz", "Pz", "Oz"]
POS_M = {"Fz": [0.0, 0.06, 0.08], "Cz": [0.0, 0.0, 0.1], "Pz": [0.0, -0.06, 0.08], "Oz": [-0.01, -0.1, 0.03]}


def _raw(n_times=600, seed=0):
    rng = np.random.default_rng(seed)
    values = rng.normal(scale=1e-6, size=(len(NAMES) + 1, n_times))
    values[1] = 2e-6 * np.sin(2 * np.pi * 5 * np.arange(n_times) / SFREQ)  # planted on Cz
    info = mne.create_info([*NAMES, "STI"], SFREQ, ["eeg"] * len(NAMES) + ["stim"])
    raw = mne.io.RawArray(values, info, verbose="error")
    raw.set_montage(mne.channels.make_dig_montage(ch_pos=POS_M, coord_frame="head"), verbose="error")
    return raw, values


def test_raw_fif_roundtrip(tmp_path):
    raw, values = _raw()
    path = tmp_path / "sub-01_task-x_raw.fif"
    raw.save(path, verbose="error")
    rec = meg.load_meg(path, subject="sub-01", run="r1")
    assert data.validate(rec) == "continuous"
    assert rec["channel"].values.tolist() == NAMES  # stim channel left out
    assert rec.attrs["sfreq"] == SFREQ and rec.attrs["modality"] == "eeg" and rec.attrs["space"] == "head"
    np.testing.assert_allclose(rec["time"].values, np.arange(600) / SFREQ)
    np.testing.assert_allclose(rec.values, values[:4].T, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(
        rec.sel(neuroid=1).values, 2e-6 * np.sin(2 * np.pi * 5 * np.arange(600) / SFREQ), rtol=1e-5, atol=1e-12
    )
    xyz = np.c_[rec["x"], rec["y"], rec["z"]]
    np.testing.assert_allclose(xyz, np.array([POS_M[n] for n in NAMES]) * 1000, atol=1e-9)
    assert rec["region"].values.tolist() == ["eeg"] * 4  # default: the channel type
    assert rec["hemisphere"].values.tolist() == ["midline", "midline", "midline", "left"]
    assert set(rec["run"].values) == {"r1"}


def test_epochs_fif_time_resolved_with_event_names_and_repetitions(tmp_path):
    rng = np.random.default_rng(1)
    info = mne.create_info(NAMES, SFREQ, "eeg")
    x = rng.normal(size=(5, 4, 40))
    events = np.array([[10, 0, 1], [60, 0, 2], [110, 0, 1], [160, 0, 3], [210, 0, 2]])
    epochs = mne.EpochsArray(
        x, info, events=events, event_id={"cat": 1, "dog": 2, "car": 3}, tmin=-0.05, verbose="error"
    )
    path = tmp_path / "sub-01-epo.fif"
    epochs.save(path, verbose="error")
    rec = meg.load_meg(path)
    assert data.validate(rec) == "time_resolved"
    assert rec["stimulus_id"].values.tolist() == ["cat", "dog", "cat", "car", "dog"]
    assert rec["repetition"].values.tolist() == [0, 0, 1, 0, 1]
    np.testing.assert_allclose(rec["latency"].values, epochs.times)
    np.testing.assert_allclose(rec.values, x, rtol=1e-6, atol=1e-6)  # float32 storage
    np.testing.assert_allclose(rec["onset"].values, events[:, 0] / SFREQ)
    # align averages the repeated trials, by stimulus id
    acts = data.activations({"fc": np.eye(3)}, stimulus_id=["car", "cat", "dog"])
    _, r = data.align(acts, rec)
    assert r.sizes["presentation"] == 3
    np.testing.assert_allclose(r.sel(presentation=0).values, (x[0] + x[2]) / 2, rtol=1e-6, atol=1e-6)
    # a latency window averages into a condition-based recording
    win = meg.from_mne(epochs, window=(0.0, 0.05))
    assert data.validate(win) == "condition"
    keep = (epochs.times >= 0) & (epochs.times <= 0.05)
    np.testing.assert_allclose(win.values, x[:, :, keep].mean(axis=2), rtol=1e-6, atol=1e-6)
    # stimulus ids from metadata
    epochs.metadata = pd.DataFrame({"image": ["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"]})
    assert meg.from_mne(epochs, stimulus_id="image")["stimulus_id"].values.tolist()[0] == "a.jpg"
    with pytest.raises(ValueError, match=r"column of epochs\.metadata"):
        meg.from_mne(epochs, stimulus_id="word")
    with pytest.raises(ValueError, match="one id per epoch"):
        meg.from_mne(epochs, stimulus_id=["a", "b"])


def test_evoked_list_one_presentation_per_condition(tmp_path):
    rng = np.random.default_rng(2)
    info = mne.create_info(NAMES, SFREQ, "eeg")
    evs = [mne.EvokedArray(rng.normal(size=(4, 30)), info, tmin=-0.1, comment=c, nave=10) for c in ("face", "house")]
    path = tmp_path / "cond-ave.fif"
    mne.write_evokeds(path, evs, verbose="error")
    rec = meg.load_meg(path)
    assert data.validate(rec) == "time_resolved"
    assert rec["stimulus_id"].values.tolist() == ["face", "house"]
    np.testing.assert_allclose(rec.values[1], evs[1].data, rtol=1e-6, atol=1e-6)
    cond = meg.from_mne(evs, window=(0.0, 0.04))
    assert data.validate(cond) == "condition"


def test_mag_channels_and_regions_mapping():
    info = mne.create_info(["MEG0111", "MEG0121", "EEG001"], 100.0, ["mag", "mag", "eeg"])
    raw = mne.io.RawArray(np.ones((3, 50)), info, verbose="error")
    rec = meg.from_mne(raw, picks="mag", region={"MEG0111": "left-temporal", "MEG0121": "left-temporal"})
    assert rec.attrs["modality"] == "meg" and rec["region"].values.tolist() == ["left-temporal"] * 2
    with pytest.raises(ValueError, match=r"no region for 1 channel.*MEG0121"):
        meg.from_mne(raw, picks="mag", region={"MEG0111": "a"})
    with pytest.raises(ValueError, match="neither a channel name nor a channel type"):
        meg.from_mne(raw, picks=["MEG9999"])
    with pytest.raises(ValueError, match="Epochs/Evoked"):
        meg.from_mne(raw, stimulus_id=["a"])
    with pytest.raises(TypeError, match="MNE Raw, Epochs, Evoked"):
        meg.from_mne(np.zeros((3, 3)))


@pytest.mark.parametrize(("suffix", "module"), [(".edf", "edfio"), (".vhdr", "pybv")])
def test_edf_and_brainvision_via_mne_export(tmp_path, suffix, module):
    pytest.importorskip(module)
    raw, values = _raw(n_times=400)
    raw = raw.pick(NAMES)
    path = tmp_path / f"rec{suffix}"
    mne.export.export_raw(path, raw, verbose="error")
    rec = meg.load_meg(path)
    assert data.validate(rec) == "continuous" and rec.attrs["sfreq"] == SFREQ
    # both formats quantise the samples: within 0.1 % of the range
    span = np.ptp(values[:4])
    np.testing.assert_allclose(rec.values, values[:4].T, atol=1e-3 * span)


def test_unreadable_and_missing_files_name_the_file(tmp_path):
    bad = tmp_path / "broken_raw.fif"
    bad.write_bytes(b"\x00" * 64)
    with pytest.raises(ValueError, match=r"broken_raw\.fif.*MNE"):
        meg.load_meg(bad)
    with pytest.raises(FileNotFoundError, match="nothing_here"):
        meg.load_meg(tmp_path / "nothing_here.edf")


@pytest.mark.parametrize("epochs_tmin", [-0.1, -0.1003])
@pytest.mark.parametrize("window", [(0.0, 0.05), (-0.013, 0.071), (0.098, 0.102), (-1.0, 1.0)])
def test_window_reads_only_its_samples_and_matches_a_full_read(tmp_path, monkeypatch, window, epochs_tmin):
    rng = np.random.default_rng(3)
    info = mne.create_info(NAMES, SFREQ, "eeg")
    x = rng.normal(scale=1e-6, size=(6, 4, 60))
    epochs = mne.EpochsArray(x, info, tmin=epochs_tmin, verbose="error")
    path = tmp_path / "win-epo.fif"
    epochs.save(path, verbose="error")
    lazy = mne.read_epochs(path, preload=False, verbose="error")
    # the reference: every latency read, then the window's samples averaged (the former code)
    keep = (lazy.times >= window[0]) & (lazy.times <= window[1])
    full = lazy.get_data(picks=[1, 2])
    expected = full[:, :, keep].mean(axis=2).astype(np.float32)
    from brainalign.io import _from_mne as mne_adapter

    monkeypatch.setattr(mne_adapter, "READ_BLOCK", 4 * 60 * 2)  # two epochs per read: several blocks
    shapes = []
    real = mne.BaseEpochs.get_data
    monkeypatch.setattr(
        mne.BaseEpochs,
        "get_data",
        lambda self, *a, **k: shapes.append(real(self, *a, **k).shape) or real(self, *a, **k),
    )
    rec = meg.from_mne(lazy, picks=["Cz", "Pz"], window=window, stimulus_id=list("abcdef"))
    assert shapes and all(s[-1] == keep.sum() for s in shapes)  # only the window was read
    np.testing.assert_array_equal(rec.values, expected)
    assert rec.attrs["window_tmin"] == window[0]
    # in memory too (the FIF file stores float32, so compare with the in-memory epochs' own values)
    preloaded = meg.from_mne(epochs, picks=["Cz", "Pz"], window=window, stimulus_id=list("abcdef"))
    in_memory = x[:, 1:3][:, :, keep].mean(axis=2).astype(np.float32)
    np.testing.assert_array_equal(preloaded.values, in_memory)
    with pytest.raises(ValueError, match="holds no sample"):
        meg.from_mne(lazy, window=(0.301, 0.4), stimulus_id=list("abcdef"))


def test_window_on_lazy_epochs_of_a_raw_drops_bad_epochs_first(tmp_path):
    raw, _ = _raw(n_times=2000)
    events = np.c_[np.arange(100, 1900, 150), np.zeros(12, int), np.ones(12, int)]
    raw._data[0, events[[2, 5], 0] + 10] = 1e-4  # artefacts in epochs 2 and 5
    raw.save(tmp_path / "long_raw.fif", verbose="error")
    lazy_raw = mne.io.read_raw_fif(tmp_path / "long_raw.fif", preload=False, verbose="error")
    kwargs = dict(tmin=-0.1, tmax=0.3, baseline=None, reject=dict(eeg=5e-5), verbose="error")
    reference = mne.Epochs(lazy_raw, events, preload=True, **kwargs)
    n_good = len(reference)
    assert n_good == 10  # the rejection threshold drops the two epochs with artefacts
    keep = (reference.times >= 0.05) & (reference.times <= 0.15)
    expected = reference.get_data(picks=NAMES)[:, :, keep].mean(axis=2).astype(np.float32)
    lazy = mne.Epochs(lazy_raw, events, preload=False, **kwargs)
    rec = meg.from_mne(lazy, window=(0.05, 0.15))
    assert rec.sizes["presentation"] == n_good
    np.testing.assert_array_equal(rec.values, expected)
