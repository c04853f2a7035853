"""LeBel et al. (2023): fMRI of 8 people listening to 27-84 narrative stories (OpenNeuro ds003020).

``load(subject, stories)`` returns the preprocessed responses of the chosen stories as one
continuous recording (``time`` × voxel, one run per story) and the word timings of each story
(from the dataset's Praat TextGrids, read with praatio). The responses are the dataset's own
preprocessed volumes (motion-corrected, detrended, z-scored, restricted to cortex by the
authors' pycortex mask), already trimmed by the authors: row ``k`` of a story is the volume
acquired ``10 + 2k`` seconds after the story's audio began (the convention of the dataset's
reference code, nominal TR 2 s; the scanner's TR is 2.0045 s), and word times count seconds
from the same audio onset, so :func:`brainalign.data.align` pairs them directly.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from brainalign.data import recording
from brainalign.utils import progress, soft_import

from .._fetch import fetch_files, get_data_dir, read_checksums, resolve_files

__all__ = ["BASE_URL", "SUBJECTS", "fetch", "load", "stories"]

#: OpenNeuro's public bucket for ds003020.
BASE_URL = "https://s3.amazonaws.com/openneuro.org/ds003020"
SUBJECTS = ("UTS01", "UTS02", "UTS03", "UTS04", "UTS05", "UTS06", "UTS07", "UTS08")
TR = 2.0
START = 10.0
#: Non-word marks in the TextGrids, left out of the word table (as the dataset's code does).
NON_WORDS = frozenset({"", "sp", "br", "lg", "ls", "ns", "sl", "cg", "sentence_start", "sentence_end"})


def stories(subject: str = "UTS03") -> list[str]:
    """The stories with preprocessed responses for ``subject`` (from the checksum list)."""
    subject = _subject(subject)
    prefix = f"derivative/preprocessed_data/{subject}/"
    return sorted(Path(p).stem for p in read_checksums("lebel2023") if p.startswith(prefix))


def _subject(subject: str) -> str:
    subject = str(subject).upper().removeprefix("SUB-")
    if subject not in SUBJECTS:
        raise ValueError(f"subject must be one of {SUBJECTS}, got {subject!r}.")
    return subject


def _files(subject: str, story_list: list[str]) -> list[str]:
    files = []
    for s in story_list:
        files += [f"derivative/preprocessed_data/{subject}/{s}.hf5", f"derivative/TextGrids/{s}.TextGrid"]
    return files


def _story_list(subject: str, story_list: Any) -> list[str]:
    known = stories(subject)
    if story_list is None:
        return known
    story_list = [story_list] if isinstance(story_list, str) else list(story_list)
    unknown = [s for s in story_list if s not in known]
    if unknown:
        raise ValueError(f"{subject} has no responses to {unknown}; its stories are {known[:5]}... ({len(known)}).")
    return story_list


def fetch(subject: str = "UTS03", stories: Any = None, data_dir: str | os.PathLike | None = None) -> Path:
    """Download the responses and TextGrids of ``stories`` (all by default; 0.2-1.4 GB per story)."""
    subject = _subject(subject)
    files = _files(subject, _story_list(subject, stories))
    fetch_files("lebel2023", files, base_url=BASE_URL, data_dir=data_dir)
    return get_data_dir(data_dir) / "lebel2023"


def load(
    subject: str = "UTS03",
    stories: Any = None,
    path: str | os.PathLike | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    verify: bool = False,
    dtype: Any = np.float32,
) -> dict[str, Any]:
    """Load responses and word timings of ``stories`` for ``subject``.

    Parameters
    ----------
    subject : str
        ``"UTS01"`` ... ``"UTS08"``.
    stories : str or list of str, optional
        Story names (see :func:`stories`); default all of the subject's.
    path : path, optional
        Local copy of the dataset (the folder holding ``derivative/``). Default: the cache,
        downloading what is missing.
    data_dir : path, optional
        Cache folder (default ``$BRAINALIGN_DATA`` or ``~/brainalign_data``).
    verify : bool
        Check local files against the checksum list (md5, as recorded by OpenNeuro; slow for
        the full set).
    dtype : numpy dtype
        Dtype of the responses.

    Returns
    -------
    dict
        ``"recording"``: continuous recording ``(time, neuroid)``, one run per story (in the
        given order), ``time`` in s from the story's audio onset; ``"words"``: DataFrame with
        ``run`` (story), ``word``, ``onset``, ``offset``, ``duration`` and ``in_recording``
        (onset within a TR of the story's recorded volumes). Every word is kept: words heard
        before the first recorded volume (10 s) still drive it through the haemodynamic
        response, and :func:`brainalign.data.align` with ``hrf_model=...`` takes events from
        24 s before a run's first volume, so pass all words' times to
        :func:`brainalign.data.activations`. Lanczos or average resampling (``align``
        without ``hrf_model``) accepts only the ``in_recording`` rows.

    Examples
    --------
    >>> from brainalign.datasets import lebel2023
    >>> data = lebel2023.load("UTS03", ["wheretheressmoke"])  # doctest: +SKIP

    References
    ----------
    LeBel A., Wagner L., Jain S., et al., Huth A.G. (2023). A natural language fMRI dataset for
    voxelwise encoding models. Scientific Data 10:555. OpenNeuro ds003020.
    """
    subject = _subject(subject)
    story_list = _story_list(subject, stories)
    files = _files(subject, story_list)
    paths = resolve_files("lebel2023", files, path=path, base_url=BASE_URL, data_dir=data_dir, verify=verify)
    h5py = soft_import("h5py", "reading the LeBel 2023 responses")
    shapes = []
    for s in story_list:
        f = paths[f"derivative/preprocessed_data/{subject}/{s}.hf5"]
        with h5py.File(f, "r") as h5:
            key = "data" if "data" in h5 else next(iter(h5.keys()))
            shapes.append(h5[key].shape)
    n_vox = {sh[1] for sh in shapes}
    if len(n_vox) != 1:
        raise ValueError(f"The stories of {subject} have different numbers of voxels ({sorted(n_vox)}).")
    values = np.empty((sum(sh[0] for sh in shapes), n_vox.pop()), dtype=dtype)
    start, runs, times, words = 0, [], [], []
    for s, sh in progress(list(zip(story_list, shapes, strict=True)), desc="stories", unit="story"):
        f = paths[f"derivative/preprocessed_data/{subject}/{s}.hf5"]
        with h5py.File(f, "r") as h5:
            key = "data" if "data" in h5 else next(iter(h5.keys()))
            values[start : start + sh[0]] = h5[key][...]  # one story in memory at a time
        t = START + TR * np.arange(sh[0])
        runs.append(np.full(sh[0], s, dtype=object))
        times.append(t)
        w = _read_words(paths[f"derivative/TextGrids/{s}.TextGrid"])
        w.insert(0, "run", s)
        w["in_recording"] = (w["onset"] >= t[0] - TR) & (w["onset"] <= t[-1] + TR)
        words.append(w)
        start += sh[0]
    rec = recording(
        values,
        time=np.concatenate(times),
        run=np.concatenate(runs),
        subject=subject,
        region="cortex",
        attrs={
            "tr": TR,
            "modality": "fmri",
            "space": f"{subject} pycortex fullhead mask (coordinates not loaded)",
            "dataset": "LeBel et al. 2023 (ds003020)",
            "time_reference": "seconds from the story's audio onset; row k at 10 + 2k s",
        },
        name="bold",
    )
    return {"recording": rec, "words": pd.concat(words, ignore_index=True)}


def _read_words(path: Path) -> pd.DataFrame:
    praatio = soft_import("praatio.textgrid", "reading Praat TextGrids")
    try:
        grid = praatio.openTextgrid(str(path), includeEmptyIntervals=False)
    except Exception as err:
        raise ValueError(f"Cannot read the TextGrid {str(path)!r}: {err}") from err
    names = grid.tierNames
    tier = next((n for n in names if "word" in n.lower()), None)
    if tier is None:
        raise ValueError(f"The TextGrid {str(path)!r} has no word tier (tiers: {names}).")
    rows = [
        (float(e.start), float(e.end), e.label.strip())
        for e in grid.getTier(tier).entries
        if e.label.strip().strip("{}").lower() not in NON_WORDS
    ]
    frame = pd.DataFrame(rows, columns=["onset", "offset", "word"])
    frame["duration"] = frame["offset"] - frame["onset"]
    return frame[["word", "onset", "offset", "duration"]]
