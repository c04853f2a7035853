"""LeBel 2023 loader on files written here in the dataset's formats (HDF5 responses, TextGrids)."""

from __future__ import annotations

import numpy as np
import pytest
from brainalign.datasets import lebel2023

from brainalign import data

h5py = pytest.importorskip("h5py")
tg = pytest.importorskip("praatio.textgrid")

STORIES = ["wheretheressmoke", "legacy"]


def _write(root, story, n_tr, n_vox, seed):
    rng = np.random.default_rng(seed)
    resp = rng.normal(size=(n_tr, n_vox)).astype(np.float32)
    folder = root / "derivative" / "preprocessed_data" / "UTS03"
    folder.mkdir(parents=True, exist_ok=True)
    with h5py.File(folder / f"{story}.hf5", "w") as f:
        f.create_dataset("data", data=resp)
    entries = [(0.5, 0.9, "{SL}"), (1.0, 1.4, "so"), (3.0, 3.3, "sp"), (12.0, 12.4, "there"), (20.0, 20.5, "it")]
    grid = tg.Textgrid()
    grid.addTier(tg.IntervalTier("phone", [(1.0, 1.2, "S"), (1.2, 1.4, "OW")], 0, 60))
    grid.addTier(tg.IntervalTier("word", entries, 0, 60))
    (root / "derivative" / "TextGrids").mkdir(parents=True, exist_ok=True)
    grid.save(
        str(root / "derivative" / "TextGrids" / f"{story}.TextGrid"), format="long_textgrid", includeBlankSpaces=True
    )
    return resp


def test_local_copy_builds_recording_and_words(tmp_path):
    resps = [_write(tmp_path, s, n, 7, i) for i, (s, n) in enumerate(zip(STORIES, (20, 15), strict=True))]
    assert set(STORIES) <= set(lebel2023.stories("UTS03"))
    out = lebel2023.load("UTS03", STORIES, tmp_path)
    rec, words = out["recording"], out["words"]
    assert data.validate(rec) == "continuous"
    np.testing.assert_array_equal(rec.values, np.concatenate(resps))
    assert rec["run"].values.tolist() == ["wheretheressmoke"] * 20 + ["legacy"] * 15
    np.testing.assert_allclose(rec["time"].values[:3], [10.0, 12.0, 14.0])  # row k at 10 + 2k s
    assert words[words.run == "legacy"]["word"].tolist() == ["so", "there", "it"]  # marks dropped
    assert words["in_recording"].tolist() == [False, True, True] * 2
    # the words pair with the recording's clock through data.align
    w = words[words["in_recording"]]
    acts = data.activations({"emb": np.ones((len(w), 2))}, time=w["onset"].to_numpy(), run=w["run"].to_numpy())
    a, _ = data.align(acts, rec)
    assert a.sizes["time"] == 35


def test_every_word_drives_the_recording_through_the_hrf(tmp_path):
    pytest.importorskip("nilearn")
    for i, (s, n) in enumerate(zip(STORIES, (20, 15), strict=True)):
        _write(tmp_path, s, n, 7, i)
    out = lebel2023.load("UTS03", STORIES, tmp_path)
    rec, words = out["recording"], out["words"]
    assert (~words["in_recording"]).sum() == 2  # "so" at 1 s, 9 s before each story's first volume: kept
    emb = np.arange(1.0, len(words) + 1)[:, None]
    acts = data.activations({"emb": emb}, time=words["onset"].to_numpy(), run=words["run"].to_numpy())
    a, _ = data.align(acts, rec, hrf_model="glover")  # every word, the early ones included
    inside = words["in_recording"].to_numpy()
    recorded = data.activations({"emb": emb[inside]}, time=words["onset"][inside], run=words["run"][inside])
    b, _ = data.align(recorded, rec, hrf_model="glover")
    # the difference is the early word's own response, and it reaches the story's volumes
    for story in STORIES:
        rows = np.flatnonzero(rec["run"].values == story)
        early = np.flatnonzero((words["run"].to_numpy() == story) & ~inside)
        own = data.hrf_matrix(rec["time"].values[rows], words["onset"].to_numpy()[early]) @ emb[early]
        np.testing.assert_allclose(a.values[rows] - b.values[rows], own, rtol=1e-6, atol=1e-12)
        assert np.abs(own).max() > 1e-3


def test_unknown_subject_or_story(tmp_path):
    with pytest.raises(ValueError, match="subject must be one of"):
        lebel2023.load("UTS11", path=tmp_path)
    with pytest.raises(ValueError, match="no responses to"):
        lebel2023.load("UTS03", ["notastory"], tmp_path)
    with pytest.raises(FileNotFoundError, match="lacks"):
        lebel2023.load("UTS03", ["legacy"], tmp_path)
