"""The samples an encoder is fitted on: aligned rows, single trials kept together, outer folds."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .. import data
from ..utils import check_option, logger


@dataclass
class Rows:
    """Features and targets aligned for fitting, with the outer folds.

    ``order[i]`` is the aligned row in place ``i`` (the trials of a stimulus next to each other
    when single trials are kept); ``stimulus`` the stimulus code of every row then, else None.
    """

    acts: xr.DataArray
    rec: xr.DataArray
    row: str
    order: np.ndarray
    stimulus: np.ndarray | None
    fold_groups: np.ndarray | None
    cv_groups: str
    folds: list[tuple[np.ndarray, np.ndarray]]

    @property
    def n(self) -> int:
        return int(self.acts.sizes[self.row])

    @property
    def single_trials(self) -> bool:
        return self.stimulus is not None

    def fold_of(self) -> np.ndarray:
        """The outer fold that holds out each row, in align's row order."""
        out = np.full(self.n, -1)
        for f, (_, test) in enumerate(self.folds):
            out[self.order[test]] = f
        return out

    def targets(self) -> tuple[np.ndarray, np.ndarray | None]:
        """``Y`` (rows × flattened neuroid·latency targets) and the latencies (or None)."""
        latency = self.rec["latency"].values if "latency" in self.rec.dims else None
        dims = [self.row, "neuroid", *(["latency"] if latency is not None else [])]
        return self.rec.transpose(*dims).values.reshape(self.n, -1), latency


def has_repetitions(recording: xr.DataArray) -> bool:
    """Whether a recording repeats stimuli (a ``repetition`` dim, or repeated ``stimulus_id``)."""
    if "repetition" in recording.dims:
        return True
    if "stimulus_id" in recording.coords and recording["stimulus_id"].dims == ("presentation",):
        return bool(pd.Index(recording["stimulus_id"].values).has_duplicates)
    return False


def run_groups(rec: xr.DataArray, row: str, groups: Any, order: np.ndarray, single_trials: bool) -> np.ndarray | None:
    """The run of every row (``groups="run"``: the recording's ``run`` coordinate), or None."""
    n = rec.sizes[row]
    if isinstance(groups, str):
        check_option("groups", groups, ("run",))
        if "run" in rec.coords and rec["run"].dims == (row,):
            run = np.asarray(rec["run"].values)
            return run if pd.unique(run).size >= 2 else None
        return None
    if groups is None:
        return None
    run = np.asarray(groups)
    return run[order] if single_trials and run.shape == (n,) else run


def prepare_rows(
    features: xr.DataArray,
    recording: xr.DataArray,
    *,
    cv: Any,
    groups: Any,
    delays: Any,
    hrf_model: str | None,
    repetitions: str | None,
    on_missing: str,
    continuous: bool,
) -> Rows:
    """Align features with the recording and build the outer folds (see :func:`brainalign.encode`)."""
    from ..encoders import time_folds

    acts, rec = data.align(
        features, recording, repetitions=repetitions, on_missing=on_missing, delays=delays, hrf_model=hrf_model
    )
    row = "time" if continuous else "presentation"
    n = acts.sizes[row]
    # Single trials (repetitions="keep"): the trials of each stimulus are put next to each other,
    # so that folds can keep stimuli whole.
    trials = repetitions == "keep" and row == "presentation" and pd.Index(rec["stimulus_id"].values).has_duplicates
    order, stimulus = np.arange(n), None
    if trials:
        codes = pd.factorize(np.asarray(rec["stimulus_id"].values))[0]
        order = np.argsort(codes, kind="stable")
        acts, rec, stimulus = acts.isel({row: order}), rec.isel({row: order}), codes[order]
    run = run_groups(rec, row, groups, order, trials)
    fold_groups, cv_groups = run, "run" if run is not None else "none (contiguous blocks)"
    if stimulus is not None and not (
        run is not None
        and run.shape == (n,)
        and pd.unique(run).size > 1
        and pd.Series(run).groupby(stimulus).nunique().max() == 1
    ):
        # Repetitions of a stimulus in several runs (or no runs): folds of whole stimuli.
        if isinstance(cv, str) and cv == "runs":
            raise ValueError(
                "cv='runs' with repetitions='keep': the repetitions of a stimulus are not all in one run, so "
                "leaving a run out would test on stimuli the encoder was trained on. Give an int cv (blocks "
                "of whole stimuli) or a group splitter such as GroupKFold."
            )
        if run is not None:
            logger.info("encode: stimuli repeat across runs; folds keep the trials of each stimulus together instead.")
        fold_groups, cv_groups = stimulus, "stimulus_id"
    folds = time_folds(n, cv, fold_groups, name="cv")
    if stimulus is not None:
        for f, (train, test) in enumerate(folds):
            shared = np.intersect1d(stimulus[train], stimulus[test])
            if shared.size:
                stim = rec["stimulus_id"].values[np.flatnonzero(stimulus == shared[0])[0]]
                raise ValueError(
                    f"cv: fold {f} has trials of stimulus {stim!r} (and {shared.size - 1} more) in both its training "
                    "and its test set. With repetitions='keep' every fold must hold whole stimuli: give an int cv "
                    "or a group splitter (e.g. GroupKFold), which encode splits on the stimuli."
                )
    return Rows(acts, rec, row, order, stimulus, fold_groups, cv_groups, folds)
