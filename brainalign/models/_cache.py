"""Disk cache of layer activations, keyed by (model identity, layer, stimuli hash, options)."""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..utils import check_writable_dir, logger

_KEY_VERSION = 1


def hash_model(model: Any) -> str:
    """A digest of a torch module's class, structure, and every parameter and buffer.

    Two models with the same architecture and the same weights get the same digest; changing
    one weight changes it.
    """
    h = hashlib.sha256()
    h.update(f"{type(model).__module__}.{type(model).__qualname__}".encode())
    h.update(repr(model).encode())
    for name, tensor in model.state_dict().items():
        t = tensor.detach()
        h.update(name.encode())
        h.update(str(t.dtype).encode())
        h.update(str(tuple(t.shape)).encode())
        h.update(_tensor_bytes(t))
    return h.hexdigest()


def hash_callable(fn: Callable[..., Any]) -> str:
    """Identity of a function for cache keys: qualified name plus its bytecode and constants."""
    parts = [getattr(fn, "__module__", ""), getattr(fn, "__qualname__", repr(type(fn)))]
    code = getattr(fn, "__code__", None)
    if code is not None:
        parts.append(code.co_code.hex())
        parts.append(repr(code.co_consts))
    return hashlib.sha256("|".join(parts).encode()).hexdigest()


def _tensor_bytes(t: Any) -> bytes:
    t = t.detach().cpu().contiguous()
    try:
        return t.numpy().tobytes()
    except TypeError:  # dtypes numpy lacks (bfloat16, ...)
        return t.float().numpy().tobytes()


class InputHasher:
    """Incremental digest of model inputs (tensors, arrays, dicts/tuples of them, strings)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256()

    def update(self, obj: Any) -> None:
        h = self._h
        if isinstance(obj, Mapping):
            for key in sorted(obj):
                h.update(str(key).encode())
                self.update(obj[key])
        elif isinstance(obj, (list, tuple)):
            h.update(f"seq{len(obj)}".encode())
            for item in obj:
                self.update(item)
        elif isinstance(obj, str):
            h.update(b"s" + obj.encode())
        elif hasattr(obj, "detach"):  # torch tensor
            h.update(f"t{obj.dtype}{tuple(obj.shape)}".encode())
            h.update(_tensor_bytes(obj))
        elif obj is None or isinstance(obj, (bool, int, float)):
            h.update(repr(obj).encode())
        else:
            arr = np.asarray(obj)
            if arr.dtype == object:
                raise TypeError(
                    f"Cannot hash stimuli of type {type(obj).__name__} for the cache; collate them into "
                    "tensors/arrays, or pass cache=None."
                )
            h.update(f"a{arr.dtype}{arr.shape}".encode())
            h.update(np.ascontiguousarray(arr).tobytes())

    def hexdigest(self) -> str:
        return self._h.hexdigest()


class ActivationCache:
    """One netCDF file per (model, layer, stimuli, options) key in an explicit folder.

    Nothing is cached unless the user names the folder; delete the folder to clear it.
    """

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = check_writable_dir("cache", folder)

    @staticmethod
    def key(**parts: Any) -> str:
        blob = json.dumps({"v": _KEY_VERSION, **parts}, sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def path(self, key: str) -> Path:
        return self.folder / f"act-{key}.nc"

    def get(self, key: str, *, lazy: bool = False) -> xr.DataArray | None:
        from ..io.arrays import load

        path = self.path(key)
        if not path.exists():
            return None
        try:
            return load(path, lazy=lazy)
        except (OSError, ValueError) as err:
            logger.warning("cache: ignoring unreadable entry %s (%s); it will be recomputed.", path, err)
            return None

    def put(self, key: str, array: xr.DataArray) -> None:
        from ..io.arrays import save

        save(array, self.path(key), overwrite=True)

    def get_many(self, keys: Iterable[str]) -> dict[str, xr.DataArray]:
        found = {}
        for key in keys:
            value = self.get(key)
            if value is not None:
                found[key] = value
        return found
