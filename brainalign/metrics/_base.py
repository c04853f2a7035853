"""Shared machinery of the representation-level metrics (private).

Public functions take labelled arrays (or plain numpy/torch arrays) and return labelled results;
the kernels below them take backend arrays. Every metric is also a *method class* (registered by
name, usable by :func:`brainalign.alignment_map`) with

- ``represent(X)``: what the method needs from one representation (an RDM, a centred kernel, a
  whitened basis...), computed once per layer and once per region;
- ``compare_represented(A, B)``: the scores of every representation in ``A`` against every one in
  ``B`` (each a single representation, a list of them, or a stacked array), as a numpy array
  ``(len(A), len(B))``;
- ``__call__(X, Y) -> float`` and ``get_params()``.

:func:`score_groups` runs a method over every group (layer, region) of two labelled arrays.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..backend import Backend, get_backend

__all__ = ["Patterns", "SimilarityMethod", "as_patterns", "resolve_backend", "score_groups"]


# ------------------------------------------------------------------------------ shared docs
#: Parameter descriptions shared by the public metric functions (nilearn's ``fill_doc`` idiom).
DOCS = {
    "XY": """X, Y : xarray.DataArray or array
        Two representations of the same stimuli: activations ``(presentation, unit)`` or
        recordings ``(presentation, neuroid)``, matched on ``stimulus_id`` in any order, or
        plain numpy/torch arrays ``(n_stimuli, n_features)`` matched by row.""",
    "by": """by : str or None
        Feature groups scored separately, all groups of ``X`` against all groups of ``Y`` in
        one call: ``"auto"`` groups activations by ``layer`` and recordings by ``region``;
        ``None`` takes each input whole; a tuple gives ``X``'s and ``Y``'s.""",
    "backend": """backend : {"numpy", "torch", "torch_cuda", "auto"}, optional
        Where to compute; ``None`` follows the inputs (a torch tensor stays in torch, on its
        device). Float32 input is computed in float32, anything else in float64.""",
}


def fill_doc(func: Any) -> Any:
    """Fill ``%(name)s`` placeholders of ``func``'s docstring from :data:`DOCS`."""
    if func.__doc__:
        func.__doc__ = func.__doc__ % DOCS
    return func


# ------------------------------------------------------------------------------------ backends
def _is_torch(x: Any) -> bool:
    torch = sys.modules.get("torch")  # only if the user already imported it: we never import torch here
    return torch is not None and isinstance(x, torch.Tensor)


def resolve_backend(backend: str | Backend | None, *arrays: Any) -> Backend:
    """``backend`` resolved; ``None`` follows the arrays (a CUDA tensor → ``torch_cuda``, a CPU
    tensor → ``torch``, anything else → ``numpy``)."""
    if backend is not None:
        return get_backend(backend)
    for x in arrays:
        if _is_torch(x):
            return get_backend("torch_cuda" if x.is_cuda else "torch")
    return get_backend("numpy")


def device_of(x: Any) -> Any:
    """The device of a torch tensor (``None`` for numpy arrays), for ``xp.zeros(..., device=)``."""
    return x.device if _is_torch(x) else None


def float_dtype(x: Any) -> str:
    """The dtype a kernel computes in: float32 for float32/float16 input, float64 otherwise."""
    name = str(getattr(x, "dtype", "float64")).replace("torch.", "")
    return "float32" if name in ("float32", "float16", "bfloat16") else "float64"


def to_backend(be: Backend, x: Any, dtype: str | None = None) -> Any:
    """``x`` on backend ``be`` as a floating array (its own float precision unless ``dtype``)."""
    return be.asarray(x, dtype=dtype or float_dtype(x))


