"""Designs: block events from per-volume labels, condition betas from nilearn's FirstLevelModel."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

nib = pytest.importorskip("nibabel")
pytest.importorskip("nilearn")
from brainalign.io import fmri  # noqa: E402


def test_events_from_labels_blocks_and_runs():
    labels = ["rest", "a", "a", "b", "rest", "rest", "a", "a", "a"]
    run = [0, 0, 0, 0, 0, 1, 1, 1, 1]
    ev = fmri.events_from_labels(labels, tr=2.0, run=run, exclude=["rest"])
    expected = pd.DataFrame(
        {"onset": [2.0, 6.0, 2.0], "duration": [4.0, 2.0, 6.0], "trial_type": ["a", "b", "a"], "run": [0, 0, 1]}
    )
    pd.testing.assert_frame_equal(ev, expected)
    with pytest.raises(ValueError, match="one label per volume"):
        fmri.events_from_labels(labels, tr=2.0, run=run[:-1])
    with pytest.raises(ValueError, match="contiguous"):
        fmri.events_from_labels(["a", "b", "a"], tr=2.0, run=[0, 1, 0])
    with pytest.raises(ValueError, match="tr must be > 0"):
        fmri.events_from_labels(labels, tr=-1)


@pytest.mark.shared_data
def test_haxby_condition_betas_match_nilearn_and_separate_faces_from_houses(shared_data):
    from nilearn.glm.first_level import FirstLevelModel
    from nilearn.image import index_img
    from nilearn.maskers import NiftiMasker

    folder = shared_data / "haxby2001_slice"
    attrs = pd.read_csv(folder / "attributes_literal.txt", sep=" ", header=None, names=["label", "run"])
    keep = attrs["label"].isin(["rest", "face", "house"]).to_numpy()  # a smaller design: faster
    img = index_img(str(folder / "bold.nii.gz"), np.flatnonzero(keep))
    labels, run = attrs["label"][keep].tolist(), attrs["run"][keep].tolist()
    ev = fmri.events_from_labels(labels, tr=2.5, run=run, exclude=["rest"])
    mask = str(folder / "mask.nii.gz")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rec = fmri.condition_betas(img, ev, tr=2.5, run=run, mask=mask)
        assert rec.sizes["presentation"] == 24 and set(rec["stimulus_id"].values) == {"face", "house"}
        # the reference: nilearn's FirstLevelModel called directly on run 3
        run3 = index_img(img, np.flatnonzero(np.asarray(run) == 3))
        model = FirstLevelModel(t_r=2.5, hrf_model="glover", drift_model="cosine", high_pass=0.01, mask_img=mask)
        model.fit(run3, events=ev[ev["run"] == 3][["onset", "duration", "trial_type"]])
        masker = NiftiMasker(mask_img=mask).fit()
        for cond in ("face", "house"):
            ref = masker.transform(model.compute_contrast(cond, output_type="effect_size")).ravel()
            got = rec.sel(presentation=(rec.run == 3) & (rec.stimulus_id == cond)).values.ravel()
            np.testing.assert_allclose(got, ref, rtol=1e-8, atol=1e-8)
    # faces and houses separate: a paired t-test over the 12 runs, voxel by voxel (under the null
    # about 1 of the 530 voxels would pass |t| > 4 with 11 degrees of freedom; 31 do)
    from scipy import stats

    face = rec.sel(presentation=rec.stimulus_id == "face").sortby("run").values
    house = rec.sel(presentation=rec.stimulus_id == "house").sortby("run").values
    t = stats.ttest_rel(face, house, axis=0).statistic
    assert (np.abs(t) > 4).sum() >= 15 and np.abs(t).max() > 8
    avg = fmri.condition_betas(img, ev, tr=2.5, run=run, mask=mask, per_run=False)
    assert avg["stimulus_id"].values.tolist() == ["face", "house"]
    np.testing.assert_allclose(avg.values[0], rec.sel(presentation=rec.stimulus_id == "face").values.mean(axis=0))
