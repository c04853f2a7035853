"""Topological RSA: geo-topological transforms of RDMs (Lin & Kriegeskorte 2024).

The geo-topological transform keeps the geometry of the middle of the dissimilarity range and
collapses its extremes: with lower and upper thresholds ``l < u``,

    gt(d) = clip((d − l) / (u − l), 0, 1)

so dissimilarities below ``l`` become 0 (the two stimuli are "the same place"), those above
``u`` become 1 (merely "far"), and those in between are rescaled linearly. ``l = min``,
``u = max`` gives the min–max normalised RDM (pure geometry); ``l = u`` gives the binary
adjacency of a graph (pure topology). The *geodesic* variant replaces each transformed
dissimilarity by the shortest-path length through the graph whose edges are the pairs below
the ceiling (transformed value < 1), pairs below ``l`` being edges of length 0.

Two differences from rsatoolbox 0.3.2, which implements the same paper:

- its ``geotopological_transform`` clamps a second time (after rescaling, any value above the
  *original* upper threshold is set to 1), which changes the result whenever that threshold is
  below 1, and it overwrites its input's dissimilarities in place; here the transform is the
  paper's formula and the input is never modified;
- its ``geodesic_transform`` builds the graph with networkx from a dense matrix, which reads a
  0 as "no edge", so it drops the zero-length edges of the pairs below the lower threshold.

References
----------
Lin, B. & Kriegeskorte, N. (2024). The topology and geometry of neural representations.
Proceedings of the National Academy of Sciences 121(42), e2317881121 (arXiv:2309.11028).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Literal

import numpy as np
import xarray as xr

from ..backend import Backend
from ..methods import MethodInfo
from ..utils import check_option, fill_doc, validate_type
from ._arrays import float_dtype, resolve_backend
from ._rdm import as_rdm, check_finite_rdm, zero_diagonal
from ._rdm import upper as condensed
from .rsa import COMPARE_METHODS, RDM_METRICS, RSA

__all__ = ["TRSA", "geotopological"]

THRESHOLDS = ("quantile", "absolute")


def _check_thresholds(lower: float, upper: float, thresholds: str) -> None:
    check_option("thresholds", thresholds, THRESHOLDS)
    for name, value in (("lower", lower), ("upper", upper)):
        validate_type(name, value, (int, float, np.integer, np.floating), "a number")
        if not np.isfinite(value):
            raise ValueError(f"{name} must be finite, got {value!r}.")
        if thresholds == "quantile" and not 0 <= value <= 1:
            raise ValueError(
                f"{name}={value!r} is a quantile and must lie in [0, 1]; pass thresholds='absolute' for a "
                "dissimilarity value."
            )
    if lower > upper:
        raise ValueError(f"lower ({lower!r}) must not exceed upper ({upper!r}).")


def _transform(be: Backend, D: Any, lower: float, upper: float, thresholds: str, geodesic: bool) -> Any:
    """Stack of RDMs ``(k, n, n)`` → their geo-topological (or geodesic) transforms."""
    xp = be.xp
    k, n, _ = D.shape
    if thresholds == "quantile":
        v = be.to_numpy(condensed(be, D))
        lo, hi = np.quantile(v, lower, axis=-1), np.quantile(v, upper, axis=-1)
    else:
        lo, hi = np.full(k, float(lower)), np.full(k, float(upper))
    width = hi - lo
    step = width <= 0  # l == u: a binary graph (d > l → 1)
    dtype = float_dtype(D)
    lo_b = be.asarray(lo.reshape(k, 1, 1), dtype=dtype)
    scale = be.asarray((1.0 / np.where(step, 1.0, width)).reshape(k, 1, 1), dtype=dtype)
    T = xp.clip((D - lo_b) * scale, 0.0, 1.0)
    if np.any(step):
        binary = xp.astype(D > lo_b, D.dtype)
        T = xp.where(be.asarray(step.reshape(k, 1, 1)), binary, T)
    T = zero_diagonal(be, T)
    if not geodesic:
        return T
    # Floyd–Warshall over all RDMs at once: edges at the ceiling are absent, the others keep their
    # transformed length (0 below the lower threshold; 0 on the diagonal).
    G = xp.where(T >= 1.0, xp.full_like(T, float("inf")), T)
    for m in range(n):
        G = xp.minimum(G, G[:, :, m : m + 1] + G[:, m : m + 1, :])
    return G


@fill_doc
def geotopological(
    rdm: xr.DataArray | np.ndarray | Any,
    lower: float = 0.1,
    upper: float = 0.5,
    geodesic: bool = False,
    *,
    thresholds: Literal["quantile", "absolute"] = "quantile",
    backend: str | Backend | None = None,
) -> xr.DataArray | np.ndarray:
    """Geo-topological transform of one RDM or a stack of RDMs.

    Parameters
    ----------
    rdm : xarray.DataArray or array
        From :func:`brainalign.metrics.rsa.rdm` (any group dims) or square matrices
        ``(..., n, n)``.
    lower, upper : float
        The thresholds ``l ≤ u``: quantiles in [0, 1] of each RDM's dissimilarities (upper
        triangle, diagonal excluded; linear interpolation, as :func:`numpy.quantile`), or
        dissimilarity values with ``thresholds="absolute"``.
    geodesic : bool
        Return the geodesic variant: all-pairs shortest-path lengths through the graph of the
        transformed RDM with the edges at the ceiling (value 1) removed and the pairs below
        ``l`` as edges of length 0. Stimuli that no path joins are at infinite distance (raise
        ``upper`` to connect them).
    thresholds : {"quantile", "absolute"}
        How ``lower`` and ``upper`` are read.
    %(backend)s

    Returns
    -------
    xarray.DataArray or numpy.ndarray
        The transformed RDM(s), labelled like the input (a plain array for a plain array), with
        the thresholds in ``attrs``. Values lie in [0, 1] (geodesic: [0, inf]); the diagonal
        is 0. The input is not modified.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import rsa, trsa
    >>> D = rsa.rdm(np.random.default_rng(0).normal(size=(6, 4)))
    >>> G = trsa.geotopological(D, lower=0.0, upper=1.0)  # min–max normalised RDM
    >>> float(G.max()), float(G.values[np.triu_indices(6, 1)].min())
    (1.0, 0.0)
    """
    _check_thresholds(lower, upper, thresholds)
    validate_type("geodesic", geodesic, (bool, np.bool_), "True or False")
    be = resolve_backend(backend, rdm)
    R = as_rdm(rdm, "rdm")
    n = R.sizes["stimulus_id"]
    if n < 3:
        raise ValueError(f"rdm has {n} stimuli; a geo-topological transform needs at least 3.")
    check_finite_rdm(R.values, "rdm")
    values = R.values.reshape(-1, n, n)
    out = be.to_numpy(_transform(be, be.asarray(values, dtype="float64"), lower, upper, thresholds, bool(geodesic)))
    out = out.reshape(R.shape)
    if not isinstance(rdm, xr.DataArray):
        return out
    attrs = dict(R.attrs)
    attrs.update(
        transform="geodesic" if geodesic else "geotopological", lower=lower, upper=upper, thresholds=thresholds
    )
    return R.copy(data=out).assign_attrs(attrs)


@fill_doc
class TRSA(RSA):
    """Topological RSA as an alignment method: RDMs, their geo-topological transform, comparison.

    :class:`~brainalign.metrics.rsa.RSA` with the transform between the RDM and its comparison.

    Parameters
    ----------
    lower, upper, geodesic, thresholds
        The transform (see :func:`geotopological`).
    metric : str
        RDM dissimilarity (see :func:`brainalign.metrics.rsa.rdm`).
    compare : str
        RDM comparison (see :func:`brainalign.metrics.rsa.compare`).
    %(backend)s

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(12, 6))
    >>> round(TRSA(lower=0.2, upper=0.8)(X, 3 * X), 6)
    1.0
    """

    _param_names = ("lower", "upper", "geodesic", "thresholds", "metric", "compare")

    def __init__(
        self,
        lower: float = 0.1,
        upper: float = 0.5,
        geodesic: bool = False,
        thresholds: str = "quantile",
        metric: str = "correlation",
        compare: str = "spearman",
        backend: str | None = None,
    ) -> None:
        self.lower = lower
        self.upper = upper
        self.geodesic = geodesic
        self.thresholds = thresholds
        self.metric = metric
        self.compare = compare
        self.backend = backend

    def __brainalign_info__(self) -> MethodInfo:
        """RSA's declaration: the transformed RDMs are no plain ``rsa.rdm`` (no batched cell RDMs), and
        absolute thresholds cut a distance RDM at a scale-dependent value."""
        info = super().__brainalign_info__()
        invariant = self.thresholds == "quantile" or self.metric in ("correlation", "cosine")
        return dataclasses.replace(info, rdm_metric="", scale_invariant=invariant)

    def _check(self) -> None:
        _check_thresholds(self.lower, self.upper, self.thresholds)
        check_option("metric", self.metric, tuple(m for m in RDM_METRICS if m != "crossnobis"))
        check_option("compare", self.compare, COMPARE_METHODS)

    def _condensed(self, be: Backend, arr: Any) -> Any:
        """The transform needs the square RDM (its geodesic paths run through every pair)."""
        return condensed(be, self._rdms(be, arr))

    def _transform_rdms(self, be: Backend, D: Any) -> Any:
        """Square RDMs ``(k, n, n)`` → their transforms, before the comparison's transform."""
        T = _transform(be, D, self.lower, self.upper, self.thresholds, self.geodesic)
        check_finite_rdm(T, "the transformed RDM", be)
        return T
