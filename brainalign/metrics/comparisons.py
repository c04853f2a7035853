"""RDM comparisons as a table: name → :class:`Comparison`.

Each comparison declares what every RDM statistic needs of it, so that
:func:`brainalign.metrics.rsa.compare`, :func:`brainalign.metrics.rsa.noise_ceiling`,
:class:`~brainalign.metrics.rsa.RSA` and :mod:`brainalign.stats` read the table instead of
testing method names:

- :meth:`Comparison.represent`: condensed RDMs → the vectors whose dot products are the scores
  (ranks, centring, whitening, unit norm); ``layout`` says whether they are condensed (``m``
  pairs) or full ``n × n`` matrices;
- :meth:`Comparison.all_pairs`, :meth:`Comparison.paired`, :meth:`Comparison.permuted`: scores of
  represented RDMs, all pairs, row by row, or against a batch of permuted copies;
- :meth:`Comparison.pool`: the transform whose mean over subjects is the best-fitting RDM (the
  noise ceiling);
- :meth:`Comparison.weighted`: scores on a multiset of pairs given by counts (the stimulus
  bootstrap); ``resampled`` says whether the comparison supports it.

References
----------
Nili, H. et al. (2014). A toolbox for representational similarity analysis. PLoS Comput. Biol.
10, e1003553.
Diedrichsen, J. et al. (2021). Comparing representational geometries using whitened
unbiased-distance-matrix similarity. Neurons, Behavior, Data analysis and Theory 5(3).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from ..backend import Backend
from ..utils import check_option
from ._arrays import device_of
from ._ranks import rankdata
from ._rdm import double_centered, n_from_length, unit_rdms

__all__ = ["COMPARISONS", "Comparison", "get_comparison", "list_comparisons", "tau_a", "tied_pairs"]


@dataclass(frozen=True)
class Comparison:
    """An RDM comparison: a correlation-like score of two RDMs' dissimilarities.

    The base class is the plain dot product of represented RDMs; subclasses fill in
    :meth:`represent` and :meth:`pool` (and :meth:`weighted` when ``resampled``).

    Attributes
    ----------
    name : str
        The name in :data:`COMPARISONS`.
    layout : {"condensed", "square"}
        What :meth:`represent` returns: the ``m = n·(n−1)/2`` pairs, or ``n × n`` matrices.
    resampled : bool
        Whether :meth:`weighted` (the stimulus bootstrap) is available.
    """

    name: str
    layout: Literal["condensed", "square"] = "condensed"
    resampled: bool = True

    def represent(self, be: Backend, v: Any, what: str = "rdm") -> Any:
        """Condensed RDMs ``(k, m)`` → represented rows; a constant RDM is a ValueError naming ``what``."""
        raise NotImplementedError

    def pool(self, be: Backend, V: Any) -> Any:
        """Each subject's condensed RDM transformed so that their mean is the best-fitting RDM
        (rsatoolbox's ``pool_rdm``): z-scores by default."""
        xp = be.xp
        V = V - xp.mean(V, axis=-1, keepdims=True)
        return V / xp.std(V, axis=-1, keepdims=True)

    def all_pairs(self, be: Backend, A: Any, B: Any) -> np.ndarray:
        """Represented RDMs ``(k, ·)`` and ``(l, ·)`` → ``(k, l)`` scores (numpy float64)."""
        return np.asarray(be.to_numpy(A @ be.xp.matrix_transpose(B)), dtype=np.float64)

    def paired(self, be: Backend, A: Any, B: Any) -> np.ndarray:
        """Represented RDMs ``(k, ·)`` and ``(k, ·)`` → the ``k`` scores of row ``i`` with row ``i``."""
        return np.asarray(be.to_numpy(be.xp.sum(A * B, axis=-1)), dtype=np.float64)

    def permuted(self, be: Backend, A: Any, G: Any) -> np.ndarray:
        """Represented RDMs ``A`` ``(k, ·)`` against a batch of reordered represented RDMs ``G``
        ``(batch, l, ·)`` (a permutation of the stimuli) → ``(batch, k, l)`` scores."""
        xp = be.xp
        return np.asarray(be.to_numpy(G @ xp.matrix_transpose(A)), dtype=np.float64).swapaxes(1, 2)

    def weighted(self, be: Backend, va: Any, vb: Any, C: Any) -> Any:
        """Condensed RDMs ``va`` ``(k, m)`` and ``vb`` ``(l, m)`` compared on the multiset of pairs in
        which pair ``p`` appears ``C[t, p]`` times, for each row ``t`` of the counts ``C`` ``(batch, m)``
        → ``(batch, k, l)`` scores (backend array)."""
        raise ValueError(f"The {self.name!r} comparison cannot be computed on resampled pairs.")


def _weighted_products(be: Backend, a: Any, b: Any, C: Any) -> tuple[Any, Any, Any]:
    """``Σ_p C[t, p] a[.., k, p] b[.., l, p]`` → ``(batch, k, l)``, and the same for ``a·a``, ``b·b``
    → ``(batch, k)``, ``(batch, l)``. ``a``, ``b``: ``(k, m)`` or ``(batch, k, m)``."""
    xp = be.xp
    Ca = C[:, None, :] * a
    cross = Ca @ xp.matrix_transpose(b)
    return cross, xp.sum(Ca * a, axis=-1), xp.sum(C[:, None, :] * b * b, axis=-1)


def _ratio(be: Backend, cross: Any, saa: Any, sbb: Any) -> Any:
    return cross / be.xp.sqrt(saa[:, :, None] * sbb[:, None, :])


@dataclass(frozen=True)
class Pearson(Comparison):
    """Linear correlation of the dissimilarities."""

    def represent(self, be: Backend, v: Any, what: str = "rdm") -> Any:
        return unit_rdms(be, v, what)

    def weighted(self, be: Backend, va: Any, vb: Any, C: Any) -> Any:
        xp = be.xp
        # Centred by the full means first (shift invariance), so that the weighted moments lose no precision.
        va = va - xp.mean(va, axis=-1, keepdims=True)
        vb = vb - xp.mean(vb, axis=-1, keepdims=True)
        N = xp.sum(C, axis=-1)[:, None]
        ma, mb = (C @ xp.matrix_transpose(va)) / N, (C @ xp.matrix_transpose(vb)) / N  # (batch, k), (batch, l)
        cross, saa, sbb = _weighted_products(be, va, vb, C)
        return _ratio(be, cross - N[:, :, None] * ma[:, :, None] * mb[:, None, :], saa - N * ma * ma, sbb - N * mb * mb)


def _weighted_ranks(be: Backend, v: Any, C: Any) -> Any:
    """Average ranks, centred, of each RDM's values in every multiset of pairs ``C`` → ``(batch, k, m)``.

    Pair ``p`` stands for ``C[t, p]`` copies of ``v[k, p]``; its rank among the multiset follows from
    the counts in ``v``'s sorted order (one sort per RDM, for all resamples): the count of pairs
    below its run of ties plus the mean position within the run. Pairs with a count of 0 get a rank
    too (they weigh 0).
    """
    xp = be.xp
    k, m = v.shape
    dev = device_of(v)
    batch = C.shape[0]
    order = xp.argsort(v, axis=-1)
    sv = xp.take_along_axis(v, order, axis=-1)
    offsets = xp.arange(k, dtype=order.dtype, device=dev)[:, None] * m
    Cs = xp.take(C, xp.reshape(order, (-1,)), axis=1)  # (batch, k·m): counts in each RDM's sorted order
    cum = xp.reshape(xp.cumulative_sum(xp.reshape(Cs, (batch, k, m)), axis=-1), (batch, k * m))
    N = cum[:, m - 1 : m]  # pairs in the resample (the same for every RDM)
    if bool(be.to_numpy(xp.all(sv[:, 1:] != sv[:, :-1]))):  # no ties: each run is one position
        below = cum - Cs
    else:
        true = xp.ones((k, 1), dtype=xp.bool, device=dev)
        starts = xp.reshape(xp.concat([true, sv[:, 1:] != sv[:, :-1]], axis=-1), (-1,))
        first = xp.nonzero(starts)[0]  # flat sorted positions of the runs' first and last elements
        last = xp.concat([first[1:], xp.asarray([k * m], dtype=first.dtype, device=dev)]) - 1
        run = xp.cumulative_sum(xp.astype(starts, xp.int64)) - 1
        lo, hi = xp.take(first, run), xp.take(last, run)
        below = xp.take(cum, lo, axis=1) - xp.take(Cs, lo, axis=1)
        cum = xp.take(cum, hi, axis=1)
    # Mean rank of the run: below + (1 + count of the run) / 2 = (below + upto + 1) / 2; centred by (N + 1) / 2.
    below += cum
    below -= N
    below *= 0.5
    inverse = xp.reshape(xp.argsort(order, axis=-1) + offsets, (-1,))
    return xp.reshape(xp.take(below, inverse, axis=1), (batch, k, m))


@dataclass(frozen=True)
class Spearman(Comparison):
    """Rank correlation of the dissimilarities (ties averaged)."""

    def represent(self, be: Backend, v: Any, what: str = "rdm") -> Any:
        return unit_rdms(be, rankdata(be, v), what, inplace=True)

    def pool(self, be: Backend, V: Any) -> Any:
        return rankdata(be, V)

    def weighted(self, be: Backend, va: Any, vb: Any, C: Any) -> Any:
        # Ranks within each resample, from one sort per RDM: no gather of the resampled pairs.
        ra, rb = _weighted_ranks(be, va, C), _weighted_ranks(be, vb, C)
        return _ratio(be, *_weighted_products(be, ra, rb, C))


@dataclass(frozen=True)
class Cosine(Comparison):
    """Cosine similarity of the dissimilarities (no centring)."""

    def represent(self, be: Backend, v: Any, what: str = "rdm") -> Any:
        return unit_rdms(be, v, what, center=False)

    def pool(self, be: Backend, V: Any) -> Any:
        return V / be.xp.sqrt(be.xp.mean(V * V, axis=-1, keepdims=True))

    def weighted(self, be: Backend, va: Any, vb: Any, C: Any) -> Any:
        return _ratio(be, *_weighted_products(be, va, vb, C))


@dataclass(frozen=True)
class WhitenedPearson(Comparison):
    """Pearson correlation of the double-centred second-moment matrices of the centred RDMs."""

    def represent(self, be: Backend, v: Any, what: str = "rdm") -> Any:
        return unit_rdms(be, double_centered(be, v, n_from_length(v.shape[-1])), what, center=False)


def tied_pairs(x: np.ndarray) -> float:
    """Number of pairs of equal values in ``x`` (the same for any reordering of ``x``).

    Examples
    --------
    >>> tied_pairs(np.array([1.0, 2.0, 1.0, 1.0]))
    3.0
    """
    _, counts = np.unique(x, return_counts=True)
    return float(np.sum(counts * (counts - 1) / 2))


def tau_a(a: np.ndarray, b: np.ndarray, tx: float | None = None, ty: float | None = None) -> float:
    """Kendall's τa: (concordant − discordant) / all pairs, ties counting for neither.

    Through scipy's O(m log m) τb: τb = (C − D) / sqrt((P − Tx)(P − Ty)), so C − D follows.
    ``tx``, ``ty``: the tied pairs of ``a`` and ``b`` when already known (:func:`tied_pairs`).

    Examples
    --------
    >>> round(tau_a(np.array([1.0, 2.0, 3.0]), np.array([1.0, 3.0, 2.0])), 6)
    0.333333
    """
    from scipy.stats import kendalltau

    m = a.size
    total = m * (m - 1) / 2
    tx = tied_pairs(a) if tx is None else tx
    ty = tied_pairs(b) if ty is None else ty
    if tx == total or ty == total:
        return 0.0
    tau_b = kendalltau(a, b).statistic
    return float(tau_b * np.sqrt((total - tx) * (total - ty)) / total)


@dataclass(frozen=True)
class KendallTauA(Comparison):
    """Kendall's τa, computed on the host pair by pair of RDMs (O(m log m) each)."""

    def represent(self, be: Backend, v: Any, what: str = "rdm") -> Any:
        unit_rdms(be, v, what)  # refuse constant RDMs too
        return v

    def pool(self, be: Backend, V: Any) -> Any:
        return rankdata(be, V)

    def all_pairs(self, be: Backend, A: Any, B: Any) -> np.ndarray:
        a, b = be.to_numpy(A).astype(np.float64), be.to_numpy(B).astype(np.float64)
        ties_a, ties_b = [tied_pairs(x) for x in a], [tied_pairs(y) for y in b]
        return np.array(
            [[tau_a(x, y, tx, ty) for y, ty in zip(b, ties_b, strict=True)] for x, tx in zip(a, ties_a, strict=True)]
        )

    def paired(self, be: Backend, A: Any, B: Any) -> np.ndarray:
        a, b = be.to_numpy(A).astype(np.float64), be.to_numpy(B).astype(np.float64)
        return np.array([tau_a(x, y) for x, y in zip(a, b, strict=True)])

    def permuted(self, be: Backend, A: Any, G: Any) -> np.ndarray:
        a, g = be.to_numpy(A).astype(np.float64), be.to_numpy(G).astype(np.float64)
        # A permutation reorders the values, so the ties are counted once per RDM, not per permutation.
        ties_a, ties_b = [tied_pairs(x) for x in a], [tied_pairs(y) for y in g[0]]
        out = np.empty((len(g), len(a), g.shape[1]))
        for t, gt in enumerate(g):
            for i, (x, tx) in enumerate(zip(a, ties_a, strict=True)):
                out[t, i] = [tau_a(x, y, tx, ty) for y, ty in zip(gt, ties_b, strict=True)]
        return out

    def weighted(self, be: Backend, va: Any, vb: Any, C: Any) -> Any:
        a, b, counts = be.to_numpy(va), be.to_numpy(vb), np.rint(be.to_numpy(C)).astype(np.int64)
        out = np.empty((len(counts), len(a), len(b)))
        for t, c in enumerate(counts):
            sel = np.repeat(np.arange(c.size), c)  # τa does not depend on the order of the pairs
            out[t] = [[tau_a(x[sel], y[sel]) for y in b] for x in a]
        return be.asarray(out)


#: The RDM comparisons by name.
COMPARISONS: dict[str, Comparison] = {
    c.name: c
    for c in (
        Spearman("spearman"),
        Pearson("pearson"),
        KendallTauA("kendall_tau_a"),
        Cosine("cosine"),
        WhitenedPearson("whitened_pearson", layout="square", resampled=False),
    )
}


def list_comparisons(resampled: bool | None = None) -> tuple[str, ...]:
    """Names of the RDM comparisons (only those the stimulus bootstrap supports with ``resampled=True``).

    Examples
    --------
    >>> list_comparisons()
    ('spearman', 'pearson', 'kendall_tau_a', 'cosine', 'whitened_pearson')
    >>> list_comparisons(resampled=True)
    ('spearman', 'pearson', 'kendall_tau_a', 'cosine')
    """
    return tuple(name for name, c in COMPARISONS.items() if resampled is None or c.resampled == resampled)


def get_comparison(name: str, argument: str = "method") -> Comparison:
    """The comparison called ``name``; an unknown name is a ValueError listing the valid ones.

    Examples
    --------
    >>> get_comparison("spearman").layout
    'condensed'
    """
    check_option(argument, name, tuple(COMPARISONS))
    return COMPARISONS[name]
