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

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..backend import Backend, is_tensor
from ..utils import check_real
from ._arrays import resolve_backend, stack_pair, to_backend
from ._conditioning import check_block, constant_message, magnitude_limits, times_power_of_two

__all__ = [
    "Patterns",
    "SimilarityMethod",
    "as_patterns",
    "check_block",
    "constant_message",
    "magnitude_limits",
    "score_groups",
    "times_power_of_two",
]


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


def auto_by(X: xr.DataArray, feature_dim: str) -> str | None:
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
            by = auto_by(X, feature_dim)
        ids = np.asarray(X["stimulus_id"].values) if "stimulus_id" in X.coords else None
        if ids is not None and pd.Index(ids).has_duplicates:
            dup = pd.Index(ids)[pd.Index(ids).duplicated()].unique()[:3].tolist()
            raise ValueError(
                f"{name} has duplicate stimulus_id values (e.g. {dup}); average repeated presentations first "
                "(brainalign.data.align(..., repetitions='average')), or keep them for "
                "rsa.rdm(..., metric='crossnobis')."
            )
        group_dim, names, index = feature_groups(X, feature_dim, by)
        values = X.transpose("presentation", feature_dim).values
        check_real(values, name)
    else:
        values = X if is_tensor(X) else np.asarray(X)
        if values.ndim != 2:
            raise ValueError(f"{name} must be 2-D (n_stimuli, n_features), got shape {tuple(values.shape)}.")
        check_real(values, name)
        ids, group_dim, names, index = None, None, [None], [np.arange(values.shape[1])]
        if by not in ("auto", None):
            raise ValueError(f"by={by!r} needs a labelled {name} (an xarray.DataArray with a {by!r} coordinate).")
    n = int(values.shape[0])
    if n < min_stimuli:
        raise ValueError(f"{name} has {n} stimuli; this method needs at least {min_stimuli}.")
    if values.shape[1] == 0:
        raise ValueError(f"{name} has no features (0 columns).")
    finite = bool(values.isfinite().all()) if is_tensor(values) else bool(np.isfinite(values).all())
    if not finite:
        raise ValueError(f"{name} contains NaN or infinite values; remove or impute them first.")
    return Patterns(values, ids, group_dim, names, index)


def match_ids(
    ids_a: np.ndarray | None, ids_b: np.ndarray | None, n_a: int, n_b: int, names: tuple[str, str] = ("X", "Y")
) -> np.ndarray | None:
    """Row indexer that puts the stimuli ``ids_b`` in the order of ``ids_a`` (None when already aligned).

    Different stimulus sets are an error; when either side has no ids (a plain array), rows are
    matched by position and the counts ``n_a``, ``n_b`` must agree.
    """
    a, b = names
    if ids_a is None or ids_b is None:
        if n_a != n_b:
            raise ValueError(
                f"{a} has {n_a} stimuli and {b} has {n_b}; rows must be the same stimuli. "
                "Give labelled arrays (with stimulus_id) to have them matched by id."
            )
        return None
    ia, ib = pd.Index(ids_a), pd.Index(ids_b)
    if ia.equals(ib):
        return None
    if len(ia) != len(ib) or not ia.sort_values().equals(ib.sort_values()):
        only = list(ia.difference(ib)[:3]) or list(ib.difference(ia)[:3])
        raise ValueError(
            f"{a} and {b} have different stimuli ({len(ia)} vs {len(ib)}; e.g. {only} not in both). "
            "Compute both on the same stimuli (brainalign.data.align pairs activations with a recording)."
        )
    return ib.get_indexer(ia)


def match_stimuli(px: Patterns, py: Patterns, names: tuple[str, str] = ("X", "Y")) -> np.ndarray | None:
    """Row indexer that puts ``py`` in ``px``'s stimulus order (None when already aligned); see
    :func:`match_ids`."""
    return match_ids(px.ids, py.ids, px.n_stimuli, py.n_stimuli, names)


