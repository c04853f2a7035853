"""THINGS-MEG (Hebart et al. 2023): MEG of 4 people viewing 22 448 THINGS object images (ds004212).

``load(participant)`` reads the authors' preprocessed epochs (``preprocessed_P<n>-epo.fif``,
271 MEG sensors, 1 200 Hz downsampled to 200 Hz, -100 to 1 300 ms; MNE follows the split
``-epo-1.fif``... parts) and labels each epoch with its image from
``sourcedata/sample_attributes_P<n>.csv``: a time-resolved recording ``(presentation, neuroid,
latency)`` with ``stimulus_id`` = the image's file stem (e.g. ``"aardvark_01b"``), or with
``window=(tmin, tmax)`` a condition-based one. The 200 test images, shown 12 times each, get a
``repetition`` coordinate so :func:`brainalign.data.align` averages them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainalign.io.meg import from_mne
from brainalign.utils import check_option, soft_import

from .._fetch import fetch_files, get_data_dir, resolve_files

__all__ = ["BASE_URL", "PARTICIPANTS", "fetch", "load"]

BASE_URL = "https://s3.amazonaws.com/openneuro.org/ds004212"
PARTICIPANTS = (1, 2, 3, 4)
TRIAL_TYPES = ("exp", "test", "catch")


def _files(participant: int) -> list[str]:
    if participant not in PARTICIPANTS:
        raise ValueError(f"participant must be one of {PARTICIPANTS}, got {participant!r}.")
    epo = [f"derivatives/preprocessed/preprocessed_P{participant}-epo{s}.fif" for s in ("", "-1", "-2", "-3")]
    return [*epo, f"sourcedata/sample_attributes_P{participant}.csv"]


def fetch(participant: int = 1, data_dir: str | os.PathLike | None = None) -> Path:
    """Download one participant's preprocessed epochs (4 × 2 GB) and trial table."""
    fetch_files("things_meg", _files(participant), base_url=BASE_URL, data_dir=data_dir)
    return get_data_dir(data_dir) / "things_meg"


def load(
    participant: int = 1,
    path: str | os.PathLike | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    trial_types: tuple[str, ...] = ("exp", "test"),
    picks: Any = None,
    window: tuple[float, float] | None = None,
    verify: bool = False,
    dtype: Any = np.float32,
) -> xr.DataArray:
    """Load one participant's epochs, labelled by image.

    Parameters
    ----------
    participant : int
        1-4.
    path : path, optional
        Local copy of the dataset (the folder holding ``derivatives/`` and ``sourcedata/``).
        Default: the cache, downloading what is missing (8 GB per participant).
    data_dir : path, optional
        Cache folder (default ``$BRAINALIGN_DATA`` or ``~/brainalign_data``).
    trial_types : tuple of {"exp", "test", "catch"}
        Which trials to keep (default: the experimental and test images; catch trials are the
        attention checks).
    picks : optional
        Channels (see :func:`brainalign.io.meg.from_mne`).
    window : (float, float), optional
        Average this latency window → condition-based recording. Only the selected epochs are
        read from disk.
    verify : bool
        Check local files against the checksum list (sha256 of 8 GB: slow).
    dtype : numpy dtype
        Dtype of the values.

    Returns
    -------
    xarray.DataArray
        Time-resolved (or, with ``window``, condition-based) recording; ``trial_type``,
        ``session``, ``run`` and ``image_path`` on ``presentation``.

    Examples
    --------
    >>> from brainalign.datasets import things_meg
    >>> rec = things_meg.load(1, window=(0.1, 0.2))  # doctest: +SKIP

    References
    ----------
    Hebart M.N., Contier O., Teichmann L., et al., Baker C.I. (2023). THINGS-data, a multimodal
    collection of large-scale datasets for investigating object representations in human brain
    and behavior. eLife 12:e82580. OpenNeuro ds004212.
    """
    for t in trial_types:
        check_option("trial_types", t, TRIAL_TYPES)
    files = _files(participant)
    # The split parts (-epo-1.fif, ...) that MNE follows may be absent from a small local copy.
    paths = resolve_files(
        "things_meg",
        [files[0], files[-1]],
        optional=files[1:-1],
        path=path,
        base_url=BASE_URL,
        data_dir=data_dir,
        verify=verify,
    )
    mne = soft_import("mne", "reading THINGS-MEG epochs")
    epochs = mne.read_epochs(paths[files[0]], preload=False, verbose="error")
    table = pd.read_csv(paths[files[-1]])
    if "image_path" not in table.columns or "trial_type" not in table.columns:
        raise ValueError(
            f"{str(paths[files[-1]])!r} must have 'image_path' and 'trial_type' columns; it has {list(table.columns)}."
        )
    if len(table) != len(epochs):
        raise ValueError(
            f"{str(paths[files[-1]])!r} lists {len(table)} trials but the epochs file has {len(epochs)} epochs; "
            "they must match one to one (same participant?)."
        )
    keep = np.flatnonzero(table["trial_type"].isin(trial_types).to_numpy())
    if not len(keep):
        raise ValueError(f"No trial of type {trial_types} in {str(paths[files[-1]])!r}.")
    table = table.iloc[keep].reset_index(drop=True)
    ids = [Path(str(p)).stem for p in table["image_path"]]
    rec = from_mne(
        epochs[keep],
        subject=f"P{participant}",
        picks=picks,
        stimulus_id=ids,
        window=window,
        dtype=dtype,
        run=table["run_nr"].to_numpy() if "run_nr" in table else 0,
    )
    extra = {
        "trial_type": table["trial_type"].astype(str).to_numpy(),
        "image_path": table["image_path"].astype(str).to_numpy(),
    }
    if "session_nr" in table:
        extra["session"] = table["session_nr"].to_numpy()
    rec = rec.assign_coords({k: ("presentation", v) for k, v in extra.items()})
    rec.attrs["dataset"] = "THINGS-MEG (Hebart et al. 2023, ds004212)"
    return rec
