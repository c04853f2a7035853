"""Cross-validation folds that respect time: contiguous blocks, or whole runs.

Brain recordings are time series (and even condition-based designs are recorded in runs), so
neighbouring samples are correlated. Shuffled folds put neighbours of each test sample into
the training set and inflate scores; these folds never shuffle, and a ``groups`` vector whose
runs interleave is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from ..backend import is_dataarray
from ..utils import logger

__all__ = ["check_groups", "time_folds"]

Folds = list[tuple[np.ndarray, np.ndarray]]


def check_groups(groups: Any, n_samples: int, name: str = "groups") -> np.ndarray | None:
    """Check a run label per sample: right length, no missing labels, runs contiguous in time.

    Returns the labels as a numpy array (or None).

    Raises
    ------
    ValueError
        If the labels interleave (a run appears in two separate blocks of samples): folds built
        from them would train on samples recorded between the test samples, leaking time.

    Examples
    --------
    >>> check_groups([0, 0, 1, 1], 4).tolist()
    [0, 0, 1, 1]
    """
    if groups is None:
        return None
    if is_dataarray(groups):
        groups = groups.values
    labels = np.asarray(groups)
    if labels.ndim != 1 or labels.shape[0] != n_samples:
        raise ValueError(f"{name} must have one run label per sample ({n_samples}), got shape {labels.shape}.")
    missing = np.asarray(pd.isna(labels), dtype=bool)
    if missing.any():
        raise ValueError(
            f"{name} has {int(missing.sum())} missing label(s) (first at sample {int(np.flatnonzero(missing)[0])}); "
            "every sample needs its run."
        )
    codes = pd.factorize(labels)[0]
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]])
    if len(starts) != codes.max() + 1:
        seen: dict[int, int] = {}
        for s in starts:
            if codes[s] in seen:
                label = labels[s].item() if isinstance(labels[s], np.generic) else labels[s]
                raise ValueError(
                    f"{name} leaks time: run {label!r} appears in separate blocks of samples (from sample "
                    f"{seen[codes[s]]} and again from sample {s}), so folds built from it would train on "
                    "samples recorded between its test samples. Runs must be contiguous blocks in time "
                    "order: sort the samples by run, then time (e.g. rec.sortby(['run', 'time'])), or pass "
                    "groups=None for contiguous blocks."
                )
            seen[codes[s]] = int(s)
    return labels


def time_folds(n_samples: int, cv: Any = 5, groups: Any = None, *, name: str = "cv") -> Folds:
    """Train/test folds that respect time.

    Parameters
    ----------
    n_samples : int
        Number of samples (rows), in time order.
    cv : int, "runs", a scikit-learn splitter, or an iterable of (train, test) index pairs
        - an int ``k``: ``k`` contiguous blocks of samples; with ``groups``, ``k`` contiguous
          blocks of whole runs (leave-one-run-out when there are ``k`` runs or fewer; contiguous
          blocks of samples when there is a single run);
        - ``"runs"``: leave one run out (needs ``groups``);
        - a splitter (``split(X, y, groups)``), e.g. ``sklearn.model_selection.LeaveOneGroupOut``;
        - explicit ``[(train, test), ...]`` index arrays, used as given.

        Every test set of a splitter or of explicit folds must be a contiguous block of
        samples or a union of whole runs (of ``groups``): folds that shuffle samples (e.g.
        ``KFold(shuffle=True)``, ``ShuffleSplit``, ``RepeatedKFold``) are refused.
    groups : array-like, optional
        The run of each sample. Runs must be contiguous blocks of samples.
    name : str
        The argument's name in error messages.

    Returns
    -------
    list of (train, test)
        Index arrays (int64).

    Examples
    --------
    >>> [test.tolist() for _, test in time_folds(6, cv=3)]
    [[0, 1], [2, 3], [4, 5]]
    >>> [test.tolist() for _, test in time_folds(6, cv="runs", groups=[0, 0, 0, 1, 1, 2])]
    [[0, 1, 2], [3, 4], [5]]
    """
    labels = check_groups(groups, n_samples)
    if isinstance(cv, str):
        if cv != "runs":
            raise ValueError(
                f"Invalid value for {name}: {cv!r}. Give a number of folds (int), 'runs' "
                "(leave one run out), a scikit-learn splitter or a list of (train, test) pairs."
            )
        if labels is None:
            raise ValueError(f"{name}='runs' (leave one run out) needs groups: the run of each sample.")
        codes = pd.factorize(labels)[0]
        if codes.max() < 1:
            raise ValueError(f"{name}='runs' needs at least 2 runs in groups; all samples are in one run.")
        blocks = [np.flatnonzero(codes == c) for c in range(codes.max() + 1)]
        return _complement(blocks, n_samples)
    if isinstance(cv, (int, np.integer)) and not isinstance(cv, bool):
        k = int(cv)
        if k < 2:
            raise ValueError(f"{name} must be at least 2 folds, got {k}.")
        if labels is None:
            if n_samples < k:
                raise ValueError(
                    f"n_samples = {n_samples} is fewer than the {k} folds of {name}={k}; every fold "
                    f"needs test samples. Use {name}={max(n_samples, 2)} or fewer, or give more samples."
                )
            blocks = [b.astype(np.int64) for b in np.array_split(np.arange(n_samples), k)]
            return _complement(blocks, n_samples)
        codes = pd.factorize(labels)[0]
        n_runs = int(codes.max()) + 1
        if n_runs == 1:  # one run: contiguous blocks inside it
            return time_folds(n_samples, k, None, name=name)
        if n_runs < k:
            logger.info("%s=%d with only %d runs: leave-one-run-out (%d folds).", name, k, n_runs, n_runs)
            k = n_runs
        run_blocks = np.array_split(np.arange(n_runs), k)
        blocks = [np.flatnonzero(np.isin(codes, rb)) for rb in run_blocks]
        return _complement(blocks, n_samples)
    if hasattr(cv, "split"):
        folds = list(cv.split(np.zeros((n_samples, 1)), None, labels))
        return _check_explicit(folds, n_samples, name, labels, what=type(cv).__name__)
    if isinstance(cv, Iterable):
        return _check_explicit(list(cv), n_samples, name, labels)
    raise TypeError(
        f"{name} must be an int, 'runs', a scikit-learn splitter or a list of (train, test) pairs, "
        f"got {type(cv).__name__}."
    )


def _complement(blocks: list[np.ndarray], n_samples: int) -> Folds:
    folds = []
    for test in blocks:
        mask = np.ones(n_samples, dtype=bool)
        mask[test] = False
        folds.append((np.flatnonzero(mask).astype(np.int64), np.asarray(test, dtype=np.int64)))
    return folds


def _check_explicit(
    folds: list[Any], n_samples: int, name: str, labels: np.ndarray | None = None, what: str = "explicit folds"
) -> Folds:
    """Index checks of given folds, and the time check: every test set is one contiguous block
    of samples, or a union of whole runs of ``labels``."""
    out = []
    codes = pd.factorize(labels)[0] if labels is not None else None
    if not folds:
        raise ValueError(f"{name} gave no folds.")
    for i, fold in enumerate(folds):
        try:
            train, test = fold
        except (TypeError, ValueError) as err:
            raise TypeError(f"{name}: fold {i} must be a (train, test) pair of index arrays.") from err
        train, test = np.asarray(train), np.asarray(test)
        if train.dtype == bool:
            train = np.flatnonzero(train)
        if test.dtype == bool:
            test = np.flatnonzero(test)
        for part, idx in (("train", train), ("test", test)):
            if idx.ndim != 1 or idx.size == 0 or idx.dtype.kind not in "iu":
                raise ValueError(f"{name}: fold {i} has an empty or non-integer {part} set.")
            if idx.min() < 0 or idx.max() >= n_samples:
                raise ValueError(f"{name}: fold {i} has {part} indices outside 0..{n_samples - 1}.")
        if np.intersect1d(train, test).size:
            raise ValueError(f"{name}: fold {i} has samples in both its train and test sets.")
        if not _respects_time(test, codes):
            raise ValueError(
                f"{name} ({what}): the test set of fold {i} is neither one contiguous block of samples nor a "
                "union of whole runs, as happens with folds that shuffle samples (e.g. KFold(shuffle=True), "
                "ShuffleSplit, RepeatedKFold). Time-series samples must not be shuffled across folds: their "
                "neighbours in the training set leak into the test score. Use an int (contiguous blocks), 'runs', "
                "or a splitter whose test sets are blocks or whole runs (KFold(), LeaveOneGroupOut(), GroupKFold())."
            )
        out.append((train.astype(np.int64), test.astype(np.int64)))
    return out


def _respects_time(test: np.ndarray, codes: np.ndarray | None) -> bool:
    """Whether ``test`` is one contiguous block of samples, or every run it touches is in it whole."""
    test = np.unique(test)
    if test[-1] - test[0] + 1 == test.size:
        return True
    return codes is not None and int(np.isin(codes, codes[test]).sum()) == test.size
