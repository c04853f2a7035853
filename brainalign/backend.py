"""The compute backend: numpy on the CPU, torch on the CPU, or torch on a CUDA GPU.

Heavy computations (encoders, RDMs, permutations, shape metrics) are written once against an
array namespace (:mod:`array_api_compat`: ``xp.matmul``, ``xp.sum(x, axis=...)``,
``xp.linalg.eigh`` ...) and run on whichever backend the user picks:

- ``"auto"``: ``"torch_cuda"`` when torch is installed and sees a GPU, else ``"numpy"``;
- ``"numpy"``, ``"torch"`` (CPU), ``"torch_cuda"``.

Results agree across backends within the tolerance of the dtype. torch is imported only when a
torch backend is asked for (or, for ``"auto"``, to look for a GPU).

Examples
--------
>>> from brainalign.backend import get_backend
>>> be = get_backend("numpy")
>>> be.name, be.device
('numpy', 'cpu')
>>> x = be.asarray([[1.0, 2.0], [3.0, 4.0]])
>>> float(be.xp.sum(x))
10.0
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .utils import check_option, logger, soft_import

__all__ = ["BACKENDS", "Backend", "get_backend", "gpu_available", "parse_memory"]

BACKENDS = ("numpy", "torch", "torch_cuda")

_UNITS = {"": 1, "b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12}
_UNITS.update({"kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40})


def is_dataarray(x: Any) -> bool:
    """Whether ``x`` is an xarray DataArray (duck-typed: xarray is not imported for the check)."""
    return hasattr(x, "variable") and hasattr(x, "dims")


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a torch tensor (torch is not imported for the check: only if the user already did)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def to_numpy(x: Any) -> np.ndarray:
    """Any array (numpy, torch on any device, array-like) as a numpy array, copied to the host if needed."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def gpu_available() -> bool:
    """Whether torch is installed and sees a CUDA device (imports torch only if installed)."""
    if importlib.util.find_spec("torch") is None:
        return False
    import torch

    return bool(torch.cuda.is_available())


