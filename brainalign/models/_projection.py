"""Projections applied to each layer while activations stream: sparse random (JL) and PCA."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..utils import check_count, check_option, logger, validate_type

__all__ = ["Projection", "as_projection", "sparse_random_matrix"]

_METHODS = ("sparse_random", "pca")


class Projection:
    """Reduce a wide layer to ``n_components`` units as it is extracted.

    ``"sparse_random"``: the sparse random projection of Achlioptas (2003) and Li, Hastie &
    Church (2006): entries ``±sqrt(1 / (density · k))`` with probability ``density / 2`` each
    and 0 otherwise, ``density = 1 / sqrt(n_features)`` by default (scikit-learn's
    ``SparseRandomProjection(density="auto")`` rule). It needs no data and preserves pairwise
    distances within a factor ``1 ± eps`` with high probability once
    ``k ≥ 4 ln(n) / (eps²/2 − eps³/3)`` (Johnson–Lindenstrauss; see
    ``sklearn.random_projection.johnson_lindenstrauss_min_dim``).
    ``"pca"``: the top ``k`` principal components of the layer, fitted on the rows at
    ``fit_stimuli`` (a first pass over the stimuli), then ``(X − mean) @ components.T``.

    One instance describes the projection; :meth:`fit` on a layer's activations returns a
    fitted copy (one per layer). Layers no wider than ``n_components`` are kept as they are.

    Parameters
    ----------
    method : {"sparse_random", "pca"}
    n_components : int
        Target dimension ``k``.
    random_state : int
        Seed of the random matrix (the same for every layer), or of the ``fit_stimuli`` draw.
    density : float or "auto"
        Fraction of non-zero entries of the sparse matrix (``"sparse_random"`` only).
    fit_stimuli : int or sequence of int, optional
        PCA only: positions along ``presentation`` of the rows to fit on (an int draws that
        many with ``random_state``); default every row.

    Attributes
    ----------
    components_ : array or scipy.sparse matrix
        After :meth:`fit`: the ``(n_features, k)`` sparse matrix, or the ``(k, n_features)`` PCA
        components.
    mean_ : array
        After :meth:`fit` with PCA: the mean that is subtracted.

    References
    ----------
    Achlioptas (2003). Database-friendly random projections. J. Comput. Syst. Sci. 66(4).
    Li, Hastie & Church (2006). Very sparse random projections. KDD.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).standard_normal((20, 500))
    >>> Projection("sparse_random", 64, random_state=0).fit(X).transform(X).shape
    (20, 64)
    >>> Projection("pca", 5).fit(X).transform(X).shape
    (20, 5)
    """

    def __init__(
        self,
        method: str = "sparse_random",
        n_components: int = 256,
        *,
        random_state: int = 0,
        density: float | str = "auto",
        fit_stimuli: int | Sequence[int] | None = None,
    ) -> None:
        self.method = method
        self.n_components = n_components
        self.random_state = random_state
        self.density = density
        self.fit_stimuli = fit_stimuli

    def get_params(self) -> dict[str, Any]:
        """The constructor's arguments."""
        return {k: getattr(self, k) for k in ("method", "n_components", "random_state", "density", "fit_stimuli")}

    def check(self) -> Projection:
        """Validate the parameters (names the argument and what was expected); returns self."""
        check_option("method", self.method, _METHODS)
        check_count("n_components", self.n_components)
        validate_type("random_state", self.random_state, (int, np.integer))
        if not (self.density == "auto" or (isinstance(self.density, float) and 0 < self.density <= 1)):
            raise ValueError(f"density must be 'auto' or a float in (0, 1], got {self.density!r}.")
        if self.fit_stimuli is not None and self.method != "pca":
            raise ValueError("fit_stimuli is for method='pca' only; a random projection needs no fit.")
        return self

    @property
    def needs_fit_rows(self) -> bool:
        """True when fitting needs activations (PCA), not only the layer width."""
        return self.method == "pca"

    def fit_rows(self, n_rows: int) -> np.ndarray:
        """Positions of the rows PCA is fitted on, among ``n_rows``."""
        if self.fit_stimuli is None:
            return np.arange(n_rows)
        if isinstance(self.fit_stimuli, (int, np.integer)):
            if not 1 <= self.fit_stimuli <= n_rows:
                raise ValueError(f"fit_stimuli={self.fit_stimuli} must be between 1 and the {n_rows} stimuli.")
            rng = np.random.default_rng(self.random_state)
            return np.sort(rng.choice(n_rows, int(self.fit_stimuli), replace=False))
        rows = np.unique(np.asarray(self.fit_stimuli))
        if rows.dtype.kind not in "iu" or rows.size == 0 or rows.min() < 0 or rows.max() >= n_rows:
            raise ValueError(f"fit_stimuli must be positions in [0, {n_rows}), got {self.fit_stimuli!r:.80}.")
        return rows

    def key(self) -> dict[str, Any]:
        """What identifies the projection in the extraction cache key."""
        params = self.get_params()
        if isinstance(params["fit_stimuli"], (list, tuple, np.ndarray)):
            params["fit_stimuli"] = np.asarray(params["fit_stimuli"]).tolist()
        return params

    def fit(self, X: np.ndarray) -> Projection:
        """Fit on one layer's activations ``(rows, n_features)``; returns a fitted copy."""
        self.check()
        X = np.asarray(X)
        fitted = Projection(**self.get_params())
        n_rows, d = X.shape
        fitted.n_features_in_ = d
        fitted.identity_ = d <= self.n_components
        if fitted.identity_:
            logger.info("projection: a layer of %d units is no wider than n_components=%d; kept.", d, self.n_components)
            return fitted
        k = self.n_components
        if self.method == "sparse_random":
            fitted.density_ = 1 / np.sqrt(d) if self.density == "auto" else float(self.density)
            fitted.components_ = sparse_random_matrix(d, k, fitted.density_, self.random_state)
            return fitted
        if k > n_rows:
            raise ValueError(f"n_components={k} exceeds the {n_rows} rows PCA is fitted on; pass more fit_stimuli.")
        if not np.isfinite(X).all():
            raise ValueError("The activations to fit PCA on contain NaN or infinite values.")
        X64 = X.astype(np.float64)
        fitted.mean_ = X64.mean(axis=0)
        _, S, Vt = np.linalg.svd(X64 - fitted.mean_, full_matrices=False)
        comps = Vt[:k]
        signs = np.sign(comps[np.arange(k), np.argmax(np.abs(comps), axis=1)])
        fitted.components_ = comps * signs[:, None]  # largest loading positive: a deterministic sign
        fitted.explained_variance_ = S[:k] ** 2 / max(n_rows - 1, 1)
        return fitted

    def transform(self, X: np.ndarray) -> np.ndarray:
        """Project ``(rows, n_features)`` to ``(rows, k)`` float32 (unchanged for a kept layer)."""
        X = np.asarray(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(f"X has {X.shape[1]} features; the projection was fitted on {self.n_features_in_}.")
        if self.identity_:
            return X.astype(np.float32, copy=False)
        if self.method == "sparse_random":
            return np.asarray(X @ self.components_, dtype=np.float32)
        return ((X.astype(np.float64) - self.mean_) @ self.components_.T).astype(np.float32)


def sparse_random_matrix(n_features: int, n_components: int, density: float, random_state: int) -> Any:
    """A ``(n_features, n_components)`` scipy CSC matrix of the Li et al. sparse random projection.

    Column by column: a Binomial(``n_features``, ``density``) number of non-zero rows drawn
    without replacement, each ``±sqrt(1 / density) / sqrt(n_components)`` with a fair sign.
    """
    from scipy import sparse

    rng = np.random.default_rng(random_state)
    indices, indptr = [], [0]
    for _ in range(n_components):
        nnz = rng.binomial(n_features, density)
        indices.append(np.sort(rng.choice(n_features, nnz, replace=False)))
        indptr.append(indptr[-1] + nnz)
    idx = np.concatenate(indices) if indices else np.zeros(0, dtype=np.int64)
    values = (rng.integers(0, 2, len(idx)) * 2 - 1) * (np.sqrt(1 / density) / np.sqrt(n_components))
    return sparse.csc_matrix((values.astype(np.float32), idx, np.asarray(indptr)), shape=(n_features, n_components))


def as_projection(project: Projection | Mapping[str, Any] | None) -> Projection | None:
    """``None``, a :class:`Projection`, or a dict of its arguments → a checked projection."""
    if project is None:
        return None
    if isinstance(project, Projection):
        return Projection(**project.get_params()).check()
    if isinstance(project, Mapping):
        unknown = set(project) - set(Projection().get_params())
        if unknown:
            raise ValueError(f"project has unknown keys {sorted(unknown)}; use {sorted(Projection().get_params())}.")
        return Projection(**project).check()
    raise TypeError(f"project must be a Projection, a dict of its arguments or None, got {type(project).__name__}.")
