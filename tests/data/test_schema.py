import numpy as np
import pytest
import xarray as xr

from brainalign import data


def _condition(n=4, m=3, **kw):
    return data.recording(
        np.arange(n * m, dtype=float).reshape(n, m),
        stimulus_id=[f"s{i}" for i in range(n)],
        subject="S1",
        region=["V1"] * (m - 1) + ["IT"],
        **kw,
    )


# ------------------------------------------------------------------------------- constructors
def test_condition_recording_coords():
    rec = _condition(run=[0, 0, 1, 1], neuroid_coords={"x": [1.0, 2.0, 3.0], "hemisphere": "L"})
    assert rec.dims == ("presentation", "neuroid")
    assert rec["stimulus_id"].values.tolist() == ["s0", "s1", "s2", "s3"]
    assert rec["region"].values.tolist() == ["V1", "V1", "IT"]
    assert rec["subject"].values.tolist() == ["S1"] * 3
    assert rec["hemisphere"].dims == ("neuroid",)
    assert rec["run"].dims == ("presentation",)
    assert data.validate(rec, "recording") == "condition"


def test_condition_recording_with_repetition_dim():
    values = np.random.default_rng(0).normal(size=(5, 4, 3))
    rec = data.recording(values, stimulus_id=list("abcde"), subject="S1", region="V1")
    assert rec.dims == ("presentation", "neuroid", "repetition")
    np.testing.assert_array_equal(rec.values, values)
    # An explicit dims order is transposed to the canonical one.
    rec2 = data.recording(
        values.transpose(2, 0, 1),
        dims=("repetition", "presentation", "neuroid"),
        stimulus_id=list("abcde"),
        subject="S1",
        region="V1",
    )
    np.testing.assert_array_equal(rec2.values, values)


def test_continuous_recording_time_from_tr_restarts_each_run():
    rec = data.recording(np.zeros((7, 2)), tr=1.5, run=["a"] * 4 + ["b"] * 3, subject="S1", region="STG")
    assert rec.dims == ("time", "neuroid")
    assert rec["time"].values.tolist() == [0, 1.5, 3, 4.5, 0, 1.5, 3]
    assert rec.attrs["tr"] == 1.5
    assert data.validate(rec) == "continuous"


def test_time_resolved_recording():
    rec = data.recording(
        np.zeros((3, 2, 5)),
        stimulus_id=[1, 2, 3],
        latency=np.linspace(-0.1, 0.3, 5),
        sfreq=10.0,
        subject="S1",
        region="MEG",
    )
    assert rec.dims == ("presentation", "neuroid", "latency")
    assert data.validate(rec) == "time_resolved"


def test_activations_from_mapping_keeps_layer_order_and_flattens():
    rng = np.random.default_rng(0)
    acts = data.activations(
        {"conv": rng.normal(size=(4, 2, 3, 3)), "fc": rng.normal(size=(4, 5))}, stimulus_id=list("abcd"), model="net"
    )
    assert acts.sizes["unit"] == 18 + 5
    assert data.layer_names(acts) == ["conv", "fc"]
    assert acts.sel(unit=acts.layer == "fc")["unit_index"].values.tolist() == list(range(5))
    assert set(acts["model"].values) == {"net"}


def test_layer_names_keeps_model_order_not_alphabetical():
    acts = data.activations({f"layer.{i}": np.ones((2, 1)) * i for i in (2, 10, 1)}, stimulus_id=[0, 1])
    assert data.layer_names(acts) == ["layer.2", "layer.10", "layer.1"]


def test_activations_accept_torch_tensors():
    torch = pytest.importorskip("torch")
    acts = data.activations({"x": torch.ones(3, 2)}, stimulus_id=[0, 1, 2])
    assert acts.dtype == np.float32


# -------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"region": None}, "region is required"),
        ({"region": ["V1", "V2"]}, "region must have one value per neuroid"),
        ({"subject": None}, "subject is required"),
    ],
)
def test_recording_requires_region_and_subject(kwargs, match):
    base = {"stimulus_id": list("abcd"), "subject": "S1", "region": "V1"}
    base.update(kwargs)
    with pytest.raises(ValueError, match=match):
        data.recording(np.zeros((4, 3)), **base)


