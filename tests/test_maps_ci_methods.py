"""alignment_map(..., ci_method=...): percentile, basic and BCa intervals from the map's own resamples."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from scipy.spatial.distance import pdist

from brainalign import alignment_map, data, simulate, stats
from brainalign.metrics import cka, rsa


@pytest.fixture
def small(rng):
    T = rng.normal(size=(24, 6))
    acts = data.activations({f"l{i}": T + 0.7 * i * rng.normal(size=T.shape) for i in range(2)}, stimulus_id=range(24))
    rec = data.recording(
        T @ rng.normal(size=(6, 8)) + rng.normal(size=(24, 8)),
        stimulus_id=range(24),
        subject="S1",
        region=["A"] * 4 + ["B"] * 4,
    )
    return acts, rec


@pytest.mark.parametrize("method", ["rsa", "cka"])  # the RDM bootstrap and the generic resampling path
def test_basic_and_bca_reuse_the_percentile_resamples(small, method):
    acts, rec = small
    kw = dict(ceiling=False, n_boot=60, random_state=2, keep_samples=True)
    pct = alignment_map(acts, rec, method, **kw)
    boot, score = pct["boot"].values, pct["score"].values
    assert pct.attrs["ci_method"] == "percentile"
    basic = alignment_map(acts, rec, method, ci_method="basic", **kw)
    assert basic.attrs["ci_method"] == "basic"
    np.testing.assert_array_equal(basic["boot"].values, boot)  # the same resamples
    # closed form: the reflection of the percentile interval around the score (rounding only)
    np.testing.assert_allclose(basic["ci_low"].values, 2 * score - pct["ci_high"].values, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(basic["ci_high"].values, 2 * score - pct["ci_low"].values, rtol=1e-12, atol=1e-12)
    bca = alignment_map(acts, rec, method, ci_method="bca", **kw)
    # independent jackknife: the metric itself on the data without each stimulus
    a, r = data.align(acts, rec)
    jack = np.empty((24, 2, 2))
    for i in range(24):
        keep = np.delete(np.arange(24), i)
        for li, layer in enumerate(["l0", "l1"]):
            X = a.sel(layer=layer).values[keep]
            for ci_, region in enumerate(["A", "B"]):
                Y = r.sel(neuroid=r.region == region).values[keep]
                if method == "rsa":
                    jack[i, li, ci_] = sps.spearmanr(pdist(X, "correlation"), pdist(Y, "correlation"))[0]
                else:
                    jack[i, li, ci_] = cka.cka(X, Y)
    lo, hi = stats.bootstrap_interval(boot, score, 0.95, "bca", jackknife=jack)
    np.testing.assert_allclose(bca["ci_low"].values, lo, rtol=1e-9)  # rounding of the metric only
    np.testing.assert_allclose(bca["ci_high"].values, hi, rtol=1e-9)
    assert not np.allclose(bca["ci_low"].values, pct["ci_low"].values)


def test_encoder_bca_and_basic(small):
    acts, rec = small
    kw = dict(method_options={"backend": "numpy"}, ceiling=False, n_boot=80, random_state=0)
    pct = alignment_map(acts, rec, "ridge", **kw)
    basic = alignment_map(acts, rec, "ridge", ci_method="basic", **kw)
    score = pct["score"].values
    np.testing.assert_allclose(basic["ci_low"].values, 2 * score - pct["ci_high"].values, rtol=1e-12, atol=1e-12)
    bca = alignment_map(acts, rec, "ridge", ci_method="bca", **kw)
    assert np.isfinite(bca["ci_low"].values).all() and (bca["ci_low"] <= bca["ci_high"]).all()
    assert not np.allclose(bca["ci_low"].values, pct["ci_low"].values)


def test_fold_jackknife_is_pearson_without_each_row(rng):
    Y, P = rng.normal(size=(12, 2)), rng.normal(size=(12, 2))
    folds = [np.arange(5), np.arange(5, 12)]
    jack = stats.fold_jackknife(Y, P, folds)

    def r(rows, t):
        return sps.pearsonr(Y[rows, t], P[rows, t])[0]

    for j in range(12):
        f = 0 if j < 5 else 1
        rows = [np.delete(folds[g], j - folds[f][0]) if g == f else folds[g] for g in range(2)]
        for t in range(2):
            assert jack[j, t] == pytest.approx(np.mean([r(rows[g], t) for g in range(2)]), rel=1e-10)


def test_brain_rdm_maps_take_every_interval_rule(rng):
    T = rng.normal(size=(20, 5))
    acts = data.activations({"l0": T + rng.normal(size=T.shape)}, stimulus_id=np.arange(20))
    brain = data.rdms(
        np.stack([pdist(T + rng.normal(size=T.shape), "correlation") for _ in range(2)]),
        stimulus_id=np.arange(20),
        subject=["a", "b"],
        region="IT",
    )
    kw = dict(ceiling=False, n_boot=50, random_state=1)
    pct = alignment_map(acts, brain, "rsa", keep_samples=True, **kw)
    basic = alignment_map(acts, brain, "rsa", ci_method="basic", **kw)
    np.testing.assert_allclose(basic["ci_high"].values, 2 * pct["score"].values - pct["ci_low"].values, rtol=1e-12)
    bca = alignment_map(acts, brain, "rsa", ci_method="bca", **kw)
    jack = np.empty((20, 1, 1, 2))
    for i in range(20):
        keep = np.delete(np.arange(20), i)
        X = rsa.rdm(acts.isel(presentation=keep))
        for s in range(2):
            B = brain.isel(rdm=s, stimulus_id=keep, stimulus_id_2=keep)
            jack[i, 0, 0, s] = float(rsa.compare(X, B, "spearman").squeeze())
    lo, hi = stats.bootstrap_interval(pct["boot"].values, pct["score"].values, 0.95, "bca", jackknife=jack)
    np.testing.assert_allclose(bca["ci_low"].values, lo, rtol=1e-9)
    np.testing.assert_allclose(bca["ci_high"].values, hi, rtol=1e-9)


def test_bad_ci_method_and_bca_on_continuous(small):
    acts, rec = small
    with pytest.raises(ValueError, match="ci_method"):
        alignment_map(acts, rec, "rsa", ci_method="student", n_boot=10)
    with pytest.raises(ValueError, match="ci_method"):
        alignment_map(acts, rec, "rsa", ci_method=None, n_boot=10)
    bold = simulate.make_recording(
        acts, {"A": "l0"}, kind="continuous", n_neuroids=3, snr=4.0, tr=2.0, isi=3.0, random_state=0
    )
    with pytest.raises(ValueError, match="ci_method='bca'"):
        alignment_map(acts, bold, "ridge", method_options={"backend": "numpy"}, ci_method="bca", n_boot=10)


class DistinctStimuli:
    """A similarity that refuses repeated stimuli (as methods needing unique stimuli do): every
    bootstrap resample, which repeats some, is degenerate."""

    def __brainalign_info__(self):
        from brainalign.methods import MethodInfo

        return MethodInfo(family="similarity", kernels="call", score="correlation of the mean responses")

    def get_params(self):
        return {}

    def __call__(self, X, Y):
        if len(np.unique(X, axis=0)) < len(X):
            raise ValueError("X has repeated stimuli")
        return float(np.corrcoef(X.mean(1), Y.mean(1))[0, 1])


def test_nan_statistics_are_named_and_counted(small, caplog):
    import warnings

    acts, rec = small
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no numpy warnings in their place
        amap = alignment_map(acts, rec, DistinctStimuli(), ceiling=False, n_boot=20, n_perm=20)
    assert np.isfinite(amap["score"].values).all()
    assert np.isnan(amap["ci_low"].values).all() and np.isfinite(amap["p_value"].values).all()
    assert amap.attrs["n_nan_statistics"] == 2 * amap["score"].size  # ci_low and ci_high of every cell
    messages = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "NaN where" in r.getMessage()]
    assert len(messages) == 1
    assert "ci_low at layer 'l0', region 'A'" in messages[0] and "degenerate resamples" in messages[0]
    clean = alignment_map(acts, rec, "cka", ceiling=False, n_boot=20)
    assert clean.attrs["n_nan_statistics"] == 0
