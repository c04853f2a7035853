"""BIDS names and metadata inheritance (the private helpers shared by the fMRI and iEEG adapters)."""

from __future__ import annotations

import json

import pytest

from brainalign.io import _bids


def test_parse_name_is_anchored():
    assert _bids.parse_name("sub-01_ses-2_task-rest_dir-AP_run-01_bold.nii.gz") == {
        "sub": "01",
        "ses": "2",
        "task": "rest",
        "dir": "AP",
        "run": "01",
        "suffix": "bold",
    }
    assert _bids.parse_name("task-rest_bold.json") == {"task": "rest", "suffix": "bold"}
    # not BIDS: a part that is not key-value, or a suffix with a dash
    assert _bids.parse_name("mysub-01_extra_bold.nii") is None
    assert _bids.parse_name("sub-01_task-rest") is None
    assert _bids.raw_entities({"sub": "1", "space": "MNI", "desc": "preproc", "res": "2", "suffix": "bold"}) == {
        "sub": "1"
    }
    assert _bids.norm_run("run-01") == "1" and _bids.strip_prefix("sub-07", "sub") == "07"
    assert _bids.applies({"sub": "1", "run": "01", "suffix": "events"}, {"sub": "1", "run": "1", "task": "x"})
    assert not _bids.applies({"sub": "1", "acq": "a"}, {"sub": "1"})


def _write(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content) if isinstance(content, dict) else content)
    return path


def test_json_sidecars_merge_from_the_dataset_level_down(tmp_path):
    root = tmp_path / "ds"
    bold = _write(root / "sub-01" / "ses-1" / "func" / "sub-01_ses-1_task-x_run-1_bold.nii.gz", "")
    _write(root / "task-x_bold.json", {"RepetitionTime": 3.0, "TaskName": "x"})
    _write(root / "sub-01" / "sub-01_task-x_bold.json", {"RepetitionTime": 2.0, "EchoTime": 0.03})
    _write(root / "sub-01" / "ses-1" / "func" / "sub-01_ses-1_task-x_run-1_bold.json", {"EchoTime": 0.025})
    _write(root / "sub-01" / "ses-1" / "func" / "sub-01_ses-1_task-x_run-2_bold.json", {"EchoTime": 99})  # other run
    _write(root / "sub-01" / "sub-01_task-y_bold.json", {"RepetitionTime": 99})  # other task
    finder = _bids.Sidecars()
    meta = finder.read_json(bold, "bold")
    assert meta == {"RepetitionTime": 2.0, "TaskName": "x", "EchoTime": 0.025}
    assert [p.name for p in finder.find(bold, "bold", ".json")] == [
        "task-x_bold.json",
        "sub-01_task-x_bold.json",
        "sub-01_ses-1_task-x_run-1_bold.json",
    ]
    # a derivative of the run: the raw dataset's sidecars, then the derivative's own
    deriv = tmp_path / "fmriprep"
    dbold = _write(deriv / "sub-01" / "ses-1" / "func" / "sub-01_ses-1_task-x_run-1_space-MNI_bold.nii.gz", "")
    _write(dbold.with_name("sub-01_ses-1_task-x_run-1_space-MNI_bold.json"), {"SkullStripped": True})
    _write(dbold.with_name("sub-01_ses-1_task-x_run-1_space-T1w_bold.json"), {"SkullStripped": False})
    got = finder.read_json(dbold, "bold", roots=[root, deriv])
    assert got["SkullStripped"] is True and got["RepetitionTime"] == 2.0 and got["EchoTime"] == 0.025


def test_nearest_table_and_ambiguity(tmp_path):
    root = tmp_path / "ds"
    data = _write(root / "sub-01" / "func" / "sub-01_task-x_acq-a_run-1_bold.nii.gz", "")
    _write(root / "task-x_events.tsv", "onset\tduration\n")
    finder = _bids.Sidecars()
    assert finder.nearest(data, "events", ".tsv").name == "task-x_events.tsv"
    _write(root / "sub-01" / "func" / "sub-01_task-x_run-1_events.tsv", "onset\tduration\n")
    assert _bids.Sidecars().nearest(data, "events", ".tsv").name == "sub-01_task-x_run-1_events.tsv"
    _write(root / "sub-01" / "func" / "sub-01_task-x_acq-a_events.tsv", "onset\tduration\n")
    with pytest.raises(ValueError, match="one metadata file per level"):
        _bids.Sidecars().nearest(data, "events", ".tsv")
    # outside a BIDS tree: only the file's folder
    loose = _write(tmp_path / "loose" / "recording_ieeg.edf", "")
    assert _bids.Sidecars().nearest(loose, "channels", ".tsv") is None
    bad = _write(root / "sub-01" / "func" / "sub-01_task-x_acq-a_run-1_bold.json", "{not json")
    with pytest.raises(ValueError, match=r"Cannot read the JSON sidecar .*bold\.json"):
        _bids.Sidecars().read_json(data, "bold")
    bad.unlink()
