"""Property-based suite, part 2: ft.probe, encode, the data constructors and align, stats, load_fmri
and a tiny identifiability study. Each call refuses bad input with a ValueError/TypeError naming the
argument, or returns finite values in range (profiles in tests/strategies.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from brainalign import data, encode, identifiability, stats  # noqa: E402
from brainalign.probes import frequency_tagging as ft  # noqa: E402

from .strategies import blocks, stimulus_ids  # noqa: E402
from .test_properties import GOOD, refused_properly  # noqa: E402


@given(x=blocks(n_stimuli=st.integers(0, 6), n_features=st.integers(0, 5)), n_trials=st.integers(1, 3))
def test_probe(x, n_trials):
    X, defect, dtype = x
    # (trial, unit, time): the block's rows are units, its columns repeat into 8-sample trials
    resp = np.stack([np.tile(X, (1, 2))] * n_trials) if X.size else np.zeros((n_trials, *X.shape))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            res = ft.probe(resp, n_shuffles=20, z_threshold=None)
    except (ValueError, TypeError) as err:
        refused_properly(err, ("responses", "rates"))
        return
    assert dtype != "complex128" and defect not in ("nan", "inf", "-inf")
    p = res["p_value"].values
    assert ((p > 0) & (p <= 1) | np.isnan(p)).all()
    assert np.isfinite(res["amplitude"].values).all() and (res["amplitude"].values >= 0).all()
    assert np.isnan(p).sum() == res.attrs["n_constant"] * res.sizes["rate"]  # NaN only where constant


@given(x=blocks(n_stimuli=st.integers(0, 12), n_features=st.integers(0, 4)), data_=st.data())
def test_encode(x, data_):
    X, defect, _ = x
    ids = data_.draw(stimulus_ids(X.shape[0]))
    try:
        acts = data.activations({"l1": X}, stimulus_id=ids)
        rec = data.recording(GOOD[: X.shape[0], :2], stimulus_id=ids, subject="S1", region="V1")
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            out = encode(acts, rec, cv=2, encoder_options={"backend": "numpy"}, ceiling=False)
    except (ValueError, TypeError) as err:
        refused_properly(err, ("values", "features", "activations", "recording", "stimulus_id", "X", "cv", "layer"))
        return
    assert defect not in ("nan", "inf", "-inf", "constant", "zeros")
    r = out["r"].values
    assert np.isfinite(r).all() and (np.abs(r) <= 1 + 1e-9).all()


@given(
    x=blocks(n_stimuli=st.integers(0, 6), n_features=st.integers(0, 3)),
    data_=st.data(),
    ndim=st.sampled_from([1, 2, 3]),
)
def test_recording_activations_align(x, data_, ndim):
    X, defect, dtype = x
    ids = data_.draw(stimulus_ids(X.shape[0]))
    values = X[:, 0] if ndim == 1 and X.shape[1] else X[..., None] if ndim == 3 else X
    try:
        rec = data.recording(values, stimulus_id=ids, subject="S1", region="V1")
        acts = data.activations({"l1": X}, stimulus_id=list(reversed(ids)))
        a, r = data.align(acts, rec)
    except (ValueError, TypeError) as err:
        refused_properly(err, ("values", "stimulus_id", "activations", "recording", "region", "X"))
        return
    assert dtype != "complex128" and defect not in ("nan", "inf", "-inf")
    np.testing.assert_array_equal(a["stimulus_id"].values, r["stimulus_id"].values)


@given(
    null=st.lists(st.floats(-5, 5) | st.just(float("nan")), min_size=1, max_size=20),
    observed=st.floats(-5, 5) | st.just(float("nan")),
    ci=st.floats(0.01, 0.99),
    method=st.sampled_from(stats.CI_METHODS),
    alternative=st.sampled_from(stats.ALTERNATIVES),
)
def test_stats(null, observed, ci, method, alternative):
    null = np.asarray(null)[:, None]
    p = stats.p_value(null, np.array([[observed]]), alternative)
    assert np.isnan(p).all() or ((p > 0) & (p <= 1)).all()
    try:
        low, high = stats.bootstrap_interval(null, observed, ci, method, jackknife=null[:5])
    except ValueError as err:
        refused_properly(err, ("samples", "jackknife"))
        assert len(null) < 2
        return
    assert np.isnan(low).all() or (low <= high + 1e-12).all()
    pvals = np.clip(np.nan_to_num(null[:, 0], nan=0.5), 0, 1)
    significant, q = stats.fdr_correction(pvals)
    # Benjamini–Hochberg: adjusted p-values are p-values, never below the raw ones.
    assert ((q >= pvals - 1e-12) & (q <= 1)).all() and significant.dtype == bool


@given(
    shape=st.tuples(st.integers(1, 3), st.integers(1, 3), st.integers(1, 2), st.integers(0, 6)),
    dtype=st.sampled_from(["float32", "float64", "int16", "uint8"]),
    defect=st.sampled_from(["none", "nan", "constant", "huge"]),
    tr=st.sampled_from([2.0, 0.0, -1.0, float("nan"), None]),
)
def test_load_fmri(tmp_path_factory, shape, dtype, defect, tr):
    nib = pytest.importorskip("nibabel")
    from brainalign.io.fmri import load_fmri

    values = np.random.default_rng(0).normal(size=shape) * 10
    if defect == "nan" and dtype.startswith("float") and values.size:
        values.flat[0] = np.nan
    elif defect == "constant":
        values[:] = 1.0
    elif defect == "huge" and dtype.startswith("float"):
        values *= 1e30
    with np.errstate(all="ignore"):
        values = values.astype(dtype)
    path = tmp_path_factory.mktemp("nii") / "bold.nii.gz"
    nib.save(nib.Nifti1Image(values, np.eye(4)), path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            rec = load_fmri(str(path), tr=tr)
    except (ValueError, TypeError) as err:
        refused_properly(err, ("imgs", "tr", "mask", "values", "stimulus_id"))
        return
    assert np.isfinite(rec.values).all() and rec.attrs["tr"] > 0


@pytest.mark.parametrize("n_stimuli", [[3], [8]])
def test_identifiability_tiny(n_stimuli):
    X = np.random.default_rng(0).normal(size=(10, 4))
    acts = data.activations({"a": X, "b": np.tanh(X @ np.ones((4, 4)))}, stimulus_id=range(10))
    try:
        res = identifiability(
            acts, methods=["cka"], n_stimuli=n_stimuli, n_repeats=2, snr=[1.0], n_neuroids=[4], random_state=0
        )
    except (ValueError, TypeError) as err:
        refused_properly(err, ("n_stimuli", "activations", "n_neuroids"))
        return
    acc = res["accuracy"].values
    assert ((acc >= 0) & (acc <= 1) | np.isnan(acc)).all()


@pytest.mark.parametrize("name", ["best_match", "anc"])
def test_fuzz_found_neuronwise_small_units(name):
    """Found by the fuzz profile: a unit of magnitude 1e-12 was taken for constant (absolute tolerance)."""
    from brainalign import registry

    X = np.array([[0.12573022], [-0.13210486], [0.64042265]])
    method = registry.get(name)
    Y = GOOD[:3, :1] if name == "anc" else GOOD[:3]
    assert method(X * 2.0**-39, Y) == pytest.approx(method(X, Y), rel=1e-12)


def test_fuzz_found_probe_short_trials_name_responses():
    with pytest.raises(ValueError, match="responses"):
        ft.probe(np.random.default_rng(0).normal(size=(1, 2, 4)), n_shuffles=10)
