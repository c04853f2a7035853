"""Folds that respect time: contiguous blocks, whole runs, never shuffled."""

import numpy as np
import pytest

from brainalign.encoders import check_groups, time_folds


def _tests(folds):
    return [test.tolist() for _, test in folds]


def test_blocks_are_contiguous_and_cover_everything():
    folds = time_folds(11, cv=3)
    assert _tests(folds) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]
    for train, test in folds:
        assert sorted([*train.tolist(), *test.tolist()]) == list(range(11))
    # Same folds as scikit-learn's unshuffled KFold.
    sk = pytest.importorskip("sklearn.model_selection")
    ref = [test.tolist() for _, test in sk.KFold(3).split(np.zeros(11))]
    assert _tests(folds) == ref


def test_runs_stay_whole():
    runs = np.repeat(["a", "b", "c", "d"], [3, 2, 4, 1])
    assert _tests(time_folds(10, cv="runs", groups=runs)) == [[0, 1, 2], [3, 4], [5, 6, 7, 8], [9]]
    assert _tests(time_folds(10, cv=2, groups=runs)) == [[0, 1, 2, 3, 4], [5, 6, 7, 8, 9]]
    # More folds than runs: leave-one-run-out; a single run: blocks inside it.
    assert _tests(time_folds(10, cv=5, groups=runs)) == _tests(time_folds(10, cv="runs", groups=runs))
    assert _tests(time_folds(4, cv=2, groups=[7, 7, 7, 7])) == [[0, 1], [2, 3]]
    sk = pytest.importorskip("sklearn.model_selection")
    explicit = time_folds(10, cv=sk.LeaveOneGroupOut(), groups=runs)
    assert _tests(explicit) == _tests(time_folds(10, cv=4, groups=runs))


def test_explicit_folds_pass_through():
    folds = time_folds(6, cv=[(np.arange(3), np.arange(3, 6)), ([3, 4, 5], [0, 1, 2])])
    assert _tests(folds) == [[3, 4, 5], [0, 1, 2]]


def test_interleaved_runs_leak_time():
    with pytest.raises(ValueError, match="leaks time: run 0 appears in separate blocks"):
        check_groups([0, 0, 1, 1, 0, 0], 6)
    with pytest.raises(ValueError, match="leaks time"):
        time_folds(6, cv=2, groups=[0, 1, 0, 1, 0, 1])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_samples": 3, "cv": 5}, "n_samples = 3 is fewer than the 5 folds"),
        ({"n_samples": 6, "cv": 1}, "at least 2 folds"),
        ({"n_samples": 6, "cv": "runs"}, "needs groups"),
        ({"n_samples": 4, "cv": "runs", "groups": [0, 0, 0, 0]}, "at least 2 runs"),
        ({"n_samples": 4, "cv": "blocks"}, "Invalid value for cv"),
        ({"n_samples": 4, "cv": 2, "groups": [0, 0, 1]}, "one run label per sample"),
        ({"n_samples": 4, "cv": 2, "groups": [0, None, 1, 1]}, "missing label"),
        ({"n_samples": 4, "cv": [([0, 1], [1, 2])]}, "both its train and test"),
        ({"n_samples": 4, "cv": [([0, 1], [])]}, "empty or non-integer test"),
        ({"n_samples": 4, "cv": [([0, 9], [2])]}, "outside 0..3"),
    ],
)
def test_bad_folds(kwargs, match):
    with pytest.raises(ValueError, match=match):
        time_folds(**kwargs)


def test_shuffling_splitters_are_refused():
    sk = pytest.importorskip("sklearn.model_selection")
    for splitter in (sk.KFold(3, shuffle=True, random_state=0), sk.ShuffleSplit(3, random_state=0)):
        with pytest.raises(ValueError, match="must not be shuffled"):
            time_folds(12, cv=splitter)
    with pytest.raises(TypeError, match="must be an int"):
        time_folds(12, cv=2.5)


@pytest.mark.filterwarnings("ignore:The groups parameter is ignored")
def test_folds_are_checked_by_their_test_sets_not_by_the_splitter_name():
    sk = pytest.importorskip("sklearn.model_selection")
    runs = np.repeat([0, 1, 2, 3], 3)
    # RepeatedKFold has no `shuffle` attribute and no "shuffle" in its name, yet it shuffles.
    with pytest.raises(ValueError, match=r"cv \(RepeatedKFold\): the test set of fold 0 .* must not be shuffled"):
        time_folds(12, cv=sk.RepeatedKFold(n_splits=3, n_repeats=1, random_state=0))
    with pytest.raises(ValueError, match="must not be shuffled"):
        time_folds(12, cv=sk.RepeatedKFold(n_splits=3, n_repeats=1, random_state=0), groups=runs)
    # Contiguous test blocks and unions of whole runs are fine, whatever the splitter.
    assert _tests(time_folds(12, cv=sk.TimeSeriesSplit(3))) == [[3, 4, 5], [6, 7, 8], [9, 10, 11]]
    assert _tests(time_folds(12, cv=sk.GroupKFold(2), groups=runs)) == [[3, 4, 5, 9, 10, 11], [0, 1, 2, 6, 7, 8]]
    # Explicit folds too: runs 0 and 2 together are whole runs; without groups they are not one block.
    split = [(np.r_[3:6, 9:12], np.r_[0:3, 6:9])]
    assert _tests(time_folds(12, cv=split, groups=runs)) == [[0, 1, 2, 6, 7, 8]]
    with pytest.raises(ValueError, match=r"cv \(explicit folds\): the test set of fold 0"):
        time_folds(12, cv=split)
    with pytest.raises(ValueError, match="union of whole runs"):  # part of run 2 only
        time_folds(12, cv=[(np.r_[3:6, 8:12], np.r_[0:3, 6:8])], groups=runs)
