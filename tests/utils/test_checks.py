"""The argument checks of brainalign.utils: what each accepts, what it refuses, and that the message
names the argument and what was expected."""

import collections
import math

import numpy as np
import pytest

from brainalign.utils import (
    check_bool,
    check_count,
    check_float_dtype,
    check_mapping,
    check_number,
    check_sequence,
    check_text,
)

# --- check_bool ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [True, False, np.True_, np.False_, np.bool_(1)])
def test_check_bool_accepts_python_and_numpy_bools(value):
    out = check_bool("flag", value)
    assert type(out) is bool  # numpy bools come back as Python bools
    assert out is bool(value)


@pytest.mark.parametrize("value", [1, 0, np.int64(1), 1.0, "yes", "True", None, [True], np.array([True])])
def test_check_bool_refuses_what_only_looks_like_a_flag(value):
    with pytest.raises(TypeError, match=r"^flag must be True or False, got "):
        check_bool("flag", value)


def test_check_bool_message_says_the_type_and_value():
    with pytest.raises(TypeError, match=r"^standardize must be True or False, got int \(1\)\.$"):
        check_bool("standardize", 1)


def test_check_bool_optional_none():
    assert check_bool("flag", None, optional=True) is None
    assert check_bool("flag", np.False_, optional=True) is False
    with pytest.raises(TypeError, match=r"^flag must be True or False or None, got str \('no'\)"):
        check_bool("flag", "no", optional=True)


# --- check_count --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [1, 7, np.int32(7), np.uint8(7), 10**30])
def test_check_count_accepts_integers(value):
    out = check_count("n", value)
    assert type(out) is int and out == int(value)


@pytest.mark.parametrize("value", [True, np.True_, 3.0, np.float64(3), "3", None, 0, -2])
def test_check_count_refuses_bools_floats_strings_and_small(value):
    with pytest.raises(ValueError, match=r"^n must be an integer ≥ 1, got "):
        check_count("n", value)


def test_check_count_minimum_is_inclusive_and_named():
    assert check_count("n_boot", 0, minimum=0) == 0
    with pytest.raises(ValueError, match=r"^n_words must be an integer ≥ 3 \(words per sentence\), got 2\.$"):
        check_count("n_words", 2, minimum=3, what="words per sentence")


def test_check_count_optional_none():
    assert check_count("batch", None, optional=True) is None
    with pytest.raises(ValueError, match=r"^batch must be an integer ≥ 1 or None, got 0\.$"):
        check_count("batch", 0, optional=True)


# --- check_number -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [2, 2.5, np.float32(0.25), np.int64(3), 1e-300])
def test_check_number_default_accepts_positive_numbers(value):
    out = check_number("tr", value)
    assert type(out) is float and out == float(value)


@pytest.mark.parametrize("value", [True, np.False_, "2", 1 + 2j, np.complex64(1), None, [1.0], np.array([1.0])])
def test_check_number_refuses_non_numbers(value):
    with pytest.raises(TypeError, match=r"^tr must be a number of seconds > 0, got "):
        check_number("tr", value, unit="seconds")


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf, np.float32("nan"), 10**400])
def test_check_number_refuses_non_finite(value):
    with pytest.raises(ValueError, match=r"^tr must be > 0 seconds and finite, got "):
        check_number("tr", value, unit="seconds")
    with pytest.raises(ValueError, match=r"^x must be a finite number, got "):
        check_number("x", value, minimum=None)


@pytest.mark.parametrize(
    ("inclusive", "low_ok", "high_ok"),
    [("neither", False, False), ("left", True, False), ("right", False, True), ("both", True, True)],
)
def test_check_number_bounds_inclusive_or_exclusive(inclusive, low_ok, high_ok):
    kwargs = {"minimum": 0.0, "maximum": 1.0, "inclusive": inclusive}
    assert check_number("alpha", 0.5, **kwargs) == 0.5
    for edge, ok in ((0.0, low_ok), (1.0, high_ok)):
        if ok:
            assert check_number("alpha", edge, **kwargs) == edge
        else:
            with pytest.raises(ValueError, match=r"^alpha must be in [\[(]0, 1[\])] and finite, got "):
                check_number("alpha", edge, **kwargs)
    for outside in (-1e-12, 1 + 1e-12):
        with pytest.raises(ValueError, match="alpha must be in"):
            check_number("alpha", outside, **kwargs)


