"""fMRI adapters: NIfTI/GIfTI written with nibabel, loaded back, checked voxel by voxel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from brainalign import data

nib = pytest.importorskip("nibabel")
pytest.importorskip("nilearn")
fmri = pytest.importorskip("brainalign.io.fmri")
from brainalign.io.fmri._common import label_means  # noqa: E402
from brainalign.io.fmri._source import surface_file_shape  # noqa: E402

SHAPE = (6, 5, 4)
AFFINE = np.array([[3.0, 0, 0, -9.0], [0, 3.0, 0, -12.0], [0, 0, 3.5, 4.0], [0, 0, 0, 1]])
TR = 2.0
LABELS = {0: "Background", 1: "V1", 2: "IT"}


@pytest.fixture(autouse=True)
def _nilearn_data(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path_factory.mktemp("nilearn_data")))


def _atlas() -> np.ndarray:
    atlas = np.zeros(SHAPE, np.int16)
    atlas[:3, :, 1:] = 1
    atlas[3:, :, 1:] = 2
    return atlas


def _write_runs(tmp_path, n_runs=2, n_t=30, seed=0):
    rng = np.random.default_rng(seed)
    paths, arrays = [], []
    for r in range(n_runs):
        arr = rng.normal(size=(*SHAPE, n_t)).astype(np.float32)
        arr[2, 3, 1] = np.sin(np.arange(n_t) / 3.0 + r).astype(np.float32) * 10  # planted signal
        img = nib.Nifti1Image(arr, AFFINE)
        img.header.set_xyzt_units("mm", "sec")
        img.header.set_zooms((3.0, 3.0, 3.5, TR))
        path = tmp_path / f"run{r}_bold.nii.gz"
        nib.save(img, path)
        paths.append(path)
        arrays.append(arr)
    atlas_path = tmp_path / "atlas.nii.gz"
    nib.save(nib.Nifti1Image(_atlas(), AFFINE), atlas_path)
    return paths, arrays, atlas_path


def test_voxelwise_roundtrip_values_coordinates_regions(tmp_path):
    paths, arrays, atlas = _write_runs(tmp_path)
    rec = fmri.load_fmri(paths, atlas=atlas, labels=LABELS, subject="sub-07")
    assert data.validate(rec) == "continuous"
    keep = _atlas() != 0
    assert rec.sizes == {"time": 60, "neuroid": int(keep.sum())}
    assert rec.attrs["tr"] == TR and rec.attrs["coordinate_unit"] == "mm"
    np.testing.assert_array_equal(rec["time"].values, np.tile(np.arange(30) * TR, 2))
    np.testing.assert_array_equal(rec["run"].values, np.repeat([0, 1], 30))
    ijk = np.stack([rec["voxel_i"].values, rec["voxel_j"].values, rec["voxel_k"].values], axis=1)
    # every neuroid holds exactly what was written at its voxel, run after run
    expected = np.concatenate([a[tuple(ijk.T)].T for a in arrays])
    np.testing.assert_array_equal(rec.values, expected)
    n = int(np.flatnonzero((ijk == [2, 3, 1]).all(axis=1))[0])
    np.testing.assert_allclose(rec.values[:30, n], np.sin(np.arange(30) / 3.0) * 10, rtol=1e-6)
    # coordinates in mm through the affine, regions through the label table
    xyz = np.c_[ijk, np.ones(len(ijk))] @ AFFINE.T
    np.testing.assert_allclose(np.c_[rec["x"], rec["y"], rec["z"]], xyz[:, :3])
    assert rec["region"].values[n] == "V1"
    np.testing.assert_array_equal(rec["region"].values == "IT", ijk[:, 0] >= 3)
    assert set(rec["subject"].values) == {"sub-07"}


def test_parcel_average_matches_numpy_mean(tmp_path):
    paths, arrays, atlas = _write_runs(tmp_path, n_runs=1)
    rec = fmri.load_fmri(paths[0], atlas=atlas, labels=LABELS, parcellate=True)
    assert rec["region"].values.tolist() == ["V1", "IT"]
    for value, region in ((1, "V1"), (2, "IT")):
        sel = _atlas() == value
        got = rec.isel(neuroid=np.flatnonzero(rec["region"].values == region)).values[:, 0]
        np.testing.assert_allclose(got, arrays[0][sel].mean(axis=0), rtol=1e-5, atol=1e-6)
        centroid = (np.c_[np.argwhere(sel), np.ones(sel.sum())] @ AFFINE.T)[:, :3].mean(axis=0)
        parcel = rec.isel(neuroid=np.flatnonzero(rec["region"].values == region))
        np.testing.assert_allclose([float(parcel[c][0]) for c in "xyz"], centroid)


def test_cleaning_is_per_run_and_matches_scipy(tmp_path):
    from scipy import signal, stats

    paths, arrays, atlas = _write_runs(tmp_path)
    rec = fmri.load_fmri(paths, atlas=atlas, detrend=True, standardize=True)
    ijk = np.stack([rec[f"voxel_{c}"].values for c in "ijk"], axis=1)
    for r, arr in enumerate(arrays):
        raw = arr[tuple(ijk.T)].T.astype(np.float64)
        ref = stats.zscore(signal.detrend(raw, axis=0), axis=0, ddof=1)
        np.testing.assert_allclose(rec.values[r * 30 : (r + 1) * 30], ref, rtol=1e-4, atol=1e-4)


def test_confound_regression_matches_least_squares(tmp_path):
    paths, arrays, atlas = _write_runs(tmp_path, n_runs=1)
    conf = np.random.default_rng(1).normal(size=(30, 2))
    rec = fmri.load_fmri(paths[0], atlas=atlas, confounds=pd.DataFrame(conf, columns=["a", "b"]))
    ijk = np.stack([rec[f"voxel_{c}"].values for c in "ijk"], axis=1)
    y = arrays[0][tuple(ijk.T)].T.astype(np.float64)
    X = conf - conf.mean(axis=0)
    ref = y - X @ np.linalg.lstsq(X, y, rcond=None)[0]
    np.testing.assert_allclose(rec.values, ref, rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match="30 volumes"):
        fmri.load_fmri(paths[0], atlas=atlas, confounds=conf[:20])


def test_beta_maps_become_condition_recording(tmp_path):
    rng = np.random.default_rng(2)
    maps = [rng.normal(size=SHAPE).astype(np.float32) for _ in range(3)]
    paths = []
    for i, m in enumerate(maps):
        paths.append(tmp_path / f"beta{i}.nii.gz")
        nib.save(nib.Nifti1Image(m, AFFINE), paths[-1])
    mask = nib.Nifti1Image((_atlas() > 0).astype(np.int8), AFFINE)
    rec = fmri.load_fmri(paths, stimulus_id=["cat", "dog", "car"], mask=mask)
    assert data.validate(rec) == "condition"
    ijk = np.stack([rec[f"voxel_{c}"].values for c in "ijk"], axis=1)
    np.testing.assert_array_equal(
        rec.isel(presentation=np.flatnonzero(rec.stimulus_id.values == "dog")).values[0], maps[1][tuple(ijk.T)]
    )
    with pytest.raises(ValueError, match="one id per map"):
        fmri.load_fmri(paths, stimulus_id=["cat", "dog"])
    with pytest.raises(ValueError, match="beta/contrast maps"):
        fmri.load_fmri(paths, stimulus_id=["a", "b", "c"], detrend=True)


def test_events_kept_and_events_outside_run_rejected(tmp_path):
    paths, _, atlas = _write_runs(tmp_path)
    ev0 = pd.DataFrame({"onset": [0.0, 10.0], "duration": [1.0, 1.0], "trial_type": ["a", "b"]})
    ev1 = tmp_path / "run1_events.tsv"
    pd.DataFrame({"onset": [4.0], "duration": ["n/a"], "trial_type": ["c"]}).to_csv(ev1, sep="\t", index=False)
    rec = fmri.load_fmri(paths, atlas=atlas, events=[ev0, ev1])
    events = pd.DataFrame(rec.attrs["events"])
    assert events[["onset", "stimulus_id", "run"]].values.tolist() == [[0.0, "a", 0], [10.0, "b", 0], [4.0, "c", 1]]
    bad = tmp_path / "late_events.tsv"
    pd.DataFrame({"onset": [65.0], "duration": [1.0], "trial_type": ["x"]}).to_csv(bad, sep="\t", index=False)
    with pytest.raises(ValueError, match=r"late_events\.tsv.*outside run 1"):
        fmri.load_fmri(paths, atlas=atlas, events=[ev0, bad])


def test_bad_inputs_name_the_file(tmp_path):
    paths, _, atlas = _write_runs(tmp_path)
    shifted = tmp_path / "shifted_atlas.nii.gz"
    aff = AFFINE.copy()
    aff[0, 3] += 1.5
    nib.save(nib.Nifti1Image(_atlas(), aff), shifted)
    with pytest.raises(ValueError, match=r"shifted_atlas\.nii\.gz.*not on the grid.*resample_to_img"):
        fmri.load_fmri(paths, atlas=shifted)
    other = tmp_path / "other_grid_bold.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((5, 5, 4, 30), np.float32), AFFINE), other)
    with pytest.raises(ValueError, match=r"Run 1 \(.*other_grid_bold\.nii\.gz.*different voxel grid"):
        fmri.load_fmri([paths[0], other], tr=TR)
    with pytest.raises(ValueError, match=r"label value\(s\) \[2\].*label table"):
        fmri.load_fmri(paths, atlas=atlas, labels={0: "bg", 1: "V1"})
    junk = tmp_path / "junk_bold.nii.gz"
    junk.write_bytes(b"this is not an image")
    with pytest.raises(ValueError, match=r"junk_bold\.nii\.gz"):
        fmri.load_fmri(junk, tr=TR)
    with pytest.raises(FileNotFoundError, match="missing_bold"):
        fmri.load_fmri(tmp_path / "missing_bold.nii.gz")
    no_tr = tmp_path / "no_tr_bold.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((*SHAPE, 5), np.float32), AFFINE), no_tr)
    with pytest.raises(ValueError, match="tr="):
        fmri.load_fmri(no_tr)
    prob = tmp_path / "prob_atlas.nii.gz"
    nib.save(nib.Nifti1Image(np.full(SHAPE, 0.3, np.float32), AFFINE), prob)
    with pytest.raises(ValueError, match="probabilistic"):
        fmri.load_fmri(paths, atlas=prob)


def test_label_tables_in_every_form(tmp_path):
    paths, _, atlas = _write_runs(tmp_path, n_runs=1)
    tsv = tmp_path / "atlas_dseg.tsv"
    pd.DataFrame({"index": [1, 2], "name": ["V1", "IT"]}).to_csv(tsv, sep="\t", index=False)
    txt = tmp_path / "names.txt"
    txt.write_text("Background\nV1\nIT\n")
    results = [
        fmri.load_fmri(paths[0], atlas=atlas, labels=lab, parcellate=True)["region"].values.tolist()
        for lab in (LABELS, ["Background", "V1", "IT"], tsv, txt)
    ]
    assert all(r == ["V1", "IT"] for r in results)


def test_load_bids_events_and_from_bids(tmp_path):
    root = tmp_path / "bids"
    func = root / "sub-01" / "func"
    func.mkdir(parents=True)
    rng = np.random.default_rng(3)
    for run in (1, 2):
        img = nib.Nifti1Image(rng.normal(size=(*SHAPE, 20)).astype(np.float32), AFFINE)
        nib.save(img, func / f"sub-01_task-listen_run-{run}_bold.nii.gz")  # no TR in the header...
        pd.DataFrame(
            {
                "onset": [3.0 * run, 1.0],
                "duration": [1, "n/a"],
                "trial_type": ["word", "pause"],
                "stim_file": ["w.wav", "p.wav"],
            }
        ).to_csv(func / f"sub-01_task-listen_run-{run}_events.tsv", sep="\t", index=False, na_rep="n/a")
    (root / "task-listen_bold.json").write_text('{"RepetitionTime": 1.5}')  # ...but in the sidecar
    ev = fmri.load_bids_events(func / "sub-01_task-listen_run-2_events.tsv")
    assert ev["onset"].tolist() == [1.0, 6.0] and ev["duration"].tolist() == [0.0, 1.0]
    assert ev["stimulus_id"].tolist() == ["p.wav", "w.wav"]  # stim_file preferred over trial_type
    assert fmri.load_bids_events(ev, stimulus_column="trial_type")["stimulus_id"].tolist() == ["pause", "word"]
    mask = nib.Nifti1Image((_atlas() > 0).astype(np.int8), AFFINE)
    rec = fmri.from_bids(root, "sub-01", "listen", mask=mask)
    assert data.validate(rec) == "continuous" and rec.attrs["tr"] == 1.5
    assert rec["run"].values.tolist() == ["1"] * 20 + ["2"] * 20
    events = pd.DataFrame(rec.attrs["events"])
    assert events["run"].tolist() == ["1", "1", "2", "2"]
    one = fmri.from_bids(root, "01", "listen", run=2, mask=mask)
    assert set(one["run"].values) == {"2"}
    with pytest.raises(FileNotFoundError, match="No run of subject '01', task 'speak'"):
        fmri.from_bids(root, "01", "speak", mask=mask)
    (func / "bad_events.tsv").write_text("start\tduration\n1\t2\n")
    with pytest.raises(ValueError, match=r"bad_events\.tsv.*'onset'"):
        fmri.load_bids_events(func / "bad_events.tsv")


def test_from_bids_derivatives_with_fmriprep_confounds(tmp_path):
    root = tmp_path / "bids"
    (root / "sub-02" / "func").mkdir(parents=True)
    deriv = tmp_path / "fmriprep" / "sub-02" / "func"
    deriv.mkdir(parents=True)
    rng = np.random.default_rng(4)
    arr = rng.normal(size=(*SHAPE, 25)).astype(np.float32)
    for space in ("MNI152NLin2009cAsym", "T1w"):
        img = nib.Nifti1Image(arr, AFFINE)
        img.header.set_xyzt_units("mm", "sec")
        img.header.set_zooms((3.0, 3.0, 3.5, 2.0))
        nib.save(img, deriv / f"sub-02_task-rest_space-{space}_desc-preproc_bold.nii.gz")
    conf = pd.DataFrame({"trans_x": rng.normal(size=25), "framewise_displacement": [np.nan, *rng.normal(size=24)]})
    conf.to_csv(deriv / "sub-02_task-rest_desc-confounds_timeseries.tsv", sep="\t", index=False, na_rep="n/a")
    mask = nib.Nifti1Image((_atlas() > 0).astype(np.int8), AFFINE)
    with pytest.raises(ValueError, match="Several files match"):
        fmri.from_bids(root, "02", "rest", derivatives=tmp_path / "fmriprep", mask=mask)
    rec = fmri.from_bids(
        root,
        "02",
        "rest",
        derivatives=tmp_path / "fmriprep",
        space="MNI152NLin2009cAsym",
        confounds=["trans_x", "framewise_displacement"],
        mask=mask,
    )
    assert rec.attrs["space"] == "MNI152NLin2009cAsym" and rec.attrs["confounds_regressed"]
    assert rec.sizes["time"] == 25 and "events" not in rec.attrs


def test_surface_gifti_vertices_and_hemispheres(tmp_path):
    from nilearn import datasets

    mesh = datasets.load_fsaverage("fsaverage5")["pial"]
    n = mesh.parts["left"].n_vertices
    rng = np.random.default_rng(5)
    values = {h: rng.normal(size=(n, 6)).astype(np.float32) for h in ("left", "right")}
    values["left"][123] = np.arange(6, dtype=np.float32)  # planted
    files = {}
    for h, v in values.items():
        img = nib.gifti.GiftiImage(darrays=[nib.gifti.GiftiDataArray(v[:, t]) for t in range(v.shape[1])])
        files[h] = tmp_path / f"sub-01_hemi-{h[0].upper()}_bold.func.gii"
        nib.save(img, files[h])
    rec = fmri.load_fmri(files, mesh="fsaverage5", tr=1.0)
    assert data.validate(rec) == "continuous" and rec.attrs["space"] == "fsaverage5"
    assert rec.sizes == {"time": 6, "neuroid": 2 * n}
    np.testing.assert_array_equal(rec.values, np.concatenate([values["left"], values["right"]]).T)
    left = rec.isel(neuroid=123)
    assert left["hemisphere"].item() == "left" and int(left["vertex"]) == 123
    np.testing.assert_allclose([float(left[c]) for c in "xyz"], mesh.parts["left"].coordinates[123])
    assert rec.isel(neuroid=n)["hemisphere"].item() == "right"
    labels_l = (np.arange(n) % 2 + 1).astype(np.int32)
    atlas = {"left": labels_l, "right": labels_l}
    parc = fmri.load_fmri(files, mesh="fsaverage5", tr=1.0, atlas=atlas, labels={1: "odd", 2: "even"}, parcellate=True)
    assert sorted(parc["region"].values.tolist()) == ["even", "odd"]
    odd = parc.isel(neuroid=np.flatnonzero(parc.region.values == "odd")).values[:, 0]
    ref = np.concatenate([values["left"][labels_l == 1], values["right"][labels_l == 1]]).mean(axis=0)
    np.testing.assert_allclose(odd, ref, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="mesh"):
        fmri.load_fmri(files, tr=1.0)


@pytest.mark.shared_data
def test_real_haxby_runs_match_nilearn_clean(shared_data):
    from nilearn import image, signal

    folder = shared_data / "haxby2001_slice"
    bold = nib.load(folder / "bold.nii.gz")
    labels = pd.read_csv(folder / "attributes_literal.txt", sep=" ", header=None, names=["label", "run"])
    runs = [image.index_img(bold, np.flatnonzero(labels["run"] == r)) for r in range(3)]
    rec = fmri.load_fmri(runs, mask=folder / "mask.nii.gz", detrend=True, standardize=True, subject="haxby-1")
    assert data.validate(rec) == "continuous" and rec.attrs["tr"] == pytest.approx(2.5)
    mask = np.asanyarray(nib.load(folder / "mask.nii.gz").dataobj) != 0
    n_t = int((labels["run"] < 3).sum())
    raw = bold.get_fdata()[mask][:, :n_t].T
    ref = signal.clean(
        raw, runs=labels["run"].to_numpy()[:n_t], detrend=True, standardize="zscore_sample", t_r=2.5, filter=False
    )
    np.testing.assert_allclose(rec.values, ref, rtol=1e-3, atol=1e-3)
    # block events built from the real labels ride along
    ev = []
    for r in range(3):
        lab = labels[labels["run"] == r]["label"].to_numpy()
        starts = np.flatnonzero((lab != "rest") & np.r_[True, lab[1:] != lab[:-1]])
        ev.append(pd.DataFrame({"onset": starts * 2.5, "duration": 2.5 * 9, "trial_type": lab[starts]}))
    rec = fmri.load_fmri(runs, mask=folder / "mask.nii.gz", events=ev)
    assert set(pd.DataFrame(rec.attrs["events"])["stimulus_id"]) == {
        "face",
        "house",
        "cat",
        "bottle",
        "scissors",
        "shoe",
        "chair",
        "scrambledpix",
    }


@pytest.mark.shared_data
def test_real_fsaverage5_resting_state(shared_data):
    folder = shared_data / "rest_fsaverage5"
    stem = folder / "sub-010188_ses-02_task-rest_acq-AP_run-01"
    files = {"left": f"{stem}.fsa5.lh.mgz", "right": f"{stem}.fsa5.rh.mgz"}
    conf = np.loadtxt(f"{stem}_confounds.txt")[:, :6]
    rec = fmri.load_fmri(files, mesh="fsaverage5", tr=0.645, confounds=conf, standardize=True)
    assert data.validate(rec) == "continuous"
    assert rec.sizes == {"time": 652, "neuroid": 20484}
    assert set(rec["hemisphere"].values) == {"left", "right"}
    lh = np.asarray(nib.load(files["left"]).dataobj).reshape(10242, -1)
    assert lh.shape[1] == 652


# ------------------------------------------------------------------ BIDS: runs, confounds, sidecars
def _save_bold(path, arr, tr=None):
    img = nib.Nifti1Image(arr.astype(np.float32), AFFINE)
    if tr is not None:
        img.header.set_xyzt_units("mm", "sec")
        img.header.set_zooms((3.0, 3.0, 3.5, tr))
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(img, path)


def test_fmriprep_confounds_are_those_of_the_run_with_every_entity(tmp_path):
    """Runs 1, 10 and 19 side by side (a prefix glob for run-1 also finds run-10 and run-19),
    with a dir entity fMRIPrep keeps in the confounds' name."""
    root = tmp_path / "bids"
    root.mkdir()
    deriv = tmp_path / "fmriprep" / "sub-03" / "func"
    rng = np.random.default_rng(10)
    n_t, truth = 40, {}
    mask = nib.Nifti1Image((_atlas() > 0).astype(np.int8), AFFINE)
    for run in (1, 10, 19):
        conf = rng.normal(size=(n_t, 2))
        truth[run] = conf
        # every voxel is its run's confounds (scaled) plus small noise: regressing out the right
        # confounds leaves only the noise, those of another run leave the signal
        arr = (conf @ rng.normal(size=(2, int(np.prod(SHAPE)))) * 10).T.reshape(*SHAPE, n_t)
        arr = arr + rng.normal(scale=0.01, size=arr.shape)
        _save_bold(deriv / f"sub-03_task-rest_dir-AP_run-{run}_space-MNI_desc-preproc_bold.nii.gz", arr, tr=2.0)
        pd.DataFrame(conf, columns=["trans_x", "rot_z"]).to_csv(
            deriv / f"sub-03_task-rest_dir-AP_run-{run}_desc-confounds_timeseries.tsv", sep="\t", index=False
        )
    # a decoy of the other phase-encoding direction, same run number
    pd.DataFrame(rng.normal(size=(n_t, 2)), columns=["trans_x", "rot_z"]).to_csv(
        deriv / "sub-03_task-rest_dir-PA_run-1_desc-confounds_timeseries.tsv", sep="\t", index=False
    )
    rec = fmri.from_bids(
        root, "03", "rest", derivatives=tmp_path / "fmriprep", confounds=["trans_x", "rot_z"], mask=mask
    )
    assert rec["run"].values.tolist() == ["1"] * n_t + ["10"] * n_t + ["19"] * n_t
    for run in ("1", "10", "19"):
        residual = rec.sel(time=rec["run"] == run).values
        assert residual.std(axis=0).max() < 0.05, run  # the run's own confounds were regressed out
    # no confounds file of exactly the run: a clear error, not another run's file
    (deriv / "sub-03_task-rest_dir-AP_run-1_desc-confounds_timeseries.tsv").unlink()
    with pytest.raises(FileNotFoundError, match=r"sub-03_task-rest_dir-AP_run-1_desc-confounds_timeseries\.tsv"):
        fmri.from_bids(root, "03", "rest", run=1, derivatives=tmp_path / "fmriprep", confounds=["trans_x"], mask=mask)
    # two files for one run (fMRIPrep's old and new names): ambiguous
    for suffix in ("timeseries", "regressors"):
        pd.DataFrame(truth[10], columns=["trans_x", "rot_z"]).to_csv(
            deriv / f"sub-03_task-rest_dir-AP_run-10_desc-confounds_{suffix}.tsv", sep="\t", index=False
        )
    with pytest.raises(ValueError, match="Several fMRIPrep confounds files"):
        fmri.from_bids(root, "03", "rest", run=10, derivatives=tmp_path / "fmriprep", confounds=["trans_x"], mask=mask)
    with pytest.raises(TypeError, match="confounds must be a list of column names"):
        fmri.from_bids(root, "03", "rest", derivatives=tmp_path / "fmriprep", confounds="trans_x", mask=mask)