def stack(be: Backend, reps: Any, rep_ndim: int) -> Any:
    """One representation, a list of them or a stacked array → one stacked backend array.

    Mixed precisions are promoted (float32 with float64 gives float64).
    """
    xp = be.xp
    if isinstance(reps, (list, tuple)):
        arrs = [to_backend(be, r) for r in reps]
    else:
        arr = to_backend(be, reps)
        if arr.ndim == rep_ndim:
            return arr[None, ...]
        return arr
    dtype = "float64" if any(float_dtype(a) == "float64" for a in arrs) else "float32"
    return xp.stack([be.asarray(a, dtype=dtype) for a in arrs])


def common_dtype(be: Backend, *arrays: Any) -> list[Any]:
    """The arrays cast to one float precision (float64 if any is float64)."""
    dtype = "float64" if any(float_dtype(a) == "float64" for a in arrays) else "float32"
    return [be.asarray(a, dtype=dtype) for a in arrays]


# ------------------------------------------------------------------------------- input parsing
@dataclass
class Patterns:
    """Stimulus × feature patterns with their stimulus ids and feature groups."""

    values: Any  # (n_stimuli, n_features) numpy array or torch tensor
    ids: np.ndarray | None  # None for a plain array: rows are matched by position
    group_dim: str | None
    names: list[Any]
    index: list[np.ndarray]

    @property
    def n_stimuli(self) -> int:
        return int(self.values.shape[0])


def feature_groups(X: xr.DataArray, feature_dim: str, by: str | None) -> tuple[str | None, list[Any], list[np.ndarray]]:
    """Group the features of ``X`` by the coordinate ``by`` (order of first appearance)."""
    if by is None:
        return None, [None], [np.arange(X.sizes[feature_dim])]
    if by not in X.coords or X[by].dims != (feature_dim,):
        raise ValueError(f"by={by!r} must name a coordinate along {feature_dim!r}; X has {list(X.coords)}.")
    labels = np.asarray(X[by].values)
    names = list(pd.unique(labels))
    return by, names, [np.flatnonzero(labels == name) for name in names]


def _auto_by(X: xr.DataArray, feature_dim: str) -> str | None:
    if feature_dim == "unit" and "layer" in X.coords:
        return "layer"
    if feature_dim == "neuroid" and "region" in X.coords:
        return "region"
    return None


def as_patterns(X: Any, name: str, by: str | None = "auto", *, min_stimuli: int = 3) -> Patterns:
    """Check ``X`` (labelled or plain) and split it into feature groups.

    Labelled arrays must have dims ``(presentation, unit)`` (activations) or
    ``(presentation, neuroid)`` (a condition-based recording) and unique ``stimulus_id``s.
    """
    if isinstance(X, xr.DataArray):
        if "repetition" in X.dims:
            raise ValueError(
                f"{name} has a 'repetition' dim (trials kept apart). Average the trials first "
                f"({name}.mean('repetition')), or use a method for trial-resolved data "
                "(shape.stochastic_distance, or rsa.rdm(..., metric='crossnobis'))."
            )
        if "latency" in X.dims:
            raise ValueError(
                f"{name} is time-resolved (dim 'latency'); select one latency ({name}.sel(latency=...)) or "
                "score every latency with brainalign.alignment_map."
            )
        feature_dim = "unit" if "unit" in X.dims else "neuroid"
        if set(X.dims) != {"presentation", feature_dim}:
            raise ValueError(
                f"{name} must have dims ('presentation', 'unit') or ('presentation', 'neuroid'), got {X.dims}."
            )
        if by == "auto":
            by = _auto_by(X, feature_dim)
        ids = np.asarray(X["stimulus_id"].values) if "stimulus_id" in X.coords else None
        if ids is not None and pd.Index(ids).has_duplicates:
            dup = pd.Index(ids)[pd.Index(ids).duplicated()].unique()[:3].tolist()
            raise ValueError(
                f"{name} has duplicate stimulus_id values (e.g. {dup}); average repeated presentations first "
                "(brainalign.data.align(..., repetitions='average'))."
            )
        group_dim, names, index = feature_groups(X, feature_dim, by)
        values = X.transpose("presentation", feature_dim).values
        if not np.issubdtype(values.dtype, np.number):
            raise TypeError(f"{name} must hold numbers, got dtype {values.dtype}.")
    else:
        values = X if _is_torch(X) else np.asarray(X)
        if values.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_stimuli, n_features), got shape {tuple(values.shape)}.")
        if not _is_torch(values) and not np.issubdtype(values.dtype, np.number):
            raise TypeError(f"{name} must hold numbers, got dtype {values.dtype}.")
        ids, group_dim, names, index = None, None, [None], [np.arange(values.shape[1])]
        if by not in ("auto", None):
            raise ValueError(f"by={by!r} needs a labelled {name} (an xarray.DataArray with a {by!r} coordinate).")
    n = int(values.shape[0])
    if n < min_stimuli:
        raise ValueError(f"{name} has {n} stimuli; this method needs at least {min_stimuli}.")
    if values.shape[1] == 0:
        raise ValueError(f"{name} has no features (0 columns).")
    finite = bool(values.isfinite().all()) if _is_torch(values) else bool(np.isfinite(values).all())
    if not finite:
        raise ValueError(f"{name} contains NaN or infinite values; remove or impute them first.")
    return Patterns(values, ids, group_dim, names, index)


