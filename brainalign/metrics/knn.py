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
from ..utils import check_option
from ._base import SimilarityMethod, as_list, device_of, fill_doc, score_groups, stack

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
    _rep_ndim = 1

    def __init__(self, k: int = 10, metric: str = "cosine", backend: str | None = None) -> None:
        self.k = k
        self.metric = metric
        self.backend = backend

    def _check(self) -> None:
        check_option("metric", self.metric, KNN_METRICS)
        if isinstance(self.k, bool) or not isinstance(self.k, (int, np.integer)) or self.k < 1:
            raise ValueError(f"k must be a positive integer (number of neighbours), got {self.k!r}.")
        self._min_stimuli = 3

    def represent(self, X: Any) -> Any:
        """``(n_stimuli, n_features)`` → the flattened ``n × n`` 0/1 matrix of each stimulus's k
        nearest neighbours."""
        self._check()
        if X.shape[0] <= self.k:
            raise ValueError(
                f"k={self.k} must be smaller than the number of stimuli ({X.shape[0]}): each stimulus has "
                f"{X.shape[0] - 1} possible neighbours. Lower k."
            )
        be, arr = self._prepare(X)
        xp = be.xp
        n = arr.shape[0]
        if self.metric == "cosine":
            norms = xp.linalg.vector_norm(arr, axis=1, keepdims=True)
            if np.any(be.to_numpy(norms) == 0):
                raise ValueError("A stimulus pattern is all zeros, so its cosine neighbours are undefined.")
            arr = arr / norms
            S = arr @ xp.matrix_transpose(arr)
        else:
            sq = xp.sum(arr * arr, axis=1)
            S = -(sq[:, None] + sq[None, :] - 2.0 * (arr @ xp.matrix_transpose(arr)))
        eye = xp.eye(n, dtype=xp.bool, device=device_of(arr))
        S = xp.where(eye, xp.full_like(S, -float("inf")), S)
        neighbours = xp.argsort(S, axis=1, descending=True, stable=True)[:, : int(self.k)]
        rows = xp.reshape(xp.arange(n, dtype=xp.int64, device=device_of(arr)), (n, 1))
        flat = xp.reshape(rows * n + xp.astype(neighbours, xp.int64), (-1,))
        mask = xp.zeros((n * n,), dtype=arr.dtype, device=device_of(arr))
        mask[flat] = 1.0
        return mask

    def compare_represented(self, A: Any, B: Any) -> np.ndarray:
        """All pairs of neighbour matrices → ``(len(A), len(B))`` shared-neighbour fractions."""
        be = self._be(*as_list(A, 1), *as_list(B, 1))
        SA, SB = stack(be, A, 1), stack(be, B, 1)
        n = round(float(np.sqrt(SA.shape[-1])))
        shared = be.to_numpy(SA @ be.xp.matrix_transpose(SB))
        return np.asarray(shared, dtype=np.float64) / (n * float(self.k))


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
