import logging

import numpy as np
import pandas as pd
import pytest

from brainalign import data


@pytest.fixture
def acts(rng):
    return data.activations(
        {"l1": rng.normal(size=(6, 3)), "l2": rng.normal(size=(6, 2))}, stimulus_id=list("abcdef"), model="toy"
    )


def _rec(ids, rng, m=4, **kw):
    return data.recording(rng.normal(size=(len(ids), m)), stimulus_id=ids, subject="S1", region="V1", **kw)


# ----------------------------------------------------------------------------- condition data
def test_align_matches_ids_in_any_order(acts, rng):
    rec = _rec(list("ecab"), rng)
    a, r = data.align(acts, rec)
    assert a["stimulus_id"].values.tolist() == list("ecab")
    for i, sid in enumerate("ecab"):
        np.testing.assert_array_equal(a.values[i], acts.sel(presentation=acts.stimulus_id == sid).values[0])
    np.testing.assert_array_equal(r.values, rec.values)


def test_duplicate_ids_need_a_decision(acts, rng):
    rec = _rec(list("abab"), rng)
    with pytest.raises(ValueError, match="repetitions='average' or 'keep'"):
        data.align(acts, rec)


def test_repetitions_average_matches_groupby(acts, rng):
    ids = [*list("abcab"), "c"]
    rec = _rec(ids, rng, run=[0, 0, 0, 1, 1, 1])
    a, r = data.align(acts, rec, repetitions="average")
    expected = pd.DataFrame(rec.values).groupby(np.array(ids)).mean().loc[list("abc")].values
    np.testing.assert_allclose(r.values, expected)
    assert r["stimulus_id"].values.tolist() == list("abc")
    assert r["n_repetitions"].values.tolist() == [2, 2, 2]
    assert "run" not in r.coords  # differs between repeats, so it no longer applies
    assert a["stimulus_id"].values.tolist() == list("abc")


def test_repetitions_keep_repeats_activations(acts, rng):
    rec = _rec(list("abab"), rng)
    a, r = data.align(acts, rec, repetitions="keep")
    assert a.sizes["presentation"] == 4
    np.testing.assert_array_equal(a.values[0], a.values[2])
    np.testing.assert_array_equal(r.values, rec.values)


def test_declared_repetition_coordinate_is_averaged_by_default(acts, rng):
    rec = _rec(list("abab"), rng, presentation_coords={"repetition": [0, 0, 1, 1]})
    _, r = data.align(acts, rec)
    np.testing.assert_allclose(r.values[0], rec.values[[0, 2]].mean(axis=0))


def test_repetition_dim_averaged_or_kept(acts, rng):
    values = rng.normal(size=(3, 4, 5))
    rec = data.recording(values, stimulus_id=list("cab"), subject="S1", region="V1")
    _, r = data.align(acts, rec)
    np.testing.assert_allclose(r.values, values.mean(axis=2))
    _, r = data.align(acts, rec, repetitions="keep")
    assert r.dims == ("presentation", "neuroid", "repetition")


def test_missing_ids_raise_or_drop(acts, rng, caplog):
    rec = _rec(["a", "z", "b", "y"], rng)
    with pytest.raises(ValueError, match=r"2 stimulus id\(s\) of the recording have no activations.*on_missing='drop'"):
        data.align(acts, rec)
    with caplog.at_level(logging.WARNING, logger="brainalign"):
        a, r = data.align(acts, rec, on_missing="drop")
    assert r["stimulus_id"].values.tolist() == ["a", "b"]
    assert a["stimulus_id"].values.tolist() == ["a", "b"]
    assert "Dropping" in caplog.text


def test_no_common_ids(acts, rng):
    with pytest.raises(ValueError, match="no stimulus_id in common"):
        data.align(acts, _rec(list("xyz"), rng))


def test_id_type_mismatch(acts, rng):
    with pytest.raises(TypeError, match=r"different types.*str.*int"):
        data.align(acts, _rec([0, 1, 2], rng))


def test_time_resolved_aligned_on_ids(acts, rng):
    rec = data.recording(
        rng.normal(size=(3, 2, 4)), stimulus_id=list("fed"), latency=[0, 0.1, 0.2, 0.3], subject="S1", region="MEG"
    )
    a, r = data.align(acts, rec)
    assert a["stimulus_id"].values.tolist() == list("fed")
    assert r.dims == ("presentation", "neuroid", "latency")