def match_stimuli(px: Patterns, py: Patterns, names: tuple[str, str] = ("X", "Y")) -> np.ndarray | None:
    """Row indexer that puts ``py`` in ``px``'s stimulus order (None when already aligned).

    Different stimulus sets are an error; plain arrays are matched by position.
    """
    a, b = names
    if px.ids is None or py.ids is None:
        if px.n_stimuli != py.n_stimuli:
            raise ValueError(
                f"{a} has {px.n_stimuli} stimuli and {b} has {py.n_stimuli}; rows must be the same stimuli. "
                "Give labelled arrays (with stimulus_id) to have them matched by id."
            )
        return None
    ia, ib = pd.Index(px.ids), pd.Index(py.ids)
    if ia.equals(ib):
        return None
    if len(ia) != len(ib) or not ia.sort_values().equals(ib.sort_values()):
        only = list(ia.difference(ib)[:3]) or list(ib.difference(ia)[:3])
        raise ValueError(
            f"{a} and {b} have different stimuli ({len(ia)} vs {len(ib)}; e.g. {only} not in both). "
            "Compute both on the same stimuli (brainalign.data.align pairs activations with a recording)."
        )
    return ib.get_indexer(ia)


def columns(be: Backend, arr: Any, idx: np.ndarray) -> Any:
    """``arr[:, idx]``: a view when ``idx`` is a contiguous block (a layer), else a gather."""
    if len(idx) == arr.shape[1]:
        return arr
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx) and np.all(np.diff(idx) == 1):
        return arr[:, int(idx[0]) : int(idx[-1]) + 1]
    return be.xp.take(arr, be.asarray(idx), axis=1)


def group_block(be: Backend, values: Any, rows: np.ndarray | None, cols: np.ndarray) -> Any:
    """``values[rows][:, cols]`` as a backend array in its float precision."""
    arr = to_backend(be, values)
    if rows is not None:
        arr = be.xp.take(arr, be.asarray(rows), axis=0)
    return columns(be, arr, cols)


def scores_array(
    scores: np.ndarray, px: Patterns, py: Patterns, attrs: dict[str, Any] | None = None
) -> float | xr.DataArray:
    """A ``(k, l)`` score array as a float (no groups) or a labelled array over the groups."""
    dims, coords = [], {}
    if px.group_dim is not None:
        dims.append(px.group_dim)
        coords[px.group_dim] = np.asarray(px.names)
    if py.group_dim is not None:
        dim_y = py.group_dim if py.group_dim not in dims else f"{py.group_dim}_2"
        dims.append(dim_y)
        coords[dim_y] = np.asarray(py.names)
    if not dims:
        return float(scores[0, 0])
    shape = tuple(len(coords[d]) for d in dims)
    return xr.DataArray(np.asarray(scores).reshape(shape), dims=dims, coords=coords, attrs=attrs or {})


