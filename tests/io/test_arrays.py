import os

import numpy as np
import pytest
import xarray as xr

from brainalign import data
from brainalign.io import arrays

FORMATS = [("netcdf", "obj.nc"), ("zarr", "obj.zarr")]


def _objects(rng):
    cond = data.recording(
        rng.normal(size=(4, 3)).astype(np.float32),
        stimulus_id=np.array(["a", "bb", "ccc", "d"]),
        run=[0, 0, 1, 1],
        subject="S1",
        region=np.array(["V1", "V1", "IT"], dtype=object),
        neuroid_coords={"x": [1.5, 2.5, -3.0], "good": [True, False, True], "channel": np.arange(3, dtype=np.uint16)},
        attrs={"space": "MNI152", "tr": 2.0, "nested": {"a": [1, 2], "b": None}, "flag": True, "empty": []},
    )
    reps = data.recording(rng.normal(size=(3, 2, 4)), stimulus_id=[10, 11, 12], subject=["S1", "S2"], region="V1")
    cont = data.recording(rng.normal(size=(6, 2)), tr=1.5, run=["r1"] * 3 + ["r2"] * 3, subject="S1", region="STG")
    tres = data.recording(
        rng.normal(size=(3, 2, 5)),
        stimulus_id=list("abc"),
        latency=np.linspace(-0.1, 0.3, 5),
        sfreq=10.0,
        subject="S1",
        region="MEG",
    )
    acts = data.activations(
        {"layer.0": rng.normal(size=(4, 3)), "layer.1": rng.normal(size=(4, 2))},
        stimulus_id=["a", "bb", "ccc", "d"],
        model="toy",
        attrs={"layers": ["layer.0", "layer.1"]},
    )
    amap = xr.Dataset(
        {
            "score": (("layer", "region"), rng.normal(size=(2, 3))),
            "p_value": (("layer", "region"), rng.uniform(size=(2, 3))),
        },
        coords={"layer": np.array(["layer.0", "layer.1"], dtype=object), "region": ["V1", "V4", "IT"]},
        attrs={"method": "rsa", "method_params": {"metric": "correlation", "compare": "spearman"}, "n_perm": 1000},
    )
    return {
        "condition": cond,
        "repetitions": reps,
        "continuous": cont,
        "time_resolved": tres,
        "activations": acts,
        "map": amap,
    }


def _assert_same(loaded, original):
    xr.testing.assert_identical(loaded, original)
    assert type(loaded) is type(original)
    variables = original.variables if isinstance(original, xr.Dataset) else {**original.coords, None: original}
    for name, var in variables.items():
        assert (loaded if name is None else loaded[name]).dtype == var.dtype, name
    assert loaded.attrs == original.attrs
    if isinstance(original, xr.DataArray):
        assert loaded.name == original.name


@pytest.mark.parametrize("fmt, filename", FORMATS)
@pytest.mark.parametrize("kind", ["condition", "repetitions", "continuous", "time_resolved", "activations", "map"])
def test_round_trip_is_lossless(tmp_path, rng, fmt, filename, kind):
    obj = _objects(rng)[kind]
    path = arrays.save(obj, tmp_path / filename)
    _assert_same(arrays.load(path), obj)


@pytest.mark.parametrize("fmt, filename", FORMATS)
def test_round_trip_unnamed_dataarray_and_multiindex(tmp_path, rng, fmt, filename):
    da = xr.DataArray(
        rng.normal(size=(2, 3)), dims=("a", "b"), coords={"a1": ("a", [1, 2]), "a2": ("a", ["x", "y"])}
    ).set_index(a=["a1", "a2"])
    path = arrays.save(da, tmp_path / filename)
    back = arrays.load(path)
    assert back.name is None
    xr.testing.assert_identical(back, da)


@pytest.mark.parametrize("fmt, filename", FORMATS)
def test_lazy_load(tmp_path, rng, fmt, filename):
    pytest.importorskip("dask")
    acts = _objects(rng)["activations"]
    back = arrays.load(arrays.save(acts, tmp_path / filename), lazy=True)
    assert back.chunks is not None
    xr.testing.assert_identical(back.compute(), acts)


