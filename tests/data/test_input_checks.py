"""Input checks of the data constructors and of align: types, ranges, mixed ids, complex values."""

import numpy as np
import pytest
import xarray as xr

from brainalign import data


def _rec(**kw):
    args = {"stimulus_id": ["a", "b", "c"], "subject": "S1", "region": "IT"} | kw
    return data.recording(np.ones((3, 2)), **args)


def _acts(**kw):
    args = {"stimulus_id": ["a", "b", "c"]} | kw
    return data.activations({"fc": np.eye(3)}, **args)


@pytest.mark.parametrize(
    "build",
    [
        lambda: _rec(stimulus_id=[1, "1", 2]),
        lambda: _rec(subject=[1, "1"]),
        lambda: _rec(run=[0, "0", 1]),
        lambda: _rec(presentation_coords={"word": ["x", 2, "y"]}),
        lambda: _acts(stimulus_id=[1, "1", 2]),
        lambda: data.activations(np.ones((3, 2)), stimulus_id=["a", "b", "c"], layer=["l1", 2]),
        lambda: data.rdms(np.zeros(3), stimulus_id=["a", 1, "c"], subject="S1", region="IT"),
    ],
)
def test_mixed_label_types_are_refused(build):
    # numpy turns [1, "1"] into ["1", "1"]: two different stimuli would be merged.
    with pytest.raises(TypeError, match="mixes strings and other types"):
        build()


def test_mixed_ids_no_longer_merge_two_stimuli():
    # The old behaviour: stimulus_id=[1, "1"] became two equal "1" and align averaged two stimuli.
    with pytest.raises(TypeError, match="stimulus_id mixes strings"):
        data.recording(np.array([[0.0], [2.0]]), stimulus_id=[1, "1"], subject="S1", region="IT")
    # A hand-built object with mixed ids is refused by align too.
    rec = xr.DataArray(
        np.ones((2, 1)),
        dims=("presentation", "neuroid"),
        coords={
            "stimulus_id": ("presentation", np.array([1, "1"], dtype=object)),
            "subject": ("neuroid", ["S1"]),
            "region": ("neuroid", ["IT"]),
        },
    )
    acts = data.activations({"fc": np.eye(2)}, stimulus_id=["x", "y"]).assign_coords(
        stimulus_id=("presentation", np.array([1, "1"], dtype=object))
    )
    with pytest.raises(TypeError, match="stimulus_id mixes strings"):
        data.align(acts, rec, repetitions="average")


@pytest.mark.parametrize(
    ("option", "value", "error"),
    [
        ("resample", "bogus", ValueError),
        ("repetitions", "mean", ValueError),
        ("on_missing", "skip", ValueError),
        ("window", 0, ValueError),
        ("window", 2.5, ValueError),
        ("window", True, ValueError),
        ("cutoff_mult", -1.0, ValueError),
        ("cutoff_mult", "1", TypeError),
        ("cutoff_mult", float("nan"), ValueError),
        ("hrf_model", "canonical", ValueError),
        ("oversampling", 0, ValueError),
        ("delays", [1.5], TypeError),
        ("delays", [], ValueError),
    ],
)
def test_align_checks_every_option_on_condition_data(option, value, error):
    # Before, options of continuous data were not checked for condition data ("bogus" went through).
    with pytest.raises(error, match=option):
        data.align(_acts(), _rec(), **{option: value})


def test_align_names_the_activations_dims_and_constructor():
    acts = _acts().rename(unit="feature")
    with pytest.raises(ValueError, match=r"activations must have dims \('presentation', 'unit'\)") as info:
        data.align(acts, _rec())
    assert "brainalign.data.activations" in str(info.value)
    assert "data.recording" not in str(info.value)
    with pytest.raises(TypeError, match=r"activations must be an xarray\.DataArray"):
        data.align(np.eye(3), _rec())


@pytest.mark.parametrize(
    "build",
    [
        lambda: data.recording(np.ones((3, 2)) * 1j, stimulus_id=["a", "b", "c"], subject="S1", region="IT"),
        lambda: data.recording(np.ones((4, 2), dtype=np.complex64), tr=2.0, subject="S1", region="IT"),
        lambda: data.activations({"fc": np.eye(3) + 0j}, stimulus_id=["a", "b", "c"]),
        lambda: data.activations(np.eye(3) + 0j, stimulus_id=["a", "b", "c"], layer="fc"),
        lambda: data.rdms(np.zeros(3, dtype=complex), stimulus_id=["a", "b", "c"], subject="S1", region="IT"),
    ],
)
def test_complex_values_refused_by_every_constructor(build):
    with pytest.raises(TypeError, match=r"values(\['fc'\])? must hold real numbers, got complex"):
        build()


def test_complex_dtype_and_labels_refused():
    with pytest.raises(TypeError, match="dtype must be a real numeric dtype"):
        _acts(dtype=np.complex64)
    with pytest.raises(TypeError, match="real number or a label"):
        _rec(subject=1j)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"tr": "2"}, TypeError, "tr must be a number of seconds > 0"),
        ({"tr": True}, TypeError, "tr must be a number of seconds > 0"),
        ({"sfreq": -5.0}, ValueError, "sfreq must be > 0 Hz and finite"),
        ({"sfreq": float("inf")}, ValueError, "sfreq must be > 0 Hz and finite"),
    ],
)
def test_recording_rates(kwargs, error, match):
    with pytest.raises(error, match=match):
        data.recording(np.ones((4, 2)), subject="S1", region="IT", **kwargs)


def test_recording_and_activations_option_types():
    with pytest.raises(TypeError, match="name must be a string"):
        _rec(name=3)
    with pytest.raises(TypeError, match="neuroid_coords must be a mapping"):
        _rec(neuroid_coords=[1, 2])
    with pytest.raises(TypeError, match="attrs must be a mapping"):
        _rec(attrs="x")
    with pytest.raises(TypeError, match="dims must be a sequence of dim names"):
        _rec(dims="presentation neuroid")
    with pytest.raises(TypeError, match="model must be a string"):
        _acts(model=None)
    with pytest.raises(TypeError, match="presentation_coords must be a mapping"):
        _acts(presentation_coords=["x"])
    with pytest.raises(TypeError, match="dtype must be a numpy dtype"):
        _acts(dtype="not-a-dtype")
