"""No silent wrong answers in the io adapters: non-finite and complex data, and every kind of option
(flags, numbers, names, dtypes, label sequences, choices) refused with an error naming the argument."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from brainalign import data

nib = pytest.importorskip("nibabel")
pytest.importorskip("nilearn")
mne = pytest.importorskip("mne")
from brainalign.io import fmri, ieeg, meg  # noqa: E402

AFFINE = np.diag([3.0, 3.0, 3.0, 1.0])


@pytest.fixture(autouse=True)
def _nilearn_data(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path_factory.mktemp("nilearn_data")))


def _run(tmp_path, arr, name="run_bold.nii.gz"):
    img = nib.Nifti1Image(arr, AFFINE)
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_zooms((3.0, 3.0, 3.0, 2.0))
    nib.save(img, tmp_path / name)
    return tmp_path / name


def _mask(shape, inside):
    m = np.zeros(shape, np.int8)
    m[inside] = 1
    return nib.Nifti1Image(m, AFFINE)


def test_nan_voxels_inside_the_mask_are_refused_with_a_count(tmp_path):
    arr = np.random.default_rng(0).normal(size=(4, 4, 3, 10)).astype(np.float32)
    arr[0, 0, 0, 3] = np.nan
    arr[1, 2, 1, :] = np.inf
    path = _run(tmp_path, arr)
    everywhere = _mask(arr.shape[:3], np.s_[:, :, :])
    with pytest.raises(ValueError, match=r"run_bold\.nii\.gz.*NaN/inf values in 2 of the 48 voxels.*mask=") as err:
        fmri.load_fmri(path, mask=everywhere)
    assert "nan_to_num" in str(err.value)  # says how to fill them when 0 is meant
    # the same voxels outside the mask do no harm, and the kept values are exactly the file's
    away = _mask(arr.shape[:3], np.s_[2:, :, :])
    rec = fmri.load_fmri(path, mask=away)
    assert rec.sizes["neuroid"] == 24 and np.isfinite(rec.values).all()
    ijk = np.stack([rec[f"voxel_{c}"].values for c in "ijk"], axis=1)
    np.testing.assert_array_equal(rec.values, arr[tuple(ijk.T)].T)
    # parcels: a NaN voxel inside a parcel is refused too (the parcel mean would be wrong)
    atlas = np.zeros(arr.shape[:3], np.int16)
    atlas[:2] = 1
    atlas[2:] = 2
    with pytest.raises(ValueError, match="NaN/inf values in 2 of the 48 voxels"):
        fmri.load_fmri(path, atlas=nib.Nifti1Image(atlas, AFFINE), parcellate=True)
    # beta maps too
    betas = [nib.Nifti1Image(np.nan_to_num(arr[..., 0], posinf=0.0), AFFINE), nib.Nifti1Image(arr[..., 3], AFFINE)]
    with pytest.raises(ValueError, match=r"imgs\[1\].*NaN/inf values in 2 of the 48 voxels"):
        fmri.load_fmri(betas, stimulus_id=["a", "b"], mask=everywhere)


def test_complex_images_are_refused(tmp_path):
    arr = (np.ones((3, 3, 2, 5)) + 1j).astype(np.complex64)
    path = _run(tmp_path, arr, "complex_bold.nii.gz")
    with pytest.raises(TypeError, match=r"complex_bold\.nii\.gz.*complex"):
        fmri.load_fmri(path, mask=_mask(arr.shape[:3], np.s_[:, :, :]))


@pytest.mark.parametrize(
    ("option", "value", "error", "match"),
    [
        # flags
        ("detrend", "yes", TypeError, "detrend must be True or False"),
        ("standardize", 1, TypeError, "standardize must be True or False"),
        ("parcellate", None, TypeError, "parcellate must be True or False"),
        # numbers: type, sign, finiteness, band order, Nyquist
        ("smoothing_fwhm", -1, ValueError, "smoothing_fwhm must be > 0"),
        ("smoothing_fwhm", "6mm", TypeError, "smoothing_fwhm must be a number of mm"),
        ("tr", 0.0, ValueError, "tr must be > 0"),
        ("tr", float("nan"), ValueError, "tr must be > 0 seconds and finite"),
        ("tr", True, TypeError, "tr must be a number of seconds"),
        ("high_pass", -0.01, ValueError, "high_pass must be > 0"),
        ("low_pass", 1 + 2j, TypeError, "low_pass must be a number of Hz"),
        # names
        ("subject", 7, TypeError, "subject must be a string"),
        ("region", "", ValueError, "region must be a non-empty string"),
        ("space", 3, TypeError, "space must be a string or None"),
        # dtypes
        ("dtype", np.int16, ValueError, "dtype must be a real floating dtype"),
        ("dtype", np.complex64, ValueError, "dtype must be a real floating dtype"),
        # label sequences
        ("run", "01", TypeError, "run must be a sequence"),
    ],
)
def test_load_fmri_options_are_checked(tmp_path, option, value, error, match):
    arr = np.random.default_rng(1).normal(size=(3, 3, 2, 8)).astype(np.float32)
    path = _run(tmp_path, arr)
    with pytest.raises(error, match=match):
        fmri.load_fmri(path, **{option: value})


def test_load_fmri_band_and_nyquist(tmp_path):
    arr = np.random.default_rng(2).normal(size=(3, 3, 2, 40)).astype(np.float32)
    path = _run(tmp_path, arr)  # TR 2 s in the header: Nyquist 0.25 Hz
    with pytest.raises(ValueError, match=r"high_pass .* must be below low_pass"):
        fmri.load_fmri(path, high_pass=0.1, low_pass=0.05)
    with pytest.raises(ValueError, match=r"low_pass \(0.3 Hz\) must be below the Nyquist frequency .* 0.25 Hz"):
        fmri.load_fmri(path, low_pass=0.3)
    with pytest.raises(TypeError, match="stimulus_id must be a sequence"):
        fmri.load_fmri(path, stimulus_id="abc")


def test_events_and_bids_options_are_checked(tmp_path):
    frame = pd.DataFrame({"onset": [0.0], "duration": [1.0], "trial_type": ["a"]})
    with pytest.raises(TypeError, match="stimulus_column must be a string or None"):
        fmri.load_bids_events(frame, stimulus_column=1)
    with pytest.raises(TypeError, match="subject must be a string"):
        fmri.from_bids(tmp_path, 1, "rest")
    with pytest.raises(TypeError, match="space must be a string or None"):
        fmri.from_bids(tmp_path, "01", "rest", space=["MNI"])
    with pytest.raises(TypeError, match="run must be a run label"):
        fmri.from_bids(tmp_path, "01", "rest", run=1.5)


def test_mne_and_ieeg_options_are_checked(tmp_path):
    raw = mne.io.RawArray(np.zeros((2, 200)), mne.create_info(["a1", "a2"], 100.0, "seeg"), verbose="error")
    with pytest.raises(TypeError, match="subject must be a string"):
        meg.from_mne(raw, subject=None)
    with pytest.raises(ValueError, match="dtype must be a real floating dtype"):
        meg.from_mne(raw, dtype=int)
    with pytest.raises(TypeError, match="modality must be a string or None"):
        meg.from_mne(raw, modality=1)
    missing = tmp_path / "nothing_ieeg.edf"  # options are checked before the file is opened
    with pytest.raises(ValueError, match="Invalid value for coordinate_unit: 'km'"):
        ieeg.load_ieeg(missing, coordinate_unit="km")
    with pytest.raises(ValueError, match="sfreq must be > 0"):
        ieeg.load_ieeg(missing, sfreq=-100)
    with pytest.raises(ValueError, match="Invalid value for reference: 'median'"):
        ieeg.load_ieeg(missing, reference="median")
    with pytest.raises(ValueError, match="band must satisfy 0 < low < high"):
        ieeg.load_ieeg(missing, band=(150, 70))
    with pytest.raises(TypeError, match="region_column must be a string or None"):
        ieeg.load_ieeg(missing, region_column=2)
    rec = data.recording(np.zeros((400, 1)), sfreq=1000.0, subject="S1", region="STG")
    with pytest.raises(ValueError, match="sfreq must be > 0"):
        ieeg.high_gamma(rec, sfreq=0)
    with pytest.raises(TypeError, match="sfreq must be a number of Hz"):
        ieeg.high_gamma(rec, sfreq="100")