@pytest.mark.parametrize("fmt, filename", FORMATS)
def test_existing_file_needs_overwrite(tmp_path, rng, fmt, filename):
    objs = _objects(rng)
    path = arrays.save(objs["condition"], tmp_path / filename)
    with pytest.raises(FileExistsError, match="overwrite=True"):
        arrays.save(objs["activations"], path)
    _assert_same(arrays.load(path), objs["condition"])
    arrays.save(objs["activations"], path, overwrite=True)
    _assert_same(arrays.load(path), objs["activations"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [filename]  # no temp files or backups left


@pytest.mark.parametrize("fmt, filename", FORMATS)
def test_crash_mid_write_keeps_the_old_file(tmp_path, rng, monkeypatch, fmt, filename):
    objs = _objects(rng)
    path = arrays.save(objs["condition"], tmp_path / filename)
    writer = xr.Dataset.to_netcdf if fmt == "netcdf" else xr.Dataset.to_zarr

    def crashing(self, target, *args, **kwargs):
        writer(self, target, *args, **kwargs)  # the temporary copy is complete ...
        raise KeyboardInterrupt  # ... when the process is interrupted

    monkeypatch.setattr(xr.Dataset, "to_netcdf" if fmt == "netcdf" else "to_zarr", crashing)
    with pytest.raises(KeyboardInterrupt):
        arrays.save(objs["activations"], path, overwrite=True)
    monkeypatch.undo()
    _assert_same(arrays.load(path), objs["condition"])
    assert sorted(p.name for p in tmp_path.iterdir()) == [filename]


def test_crash_before_anything_is_written(tmp_path, rng, monkeypatch):
    monkeypatch.setattr(xr.Dataset, "to_netcdf", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError, match="disk full"):
        arrays.save(_objects(rng)["condition"], tmp_path / "new.nc")
    assert list(tmp_path.iterdir()) == []


def test_refuses_to_replace_unrelated_files(tmp_path, rng):
    obj = _objects(rng)["condition"]
    notes = tmp_path / "notes.nc"
    notes.write_text("my notes")
    with pytest.raises(ValueError, match="Refusing to replace"):
        arrays.save(obj, notes, overwrite=True)
    assert notes.read_text() == "my notes"
    folder = tmp_path / "results.zarr"
    folder.mkdir()
    (folder / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="Refusing to replace"):
        arrays.save(obj, folder, overwrite=True)
    assert (folder / "keep.txt").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_folder(tmp_path, rng):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="not writable"):
            arrays.save(_objects(rng)["condition"], locked / "x.nc")
    finally:
        locked.chmod(0o700)


def test_unwritable_parent_is_a_file(tmp_path, rng):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ValueError, match="cannot create the folder"):
        arrays.save(_objects(rng)["condition"], blocker / "sub" / "x.nc")


def test_bad_paths_and_objects(tmp_path, rng):
    obj = _objects(rng)["condition"]
    with pytest.raises(ValueError, match="Cannot tell the format"):
        arrays.save(obj, tmp_path / "x.csv")
    with pytest.raises(ValueError, match="Invalid value for format"):
        arrays.save(obj, tmp_path / "x.nc", format="hdf")
    with pytest.raises(TypeError, match="DataArray or Dataset"):
        arrays.save(np.zeros(3), tmp_path / "x.nc")
    with pytest.raises(TypeError, match="cannot be saved"):
        arrays.save(obj.assign_attrs(fn=print), tmp_path / "y.nc")
    mixed = obj.assign_coords(stimulus_id=("presentation", np.array(["a", 1, "b", 2], dtype=object)))
    with pytest.raises(TypeError, match="single type"):
        arrays.save(mixed, tmp_path / "z.nc")
    with pytest.raises(FileNotFoundError, match="No such file"):
        arrays.load(tmp_path / "missing.nc")
    (tmp_path / "junk.nc").write_bytes(b"not a netcdf file")
    with pytest.raises(ValueError, match="Cannot read"):
        arrays.load(tmp_path / "junk.nc")


def test_threads_can_save_and_load_at_once(tmp_path, rng):
    # HDF5 under netCDF4 is not thread-safe; brainalign serialises its netCDF access.
    from concurrent.futures import ThreadPoolExecutor

    obj = _objects(rng)["activations"]
    paths = [arrays.save(obj, tmp_path / f"a{i}.nc") for i in range(8)]

    def work(i):
        for _ in range(4):
            arrays.save(arrays.load(paths[i]), tmp_path / f"b{i}.nc", overwrite=True)
        return arrays.load(tmp_path / f"b{i}.nc")

    with ThreadPoolExecutor(max_workers=8) as pool:
        for back in pool.map(work, range(8)):
            xr.testing.assert_identical(back, obj)


@pytest.mark.parametrize("fmt, filename", FORMATS)
def test_half_floats_big_ints_and_odd_attr_names_round_trip(tmp_path, rng, fmt, filename):
    # netCDF refused each of these with a raw netCDF4 error ("Illegal primitive data type", an object
    # attr, "Name contains illegal characters").
    acts = data.activations({"l1": rng.normal(size=(5, 3)).astype(np.float16)}, stimulus_id=np.arange(5))
    acts.attrs = {
        "random_state": 10**23,
        "a/b": 1,
        "nested": {"x": [1, 2.5, {"y": None, "z": "s"}], "b": True, "big": -(10**30)},
    }
    back = arrays.load(arrays.save(acts, tmp_path / filename))
    assert back.dtype == np.float16
    assert back.identical(acts)
    assert back.attrs == acts.attrs and type(back.attrs["random_state"]) is int


def test_complex_values_are_refused_before_writing(tmp_path, rng):
    rec = xr.DataArray(rng.normal(size=(5, 2)) * 1j, dims=("presentation", "neuroid"), name="recording")
    with pytest.raises(TypeError, match=r"holds complex numbers .* save its real and imaginary parts"):
        arrays.save(rec, tmp_path / "rec.nc")
    assert not any(tmp_path.iterdir())
