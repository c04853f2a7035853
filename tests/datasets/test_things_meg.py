"""THINGS-MEG loader on a small epochs file and trial table written here in the dataset's layout."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from brainalign.datasets import things_meg

from brainalign import data

mne = pytest.importorskip("mne")


def _write(root, n=6):
    rng = np.random.default_rng(0)
    info = mne.create_info([f"MLC{i}" for i in range(3)], 200.0, "mag")
    x = rng.normal(scale=1e-13, size=(n, 3, 30))
    epochs = mne.EpochsArray(
        x, info, events=np.c_[np.arange(n) * 100, np.zeros(n, int), np.ones(n, int)], tmin=-0.1, verbose="error"
    )
    folder = root / "derivatives" / "preprocessed"
    folder.mkdir(parents=True)
    epochs.save(folder / "preprocessed_P1-epo.fif", verbose="error")
    (root / "sourcedata").mkdir()
    pd.DataFrame(
        {
            "trial_type": ["exp", "test", "catch", "exp", "test", "exp"],
            "image_path": [
                "images_meg/aardvark/aardvark_01b.jpg",
                "images_test_meg/bean_13s.jpg",
                "images_catch_meg/x.jpg",
                "images_meg/zebra/zebra_02s.jpg",
                "images_test_meg/bean_13s.jpg",
                "images_meg/cat/cat_03s.jpg",
            ],
            "session_nr": [1, 1, 1, 2, 2, 2],
            "run_nr": [1, 1, 2, 1, 1, 2],
        }
    ).to_csv(root / "sourcedata" / "sample_attributes_P1.csv", index=False)
    return x


def test_local_copy_labels_epochs_by_image(tmp_path):
    x = _write(tmp_path)
    rec = things_meg.load(1, tmp_path)
    assert data.validate(rec) == "time_resolved"
    assert rec["stimulus_id"].values.tolist() == ["aardvark_01b", "bean_13s", "zebra_02s", "bean_13s", "cat_03s"]
    assert rec["repetition"].values.tolist() == [0, 0, 0, 1, 0]
    assert rec["trial_type"].values.tolist() == ["exp", "test", "exp", "test", "exp"]
    np.testing.assert_allclose(rec.values, x[[0, 1, 3, 4, 5]], rtol=1e-5, atol=1e-19)
    win = things_meg.load(1, tmp_path, trial_types=("test",), window=(0.0, 0.05))
    assert data.validate(win) == "condition" and win.sizes["presentation"] == 2


def test_trial_table_must_match_epochs(tmp_path):
    _write(tmp_path)
    table = pd.read_csv(tmp_path / "sourcedata" / "sample_attributes_P1.csv")
    table.iloc[:4].to_csv(tmp_path / "sourcedata" / "sample_attributes_P1.csv", index=False)
    with pytest.raises(ValueError, match="lists 4 trials but the epochs file has 6"):
        things_meg.load(1, tmp_path)
    with pytest.raises(ValueError, match="participant must be one of"):
        things_meg.load(7, tmp_path)
