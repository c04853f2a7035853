"""iEEG adapters: an EDF written with MNE plus BIDS sidecars, re-referencing, high-gamma, real data."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from brainalign import data

mne = pytest.importorskip("mne")
ieeg = pytest.importorskip("brainalign.io.ieeg")

SFREQ = 1000.0
CHANNELS = ["LA1", "LA2", "LA3", "LB1", "LB2", "EKG"]
XYZ_MM = {
    "LA1": (-30.0, 10.0, 5.0),
    "LA2": (-34.0, 10.0, 5.0),
    "LA3": (-38.0, 10.0, 5.0),
    "LB1": (20.0, -40.0, 0.0),
    "LB2": (24.0, -40.0, 0.0),
}
ANAT = {"LA1": "amygdala", "LA2": "amygdala", "LA3": "hippocampus", "LB1": "fusiform", "LB2": "fusiform"}


def _write_bids(tmp_path, n_times=4000, seed=0):
    pytest.importorskip("edfio")
    rng = np.random.default_rng(seed)
    values = rng.normal(scale=20e-6, size=(len(CHANNELS), n_times))
    info = mne.create_info(CHANNELS, SFREQ, "eeg")
    raw = mne.io.RawArray(values, info, verbose="error")
    folder = tmp_path / "sub-01" / "ieeg"
    folder.mkdir(parents=True)
    path = folder / "sub-01_task-rest_ieeg.edf"
    mne.export.export_raw(path, raw, verbose="error")
    pd.DataFrame(
        {"name": CHANNELS, "type": ["SEEG"] * 5 + ["ECG"], "units": "V", "status": ["good"] * 4 + ["bad", "good"]}
    ).to_csv(folder / "sub-01_task-rest_channels.tsv", sep="\t", index=False)
    el = pd.DataFrame({"name": list(XYZ_MM), **{c: [XYZ_MM[n][i] for n in XYZ_MM] for i, c in enumerate("xyz")}})
    el["anat"] = [ANAT[n] for n in XYZ_MM]
    el.to_csv(folder / "sub-01_space-MNI152NLin2009aSym_electrodes.tsv", sep="\t", index=False)
    (folder / "sub-01_space-MNI152NLin2009aSym_coordsystem.json").write_text(
        json.dumps({"iEEGCoordinateSystem": "MNI152NLin2009aSym", "iEEGCoordinateUnits": "mm"})
    )
    return path, mne.io.read_raw_edf(path, preload=True, verbose="error").get_data()


def test_edf_with_bids_sidecars_roundtrip(tmp_path):
    path, stored = _write_bids(tmp_path)
    rec = ieeg.load_ieeg(path, subject="sub-01")
    assert data.validate(rec) == "continuous"
    # channels.tsv: types and the bad LB2 applied; ECG left out of the iEEG picks
    assert rec["channel"].values.tolist() == ["LA1", "LA2", "LA3", "LB1"]
    assert set(rec["channel_type"].values) == {"seeg"}
    np.testing.assert_allclose(rec.values, stored[:4].T, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(
        np.c_[rec["x"], rec["y"], rec["z"]], [XYZ_MM[n] for n in rec["channel"].values], atol=1e-6
    )
    assert rec["region"].values.tolist() == ["amygdala", "amygdala", "hippocampus", "fusiform"]
    assert rec["hemisphere"].values.tolist() == ["left", "left", "left", "right"]
    assert rec.attrs["space"] == "mni_tal" and rec.attrs["modality"] == "ieeg"


def test_bipolar_and_average_reference(tmp_path):
    path, stored = _write_bids(tmp_path)
    bip = ieeg.load_ieeg(path, reference="bipolar")
    assert bip["channel"].values.tolist() == ["LA1-LA2", "LA2-LA3"]  # LB2 is bad, so LB has no pair
    np.testing.assert_allclose(bip.values[:, 0], stored[0] - stored[1], rtol=1e-5, atol=1e-11)
    np.testing.assert_allclose(float(bip["x"][0]), -32.0, atol=1e-6)  # midpoint of the contacts
    assert bip["region"].values.tolist() == ["amygdala", "amygdala/hippocampus"]
    assert bip.attrs["reference"] == "bipolar"
    pairs = ieeg.load_ieeg(path, reference=[("LA1", "LB1")])
    np.testing.assert_allclose(
        pairs.sel(neuroid=pairs.channel == "LA1-LB1").values[:, 0], stored[0] - stored[3], rtol=1e-5, atol=1e-11
    )
    avg = ieeg.load_ieeg(path, reference="average")
    good = stored[:4]
    np.testing.assert_allclose(avg.values, (good - good.mean(axis=0)).T, rtol=1e-5, atol=1e-11)
    with pytest.raises(ValueError, match="two channels"):
        ieeg.load_ieeg(path, reference=[("LA1", "ZZ9")])


def test_atlas_lookup_of_electrode_coordinates(tmp_path):
    nib = pytest.importorskip("nibabel")
    path, _ = _write_bids(tmp_path)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    affine[:3, 3] = [-60.0, -60.0, -30.0]
    atlas = np.zeros((60, 60, 30), np.int16)
    atlas[:30] = 1  # x < 0 mm
    atlas[30:] = 2
    atlas_path = tmp_path / "atlas.nii.gz"
    nib.save(nib.Nifti1Image(atlas, affine), atlas_path)
    rec = ieeg.load_ieeg(path, atlas=atlas_path, labels={1: "left-hemisphere", 2: "right-hemisphere"})
    assert rec["region"].values.tolist() == ["left-hemisphere"] * 3 + ["right-hemisphere"]
    with pytest.raises(ValueError, match=r"label value\(s\) \[2\]"):
        ieeg.load_ieeg(path, atlas=atlas_path, labels={1: "left"})
    with pytest.raises(ValueError, match=r"no position.*LA1"):
        ieeg.load_ieeg(path, electrodes=None, atlas=atlas_path, labels={1: "l", 2: "r"})


def test_high_gamma_recovers_planted_envelope():
    t = np.arange(8000) / SFREQ
    envelope = 1.0 + 0.5 * np.sin(2 * np.pi * 1.0 * t)
    x = envelope * np.sin(2 * np.pi * 110 * t) + 3.0 * np.sin(2 * np.pi * 10 * t)  # strong low-frequency signal
    rec = data.recording(x[:, None], sfreq=SFREQ, subject="S1", region="STG")
    env = ieeg.high_gamma(rec)
    mid = slice(1000, 7000)
    assert np.corrcoef(env.values[mid, 0], envelope[mid])[0, 1] > 0.99
    np.testing.assert_allclose(env.values[mid, 0], envelope[mid], rtol=0.05)
    # same numbers as MNE's own filter + Hilbert on a Raw
    raw = mne.io.RawArray(x[None], mne.create_info(["c"], SFREQ, "seeg"), verbose="error")
    ref = ieeg.high_gamma(raw).get_data()[0]
    np.testing.assert_allclose(env.values[mid, 0], ref[mid], rtol=1e-3, atol=1e-3)
    down = ieeg.high_gamma(rec, sfreq=100.0)
    assert down.attrs["sfreq"] == 100.0 and down.sizes["time"] == 800
    np.testing.assert_allclose(down.values[100:700, 0], envelope[1000:7000:10], rtol=0.06)
    with pytest.raises(ValueError, match="Nyquist"):
        ieeg.high_gamma(data.recording(x[:500, None], sfreq=200.0, subject="S1", region="STG"))
    with pytest.raises(ValueError, match="continuous or time-resolved"):
        ieeg.high_gamma(data.recording(np.ones((2, 1)), stimulus_id=["a", "b"], subject="S", region="r"))


def test_load_with_band_and_downsampling(tmp_path):
    path, _ = _write_bids(tmp_path)
    rec = ieeg.load_ieeg(path, band=(70, 150), sfreq=250.0)
    assert rec.attrs["sfreq"] == 250.0 and rec.attrs["band"] == [70.0, 150.0]
    assert rec.sizes["time"] == 1000 and (rec.values >= 0).all()


@pytest.mark.shared_data
def test_real_gripforce_ieeg(shared_data):
    folder = shared_data / "ieeg_gripforce" / "sub-testsub" / "ses-EphysMedOff" / "ieeg"
    path = folder / "sub-testsub_ses-EphysMedOff_task-gripforce_run-0_ieeg.vhdr"
    rec = ieeg.load_ieeg(path, subject="testsub")
    assert data.validate(rec) == "continuous"
    assert rec.sizes == {"time": 19001, "neuroid": 9} and rec.attrs["sfreq"] == 1000.0
    table = pd.read_csv(folder / "sub-testsub_ses-EphysMedOff_space-mni_electrodes.tsv", sep="\t", index_col="name")
    expected = table.loc[rec["channel"].values, ["x", "y", "z"]].to_numpy(float) * 1000  # metres → mm
    np.testing.assert_allclose(np.c_[rec["x"], rec["y"], rec["z"]], expected, atol=1e-6)
    assert set(rec["channel_type"].values) == {"ecog", "dbs"} and set(rec["hemisphere"].values) == {"right"}
    raw = mne.io.read_raw_brainvision(path, preload=True, verbose="error")
    np.testing.assert_allclose(
        rec.sel(neuroid=rec.channel == "ECOG_RIGHT_0").values[:, 0], raw.get_data(picks=["ECOG_RIGHT_0"])[0], rtol=1e-6
    )
    hg = ieeg.load_ieeg(path, reference="bipolar", band=(70, 150), sfreq=100.0)
    assert data.validate(hg) == "continuous"
    assert hg.sizes["neuroid"] == 7 and hg.attrs["sfreq"] == 100.0


def test_high_gamma_on_epochs_recording():
    meg = pytest.importorskip("brainalign.io.meg")
    t = np.arange(-0.5, 1.5, 1 / SFREQ)
    amp = np.where(t > 0, 2.0, 1.0)
    x = np.stack([amp * np.sin(2 * np.pi * 100 * t)] * 3)[:, None, :]  # 3 epochs, 1 channel
    epochs = mne.EpochsArray(x, mne.create_info(["c"], SFREQ, "ecog"), tmin=-0.5, verbose="error")
    rec = meg.from_mne(epochs, stimulus_id=["a", "b", "c"])
    env = ieeg.high_gamma(rec, sfreq=200.0)
    assert data.validate(env) == "time_resolved" and env.attrs["sfreq"] == 200.0
    assert env.sizes["latency"] == 400 and env["latency"].values[0] == pytest.approx(-0.5)
    late = env.sel(latency=slice(0.3, 1.2)).values
    early = env.sel(latency=slice(-0.4, -0.1)).values
    np.testing.assert_allclose(late, 2.0, rtol=0.05)
    np.testing.assert_allclose(early, 1.0, rtol=0.05)


def test_explicit_region_mapping_follows_bipolar_pairs(tmp_path):
    path, _ = _write_bids(tmp_path)
    mapping = {"LA1": "A", "LA2": "A", "LA3": "B", "LB1": "C"}
    rec = ieeg.load_ieeg(path, region=mapping)
    assert rec["region"].values.tolist() == ["A", "A", "B", "C"]
    assert ieeg.load_ieeg(path, region=mapping, reference="bipolar")["region"].values.tolist() == ["A", "A/B"]
    with pytest.raises(ValueError, match=r"no region for 1 channel.*LB1"):
        ieeg.load_ieeg(path, region={"LA1": "A", "LA2": "A", "LA3": "B"})


def test_high_gamma_downsampling_keeps_each_runs_start_time():
    t = np.arange(3000) / SFREQ
    x = (1.0 + 0.5 * np.sin(2 * np.pi * t)) * np.sin(2 * np.pi * 110 * t)
    starts = {"a": 5.0, "b": 120.25}
    rec = data.recording(
        np.r_[x, x][:, None],
        time=np.r_[starts["a"] + t, starts["b"] + t],
        run=["a"] * 3000 + ["b"] * 3000,
        sfreq=SFREQ,
        subject="S1",
        region="STG",
    )
    down = ieeg.high_gamma(rec, sfreq=100.0)
    assert down.attrs["sfreq"] == 100.0 and down.sizes["time"] == 600
    for run, start in starts.items():
        times = down["time"].values[down["run"].values == run]
        np.testing.assert_allclose(times, start + np.arange(300) / 100.0, rtol=0, atol=1e-9)
    # the same envelope in both runs, at the same times from each run's start
    np.testing.assert_allclose(down.values[:300], down.values[300:], rtol=1e-6, atol=1e-9)
    a, _ = data.align(
        data.activations({"f": np.ones((2, 1))}, time=[6.0, 121.0], run=["a", "b"]), down, resample="average"
    )
    assert a.sizes["time"] == 600  # events at the runs' own clock pair with the envelope


def test_channels_are_picked_before_data_are_read(tmp_path, monkeypatch):
    path, stored = _write_bids(tmp_path)
    seen = []
    from brainalign.io.ieeg import _load as ieeg_load

    real = ieeg_load.from_mne
    monkeypatch.setattr(ieeg_load, "from_mne", lambda inst, **kw: seen.append(inst) or real(inst, **kw))
    rec = ieeg.load_ieeg(path)
    inst = seen[-1]
    assert "EKG" not in inst.ch_names and not inst.preload  # never loaded: from_mne reads the picked channels
    np.testing.assert_allclose(rec.values, stored[:4].T, rtol=1e-6, atol=1e-12)
    # re-referencing works in memory, on the iEEG contacts only
    avg = ieeg.load_ieeg(path, reference="average", picks=["LA1", "LA2"])
    assert "EKG" not in seen[-1].ch_names
    good = stored[:4]
    # the average is still over every good contact, not only the picked ones
    np.testing.assert_allclose(avg.values, (good - good.mean(axis=0))[:2].T, rtol=1e-5, atol=1e-11)
    # integer picks keep meaning the file's channel indices
    by_index = ieeg.load_ieeg(path, picks=[0, 3])
    assert by_index["channel"].values.tolist() == ["LA1", "LB1"]


def test_coordsystem_inherited_from_the_subject_folder(tmp_path):
    path, _ = _write_bids(tmp_path)
    folder = path.parent
    side = folder / "sub-01_space-MNI152NLin2009aSym_coordsystem.json"
    side.rename(tmp_path / "sub-01" / side.name)  # BIDS inheritance: one level up still applies
    rec = ieeg.load_ieeg(path)
    np.testing.assert_allclose(
        np.c_[rec["x"], rec["y"], rec["z"]], [XYZ_MM[n] for n in rec["channel"].values], atol=1e-6
    )
    # a coordsystem of another space does not apply
    (tmp_path / "sub-01" / side.name).rename(tmp_path / "sub-01" / "sub-01_space-T1w_coordsystem.json")
    far = ieeg.load_ieeg(path)
    np.testing.assert_allclose(far["x"].values, [XYZ_MM[n][0] * 1000 for n in far["channel"].values], atol=1e-3)