# ------------------------------------------------------------------------------ method classes
class SimilarityMethod:
    """Base of the metric classes: parameters, backend, ``__call__`` from represent/compare.

    Subclasses set ``_param_names``, ``_rep_ndim`` and implement ``_check``, ``represent`` and
    ``compare_represented``.
    """

    _param_names: tuple[str, ...] = ()
    _rep_ndim: int = 1
    _min_stimuli: int = 3
    #: True when higher scores mean *less* similar (distances).
    is_distance: bool = False

    backend: str | Backend | None = None

    def get_params(self) -> dict[str, Any]:
        """The method's parameters (for the map's attrs)."""
        return {name: getattr(self, name) for name in self._param_names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def _check(self) -> None:  # pragma: no cover - overridden
        pass

    def _be(self, *arrays: Any) -> Backend:
        return resolve_backend(self.backend, *arrays)

    def _prepare(self, X: Any, name: str = "X") -> tuple[Backend, Any]:
        """Validate one ``(n_stimuli, n_features)`` block and put it on the backend."""
        if not isinstance(X, xr.DataArray) and not _is_torch(X):
            X = np.asarray(X)
        p = as_patterns(X, name, by=None, min_stimuli=self._min_stimuli)
        be = self._be(p.values)
        return be, to_backend(be, p.values)

    def represent(self, X: Any) -> Any:  # pragma: no cover - overridden
        raise NotImplementedError

    def compare_represented(self, A: Any, B: Any) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def __call__(self, X: Any, Y: Any) -> float:
        self._check()
        if isinstance(X, xr.DataArray) or isinstance(Y, xr.DataArray):
            result = score_groups(self, X, Y, by=None)
            return float(result)
        return float(self.compare_represented(self.represent(X), self.represent(Y))[0, 0])


def score_groups(
    method: SimilarityMethod,
    X: Any,
    Y: Any,
    *,
    by: str | tuple[str | None, str | None] | None = "auto",
    names: tuple[str, str] = ("X", "Y"),
) -> float | xr.DataArray:
    """Score every feature group of ``X`` against every group of ``Y`` with ``method``.

    Stimuli are matched by ``stimulus_id`` (labelled arrays) or by position (plain arrays). Each
    group is represented once; all pairs are compared in one batched call.
    """
    method._check()
    by_x, by_y = by if isinstance(by, tuple) else (by, by)
    px = as_patterns(X, names[0], by_x, min_stimuli=method._min_stimuli)
    py = as_patterns(Y, names[1], by_y, min_stimuli=method._min_stimuli)
    rows = match_stimuli(px, py, names)
    be = method._be(px.values, py.values)
    reps_x = [method.represent(group_block(be, px.values, None, cols)) for cols in px.index]
    reps_y = [method.represent(group_block(be, py.values, rows, cols)) for cols in py.index]
    scores = method.compare_represented(reps_x, reps_y)
    return scores_array(scores, px, py, attrs=method_attrs(method))


def method_attrs(method: SimilarityMethod) -> dict[str, Any]:
    """The method's name and its plain-valued parameters (what netCDF attrs can hold)."""
    params = {
        k: int(v) if isinstance(v, bool) else v
        for k, v in method.get_params().items()
        if isinstance(v, (str, int, float, bool))
    }
    return {"method": type(method).__name__, **params}


def as_list(reps: Any, rep_ndim: int) -> Sequence[Any]:
    """One representation, a list or a stacked array → a list of representations."""
    if isinstance(reps, (list, tuple)):
        return list(reps)
    if getattr(reps, "ndim", rep_ndim) == rep_ndim:
        return [reps]
    return [reps[i] for i in range(reps.shape[0])]
