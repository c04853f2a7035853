"""data.trials: repeated trials pivoted onto a repetition dim, or laid out one per row."""

import numpy as np
import pandas as pd
import pytest

from brainalign import data


@pytest.fixture
def repeated(rng):
    """7 presentations of 3 stimuli (3, 2 and 2 trials), 4 neuroids, a run per presentation."""
    ids = ["a", "b", "a", "c", "b", "a", "c"]
    values = rng.normal(size=(7, 4))
    rec = data.recording(
        values,
        stimulus_id=ids,
        subject="S1",
        region=["V1", "V1", "IT", "IT"],
        run=[0, 0, 1, 1, 2, 2, 2],
        presentation_coords={"category": ["x", "y", "x", "x", "y", "x", "x"]},
    )
    return rec, values, ids


def test_pivot_matches_pandas(repeated):
    rec, values, ids = repeated
    t = data.trials(rec)
    assert t.dims == ("presentation", "neuroid", "repetition")
    # Independent construction: rank of each presentation within its stimulus, then a pandas pivot.
    frame = pd.DataFrame(values).assign(stim=ids)
    frame["rank"] = frame.groupby("stim", sort=False).cumcount()
    for j in range(4):
        pivot = frame.pivot(index="stim", columns="rank", values=j).loc[["a", "b", "c"]]
        np.testing.assert_array_equal(t.isel(neuroid=j).values, pivot.to_numpy())
    assert t["stimulus_id"].values.tolist() == ["a", "b", "c"]
    assert t["n_repetitions"].values.tolist() == [3, 2, 2]
    assert t["category"].values.tolist() == ["x", "y", "x"]  # constant within each stimulus: kept
    assert "run" not in t.coords  # differs between a stimulus' trials: dropped
    assert t["region"].values.tolist() == ["V1", "V1", "IT", "IT"]
    # The trial mean is what align averages.
    acts = data.activations({"fc": np.eye(3)}, stimulus_id=["a", "b", "c"])
    _, averaged = data.align(acts, rec, repetitions="average")
    np.testing.assert_allclose(t.mean("repetition").values, averaged.values, rtol=0, atol=1e-12)


def test_repetition_labels_line_up_sessions(rng):
    # Stimulus "b" was seen in sessions 1 and 2 only; its trials must sit under those labels.
    rec = data.recording(
        np.arange(5.0)[:, None],
        stimulus_id=["a", "a", "a", "b", "b"],
        subject="S1",
        region="IT",
        presentation_coords={"repetition": [0, 1, 2, 2, 1]},
    )
    t = data.trials(rec)
    assert t["repetition"].values.tolist() == [0, 1, 2]
    np.testing.assert_array_equal(t.sel(neuroid=0).values, [[0.0, 1.0, 2.0], [np.nan, 4.0, 3.0]])


def test_time_resolved_and_round_trip(rng):
    values = rng.normal(size=(6, 2, 5))
    rec = data.recording(
        values, stimulus_id=[1, 2, 3, 1, 2, 3], latency=np.linspace(0, 0.4, 5), subject="S1", region="IT"
    )
    t = data.trials(rec)
    assert t.dims == ("presentation", "neuroid", "latency", "repetition")
    np.testing.assert_array_equal(t.values, np.stack([values[:3], values[3:]], axis=-1))
    rows = data.trials(t, layout="rows")
    assert rows.dims == ("presentation", "neuroid", "latency")
    np.testing.assert_array_equal(rows.values, values)  # repetition-major = the original order here
    assert rows["stimulus_id"].values.tolist() == [1, 2, 3, 1, 2, 3]
    assert rows["repetition"].values.tolist() == [0, 0, 0, 1, 1, 1]
    data.validate(rows, "time_resolved")


def test_rows_from_repetition_dim_leave_missing_trials_out(rng):
    values = rng.normal(size=(3, 2, 3))
    rec = data.recording(values, stimulus_id=["a", "b", "c"], subject="S1", region="IT").assign_coords(
        session=("repetition", ["s1", "s2", "s3"])
    )
    values[1, :, 2] = np.nan  # stimulus "b" has two trials
    rec = rec.copy(data=values)
    rows = data.trials(rec, layout="rows")
    expected = [values[p, :, r] for r in range(3) for p in range(3) if not (p == 1 and r == 2)]
    np.testing.assert_array_equal(rows.values, np.stack(expected))
    assert rows["stimulus_id"].values.tolist() == ["a", "b", "c", "a", "b", "c", "a", "c"]
    assert rows["session"].values.tolist() == ["s1"] * 3 + ["s2"] * 3 + ["s3"] * 2
    data.validate(rows, "condition")
    # A repetition dim is already the repetition layout.
    assert data.trials(rec).identical(rec)


def test_rows_from_repeated_ids_add_the_rank(repeated):
    rec, _, _ = repeated
    rows = data.trials(rec, layout="rows")
    assert rows["repetition"].values.tolist() == [0, 0, 1, 0, 1, 2, 1]
    np.testing.assert_array_equal(rows.values, rec.values)


def test_too_few_trials(rng):
    rec = data.recording(rng.normal(size=(3, 2)), stimulus_id=["a", "b", "c"], subject="S1", region="IT")
    with pytest.raises(ValueError, match="at most 1 trial"):
        data.trials(rec)
    assert data.trials(rec, if_fewer="none") is None
    assert data.trials(rec, min_trials=1).sizes["repetition"] == 1
    padded = data.trials(rec, min_trials=1)
    assert data.trials(padded, if_fewer="none") is None  # a repetition dim of one trial


def test_bad_input(repeated, rng):
    rec, _, _ = repeated
    with pytest.raises(ValueError, match="layout"):
        data.trials(rec, layout="long")
    with pytest.raises(ValueError, match="if_fewer"):
        data.trials(rec, if_fewer="skip")
    with pytest.raises(ValueError, match="min_trials"):
        data.trials(rec, min_trials=0)
    continuous = data.recording(rng.normal(size=(5, 2)), tr=2.0, subject="S1", region="IT")
    with pytest.raises(ValueError, match="continuous"):
        data.trials(continuous)
    partial = data.recording(rng.normal(size=(2, 2, 2)), stimulus_id=["a", "b"], subject="S1", region="IT")
    partial[0, 1, 1] = np.nan  # one value of a trial missing, not the whole trial
    with pytest.raises(ValueError, match="some but not all"):
        data.trials(partial)
    both = data.recording(rng.normal(size=(2, 1, 2)), stimulus_id=["a", "a"], subject="S1", region="IT")
    with pytest.raises(ValueError, match="repetition' dim and also repeats"):
        data.trials(both)