def test_from_bids_skips_nested_derivatives_and_inherits_sidecars(tmp_path, monkeypatch):
    root = tmp_path / "bids"
    rng = np.random.default_rng(11)
    raw = {}
    for run in (1, 2):
        raw[run] = rng.normal(size=(*SHAPE, 15))
        _save_bold(root / "sub-01" / "func" / f"sub-01_task-read_run-{run}_bold.nii.gz", raw[run])
        pd.DataFrame({"onset": [2.0 * run], "duration": [1.0], "trial_type": [f"w{run}"]}).to_csv(
            root / "sub-01" / "func" / f"sub-01_task-read_run-{run}_events.tsv", sep="\t", index=False
        )
        # fMRIPrep's copy inside the dataset, as BIDS places derivatives
        deriv = root / "derivatives" / "fmriprep" / "sub-01" / "func"
        _save_bold(deriv / f"sub-01_task-read_run-{run}_desc-preproc_bold.nii.gz", raw[run] + 100.0)
    (root / "task-read_bold.json").write_text('{"RepetitionTime": 3.0, "TaskName": "read"}')
    (root / "sub-01" / "sub-01_task-read_bold.json").write_text('{"RepetitionTime": 1.5}')  # more specific: wins
    mask = nib.Nifti1Image((_atlas() > 0).astype(np.int8), AFFINE)
    parsed, listed, globbed = [], [], []
    real = fmri.load_bids_events
    from brainalign.io.fmri import _from_bids, _runs

    for module in (_from_bids, _runs):  # everywhere the loaders read events
        monkeypatch.setattr(module, "load_bids_events", lambda *a, **k: parsed.append(a[0]) or real(*a, **k))
    real_iterdir, real_glob = Path.iterdir, Path.glob
    monkeypatch.setattr(Path, "iterdir", lambda self: listed.append(self) or real_iterdir(self))
    monkeypatch.setattr(
        Path, "glob", lambda self, pattern, **k: globbed.append(pattern) or real_glob(self, pattern, **k)
    )
    rec = fmri.from_bids(root, "01", "read", mask=mask)
    assert len(listed) == len(set(listed))  # every folder listed once, not once per run
    assert globbed == ["**/sub-01*_bold.nii*"]  # one walk of the tree: the runs; events found by inheritance
    assert rec["run"].values.tolist() == ["1"] * 15 + ["2"] * 15
    ijk = np.stack([rec[f"voxel_{c}"].values for c in "ijk"], axis=1)
    np.testing.assert_allclose(rec.values[:15], raw[1][tuple(ijk.T)].T, rtol=1e-6)  # raw, not the derivative
    assert rec.attrs["tr"] == 1.5  # subject-level sidecar overrides the dataset-level one
    assert pd.DataFrame(rec.attrs["events"])["stimulus_id"].tolist() == ["w1", "w2"]
    assert len(parsed) == 2  # each run's events are read once
    # the derivative runs, with the raw dataset's events and sidecars
    parsed.clear()
    der = fmri.from_bids(root, "01", "read", derivatives=root / "derivatives" / "fmriprep", desc="preproc", mask=mask)
    np.testing.assert_allclose(der.values[:15], raw[1][tuple(ijk.T)].T + 100.0, rtol=1e-6)
    assert der.attrs["tr"] == 1.5 and len(parsed) == 2
    assert pd.DataFrame(der.attrs["events"])["onset"].tolist() == [2.0, 4.0]


