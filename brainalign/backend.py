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
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from .utils import check_option, logger, soft_import

__all__ = ["BACKENDS", "Backend", "get_backend", "gpu_available"]

BACKENDS = ("numpy", "torch", "torch_cuda")


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
        if hasattr(x, "variable") and hasattr(x, "dims"):  # an xarray object
            x = x.values
        if self.name == "numpy":
            if hasattr(x, "detach"):
                x = x.detach().cpu().numpy()
            return np.asarray(x, dtype=None if dtype is None else np.dtype(dtype))
        torch = soft_import("torch", f"the {self.name} backend")
        tdtype = None if dtype is None else getattr(torch, np.dtype(dtype).name)
        if isinstance(x, torch.Tensor):
            return x.to(device=self.device, dtype=tdtype or x.dtype)
        arr = np.asarray(x)
        if arr.dtype.kind not in "biufc":
            raise TypeError(f"Cannot put an array of dtype {arr.dtype} on the {self.name} backend.")
        return torch.as_tensor(arr, dtype=tdtype, device=self.device)

    def to_numpy(self, x: Any) -> np.ndarray:
        """Any backend array as a numpy array (copied to the host if needed)."""
        if hasattr(x, "detach"):
            return x.detach().cpu().numpy()
        return np.asarray(x)

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

    def __str__(self) -> str:
        return f"{self.name} ({self.device})"


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
    >>> get_backend("torch").device  # doctest: +SKIP
    'cpu'
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
