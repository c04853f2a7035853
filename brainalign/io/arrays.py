"""Save and load brainalign objects to netCDF and zarr: lossless and atomic.

*Lossless*: coordinates, attrs (nested dicts, lists, bools and ``None`` too) and dtypes (string
dtypes included) come back as they were written; a ``pandas.MultiIndex`` is reset before the
write and rebuilt after the read.

*Atomic*: the object is written to a temporary file (or folder) beside the target and moved into
place only when complete, so a crash or Ctrl-C mid-write never leaves a half-written file where a
good one was. An existing target is replaced only with ``overwrite=True``, and only if it is a
netCDF file or zarr store (never an unrelated file or folder).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import numpy as np
import xarray as xr

from ..utils import check_option, logger, validate_type
from ._codec import decode, encode

__all__ = ["FORMATS", "load", "save"]

#: Formats and the file suffixes that select them.
FORMATS = {"netcdf": (".nc", ".nc4", ".netcdf", ".cdf"), "zarr": (".zarr",)}

_NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")

# The HDF5 library under netCDF4 is not thread-safe: two threads reading or writing netCDF at
# once (Dask's threaded workers, a user's thread pool) can crash the process. Every netCDF
# access of this module holds this lock.
_NETCDF_LOCK = threading.RLock()


def _format_of(path: Path, format: str | None) -> str:
    if format is not None:
        return check_option("format", format, tuple(FORMATS))
    suffix = path.suffix.lower()
    for name, suffixes in FORMATS.items():
        if suffix in suffixes:
            return name
    raise ValueError(
        f"Cannot tell the format of {str(path)!r} from its suffix {suffix!r}: use one of "
        f"{[s for sfx in FORMATS.values() for s in sfx]}, or pass format='netcdf' or 'zarr'."
    )


def _netcdf_engine() -> str:
    for engine, module in (("netcdf4", "netCDF4"), ("h5netcdf", "h5netcdf")):
        try:
            __import__(module)
        except ImportError:
            continue
        return engine
    raise ImportError("Writing netCDF needs netCDF4 or h5netcdf: pip install netCDF4")


def _looks_like(path: Path, fmt: str) -> bool:
    if fmt == "zarr" or path.is_dir():
        return path.is_dir() and any((path / m).exists() for m in ("zarr.json", ".zgroup", ".zattrs"))
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return any(head.startswith(m) for m in _NETCDF_MAGIC)


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _fsync_tree(path: Path) -> None:
    paths = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
    for p in paths:
        fd = os.open(p, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def atomic_write(path: str | os.PathLike, writer: Callable[[Path], None], *, overwrite: bool, kind: str) -> Path:
    """Run ``writer(tmp)`` on a temporary path beside ``path``, then move the result into place.

    ``kind`` is the format (``"netcdf"``, ``"zarr"``, or any label) used to recognise a file
    that may be replaced: an existing ``path`` is replaced only when ``overwrite`` is true and
    :func:`_looks_like` accepts it (for other kinds, only when it is a regular file).
    """
    path = Path(path)
    parent = path.parent if str(path.parent) else Path(".")
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(f"path: cannot create the folder {str(parent)!r} for {str(path)!r} ({err.strerror}).") from err
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ValueError(f"path: the folder {str(parent)!r} is not writable; choose another path for {path.name!r}.")
    exists = path.exists() or path.is_symlink()
    if exists:
        if not overwrite:
            raise FileExistsError(
                f"{str(path)!r} already exists. Pass overwrite=True to replace it, or choose another path."
            )
        replaceable = _looks_like(path, kind) if kind in FORMATS else path.is_file()
        if not replaceable:
            raise ValueError(
                f"Refusing to replace {str(path)!r}: it is not a {kind} {'store' if kind == 'zarr' else 'file'} "
                "written by brainalign (it may hold other data). Remove it yourself or choose another path."
            )
    token = uuid.uuid4().hex[:10]
    tmp = parent / f".{path.name}.tmp-{token}"
    backup = parent / f".{path.name}.old-{token}"
    try:
        writer(tmp)
        _fsync_tree(tmp)
        if exists and (path.is_dir() or tmp.is_dir()):
            # Directories cannot be swapped in one step: keep the old one aside until the new
            # one is in place, so that at every moment a complete copy exists on disk.
            os.replace(path, backup)
            os.replace(tmp, path)
            _remove(backup)
        else:
            os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        _remove(tmp)
        if backup.exists() and not path.exists():
            os.replace(backup, path)
        raise
    return path


def save(
    obj: xr.DataArray | xr.Dataset,
    path: str | os.PathLike,
    *,
    format: Literal["netcdf", "zarr"] | None = None,
    overwrite: bool = False,
) -> Path:
    """Save a recording, activations or alignment map to netCDF or zarr, losslessly and atomically.

    Parameters
    ----------
    obj : xarray.DataArray | xarray.Dataset
        Any brainalign object (or any xarray object whose attrs are numbers, strings, bools,
        ``None``, lists or dicts).
    path : str or PathLike
        Target file (``.nc``) or store (``.zarr``). Missing parent folders are created.
    format : {"netcdf", "zarr"}, optional
        Default: from the suffix of ``path``.
    overwrite : bool
        Replace an existing netCDF file / zarr store at ``path``. Without it, an existing path
        raises :class:`FileExistsError`.

    Returns
    -------
    pathlib.Path
        The path written.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from brainalign import data
    >>> from brainalign.io import arrays
    >>> rec = data.recording(np.ones((2, 3)), stimulus_id=["a", "b"], subject="S1", region="V1")
    >>> path = arrays.save(rec, os.path.join(tempfile.mkdtemp(), "rec.nc"))
    >>> arrays.load(path).identical(rec)
    True
    """
    path = Path(path)
    fmt = _format_of(path, format)
    encoded = encode(obj)

    def writer(tmp: Path) -> None:
        if fmt == "netcdf":
            with _NETCDF_LOCK:
                encoded.to_netcdf(tmp, engine=_netcdf_engine())
        else:
            encoded.to_zarr(tmp, mode="w-", consolidated=False, zarr_format=3)

    atomic_write(path, writer, overwrite=overwrite, kind=fmt)
    logger.debug("saved %s to %s", type(obj).__name__, path)
    return path


def load(
    path: str | os.PathLike,
    *,
    format: Literal["netcdf", "zarr"] | None = None,
    lazy: bool = False,
) -> xr.DataArray | xr.Dataset:
    """Load an object written by :func:`save`.

    Parameters
    ----------
    path : str or PathLike
        A ``.nc`` file or ``.zarr`` store.
    format : {"netcdf", "zarr"}, optional
        Default: from the suffix.
    lazy : bool
        Keep the data on disk, backed by dask (needs ``dask``), for arrays larger than memory.
        By default everything is read into memory and the file is closed.

    Returns
    -------
    xarray.DataArray | xarray.Dataset
        The object as it was saved.

    Examples
    --------
    See :func:`save`.
    """
    validate_type("lazy", lazy, (bool, np.bool_), "True or False")
    path = Path(path)
    fmt = _format_of(path, format)
    if not path.exists():
        leftovers = sorted(path.parent.glob(f".{path.name}.old-*")) if path.parent.exists() else []
        hint = (
            f" An earlier version survives at {str(leftovers[0])!r} (an overwrite was interrupted); "
            "rename it back to use it."
            if leftovers
            else ""
        )
        raise FileNotFoundError(f"No such file: {str(path)!r}.{hint}")
    chunks = {} if lazy else None
    lock = _NETCDF_LOCK if fmt == "netcdf" else contextlib.nullcontext()
    with lock:
        try:
            if fmt == "netcdf":
                ds = xr.open_dataset(path, engine=_netcdf_engine(), chunks=chunks)
            else:
                ds = xr.open_zarr(path, consolidated=False, chunks=chunks)
        except Exception as err:
            raise ValueError(f"Cannot read {str(path)!r} as {fmt}: {err}") from err
        if not lazy:
            with ds:
                ds = ds.load()
        return decode(ds)