def test_nan_in_recording_is_refused(acts, rng):
    rec = _rec(list("abc"), rng)
    rec[0, 0] = np.nan
    with pytest.raises(ValueError, match="recording contains 1 NaN"):
        data.align(acts, rec)


def test_delays_only_for_continuous(acts, rng):
    with pytest.raises(ValueError, match="continuous recordings only"):
        data.align(acts, _rec(list("abc"), rng), delays=[1, 2])


# ---------------------------------------------------------------------------- continuous data
def _lanczos_reference(values, old, new, window=3, cutoff_mult=1.0):
    """Huth et al. (2016)-style Lanczos interpolation written out with loops (independent)."""
    cutoff = 1.0 / np.mean(np.diff(new)) * cutoff_mult
    out = np.zeros((len(new), values.shape[1]))
    for i, t_new in enumerate(new):
        for j, t_old in enumerate(old):
            t = (t_new - t_old) * cutoff
            if t == 0:
                w = 1.0
            elif abs(t) > window:
                w = 0.0
            else:
                w = window * np.sin(np.pi * t) * np.sin(np.pi * t / window) / (np.pi**2 * t**2)
            out[i] += w * values[j]
    return out


def _word_features(rng, n_words=40, duration=30.0, run="r1", n_units=3):
    times = np.sort(rng.uniform(0.5, duration - 0.5, size=n_words))
    return times, rng.normal(size=(n_words, n_units))


def test_lanczos_matches_reference(rng):
    times, feats = _word_features(rng)
    acts = data.activations({"l": feats}, time=times, run="r1")
    rec = data.recording(rng.normal(size=(15, 2)), tr=2.0, run="r1", subject="S1", region="A")
    a, _ = data.align(acts, rec)
    assert a.dims == ("time", "unit")
    np.testing.assert_allclose(a.values, _lanczos_reference(feats, times, rec["time"].values), rtol=1e-10, atol=1e-12)
    np.testing.assert_array_equal(a["time"].values, rec["time"].values)
    assert a.attrs["resample"] == "lanczos"


def test_lanczos_recovers_slow_sinusoid():
    # A slow signal sampled at 20 Hz, resampled to TR = 1 s: the result divided by that of a
    # constant is the signal at the TR times (the filter passes frequencies below its cutoff).
    old = np.arange(0, 120, 0.05)
    new = np.arange(0, 120, 1.0)
    signal = np.sin(2 * np.pi * 0.03 * old)[:, None]
    acts = data.activations({"l": np.hstack([signal, np.ones_like(signal)])}, time=old)
    rec = data.recording(np.zeros((len(new), 1)), time=new, subject="S1", region="A")
    a, _ = data.align(acts, rec)
    inner = slice(5, -5)  # away from the edges, where the kernel runs out of samples
    np.testing.assert_allclose(
        a.values[inner, 0] / a.values[inner, 1], np.sin(2 * np.pi * 0.03 * new[inner]), atol=5e-3
    )


def test_runs_are_kept_separate(rng):
    # An impulse at the end of run 1 must not leak into the start of run 2.
    times = np.array([9.9, 0.1, 5.0])
    feats = np.array([[100.0], [0.0], [0.0]])
    acts = data.activations({"l": feats}, time=times, run=[1, 2, 2])
    rec = data.recording(np.zeros((10, 1)), tr=2.0, run=[1] * 5 + [2] * 5, subject="S1", region="A")
    a, _ = data.align(acts, rec)
    assert np.all(a.values[5:] == 0)
    assert a.values[4, 0] != 0


def test_average_resampling(rng):
    times = np.array([0.1, 0.4, 1.2, 3.9])
    feats = np.array([[1.0], [3.0], [5.0], [7.0]])
    acts = data.activations({"l": feats}, time=times)
    rec = data.recording(np.zeros((3, 1)), time=[0.5, 1.5, 2.5], subject="S1", region="A")
    with pytest.raises(ValueError, match="outside the recording's samples"):
        data.align(acts, rec, resample="average")
    acts = acts.isel(time=[0, 1, 2])
    a, _ = data.align(acts, rec, resample="average")
    # bins [0, 1), [1, 2), [2, 3)
    assert a.values[:, 0].tolist() == [2.0, 5.0, 0.0]


