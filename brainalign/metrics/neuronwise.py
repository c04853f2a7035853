"""Neuron-wise comparisons: average neuron-wise correlation and best-match correlation.

- **ANC** (average neuron-wise correlation): for representations whose units correspond one to
  one (the same model on two languages or two input sets, two seeds after matching, two
  sessions of the same electrodes), the Pearson correlation across stimuli of unit ``i`` of
  ``X`` with unit ``i`` of ``Y``, averaged over units.
- **Best match**: for representations without correspondence (a layer and a brain region),
  each unit of ``X`` is paired with its most correlated unit of ``Y``; the correlations are
  averaged over the units of ``X`` (Li et al. 2016). It is not symmetric.

Units constant across stimuli (dead ReLUs, flat channels) have no correlation: they are left out
of the average (logged as a warning); a representation with no varying unit is an error.

References
----------
Li, Y., Yosinski, J., Clune, J., Lipson, H. & Hopcroft, J. (2016). Convergent learning: do
different neural networks learn the same representations? ICLR.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..backend import Backend
from ..methods import MethodInfo
from ..utils import fill_doc, logger
from ._arrays import common_dtype, to_backend
from ._base import SimilarityMethod, as_list, score_groups

__all__ = ["ANC", "BestMatch", "anc", "best_match"]


class _NeuronWise(SimilarityMethod):
    _rep_ndim = 2

    def __init__(self, backend: str | None = None) -> None:
        self.backend = backend

    def _represent(self, be: Backend, arr: Any) -> Any:
        """``(n_stimuli, n_units)`` → z-scored columns (NaN for constant units)."""
        xp = be.xp
        Z = arr - xp.mean(arr, axis=0, keepdims=True)
        sd = xp.sqrt(xp.mean(Z * Z, axis=0, keepdims=True))
        # Relative to each unit's own magnitude (rounding of a constant column), so the units do not matter.
        constant = be.to_numpy(sd[0] <= 1e-12 * xp.max(xp.abs(arr), axis=0))
        if constant.all():
            raise ValueError("No unit varies across stimuli, so no neuron-wise correlation is defined.")
        if constant.any():
            logger.warning(
                "%s: %d of %d units are constant across stimuli; left out.",
                type(self).__name__,
                int(constant.sum()),
                constant.size,
            )
        sd = xp.where(be.asarray(constant[None, :]), xp.full_like(sd, float("nan")), sd)
        return Z / sd

    def _pair(self, be: Backend, A: Any, B: Any) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def compare_represented(self, A: Any, B: Any) -> np.ndarray:
        """All pairs of represented blocks → ``(len(A), len(B))`` scores."""
        la, lb = as_list(A, self._rep_ndim), as_list(B, self._rep_ndim)
        be = self._be(*la, *lb)
        out = np.empty((len(la), len(lb)))
        for i, a in enumerate(la):
            for j, b in enumerate(lb):
                out[i, j] = self._pair(be, *common_dtype(be, to_backend(be, a), to_backend(be, b)))
        return out


class ANC(_NeuronWise):
    """Average neuron-wise correlation as a method (see :func:`anc`).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 4))
    >>> round(ANC()(X, 2 * X + 1), 6)
    1.0
    """

    def __brainalign_info__(self) -> MethodInfo:
        return MethodInfo(
            family="similarity",
            kernels="represent",
            ceiling="split_half",
            needs_unit_correspondence=True,
            score="mean correlation of corresponding units",
            scale_invariant=True,
        )

    def _pair(self, be: Backend, A: Any, B: Any) -> float:
        if A.shape[1] != B.shape[1]:
            raise ValueError(
                f"anc needs units that correspond one to one, but X has {A.shape[1]} units and Y {B.shape[1]}. "
                "For representations without unit correspondence use neuronwise.best_match."
            )
        xp = be.xp
        r = be.to_numpy(xp.mean(A * B, axis=0))
        valid = np.isfinite(r)
        if not valid.any():
            raise ValueError("No unit varies in both X and Y, so no neuron-wise correlation is defined.")
        return float(np.mean(r[valid]))


class BestMatch(_NeuronWise):
    """Best-match neuron correlation as a method (see :func:`best_match`).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 4))
    >>> round(BestMatch()(X, X[:, ::-1]), 6)
    1.0
    """

    def __brainalign_info__(self) -> MethodInfo:
        return MethodInfo(
            family="similarity",
            kernels="represent",
            ceiling="split_half",
            score="mean over units of the best-matching unit's correlation",
            scale_invariant=True,
        )

    def _pair(self, be: Backend, A: Any, B: Any) -> float:
        xp = be.xp
        n = A.shape[0]
        valid_b = be.to_numpy(xp.all(xp.isfinite(B), axis=0))
        valid_a = be.to_numpy(xp.all(xp.isfinite(A), axis=0))
        A = xp.where(xp.isfinite(A), A, xp.zeros_like(A))
        B = xp.where(xp.isfinite(B), B, xp.zeros_like(B))
        C = be.to_numpy(xp.matrix_transpose(A) @ B) / n
        C[:, ~valid_b] = -np.inf
        return float(np.mean(C[valid_a].max(axis=1)))


@fill_doc
def anc(
    X: xr.DataArray | np.ndarray | Any,
    Y: xr.DataArray | np.ndarray | Any,
    *,
    by: str | tuple[str | None, str | None] | None = "auto",
    backend: str | Backend | None = None,
) -> float | xr.DataArray:
    """Average neuron-wise correlation: unit ``i`` of ``X`` with unit ``i`` of ``Y``.

    Parameters
    ----------
    X, Y : xarray.DataArray or array
        Two representations of the same stimuli with the same units in the same order
        (activations or recordings matched on ``stimulus_id``, or plain arrays matched by row).
    %(by)s
    %(backend)s

    Returns
    -------
    float or xarray.DataArray
        The mean Pearson correlation over units (constant units left out).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import neuronwise
    >>> X = np.random.default_rng(0).normal(size=(30, 5))
    >>> round(neuronwise.anc(X, X * [1, 2, 3, 4, 5]), 6)
    1.0
    """
    return score_groups(ANC(backend), X, Y, by=by)


@fill_doc
def best_match(
    X: xr.DataArray | np.ndarray | Any,
    Y: xr.DataArray | np.ndarray | Any,
    *,
    by: str | tuple[str | None, str | None] | None = "auto",
    backend: str | Backend | None = None,
) -> float | xr.DataArray:
    """Best-match neuron correlation: each unit of ``X`` with its most correlated unit of ``Y``.

    Parameters
    ----------
    X, Y : xarray.DataArray or array
        Two representations of the same stimuli (any numbers of units).
    %(by)s
    %(backend)s

    Returns
    -------
    float or xarray.DataArray
        The mean over units of ``X`` of their best (signed) correlation with a unit of ``Y``.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import neuronwise
    >>> X = np.random.default_rng(0).normal(size=(30, 5))
    >>> round(neuronwise.best_match(X, X[:, [4, 2, 0, 1, 3]]), 6)
    1.0

    References
    ----------
    Li et al. (2016), Convergent learning, ICLR.
    """
    return score_groups(BestMatch(backend), X, Y, by=by)