def test_recording_bad_inputs():
    with pytest.raises(ValueError, match=r"stimulus_id .* or time"):
        data.recording(np.zeros((4, 3)), subject="S1", region="V1")
    with pytest.raises(ValueError, match="not both"):
        data.recording(np.zeros((4, 3)), stimulus_id=list("abcd"), tr=2.0, subject="S1", region="V1")
    with pytest.raises(ValueError, match="needs dims"):
        data.recording(np.zeros(4), stimulus_id=list("abcd"), subject="S1", region="V1")
    with pytest.raises(ValueError, match="tr must be > 0 seconds"):
        data.recording(np.zeros((4, 3)), tr=-2, subject="S1", region="V1")
    with pytest.raises(TypeError, match="must hold numbers"):
        data.recording(np.array([["a"]]), stimulus_id=["a"], subject="S1", region="V1")
    with pytest.raises(ValueError, match="NaN or infinite"):
        data.recording(np.array([[np.nan, 1.0]]), stimulus_id=["a"], subject="S1", region="V1")
    with pytest.raises(ValueError, match="'region' has 1 missing or empty"):
        data.recording(np.zeros((2, 2)), stimulus_id=["a", "b"], subject="S1", region=["V1", ""])


def test_activations_bad_inputs():
    with pytest.raises(ValueError, match="duplicate stimulus_id"):
        data.activations({"l": np.zeros((3, 2))}, stimulus_id=["a", "b", "a"])
    with pytest.raises(ValueError, match="same number of rows"):
        data.activations({"a": np.zeros((3, 2)), "b": np.zeros((4, 2))}, stimulus_id=["a", "b", "c"])
    with pytest.raises(ValueError, match="stimulus_id is required"):
        data.activations({"a": np.zeros((3, 2))})
    with pytest.raises(ValueError, match="Pass layer"):
        data.activations(np.zeros((3, 2)), stimulus_id=[0, 1, 2])
    with pytest.raises(ValueError, match="NaN or infinite"):
        data.activations({"a": np.full((2, 2), np.inf)}, stimulus_id=[0, 1])


def test_validate_names_missing_coord_and_fix():
    rec = _condition().drop_vars("region")
    with pytest.raises(ValueError, match=r"missing the coordinate 'region' on dim 'neuroid'.*assign_coords"):
        data.validate(rec, "recording")


def test_validate_wrong_dims():
    arr = xr.DataArray(np.zeros((2, 3)), dims=("stimulus", "voxel"))
    with pytest.raises(ValueError, match="Cannot tell what kind"):
        data.validate(arr)
    rec = _condition()
    with pytest.raises(ValueError, match="must be model activations"):
        data.validate(rec, "activations")
    with pytest.raises(TypeError, match="Expected an xarray"):
        data.validate(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="Invalid value for kind"):
        data.validate(rec, "recordings")


def test_validate_coordinate_on_wrong_dim():
    rec = _condition()
    bad = rec.drop_vars("subject").assign_coords(subject=("presentation", ["S"] * 4))
    with pytest.raises(ValueError, match="'subject' must lie along dim 'neuroid'"):
        data.validate(bad)


def test_validate_time_errors():
    with pytest.raises(ValueError, match="increase strictly within each run"):
        data.recording(np.zeros((4, 1)), time=[0, 1, 1, 2], subject="S1", region="A")
    with pytest.raises(ValueError, match="contiguous"):
        data.recording(np.zeros((4, 1)), time=[0, 0, 1, 1], run=[0, 1, 0, 1], subject="S1", region="A")


def test_validate_empty_and_complex():
    with pytest.raises(ValueError, match="empty along dim 'neuroid'"):
        data.recording(np.zeros((3, 0)), stimulus_id=[0, 1, 2], subject="S1", region=np.array([], dtype=object))


def test_validate_map():
    score = xr.DataArray(np.zeros((2, 3)), dims=("layer", "region"))
    with pytest.raises(ValueError, match="attrs\\['method'\\]"):
        data.validate(xr.Dataset({"score": score}), "map")
    with pytest.raises(ValueError, match="'score' variable"):
        data.validate(xr.Dataset({"x": score}, attrs={"method": "rsa"}), "map")
    ok = xr.Dataset({"score": score, "p_value": score}, attrs={"method": "rsa"})
    assert data.validate(ok, "map") == "map"
    bad = xr.Dataset({"score": score.rename(region="voxel")}, attrs={"method": "rsa"})
    with pytest.raises(ValueError, match="'layer' and 'region'"):
        data.validate(bad, "map")


def test_token_level_activations_are_activations():
    acts = xr.DataArray(
        np.zeros((2, 3, 4)),
        dims=("presentation", "token", "unit"),
        coords={
            "stimulus_id": ("presentation", ["a", "b"]),
            "model": ("unit", ["m"] * 4),
            "layer": ("unit", ["l"] * 4),
            "unit_index": ("unit", np.arange(4)),
            "token_mask": (("presentation", "token"), np.ones((2, 3), bool)),
        },
    )
    assert data.validate(acts, "activations") == "activations"
    with pytest.raises(ValueError, match=r"optionally also \('token',\)"):
        data.validate(acts.rename(token="word"), "activations")