def test_check_number_says_the_interval():
    with pytest.raises(ValueError, match=r"^alpha must be in \(0, 1\] and finite, got 2\.0\.$"):
        check_number("alpha", 2.0, maximum=1.0, inclusive="right")
    with pytest.raises(ValueError, match=r"^lag must be ≥ -2 and finite, got -3\.$"):
        check_number("lag", -3, minimum=-2, inclusive="left")
    with pytest.raises(ValueError, match=r"^rate must be < 10 Hz and finite, got 10\.$"):
        check_number("rate", 10, minimum=None, maximum=10, unit="Hz")
    assert check_number("shift", -5, minimum=None) == -5.0  # unbounded: any finite number
    with pytest.raises(ValueError, match="inclusive"):
        check_number("alpha", 0.5, inclusive="closed")


def test_check_number_optional_none():
    assert check_number("sfreq", None, optional=True) is None
    with pytest.raises(TypeError, match=r"^sfreq must be a number of Hz > 0 or None, got str"):
        check_number("sfreq", "100", optional=True, unit="Hz")
    with pytest.raises(TypeError, match="sfreq must be a number"):
        check_number("sfreq", None)


# --- check_text ---------------------------------------------------------------------------------


def test_check_text():
    assert check_text("subject", "S1") == "S1"
    assert check_text("subject", np.str_("S1")) == "S1"
    assert check_text("space", None, optional=True) is None
    with pytest.raises(ValueError, match=r"^region must be a non-empty string, got ''\.$"):
        check_text("region", "")
    for value in (7, b"S1", None, ["S1"]):
        with pytest.raises(TypeError, match=r"^subject must be a string, got "):
            check_text("subject", value)
    with pytest.raises(TypeError, match=r"^space must be a string or None, got int \(3\)\.$"):
        check_text("space", 3, optional=True)


# --- check_mapping ------------------------------------------------------------------------------


def test_check_mapping():
    d = {"a": 1}
    assert check_mapping("attrs", d) is d
    ordered = collections.OrderedDict(a=1)
    assert check_mapping("attrs", ordered) is ordered
    assert check_mapping("attrs", None, optional=True) is None
    for value in ([("a", 1)], "a", None):
        with pytest.raises(TypeError, match=r"^attrs must be a mapping \(e\.g\. a dict of name → values\), got "):
            check_mapping("attrs", value)
    with pytest.raises(TypeError, match=r"^attrs must be a mapping .* or None, got list\.$"):
        check_mapping("attrs", [1], optional=True)


# --- check_sequence -----------------------------------------------------------------------------


def test_check_sequence():
    assert check_sequence("run", [1, 1, 2]) == [1, 1, 2]
    assert check_sequence("run", ("a", "b")) == ["a", "b"]
    assert check_sequence("run", np.array([3, 4])) == [3, 4]
    assert check_sequence("run", None, optional=True) is None
    for value in ("01", b"01", 3, None, np.zeros((2, 2)), {1, 2}):
        with pytest.raises(TypeError, match=r"^run must be a sequence \(list, tuple or 1-D array\) of labels, got "):
            check_sequence("run", value)


# --- check_float_dtype --------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["float32", np.float64, np.dtype("float16"), float])
def test_check_float_dtype_accepts_real_floats(dtype):
    assert check_float_dtype("dtype", dtype) == np.dtype(dtype)


@pytest.mark.parametrize("dtype", ["int16", np.int64, np.complex64, bool, "U3"])
def test_check_float_dtype_refuses_other_kinds(dtype):
    with pytest.raises(ValueError, match=r"^dtype must be a real floating dtype \(float32 or float64\), got "):
        check_float_dtype("dtype", dtype)


def test_check_float_dtype_refuses_what_is_not_a_dtype():
    with pytest.raises(TypeError, match=r"^dtype must be a numpy floating dtype such as 'float32', got "):
        check_float_dtype("dtype", 3.5)