@dataclass(frozen=True)
class Backend:
    """A resolved backend: its name, its device and its array namespace ``xp``."""

    name: str
    device: str

    @property
    def xp(self) -> Any:
        """The array namespace (array-API compatible numpy or torch)."""
        compat = soft_import("array_api_compat", "array backends")
        if self.name == "numpy":
            return compat.array_namespace(np.empty(0))
        torch = soft_import("torch", f"the {self.name} backend")
        return compat.array_namespace(torch.empty(0))

    @property
    def is_torch(self) -> bool:
        return self.name != "numpy"

    def asarray(self, x: Any, dtype: Any = None) -> Any:
        """``x`` (numpy, xarray, torch, nested lists) as an array of this backend, on its device.

        ``dtype`` may be a numpy dtype or its name (``"float64"``, ``np.float32``).
        """
        if is_dataarray(x):
            x = x.values
        if self.name == "numpy":
            return np.asarray(to_numpy(x), dtype=None if dtype is None else np.dtype(dtype))
        torch = soft_import("torch", f"the {self.name} backend")
        tdtype = None if dtype is None else getattr(torch, np.dtype(dtype).name)
        if isinstance(x, torch.Tensor):
            return x.to(device=self.device, dtype=tdtype or x.dtype)
        arr = np.asarray(x)
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"Cannot put an array of dtype {arr.dtype} on the {self.name} backend.")
        if any(step < 0 for step in arr.strides):  # torch refuses negative strides (e.g. X[:, ::-1])
            arr = np.ascontiguousarray(arr)
        return torch.as_tensor(arr, dtype=tdtype, device=self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        """Any backend array as a numpy array (copied to the host if needed)."""
        return to_numpy(x)

    @contextlib.contextmanager
    def himalaya(self) -> Iterator[Any]:
        """Set himalaya's global backend to this one inside the block; restore it after.

        Yields himalaya's backend module.
        """
        hb = soft_import("himalaya.backend", "encoders")
        previous = hb.get_backend().name
        module = hb.set_backend(self.name, on_error="raise")
        try:
            yield module
        finally:
            hb.set_backend(previous, on_error="raise")

    @contextlib.contextmanager
    def tf32(self, enabled: bool = True) -> Iterator[None]:
        """Allow TensorFloat-32 matrix products inside the block (CUDA only; a no-op elsewhere).

        TF32 keeps fp32's range with a 10-bit mantissa in matrix products: several times faster
        on Ampere and later GPUs, with relative errors around 1e-3. torch's global flags are
        restored on exit.
        """
        if self.name != "torch_cuda" or not enabled:
            yield
            return
        import torch

        previous = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = True
        try:
            yield
        finally:
            torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = previous

    def free_memory(self) -> int:
        """Bytes of memory free on this backend's device (GPU memory for CUDA, else host RAM)."""
        if self.name == "torch_cuda":
            import torch

            free, _ = torch.cuda.mem_get_info()
            return int(free)
        return _host_available_memory()

    def memory_budget(self, budget: float | int | str = 0.6) -> int:
        """A memory budget in bytes.

        Parameters
        ----------
        budget : float, int or str
            A fraction of the device's free memory (a float in ``(0, 1]``, default 60 %), a
            number of bytes (an int), or a size such as ``"8GB"`` or ``"512 MiB"``.

        Examples
        --------
        >>> get_backend("numpy").memory_budget("2 GiB")
        2147483648
        """
        if isinstance(budget, float) and not isinstance(budget, bool):
            if not 0 < budget <= 1:
                raise ValueError(
                    f"memory_budget as a float is a fraction of free memory and must be in (0, 1], got "
                    f"{budget!r}; give bytes as an int or a size such as '8GB'."
                )
            return int(self.free_memory() * budget)
        return parse_memory(budget, "memory_budget")

    def describe(self) -> str:
        """What was chosen, in words: backend, device (GPU name) and free memory."""
        where = self.device
        if self.name == "torch_cuda":
            import torch

            where = f"{self.device}: {torch.cuda.get_device_name()}"
        return f"{self.name} ({where}, {self.free_memory() / 2**30:.1f} GiB free)"

    def __str__(self) -> str:
        return f"{self.name} ({self.device})"


def parse_memory(size: int | str, name: str = "size") -> int:
    """A memory size in bytes from an int or a string such as ``"8GB"``, ``"512 MiB"``.

    Examples
    --------
    >>> parse_memory("1.5 GB")
    1500000000
    """
    if isinstance(size, (int, np.integer)) and not isinstance(size, bool):
        if size <= 0:
            raise ValueError(f"{name} must be a positive number of bytes, got {size!r}.")
        return int(size)
    if isinstance(size, str):
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([a-zA-Z]*)\s*", size)
        if match and match.group(2).lower() in _UNITS and float(match.group(1)) > 0:
            return int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    raise ValueError(
        f"{name} must be a fraction of free memory (float in (0, 1]), a number of bytes (int) or a "
        f"size such as '8GB' or '512 MiB'; got {size!r}."
    )


def _host_available_memory() -> int:
    """Bytes of RAM available to new allocations (psutil when installed, else /proc/meminfo)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))


def get_backend(backend: str | Backend = "auto") -> Backend:
    """Resolve a backend name (or pass a :class:`Backend` through).

    Parameters
    ----------
    backend : {"auto", "numpy", "torch", "torch_cuda"} or Backend
        ``"auto"``: ``"torch_cuda"`` when torch sees a GPU, else ``"numpy"``.

    Returns
    -------
    Backend

    Raises
    ------
    ValueError
        For an unknown name, or ``"torch_cuda"`` without a GPU.

    Examples
    --------
    >>> get_backend("numpy").name
    'numpy'
    """
    if isinstance(backend, Backend):
        return backend
    check_option("backend", backend, ("auto", *BACKENDS))
    if backend == "auto":
        chosen = Backend("torch_cuda", "cuda") if gpu_available() else Backend("numpy", "cpu")
        logger.debug("backend: 'auto' chose %s", chosen)
        return chosen
    if backend == "numpy":
        return Backend("numpy", "cpu")
    torch = soft_import("torch", f"the {backend} backend")
    if backend == "torch":
        return Backend("torch", "cpu")
    if not torch.cuda.is_available():
        raise ValueError("backend='torch_cuda' needs a CUDA GPU, and torch sees none; use 'auto', 'torch' or 'numpy'.")
    return Backend("torch_cuda", "cuda")
