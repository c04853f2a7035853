"""Runs of a BIDS dataset (raw or fMRIPrep derivatives) with their events, confounds and TR."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ...utils import check_text, logger
from .._bids import Sidecars, norm_run, parse_name, raw_entities, run_sort_key, strip_prefix
from ._events import ParsedEvents, load_bids_events
from ._load import load_fmri


def from_bids(
    root: str | os.PathLike,
    subject: str,
    task: str,
    *,
    session: str | None = None,
    run: str | int | Sequence[str | int] | None = None,
    space: str | None = None,
    desc: str | None = None,
    derivatives: str | os.PathLike | None = None,
    confounds: Sequence[str] | None = None,
    stimulus_column: str | None = None,
    **kwargs: Any,
) -> xr.DataArray:
    """Load every run of a task from a BIDS dataset, with its events, into a recording.

    The repetition time comes from the runs' JSON sidecars (``RepetitionTime``; BIDS
    inheritance: dataset-, subject-, session- and run-level ``*_bold.json`` merged, the most
    specific last) when present, else from the NIfTI headers. Runs are found by BIDS entities
    in file names:
    ``sub-<subject>[_ses-<session>]_task-<task>[_run-<run>][_space-<space>][_desc-<desc>]_bold.nii[.gz]``
    under ``func/`` folders of ``derivatives`` (e.g. fMRIPrep's output) or, by default, of
    ``root`` (its ``derivatives/`` folder left out). Events come from the matching
    ``*_events.tsv`` in ``root`` (BIDS inheritance: the most specific file wins).

    Parameters
    ----------
    root : path
        The BIDS dataset (raw data and events).
    subject, task : str
        Entities of the runs (with or without the ``sub-``/``task-`` prefix).
    session, run, space, desc : optional
        Further entities to match; ``run`` may be a list. A file matches when it has each given
        entity with that value.
    derivatives : path, optional
        Folder of preprocessed runs (fMRIPrep layout), searched instead of ``root``.
    confounds : sequence of str, optional
        Columns of fMRIPrep's ``*_desc-confounds_timeseries.tsv`` to regress out (missing values
        in the first rows, as fMRIPrep writes for derivatives, are set to 0). Each run's file is
        the one beside it whose entities are exactly the run's (all but ``space``, ``desc``,
        ``res``...); none or several is an error.
    stimulus_column : str, optional
        Events column of the stimulus ids (see :func:`load_bids_events`).
    **kwargs
        Passed to :func:`load_fmri` (``mask``, ``atlas``, ``labels``, ``standardize``, ...).

    Returns
    -------
    xarray.DataArray
        A continuous recording, run labels from the ``run`` entity, events in
        ``attrs["events"]``, ``subject`` on neuroids, BIDS entities in attrs.

    Examples
    --------
    >>> rec = from_bids("ds000001", "01", "balloonanalogrisktask",
    ...                 derivatives="ds000001/derivatives/fmriprep",
    ...                 space="MNI152NLin2009cAsym")  # doctest: +SKIP
    """
    subject = check_text("subject", subject)
    task = check_text("task", task)
    for what, value in (("session", session), ("space", space), ("desc", desc), ("stimulus_column", stimulus_column)):
        check_text(what, value, optional=True)
    if run is not None and not isinstance(run, (str, int, np.integer, list, tuple)):
        raise TypeError(f"run must be a run label (str or int) or a list of them, got {run!r:.80}.")
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"The BIDS folder {str(root)!r} does not exist.")
    if confounds is not None and (isinstance(confounds, str) or not all(isinstance(c, str) for c in confounds)):
        raise TypeError(f"confounds must be a list of column names of the fMRIPrep confounds file, got {confounds!r}.")
    subject = strip_prefix(subject, "sub")
    task = strip_prefix(task, "task")
    search = Path(derivatives) if derivatives is not None else root
    if not search.is_dir():
        raise FileNotFoundError(f"The derivatives folder {str(search)!r} does not exist.")
    wanted = {"sub": subject, "task": task}
    if session is not None:
        wanted["ses"] = strip_prefix(session, "ses")
    if space is not None:
        wanted["space"] = strip_prefix(space, "space")
    if desc is not None:
        wanted["desc"] = strip_prefix(desc, "desc")
    runs_wanted = None
    if run is not None:
        runs_wanted = {norm_run(r) for r in (run if isinstance(run, (list, tuple)) else [run])}
    # Raw runs only, unless a derivatives folder is named: root/derivatives/... holds preprocessed
    # copies of the same runs.
    candidates = sorted(
        p
        for p in search.glob(f"**/sub-{subject}*_bold.nii*")
        if derivatives is not None or "derivatives" not in p.relative_to(search).parts
    )
    found = []
    for path in candidates:
        ents = parse_name(path.name)
        if ents is None or path.parent.name != "func":
            continue
        if any(ents.get(k) != v for k, v in wanted.items()):
            continue
        if runs_wanted is not None and norm_run(ents.get("run", "")) not in runs_wanted:
            continue
        found.append((path, ents))
    if not found:
        raise FileNotFoundError(
            f"No run of subject {subject!r}, task {task!r} ({', '.join(f'{k}-{v}' for k, v in wanted.items())}"
            f"{', run ' + str(sorted(runs_wanted)) if runs_wanted else ''}) under {str(search)!r}. Files found for "
            f"that subject: {[p.name for p in candidates[:5]]}. Check the entities (space=..., desc=...)."
        )
    keys = [tuple(sorted(raw_entities(ents).items())) for _, ents in found]
    if len(set(keys)) != len(keys):
        dup = [p.name for p, _ in found]
        raise ValueError(
            f"Several files match the same run: {dup[:6]}. Narrow the search with space=... and/or desc=..."
        )
    found.sort(key=lambda pe: (pe[1].get("ses", ""), run_sort_key(pe[1].get("run", ""))))
    # One finder: each folder of the dataset is listed once, whatever the number of runs.
    sidecars = Sidecars()
    json_roots = [root] if derivatives is None else [root, search]
    events, conf, labels, trs = [], [], [], set()
    for path, ents in found:
        # Events belong to the raw run (BIDS inheritance in root, the most specific file wins).
        ev_path = sidecars.nearest(path, "events", ".tsv", ents=raw_entities(ents), roots=[root])
        if ev_path is not None:
            events.append(ParsedEvents(load_bids_events(ev_path, stimulus_column=stimulus_column), ev_path))
        else:
            events.append(None)
        if confounds is not None:
            conf.append(_fmriprep_confounds(path, ents, confounds, sidecars))
        label = ents.get("run", "1")
        labels.append(f"ses-{ents['ses']}_run-{label}" if "ses" in ents and session is None else label)
        if "tr" not in kwargs:
            tr = sidecars.read_json(path, "bold", ents=ents, roots=json_roots).get("RepetitionTime")
            if tr is not None:
                trs.add(float(tr))
    if "tr" not in kwargs:
        if len(trs) > 1:
            raise ValueError(f"The runs' JSON sidecars give different RepetitionTime values {sorted(trs)}.")
        if trs:
            kwargs["tr"] = trs.pop()
    if all(e is None for e in events):
        events = None
        logger.warning("from_bids: no events.tsv found for subject %s, task %s.", subject, task)
    elif any(e is None for e in events):
        missing = [p.name for (p, _), e in zip(found, events, strict=True) if e is None]
        raise FileNotFoundError(f"No events.tsv for run(s) {missing}; every run needs its events, or none.")
    rec = load_fmri(
        [p for p, _ in found],
        events=events,
        confounds=conf if confounds is not None else None,
        run=labels,
        subject=f"sub-{subject}",
        space=space,
        **kwargs,
    )
    rec.attrs.update(bids_root=str(root), bids_subject=subject, bids_task=task)
    if session is not None:
        rec.attrs["bids_session"] = wanted["ses"]
    return rec


# ------------------------------------------------------------------------------------ BIDS
def _fmriprep_confounds(bold: Path, ents: dict[str, str], columns: Sequence[str], sidecars: Sidecars) -> pd.DataFrame:
    """fMRIPrep's confounds of one run: the ``desc-confounds`` table beside the run whose entities
    are exactly the run's (all but space, desc, res...)."""
    run = raw_entities(ents)
    hits = [
        path
        for suffix in ("timeseries", "regressors")  # fMRIPrep >= 20.0, and older
        for path, e in sidecars.files(bold.parent, suffix, ".tsv")
        if e.get("desc") == "confounds" and {k: v for k, v in e.items() if k not in ("desc", "suffix")} == run
    ]
    expected = "_".join(f"{k}-{v}" for k, v in run.items()) + "_desc-confounds_timeseries.tsv"
    if not hits:
        raise FileNotFoundError(
            f"No fMRIPrep confounds file {expected!r} next to {str(bold)!r}: its entities must be exactly the run's "
            f"({', '.join(f'{k}-{v}' for k, v in run.items())})."
        )
    if len(hits) > 1:
        raise ValueError(
            f"Several fMRIPrep confounds files match {bold.name!r}: {[p.name for p in hits]}. Keep one ({expected!r})."
        )
    frame = pd.read_csv(hits[0], sep="\t", na_values=["n/a"])
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"The confounds file {str(hits[0])!r} has no column(s) {missing}.")
    return frame[list(columns)].fillna(0.0)
