"""Split-half noise ceilings with Spearman–Brown: closed forms and planted reliabilities."""

import numpy as np
import pytest
import xarray as xr

from brainalign import data
from brainalign.metrics import ceiling


def test_spearman_brown_closed_form():
    assert ceiling.spearman_brown(0.5) == pytest.approx(2 / 3)
    np.testing.assert_allclose(ceiling.spearman_brown(np.array([0.0, 1.0, -0.2])), [0.0, 1.0, -0.4 / 0.8])
    # Doubling twice equals quadrupling.
    r = 0.3
    assert ceiling.spearman_brown(ceiling.spearman_brown(r)) == pytest.approx(ceiling.spearman_brown(r, 4))
    with pytest.raises(ValueError, match="factor must be a positive"):
        ceiling.spearman_brown(0.5, 0)


def test_limits_and_one_fixed_split(rng):
    signal = rng.normal(size=(1, 30, 4))
    assert np.allclose(ceiling.split_half(np.repeat(signal, 4, axis=0)), 1.0)  # noiseless repetitions
    noise = ceiling.split_half(rng.normal(size=(4, 3000, 2)), random_state=0)
    np.testing.assert_allclose(noise, 0.0, atol=0.06)
    # Repetitions that are exact opposites: whatever the split, half B = -half A.
    raw = ceiling.split_half(np.concatenate([signal, -signal]), correction=False, n_splits=5)
    np.testing.assert_allclose(raw, -1.0)


@pytest.mark.parametrize("n_rep", [2, 3, 6])
def test_recovers_planted_reliability(n_rep):
    rng = np.random.default_rng(n_rep)
    sd = np.array([0.5, 1.0, 2.0])
    signal = rng.normal(size=(1, 2000, 3)) * sd
    trials = signal + rng.normal(size=(n_rep, 2000, 3))
    expected = sd**2 / (sd**2 + 1 / n_rep)  # signal share of the variance of the mean of n_rep trials
    np.testing.assert_allclose(ceiling.split_half(trials, random_state=0), expected, atol=0.03)


def test_labelled_recordings(rng):
    signal = rng.normal(size=(40, 5))
    reps = np.stack([signal + 0.5 * rng.normal(size=signal.shape) for _ in range(4)], axis=-1)
    rec = data.recording(reps, stimulus_id=np.arange(40), subject="S1", region=["V1"] * 2 + ["IT"] * 3)
    rel = ceiling.split_half(rec, random_state=1)
    assert rel.dims == ("neuroid",) and rel["region"].values.tolist() == ["V1"] * 2 + ["IT"] * 3
    # The same trials as repeated presentations (unequal counts are fine).
    flat = np.concatenate([reps[..., k] for k in range(4)])
    ids = np.tile(np.arange(40), 4)
    keep = np.ones(160, dtype=bool)
    keep[[5, 50]] = False
    rep = xr.DataArray(
        flat[keep], dims=("presentation", "neuroid"), coords={"stimulus_id": ("presentation", ids[keep])}
    )
    rel2 = ceiling.split_half(rep, random_state=1)
    np.testing.assert_allclose(rel2, rel.values, atol=0.05)
    assert np.all(rel.values > 0.8)


def test_errors(rng):
    with pytest.raises(ValueError, match="at least 3 stimuli with 2 or more repetitions"):
        ceiling.split_half(rng.normal(size=(1, 10, 2)))
    rec = data.recording(rng.normal(size=(6, 2)), stimulus_id=np.arange(6), subject="S", region="A")
    with pytest.raises(ValueError, match="at least 3 stimuli"):
        ceiling.split_half(rec)
    with pytest.raises(ValueError, match=r"array \(repetition, presentation, neuroid\)"):
        ceiling.split_half(rng.normal(size=(10, 2)))
    with pytest.raises(ValueError, match="n_splits must be"):
        ceiling.split_half(rng.normal(size=(2, 10, 2)), n_splits=0)


@pytest.mark.parametrize("n_rep", [4, 5, 7])
def test_fold_halves_split_whole_repetitions(n_rep):
    # Each trial's value encodes its repetition: a half must hold whole repetitions (every stimulus alike),
    # the two halves disjoint, covering all, sizes differing by at most one.
    rng = np.random.default_rng(n_rep)
    values = np.broadcast_to(np.arange(n_rep, dtype=float), (6, 3, n_rep))
    T = xr.DataArray(values, dims=("presentation", "neuroid", "repetition"))
    seen = set()
    for _ in range(60):
        a, b = ceiling.fold_halves(T, rng)
        reps = [np.unique(h.values.reshape(-1, h.sizes["repetition"]), axis=0) for h in (a, b)]
        assert all(r.shape[0] == 1 for r in reps)  # every stimulus and neuroid: the same repetitions
        ra, rb = (set(r[0].astype(int)) for r in reps)
        assert not ra & rb and ra | rb == set(range(n_rep)) and abs(len(ra) - len(rb)) <= 1
        seen.add(frozenset(ra))
    assert len(seen) > 3  # random splits, not one fixed split (4 repetitions: 6 ordered splits)
    assert ceiling.fold_halves(T.isel(repetition=slice(3)), rng) is None  # fewer than 2 folds per half
    assert ceiling.fold_halves(T, rng, min_folds=n_rep) is None
    with pytest.raises(ValueError, match="min_folds must be an integer"):
        ceiling.fold_halves(T, rng, min_folds=0)
    with pytest.raises(ValueError, match="'repetition' dim"):
        ceiling.fold_halves(T.isel(repetition=0), rng)