def test_fir_delays_stay_within_runs(rng):
    times = np.array([0.0, 2.0, 4.0, 0.0, 2.0])
    feats = np.arange(1.0, 6.0)[:, None]
    acts = data.activations({"l": feats}, time=times, run=["a"] * 3 + ["b"] * 2)
    rec = data.recording(np.zeros((5, 1)), tr=2.0, run=["a"] * 3 + ["b"] * 2, subject="S1", region="A")
    a, _ = data.align(acts, rec, resample="average", delays=[0, 1, 2])
    assert a["delay"].values.tolist() == [0, 1, 2]
    assert a["layer"].values.tolist() == ["l"] * 3
    np.testing.assert_array_equal(a.values, [[1, 0, 0], [2, 1, 0], [3, 2, 1], [4, 0, 0], [5, 4, 0]])
    with pytest.raises(TypeError, match="integers"):
        data.align(acts, rec, delays=[0.5])
    with pytest.raises(ValueError, match="repeated"):
        data.align(acts, rec, delays=[1, 1])


def test_fir_delays_function_negative():
    out = data.fir_delays(np.arange(4.0)[:, None], np.zeros(4), [-1])
    assert out[:, 0].tolist() == [1.0, 2.0, 3.0, 0.0]


def test_continuous_bad_pairings(rng):
    rec = data.recording(np.zeros((5, 1)), tr=2.0, run="a", subject="S1", region="A")
    cond = data.activations({"l": np.zeros((3, 2))}, stimulus_id=[0, 1, 2])
    with pytest.raises(ValueError, match="activations at event times"):
        data.align(cond, rec)
    acts = data.activations({"l": np.zeros((2, 1))}, time=[0.0, 1.0], run="b")
    with pytest.raises(ValueError, match=r"run\(s\) \['a'\] with no events"):
        data.align(acts, rec)
    acts = data.activations({"l": np.zeros((2, 1))}, time=[0.0, 1.0], run=0)
    with pytest.raises(TypeError, match="run has different types"):
        data.align(acts, rec)
    acts = data.activations({"l": np.zeros((2, 1))}, time=[0.0, 1.0], run="a")
    with pytest.raises(ValueError, match="Invalid value for resample"):
        data.align(acts, rec, resample="cubic")
    with pytest.raises(ValueError, match="window must be a positive integer"):
        data.align(acts, rec, window=0)


# ------------------------------------------------------------------ HRF convolution (additive)
@pytest.mark.parametrize("hrf_model", ["glover", "spm"])
def test_hrf_matrix_matches_nilearn_compute_regressor(hrf_model):
    first_level = pytest.importorskip("nilearn.glm.first_level")
    rng = np.random.default_rng(0)
    frame_times = np.arange(120) * 2.0
    onsets = np.sort(rng.uniform(0, 230, 40))
    durations = rng.choice([0.0, 0.3, 4.0], 40)
    amplitudes = rng.normal(size=40)
    ref, _ = first_level.compute_regressor(np.vstack([onsets, durations, amplitudes]), hrf_model, frame_times)
    W = data.hrf_matrix(frame_times, onsets, durations, hrf_model=hrf_model)
    np.testing.assert_allclose(W @ amplitudes, ref[:, 0], rtol=1e-10, atol=1e-12)
    # the model is shift-invariant: frames and events moved by 10 s give the same weights
    W10 = data.hrf_matrix(frame_times + 10.0, onsets + 10.0, durations, hrf_model=hrf_model)
    np.testing.assert_allclose(W10, W, atol=1e-12)


