"""Property-based suite: every public entry point either refuses bad input with a ValueError/TypeError
that names the argument, or returns finite values inside the method's declared range that do not
depend on the units where the mathematics is scale-invariant.

Profiles in tests/strategies.py (``ci`` by default; ``--hypothesis-profile=fuzz`` for 10× the examples).
"""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from brainalign import alignment_map, data, methods, registry  # noqa: E402
from brainalign.encoders import RidgeEncoder  # noqa: E402
from brainalign.io import arrays  # noqa: E402

from .strategies import blocks, stimulus_ids  # noqa: E402

SIMILARITIES = [n for n in registry.list_methods() if methods.method_info(registry.get(n)).family == "similarity"]
SIMILARITIES = [n for n in SIMILARITIES if not methods.method_info(registry.get(n)).needs_trials]
OPTIONS = {"mutual_knn": {"k": 3}}
GOOD = np.random.default_rng(1).standard_normal((14, 4))


def refused_properly(err: Exception, names: tuple[str, ...]) -> None:
    """A refusal is a ValueError/TypeError whose message names one of the arguments."""
    assert isinstance(err, (ValueError, TypeError)), repr(err)
    message = str(err)
    assert any(re.search(rf"(^|[^A-Za-z_]){re.escape(n)}([^A-Za-z_]|$)", message) for n in names), message


def check_result(value: float, info: methods.MethodInfo, dtype: str = "float64") -> None:
    # Rounding may step past a bound by a few units of the working precision: float16/float32
    # inputs are computed in float32 (eps 1.2e-7), everything else in float64.
    tol = 1e-6 if dtype in ("float16", "float32") else 1e-9
    lo, hi = info.score_range
    assert np.isfinite(value), value
    assert lo - tol <= value <= hi + tol, (value, info.score_range, dtype)


@pytest.mark.parametrize("name", SIMILARITIES)
@given(x=blocks(), swap=st.booleans(), exponent=st.integers(-100, 100))
def test_similarity_metrics(name, x, swap, exponent):
    X, defect, dtype = x
    method = registry.get(name, **OPTIONS.get(name, {}))
    info = methods.method_info(method)
    Y = GOOD[: X.shape[0]] if X.ndim == 2 else GOOD
    args = (Y, X) if swap else (X, Y)
    arg = "X" if not swap else "Y"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)  # an overflow inside is a silent wrong answer
            value = method(*args)
    except (ValueError, TypeError) as err:
        refused_properly(err, (arg, "X", "Y", "k"))
        return
    assert dtype != "complex128" and defect not in ("nan", "inf", "-inf", "constant", "zeros")
    check_result(value, info, dtype)
    if info.scale_invariant:
        # A power of two: exact, so rank-based scores with near-ties (e.g. correlation RDMs of two-feature
        # patterns, all ±1 up to rounding) cannot flip; what is tested is that the units do not matter.
        Xf = X.astype(np.float64)
        with np.errstate(over="ignore"):
            Xs = Xf * 2.0**exponent
        if np.isfinite(Xs).all() and np.abs(Xs).max() > 0:
            again = method(*((Y, Xs) if swap else (Xs, Y)))
            assert again == pytest.approx(method(*((Y, Xf) if swap else (Xf, Y))), rel=1e-9, abs=1e-12)


@given(x=blocks(n_stimuli=st.integers(0, 12), n_features=st.integers(0, 4)))
def test_ridge_encoder(x):
    X, defect, dtype = x
    Y = GOOD[: X.shape[0], :2] if X.shape[0] <= GOOD.shape[0] else GOOD[:, :2]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            pred = RidgeEncoder(backend="numpy", cv=2).fit(X, Y).predict(X)
    except (ValueError, TypeError) as err:
        refused_properly(err, ("X", "Y", "y", "cv", "n_samples", "n_splits"))
        return
    assert dtype != "complex128" and defect not in ("nan", "inf", "-inf", "huge", "tiny")
    assert np.isfinite(pred).all()


def _labelled(X: np.ndarray, ids: list):
    half = max(X.shape[1] // 2, 1)
    return data.activations(
        {"l1": X[:, :half], "l2": X[:, half:] if X.shape[1] > half else X[:, :half]}, stimulus_id=ids
    )


@pytest.mark.parametrize("name", [*SIMILARITIES, "ridge"])
@given(x=blocks(n_stimuli=st.integers(0, 12), n_features=st.integers(0, 4)), data_=st.data())
def test_alignment_map(name, x, data_):
    X, defect, dtype = x
    ids = data_.draw(stimulus_ids(X.shape[0]))
    options = {**OPTIONS.get(name, {}), **({"backend": "numpy"} if name == "ridge" else {})}
    try:
        acts = _labelled(X, ids)
        rec = data.recording(GOOD[: X.shape[0]], stimulus_id=ids, subject="S1", region="V1")
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            amap = alignment_map(acts, rec, name, method_options=options, ceiling=False)
    except (ValueError, TypeError) as err:
        refused_properly(
            err,
            ("values", "activations", "recording", "stimulus_id", "X", "Y", "k", "cv", "features", "layer", "region"),
        )
        return
    info = methods.method_info(registry.get(name, **options))
    score = amap["score"].values
    assert np.isfinite(score).all(), (defect, dtype, score)
    for v in score.ravel():
        check_result(float(v), info)


@given(x=blocks(n_stimuli=st.integers(1, 6), n_features=st.integers(1, 3)), data_=st.data())
def test_save_load_round_trip(tmp_path_factory, x, data_):
    X, _, dtype = x
    ids = data_.draw(stimulus_ids(X.shape[0]))
    obj = __import__("xarray").DataArray(
        X, dims=("presentation", "unit"), coords={"stimulus_id": ("presentation", ids)}
    )
    obj.attrs = data_.draw(
        st.dictionaries(
            st.sampled_from(["a", "b/c", "random_state", "nested"]),
            st.recursive(
                st.none()
                | st.booleans()
                | st.integers(-(10**30), 10**30)
                | st.floats(allow_nan=False)
                | st.text(max_size=5),
                lambda inner: (
                    st.lists(inner, max_size=3) | st.dictionaries(st.text("abc", max_size=3), inner, max_size=3)
                ),
                max_leaves=6,
            ),
            max_size=3,
        )
    )
    path = tmp_path_factory.mktemp("io") / "obj.nc"
    try:
        arrays.save(obj, path)
    except (ValueError, TypeError) as err:
        refused_properly(err, ("values", "attrs", "stimulus_id", "'__brainalign_dataarray__'"))
        assert dtype == "complex128" or len({type(i) for i in ids}) > 1
        return
    back = arrays.load(path)
    assert back.dtype == obj.dtype
    np.testing.assert_array_equal(back.values, obj.values)
    assert back.attrs == obj.attrs