def test_events_inherited_from_the_dataset_level(tmp_path):
    root = tmp_path / "bids"
    rng = np.random.default_rng(12)
    for run in (1, 2):
        _save_bold(root / "sub-01" / "func" / f"sub-01_task-see_run-{run}_bold.nii.gz", rng.normal(size=(*SHAPE, 10)))
    pd.DataFrame({"onset": [1.0], "duration": [1.0], "trial_type": ["all-runs"]}).to_csv(
        root / "task-see_events.tsv", sep="\t", index=False
    )
    pd.DataFrame({"onset": [3.0], "duration": [1.0], "trial_type": ["run-2"]}).to_csv(
        root / "sub-01" / "func" / "sub-01_task-see_run-02_events.tsv", sep="\t", index=False
    )
    mask = nib.Nifti1Image((_atlas() > 0).astype(np.int8), AFFINE)
    rec = fmri.from_bids(root, "01", "see", tr=2.0, mask=mask)
    events = pd.DataFrame(rec.attrs["events"])
    assert events[["run", "stimulus_id"]].values.tolist() == [["1", "all-runs"], ["2", "run-2"]]


# --------------------------------------------------------------- surface runs read once, centroids
def _write_surface_runs(tmp_path, n, fmt, n_runs=2, n_t=5, seed=13):
    rng = np.random.default_rng(seed)
    runs, values = [], []
    for r in range(n_runs):
        files, vals = {}, {}
        for h in ("left", "right"):
            v = rng.normal(size=(n, n_t)).astype(np.float32)
            vals[h] = v
            if fmt == "gii":
                img = nib.gifti.GiftiImage(darrays=[nib.gifti.GiftiDataArray(v[:, t]) for t in range(n_t)])
                files[h] = tmp_path / f"run{r}_hemi-{h[0].upper()}_bold.func.gii"
            else:
                img = nib.MGHImage(v.reshape(n, 1, 1, n_t), np.eye(4))
                files[h] = tmp_path / f"run{r}.{h[0]}h.mgz"
            nib.save(img, files[h])
        runs.append(files)
        values.append(vals)
    return runs, values