def test_align_with_hrf_convolves_every_unit_run_by_run():
    pytest.importorskip("nilearn")
    rng = np.random.default_rng(1)
    tr, n_tr = 1.5, 80
    times, runs, values = [], [], []
    for run in ("a", "b"):
        t = np.sort(rng.uniform(0, n_tr * tr - 1, 60))
        times.append(t)
        runs += [run] * len(t)
        values.append(rng.normal(size=(len(t), 3)))
    acts = data.activations(
        {"fc": np.concatenate(values)},
        time=np.concatenate(times),
        run=runs,
        presentation_coords={"duration": np.full(len(runs), 0.25)},
    )
    rec = data.recording(np.zeros((2 * n_tr, 2)), tr=tr, run=["a"] * n_tr + ["b"] * n_tr, subject="S1", region="STG")
    a, _ = data.align(acts, rec, hrf_model="glover")
    assert a.attrs["hrf_model"] == "glover" and "resample" not in a.attrs
    for k in range(2):
        W = data.hrf_matrix(np.arange(n_tr) * tr, times[k], np.full(len(times[k]), 0.25), hrf_model="glover")
        np.testing.assert_allclose(a.values[k * n_tr : (k + 1) * n_tr], W @ values[k], rtol=1e-6, atol=1e-9)
    # planted truth: a voxel that is the HRF-convolved unit 0 correlates perfectly with it
    planted = data.recording(a.values[:, :1] * 3.0 + 1.0, tr=tr, run=rec["run"].values, subject="S1", region="STG")
    a2, _ = data.align(acts, planted, hrf_model="glover")
    assert np.corrcoef(a2.values[:, 0], planted.values[:, 0])[0, 1] > 1 - 1e-9
    # ...which holds by construction; the independent check: every unit of every run is the
    # regressor nilearn's compute_regressor builds from (onset, duration, amplitude) itself
    first_level = pytest.importorskip("nilearn.glm.first_level")
    frame_times = np.arange(n_tr) * tr
    for k in range(2):
        for unit in range(3):
            events = np.vstack([times[k], np.full(len(times[k]), 0.25), values[k][:, unit]])
            ref, _ = first_level.compute_regressor(events, "glover", frame_times, oversampling=50)
            # float64 throughout; nilearn's grid differs from ours only by rounding
            np.testing.assert_allclose(a.values[k * n_tr : (k + 1) * n_tr, unit], ref[:, 0], rtol=1e-9, atol=1e-12)
    with pytest.raises(ValueError, match="not both"):
        data.align(acts, rec, hrf_model="glover", delays=(1, 2))
    with pytest.raises(ValueError, match="hrf_model"):
        data.align(acts, rec, hrf_model="canonical")
    cond = data.recording(np.ones((2, 1)), stimulus_id=["x", "y"], subject="S", region="r")
    with pytest.raises(ValueError, match="continuous recordings only"):
        data.align(data.activations({"fc": np.ones((2, 1))}, stimulus_id=["x", "y"]), cond, hrf_model="spm")


def test_hrf_accepts_events_before_the_first_frame():
    """Words heard before the first recorded volume drive it through the HRF (~24 s support)."""
    first_level = pytest.importorskip("nilearn.glm.first_level")
    rng = np.random.default_rng(2)
    tr, n_tr = 2.0, 40
    onsets = np.r_[-20.0, -9.5, -2.5, np.sort(rng.uniform(0, n_tr * tr - 1, 20))]
    amplitudes = rng.normal(size=(len(onsets), 2))
    acts = data.activations({"fc": amplitudes}, time=onsets, run="a")
    rec = data.recording(np.zeros((n_tr, 1)), tr=tr, run="a", subject="S1", region="STG")
    a, _ = data.align(acts, rec, hrf_model="glover")
    frame_times = np.arange(n_tr) * tr
    for unit in range(2):
        events = np.vstack([onsets, np.zeros(len(onsets)), amplitudes[:, unit]])
        ref, _ = first_level.compute_regressor(events, "glover", frame_times)
        np.testing.assert_allclose(a.values[:, unit], ref[:, 0], rtol=1e-9, atol=1e-12)
    # the early events matter: without them the first frames differ
    late = data.activations({"fc": amplitudes[3:]}, time=onsets[3:], run="a")
    a_late, _ = data.align(late, rec, hrf_model="glover")
    assert np.abs(a.values[:5] - a_late.values[:5]).max() > 1e-3
    # beyond the HRF grid (24 s before the first frame), and for resampling beyond a sample: refused
    too_early = data.activations({"fc": np.ones((2, 1))}, time=[-30.0, 5.0], run="a")
    with pytest.raises(ValueError, match=r"outside the recording's samples.*with hrf_model"):
        data.align(too_early, rec, hrf_model="glover")
    with pytest.raises(ValueError, match="outside the recording's samples"):
        data.align(acts, rec)  # Lanczos: -20 s is far outside the run
    with pytest.raises(ValueError, match="onsets: an event at -30 s starts before the HRF grid"):
        data.hrf_matrix(frame_times, np.array([-30.0, 1.0]))
    with pytest.raises(ValueError, match="min_onset must be"):
        data.hrf_matrix(frame_times, np.array([1.0]), min_onset=5.0)


def test_run_blocks_split_at_every_label_change():
    from brainalign.data._align import run_blocks

    assert run_blocks(np.array([0, 0, 1, 1, 1, 0])) == [slice(0, 2), slice(2, 5), slice(5, 6)]
    assert run_blocks(np.array(["a"])) == [slice(0, 1)]
    assert run_blocks(np.array([], dtype=object)) == []
