"""Events tables: BIDS events.tsv files, events checked against their run."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ...utils import check_text
from .._atlas import describe
from ._source import Source


def load_bids_events(
    path: str | os.PathLike | pd.DataFrame,
    *,
    stimulus_column: str | None = None,
) -> pd.DataFrame:
    """Read a BIDS ``events.tsv`` into onsets, durations and stimulus ids.

    Parameters
    ----------
    path : path or DataFrame
        The ``*_events.tsv`` file (tab-separated, ``n/a`` for missing values), or a DataFrame of
        its columns.
    stimulus_column : str, optional
        Column holding the stimulus ids. Default: the first of ``stimulus_id``, ``stim_file``,
        ``trial_type``, ``value`` that the file has.

    Returns
    -------
    pandas.DataFrame
        Sorted by onset, with ``onset`` and ``duration`` (float seconds; missing durations are
        0), ``stimulus_id``, and every other column of the file.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = load_bids_events(pd.DataFrame({"onset": [2.0, 0.5], "duration": [1, 1], "trial_type": ["b", "a"]}))
    >>> ev[["onset", "stimulus_id"]].values.tolist()
    [[0.5, 'a'], [2.0, 'b']]
    """
    stimulus_column = check_text("stimulus_column", stimulus_column, optional=True)
    if isinstance(path, pd.DataFrame):
        frame, label = path.copy(), "events"
    else:
        path = Path(path)
        label = repr(str(path))
        if not path.exists():
            raise FileNotFoundError(f"The events file {label} does not exist.")
        try:
            frame = pd.read_csv(path, sep="\t", na_values=["n/a", "N/A", ""], keep_default_na=True)
        except Exception as err:
            raise ValueError(f"Cannot read the events file {label} as a tab-separated table: {err}") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    for col in ("onset", "duration"):
        if col not in frame.columns:
            raise ValueError(
                f"The events file {label} has no {col!r} column (it has {list(frame.columns)}); BIDS events "
                "need 'onset' and 'duration' in seconds."
            )
    try:
        frame["onset"] = pd.to_numeric(frame["onset"]).astype(float)
        frame["duration"] = pd.to_numeric(frame["duration"]).astype(float).fillna(0.0)
    except (TypeError, ValueError) as err:
        raise ValueError(f"The events file {label}: 'onset' and 'duration' must be numbers ({err}).") from err
    if frame["onset"].isna().any():
        row = int(np.flatnonzero(frame["onset"].isna())[0])
        raise ValueError(f"The events file {label} has a missing onset at row {row}; every event needs one.")
    if (frame["duration"] < 0).any():
        raise ValueError(f"The events file {label} has negative durations; durations are seconds >= 0.")
    if stimulus_column is None:
        stimulus_column = next(
            (c for c in ("stimulus_id", "stim_file", "trial_type", "value") if c in frame.columns), None
        )
        if stimulus_column is None:
            raise ValueError(
                f"The events file {label} has no stimulus id column (stimulus_id, stim_file, trial_type or "
                f"value); it has {list(frame.columns)}. Name one with stimulus_column=..."
            )
    elif stimulus_column not in frame.columns:
        raise ValueError(
            f"stimulus_column={stimulus_column!r} is not a column of the events file {label}; it has "
            f"{list(frame.columns)}."
        )
    ids = frame[stimulus_column]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna())[0])
        raise ValueError(
            f"The events file {label} has a missing {stimulus_column!r} at row {row}; drop that event or "
            "fill in its id."
        )
    if stimulus_column != "stimulus_id":
        frame["stimulus_id"] = ids.to_numpy()
    return frame.sort_values("onset", kind="stable").reset_index(drop=True)


@dataclass(frozen=True)
class ParsedEvents:
    """Events already read by :func:`load_bids_events` (from_bids), with their file."""

    frame: pd.DataFrame
    path: Path


def check_events_inside(ev: pd.DataFrame, duration: float, i: int, source: Source, given: Any) -> None:
    onset = ev["onset"].to_numpy(dtype=float)
    bad = (onset < 0) | (onset >= duration)
    if bad.any():
        where = describe(given) if isinstance(given, (str, os.PathLike)) else f"the events of run {i}"
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{where}: {int(bad.sum())} event(s) lie outside run {i} ({source.name(i)}, 0–{duration:g} s), e.g. "
            f"onset {onset[first]:g} s at row {first}. Onsets count seconds from the run's first volume; check "
            "that the events belong to this run."
        )


def jsonable(col: pd.Series) -> list[Any]:
    out = []
    for v in col.tolist():
        if isinstance(v, float) and not np.isfinite(v):
            out.append(None)
        elif isinstance(v, np.generic):
            out.append(v.item())
        else:
            out.append(v)
    return out