@pytest.mark.parametrize("fmt", ["gii", "mgz"])
def test_surface_runs_are_read_once(tmp_path, monkeypatch, fmt):
    from nilearn import datasets, surface

    n = datasets.load_fsaverage("fsaverage5")["pial"].parts["left"].n_vertices
    runs, values = _write_surface_runs(tmp_path, n, fmt)
    reads = []
    real = surface.load_surf_data
    monkeypatch.setattr(surface, "load_surf_data", lambda x: reads.append(str(x)) or real(x))
    rec = fmri.load_fmri(runs, mesh="fsaverage5", tr=1.0)
    assert sorted(reads) == sorted(str(f) for files in runs for f in files.values())  # each file once
    expected = np.concatenate([np.concatenate([v["left"], v["right"]]).T for v in values])
    np.testing.assert_array_equal(rec.values, expected)
    assert rec["run"].values.tolist() == [0] * 5 + [1] * 5
    # a run whose header disagrees with the mesh is refused from its header
    (tmp_path / "small").mkdir()
    small = _write_surface_runs(tmp_path / "small", 100, fmt, n_runs=1)[0][0]
    reads.clear()
    with pytest.raises(ValueError, match="100 vertices but the left hemisphere of the mesh"):
        fmri.load_fmri([runs[0], {"left": small["left"], "right": runs[1]["right"]}], mesh="fsaverage5", tr=1.0)
    assert small["left"] not in [Path(r) for r in reads]


