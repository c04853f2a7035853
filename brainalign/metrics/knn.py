"""Mutual k-nearest-neighbour alignment (the Platonic Representation Hypothesis).

For every stimulus, take its ``k`` nearest neighbours (itself excluded) in each representation;
the score is the fraction of neighbours the two representations share, averaged over stimuli:

    mutual_knn(X, Y) = mean_i |N_k^X(i) ∩ N_k^Y(i)| / k

1 means the same neighbourhoods, ``k / (n − 1)`` is the chance level. Neighbours are found by
cosine similarity (rows L2-normalised, as Huh et al. normalise features) or by Euclidean
distance; ties are broken by stimulus order.

References
----------
Huh, M., Cheung, B., Wang, T. & Isola, P. (2024). The Platonic Representation Hypothesis. ICML.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr

from ..backend import Backend
from ..methods import MethodInfo
from ..utils import check_count, check_option, fill_doc
from ._arrays import device_of, squared_distances, unit_rows
from ._base import SimilarityMethod, as_list, score_groups

__all__ = ["MutualKNN", "mutual_knn"]

KNN_METRICS = ("cosine", "euclidean")


class MutualKNN(SimilarityMethod):
    """Mutual k-NN alignment as a method (see :func:`mutual_knn`).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(40, 6))
    >>> MutualKNN(k=5)(X, X)
    1.0
    """

    _param_names = ("k", "metric")
    _rep_ndim = 2

    def __brainalign_info__(self) -> MethodInfo:
        return MethodInfo(
            family="similarity",
            kernels="represent",
            ceiling="split_half",
            score=f"mutual {self.k}-nearest-neighbour overlap",
            score_range=(0.0, 1.0),
            scale_invariant=True,
        )

    def __init__(self, k: int = 10, metric: str = "cosine", backend: str | None = None) -> None:
        self.k = k
        self.metric = metric
        self.backend = backend

    def _check(self) -> None:
        check_option("metric", self.metric, KNN_METRICS)
        check_count("k", self.k, 1, "a positive integer: the number of neighbours")

    def _represent(self, be: Backend, arr: Any) -> Any:
        """``(n_stimuli, n_features)`` → the indices ``(n_stimuli, k)`` of each stimulus's k nearest
        neighbours (nearest first, ties broken by stimulus order)."""
        xp = be.xp
        n = arr.shape[0]
        if n <= self.k:
            raise ValueError(
                f"k={self.k} must be smaller than the number of stimuli ({n}): each stimulus has "
                f"{n - 1} possible neighbours. Lower k."
            )
        if self.metric == "cosine":
            arr = unit_rows(be, arr, "Stimulus pattern {row} is all zeros, so its cosine neighbours are undefined.")
            S = arr @ xp.matrix_transpose(arr)
        else:
            S = -squared_distances(be, arr)
        eye = xp.eye(n, dtype=xp.bool, device=device_of(arr))
        S = xp.where(eye, xp.full_like(S, -float("inf")), S)
        return xp.argsort(S, axis=1, descending=True, stable=True)[:, : int(self.k)]

    def compare_represented(self, A: Any, B: Any) -> np.ndarray:
        """All pairs of neighbour lists → ``(len(A), len(B))`` shared-neighbour fractions.

        A stimulus's two lists hold distinct indices, so the neighbours they share are the
        repeats in their concatenation: sorted, each shared index sits next to its copy
        (``O(n k log k)`` per pair, no ``n × n`` matrix).
        """
        la, lb = as_list(A, self._rep_ndim), as_list(B, self._rep_ndim)
        be = self._be(*la, *lb)
        xp = be.xp
        SB = xp.stack([be.asarray(b) for b in lb])  # (n_b, n, k)
        n_b, n, k = SB.shape
        out = np.empty((len(la), n_b))
        for i, a in enumerate(la):
            both = xp.concat([xp.broadcast_to(be.asarray(a)[None], (n_b, n, k)), SB], axis=-1)
            both = xp.sort(both, axis=-1)
            shared = xp.sum(xp.astype(both[..., 1:] == both[..., :-1], xp.int64), axis=(1, 2))
            out[i] = be.to_numpy(shared)
        return out / (n * float(k))


@fill_doc
def mutual_knn(
    X: xr.DataArray | np.ndarray | Any,
    Y: xr.DataArray | np.ndarray | Any,
    k: int = 10,
    *,
    metric: Literal["cosine", "euclidean"] = "cosine",
    by: str | tuple[str | None, str | None] | None = "auto",
    backend: str | Backend | None = None,
) -> float | xr.DataArray:
    """Mutual k-nearest-neighbour alignment of two representations of the same stimuli.

    Parameters
    ----------
    %(XY)s
    k : int
        Neighbours per stimulus; must be smaller than the number of stimuli.
    metric : {"cosine", "euclidean"}
        How neighbours are found.
    %(by)s
    %(backend)s

    Returns
    -------
    float or xarray.DataArray
        The mean fraction of shared neighbours, in [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import knn
    >>> X = np.random.default_rng(0).normal(size=(50, 10))
    >>> knn.mutual_knn(X, 3 * X, k=5)
    1.0

    References
    ----------
    Huh et al. (2024), The Platonic Representation Hypothesis, ICML.
    """
    return score_groups(MutualKNN(k, metric, backend), X, Y, by=by)