def columns(be: Backend, arr: Any, idx: np.ndarray) -> Any:
    """``arr[:, idx]``: a view when ``idx`` is a contiguous block (a layer), else a gather."""
    if len(idx) == arr.shape[1]:
        return arr
    if len(idx) and idx[-1] - idx[0] + 1 == len(idx) and np.all(np.diff(idx) == 1):
        return arr[:, int(idx[0]) : int(idx[-1]) + 1]
    return be.xp.take(arr, be.asarray(idx), axis=1)


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

    Subclasses set ``_param_names`` (and ``_rep_ndim``, the number of dims of one
    representation, when it is not 1) and implement ``_check``, ``_represent`` and
    ``compare_represented``.
    """

    _param_names: tuple[str, ...] = ()
    #: Dims of one representation (1: a vector; 2: a matrix), to tell one from a stack.
    _rep_ndim: int = 1
    #: Fewest stimuli the method accepts.
    _min_stimuli: int = 3

    backend: str | Backend | None = None

    def get_params(self) -> dict[str, Any]:
        """The method's parameters (for the map's attrs)."""
        return {name: getattr(self, name) for name in self._param_names}

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    def _check(self) -> None:
        """Validate the parameters (raise ValueError/TypeError naming the bad one)."""

    def _be(self, *arrays: Any) -> Backend:
        return resolve_backend(self.backend, *arrays)

    def _prepare(self, X: Any, name: str = "X") -> tuple[Backend, Any]:
        """Validate one ``(n_stimuli, n_features)`` block and put it on the backend."""
        if not isinstance(X, xr.DataArray) and not is_tensor(X):
            X = np.asarray(X)
        p = as_patterns(X, name, by=None, min_stimuli=self._min_stimuli)
        be = self._be(p.values)
        return be, self._condition(be, to_backend(be, p.values), name)

    def _condition(self, be: Backend, arr: Any, name: str) -> Any:
        """:func:`check_block` with this method's declared scale invariance."""
        from ..methods import method_info

        invariant = method_info(self).scale_invariant
        return check_block(be, arr, name, scale_invariant=invariant, what=f"{type(self).__name__}")

    def represent(self, X: Any) -> Any:
        """What the method compares, computed from one ``(n_stimuli, n_features)`` representation."""
        self._check()
        be, arr = self._prepare(X)
        return self._represent(be, arr)

    def _represent(self, be: Backend, arr: Any) -> Any:  # pragma: no cover - overridden
        """:meth:`represent` of a block already validated and on the backend ``be``."""
        raise NotImplementedError(f"{type(self).__name__} must implement _represent (or represent).")

    def _stack_pair(self, A: Any, B: Any) -> tuple[Backend, Any, Any]:
        """The backend and both sides of :meth:`compare_represented` stacked in one precision."""
        be = self._be(*as_list(A, self._rep_ndim), *as_list(B, self._rep_ndim))
        return (be, *stack_pair(be, A, B, self._rep_ndim))

    def compare_represented(self, A: Any, B: Any) -> np.ndarray:  # pragma: no cover - overridden
        raise NotImplementedError

    def __call__(self, X: Any, Y: Any) -> float:
        """The score of two representations of the same stimuli (matched on ``stimulus_id``
        when labelled, else by row)."""
        return float(score_groups(self, X, Y, by=None))


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
    input is checked and put on the backend once; each group is represented once; all pairs are
    compared in one batched call.
    """
    from ..maps.scoring import Scorer
    from ..methods import method_info

    method._check()
    by_x, by_y = by if isinstance(by, tuple) else (by, by)
    px = as_patterns(X, names[0], by_x, min_stimuli=method._min_stimuli)
    py = as_patterns(Y, names[1], by_y, min_stimuli=method._min_stimuli)
    rows = match_stimuli(px, py, names)
    be = method._be(px.values, py.values)
    arr_x, arr_y = to_backend(be, px.values), to_backend(be, py.values)
    if rows is not None:
        arr_y = be.xp.take(arr_y, be.asarray(rows), axis=0)
    # The blocks are checked and on the backend: straight to _represent (through represent for a
    # subclass that overrides represent itself).
    checked = type(method)._represent is not SimilarityMethod._represent
    owner: dict[int, str] = {}  # id of a conditioned block → the argument (and group) it came from
    blocks_x: list[Any] = []
    blocks_y: list[Any] = []
    for p, arr, name, out in ((px, arr_x, names[0], blocks_x), (py, arr_y, names[1], blocks_y)):
        for cols, g in zip(p.index, p.names, strict=True):
            label = name if g is None else f"{name} ({p.group_dim} {g!r})"
            out.append(method._condition(be, columns(be, arr, cols), label))
            owner[id(out[-1])] = label

    def represent(block: Any) -> Any:
        """``_represent``, its refusals prefixed with the argument they concern."""
        try:
            return method._represent(be, block)
        except ValueError as err:
            label = owner.get(id(block))
            if label is None or str(err).startswith(label):
                raise
            raise ValueError(f"{label}: {err}") from err

    # The map engine's kernel: every group of X represented once, all pairs compared in one call.
    scorer = Scorer(
        method,
        method_info(method),
        type(method).__name__,
        blocks_x,
        list(px.names),
        "raise",
        label=px.group_dim or names[0],
        represent=represent if checked else None,
        stack=False,
    )
    scores = scorer.scores_many(blocks_y)
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