def test_gifti_and_mgz_header_shapes(tmp_path):
    def save(name, darrays):
        nib.save(nib.gifti.GiftiImage(darrays=[nib.gifti.GiftiDataArray(d) for d in darrays]), tmp_path / name)
        return tmp_path / name

    assert surface_file_shape(save("one.func.gii", [np.zeros(7, np.float32)])) == (7, 1)
    assert surface_file_shape(save("many.func.gii", [np.zeros(7, np.float32)] * 4)) == (7, 4)
    assert surface_file_shape(save("matrix.func.gii", [np.zeros((7, 3), np.float32)])) is None  # nilearn reads it
    nib.save(nib.MGHImage(np.zeros((7, 1, 1, 5), np.float32), np.eye(4)), tmp_path / "run.mgz")
    assert surface_file_shape(tmp_path / "run.mgz") == (7, 5)
    (tmp_path / "broken.func.gii").write_text("<GIFTI><DataArray")
    assert surface_file_shape(tmp_path / "broken.func.gii") is None  # opening it names the problem


def _loop_centroids(labels, points, ids):
    """The reference: one pass over all points per parcel (the old implementation)."""
    return np.array([points[labels == v].mean(axis=0) for v in ids])


def test_parcel_centroids_match_a_per_parcel_loop(tmp_path):
    rng = np.random.default_rng(14)
    atlas = rng.choice([0, 3, 7, 250, 1000], size=SHAPE).astype(np.int16)
    mask = rng.random(SHAPE) > 0.2
    arr = rng.normal(size=(*SHAPE, 6)).astype(np.float32)
    img = nib.Nifti1Image(arr, AFFINE)
    img.header.set_xyzt_units("mm", "sec")
    img.header.set_zooms((3.0, 3.0, 3.5, 2.0))
    labels = {0: "bg", 3: "a", 7: "b", 250: "c", 1000: "d"}
    rec = fmri.load_fmri(
        img,
        atlas=nib.Nifti1Image(atlas, AFFINE),
        labels=labels,
        mask=nib.Nifti1Image(mask.astype(np.int8), AFFINE),
        parcellate=True,
    )
    ids = rec["label_value"].values.tolist()
    assert ids == [3, 7, 250, 1000]
    ijk = np.argwhere(mask)
    xyz = (np.c_[ijk, np.ones(len(ijk))] @ AFFINE.T)[:, :3]
    ref = _loop_centroids(atlas[mask], xyz, ids)
    np.testing.assert_allclose(np.c_[rec["x"], rec["y"], rec["z"]], ref, rtol=1e-12, atol=1e-12)
    # labels outside every point give NaN, as the mean of nothing
    got = label_means(np.array([1, 1, 2]), np.arange(9.0).reshape(3, 3), [2, 1, 5])
    np.testing.assert_allclose(got[:2], [[6.0, 7.0, 8.0], [1.5, 2.5, 3.5]])
    assert np.isnan(got[2]).all()


def test_surface_parcel_centroids_and_hemispheres(tmp_path):
    from nilearn import datasets

    mesh = datasets.load_fsaverage("fsaverage5")["pial"]
    n = mesh.parts["left"].n_vertices
    runs, _ = _write_surface_runs(tmp_path, n, "gii", n_runs=1, n_t=4)
    left = (np.arange(n) % 3 + 1).astype(np.int32)  # 1, 2, 3 on the left
    right = np.where(np.arange(n) % 2 == 0, 1, 4).astype(np.int32)  # 1 and 4 on the right
    rec = fmri.load_fmri(runs[0], mesh="fsaverage5", tr=1.0, atlas={"left": left, "right": right}, parcellate=True)
    ids = rec["label_value"].values.tolist()
    assert ids == [1, 2, 3, 4]
    assert rec["hemisphere"].values.tolist() == ["both", "left", "left", "right"]
    labels = np.concatenate([left, right])
    points = np.concatenate([mesh.parts["left"].coordinates, mesh.parts["right"].coordinates]).astype(float)
    np.testing.assert_allclose(np.c_[rec["x"], rec["y"], rec["z"]], _loop_centroids(labels, points, ids), rtol=1e-10)
