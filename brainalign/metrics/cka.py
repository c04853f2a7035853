"""Centred kernel alignment (CKA): linear, RBF, and the debiased estimator.

CKA compares two representations of the same stimuli through their stimulus × stimulus kernel
(Gram) matrices ``K`` and ``L``:

    CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) · HSIC(L, L))

with ``HSIC(K, L) ∝ tr(K H L H)`` and ``H`` the centring matrix. It is invariant to orthogonal
transforms and isotropic scaling of either representation (not to arbitrary invertible linear
maps). The *debiased* estimator replaces HSIC by its unbiased U-statistic (Song et al. 2012),
computed as the inner product of U-centred kernels (zero diagonal), which removes the upward
bias of CKA when features outnumber stimuli; it can be slightly negative.

References
----------
Kornblith, S., Norouzi, M., Lee, H. & Hinton, G. (2019). Similarity of neural network
representations revisited. ICML.
Song, L., Smola, A., Gretton, A., Bedo, J. & Borgwardt, K. (2012). Feature selection via
dependence maximization. JMLR 13, 1393–1434.
Székely, G. J. & Rizzo, M. L. (2014). Partial distance correlation with methods for
dissimilarities. Annals of Statistics 42(6).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr

from ..backend import Backend
from ..methods import MethodInfo
from ..utils import check_option, fill_doc, validate_type
from ._arrays import device_of, squared_distances
from ._base import SimilarityMethod, score_groups

__all__ = ["CKA", "cka"]

KERNELS = ("linear", "rbf")


def _gram(be: Backend, X: Any, kernel: str, sigma: float) -> Any:
    xp = be.xp
    X = X - xp.mean(X, axis=0, keepdims=True)
    if kernel == "linear":
        return X @ xp.matrix_transpose(X)
    D = squared_distances(be, X)
    median = float(np.median(be.to_numpy(D)))
    if median == 0:
        raise ValueError("The RBF kernel's bandwidth is undefined: the median squared distance is 0.")
    return xp.exp(-D / (2.0 * sigma**2 * median))


def _center(be: Backend, K: Any, debiased: bool) -> Any:
    xp = be.xp
    n = K.shape[0]
    if not debiased:
        K = K - xp.mean(K, axis=0, keepdims=True)
        return K - xp.mean(K, axis=1, keepdims=True)
    off = 1.0 - xp.eye(n, dtype=K.dtype, device=device_of(K))
    K = K * off
    row = xp.sum(K, axis=1) / (n - 2)
    row = row - xp.sum(row) / (2 * (n - 1))
    return (K - row[:, None] - row[None, :]) * off


class CKA(SimilarityMethod):
    """CKA as an alignment method (see :func:`cka`).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(20, 5))
    >>> Q, _ = np.linalg.qr(np.random.default_rng(1).normal(size=(5, 5)))
    >>> round(CKA()(X, X @ Q), 6)
    1.0
    """

    _param_names = ("kernel", "debiased", "sigma")

    def __brainalign_info__(self) -> MethodInfo:
        return MethodInfo(
            family="similarity",
            kernels="represent",
            ceiling="split_half",
            score=f"{'debiased ' if self.debiased else ''}{self.kernel} CKA",
            score_range=(-1.0, 1.0) if self.debiased else (0.0, 1.0),
            scale_invariant=True,  # the RBF bandwidth is a fraction of the median distance
        )

    def __init__(
        self, kernel: str = "linear", debiased: bool = False, sigma: float = 1.0, backend: str | None = None
    ) -> None:
        self.kernel = kernel
        self.debiased = debiased
        self.sigma = sigma
        self.backend = backend

    def _check(self) -> None:
        check_option("kernel", self.kernel, KERNELS)
        validate_type("debiased", self.debiased, (bool, np.bool_), "True or False")
        validate_type("sigma", self.sigma, (int, float, np.integer, np.floating), "a positive number")
        if not (np.isfinite(self.sigma) and self.sigma > 0):
            raise ValueError(f"sigma must be a positive number (a fraction of the median distance), got {self.sigma}.")

    @property
    def _min_stimuli(self) -> int:
        return 4 if self.debiased else 3  # the unbiased HSIC divides by n − 3

    def _represent(self, be: Backend, arr: Any) -> Any:
        """``(n_stimuli, n_features)`` → its centred kernel, flattened and of unit norm."""
        K = _center(be, _gram(be, arr, self.kernel, float(self.sigma)), bool(self.debiased))
        norm = be.xp.linalg.matrix_norm(K)
        if float(be.to_numpy(norm)) <= 0:
            raise ValueError("A representation with no variance across stimuli has no defined CKA.")
        return be.xp.reshape(K / norm, (-1,))

    def compare_represented(self, A: Any, B: Any) -> np.ndarray:
        """All pairs of represented kernels → ``(len(A), len(B))`` CKA values."""
        be, SA, SB = self._stack_pair(A, B)
        return np.asarray(be.to_numpy(SA @ be.xp.matrix_transpose(SB)), dtype=np.float64)


@fill_doc
def cka(
    X: xr.DataArray | np.ndarray | Any,
    Y: xr.DataArray | np.ndarray | Any,
    kernel: Literal["linear", "rbf"] = "linear",
    debiased: bool = False,
    *,
    sigma: float = 1.0,
    by: str | tuple[str | None, str | None] | None = "auto",
    backend: str | Backend | None = None,
) -> float | xr.DataArray:
    """Centred kernel alignment of two representations of the same stimuli.

    Parameters
    ----------
    %(XY)s
    kernel : {"linear", "rbf"}
        ``"linear"``: ``K = X Xᵀ``; ``"rbf"``: ``K = exp(−‖xᵢ − xⱼ‖² / (2 σ² m))`` with ``m``
        the median squared distance between stimuli (Kornblith et al. 2019's convention).
    debiased : bool
        Use the unbiased HSIC estimator (needs at least 4 stimuli).
    sigma : float
        RBF bandwidth as a fraction of the median distance.
    %(by)s
    %(backend)s

    Returns
    -------
    float or xarray.DataArray
        A float for ungrouped inputs, else an array over the groups (e.g. ``layer × region``).
        1 means identical up to rotation and scale.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import cka
    >>> X = np.random.default_rng(0).normal(size=(30, 8))
    >>> round(cka.cka(X, 2 * X), 6), round(cka.cka(X, X, kernel="rbf"), 6)
    (1.0, 1.0)

    References
    ----------
    Kornblith et al. (2019), ICML; Song et al. (2012), JMLR.
    """
    return score_groups(CKA(kernel, debiased, sigma, backend), X, Y, by=by)
