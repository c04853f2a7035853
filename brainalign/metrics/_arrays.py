"""Backend array helpers shared by the metric kernels (private module, public names): where to
compute, in which precision, and the products every metric builds on."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import Backend, get_backend, is_tensor

__all__ = [
    "common_dtype",
    "device_of",
    "float_dtype",
    "promoted_dtype",
    "resolve_backend",
    "squared_distances",
    "stack",
    "stack_pair",
    "to_backend",
    "unit_rows",
]


def resolve_backend(backend: str | Backend | None, *arrays: Any) -> Backend:
    """``backend`` resolved; ``None`` follows the arrays (a CUDA tensor → ``torch_cuda``, a CPU
    tensor → ``torch``, anything else → ``numpy``)."""
    if backend is not None:
        return get_backend(backend)
    for x in arrays:
        if is_tensor(x):
            return get_backend("torch_cuda" if x.is_cuda else "torch")
    return get_backend("numpy")


def device_of(x: Any) -> Any:
    """The device of a torch tensor (``None`` for numpy arrays), for ``xp.zeros(..., device=)``."""
    return x.device if is_tensor(x) else None


def float_dtype(x: Any) -> str:
    """The dtype a kernel computes in: float32 for float32/float16 input, float64 otherwise."""
    name = str(getattr(x, "dtype", "float64")).replace("torch.", "")
    return "float32" if name in ("float32", "float16", "bfloat16") else "float64"


def to_backend(be: Backend, x: Any, dtype: str | None = None) -> Any:
    """``x`` on backend ``be`` as a floating array (its own float precision unless ``dtype``)."""
    return be.asarray(x, dtype=dtype or float_dtype(x))


def promoted_dtype(*arrays: Any) -> str:
    """The one float precision of several arrays: float64 if any computes in float64, else float32."""
    return "float64" if any(float_dtype(a) == "float64" for a in arrays) else "float32"


def common_dtype(be: Backend, *arrays: Any) -> list[Any]:
    """The arrays on ``be`` in one float precision (:func:`promoted_dtype`)."""
    dtype = promoted_dtype(*arrays)
    return [be.asarray(a, dtype=dtype) for a in arrays]


def stack(be: Backend, reps: Any, rep_ndim: int) -> Any:
    """One representation, a list of them or a stacked array → one stacked backend array.

    Mixed precisions are promoted (float32 with float64 gives float64).
    """
    if isinstance(reps, (list, tuple)):
        return be.xp.stack(common_dtype(be, *reps))
    arr = to_backend(be, reps)
    return arr[None, ...] if arr.ndim == rep_ndim else arr


def stack_pair(be: Backend, A: Any, B: Any, rep_ndim: int) -> tuple[Any, Any]:
    """Both sides of a comparison stacked (:func:`stack`) in one float precision, so a float32
    layer compares with a float64 recording (float64 then)."""
    SA, SB = stack(be, A, rep_ndim), stack(be, B, rep_ndim)
    return tuple(common_dtype(be, SA, SB)) if SA.dtype != SB.dtype else (SA, SB)


# ------------------------------------------------------------------------------ shared kernels
def squared_distances(be: Backend, A: Any, B: Any = None, *, out: np.ndarray | None = None) -> Any:
    """Squared Euclidean distances between the rows of ``A`` ``(..., n, p)`` and of ``B``
    ``(..., m, p)`` (``B=None``: ``A`` with itself) → ``(..., n, m)``, clipped at 0.

    Through the inner products: ``‖a‖² + ‖b‖² − 2⟨a, b⟩`` (one matrix product). On numpy,
    ``out`` (a float array of the right shape and precision) receives the result without an
    intermediate copy.
    """
    xp = be.xp
    sq_a = xp.sum(A * A, axis=-1)
    sq_b = sq_a if B is None else xp.sum(B * B, axis=-1)
    B = A if B is None else B
    if out is not None and not be.is_torch:
        D = np.matmul(A, xp.matrix_transpose(B), out=out)
    else:
        D = A @ xp.matrix_transpose(B)
    D *= -2.0
    D += sq_a[..., :, None]
    D += sq_b[..., None, :]
    D[D < 0] = 0.0
    return D


def unit_rows(be: Backend, X: Any, zero: str, inplace: bool = False, first_row: int = 0) -> Any:
    """The rows of ``X`` (last axis) scaled to unit L2 norm (in ``X`` itself with ``inplace``: for
    an array the caller just made, so that no second copy is allocated).

    A row of zero norm is a ValueError with the message ``zero``, whose ``{row}`` is filled
    with the index of the first such row (counted from ``first_row``: ``X`` may be a block of rows).
    """
    norms = be.xp.linalg.vector_norm(X, axis=-1, keepdims=True)
    bad = np.flatnonzero(be.to_numpy(norms) == 0)
    if bad.size:
        raise ValueError(zero.format(row=first_row + int(bad[0])))
    if inplace:
        X /= norms
        return X
    return X / norms


# ------------------------------------------------------------------------------- input parsing
