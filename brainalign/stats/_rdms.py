"""Statistics of RDM comparisons: permutation tests and the stimulus bootstrap.

Every comparison is an entry of :data:`brainalign.metrics.comparisons.COMPARISONS`, which says how
to score permuted and resampled RDMs.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr

from ..backend import Backend
from ..metrics._arrays import resolve_backend
from ..metrics._rdm import aligned_rdms, group_layout, pair_index, square, upper
from ..metrics.comparisons import get_comparison, list_comparisons
from ..utils import check_count, check_option, check_random_state, fill_doc, progress
from ._pvalues import ALTERNATIVES, check_ci, p_value

__all__ = ["BOOTSTRAP_METHODS", "bootstrap_stimuli", "permutation_test"]

#: The comparisons :func:`bootstrap_stimuli` resamples (declared by the comparison table).
BOOTSTRAP_METHODS = list_comparisons(resampled=True)


@fill_doc
def permutation_test(
    rdm_a: xr.DataArray | np.ndarray,
    rdm_b: xr.DataArray | np.ndarray,
    method: Literal["spearman", "pearson", "kendall_tau_a", "cosine", "whitened_pearson"] = "spearman",
    *,
    n_perm: int = 10_000,
    alternative: Literal["greater", "less", "two-sided"] = "greater",
    random_state: int | np.random.Generator | None = None,
    batch_size: int = 1000,
    backend: str | Backend | None = None,
) -> xr.Dataset:
    """Permutation test of RDM comparisons: permute the stimulus labels of ``rdm_b``.

    Every RDM of ``rdm_a`` (e.g. all layers) is tested against every RDM of ``rdm_b`` (e.g. a
    brain region) with the same permutations.

    Parameters
    ----------
    rdm_a, rdm_b : xarray.DataArray or array
        RDMs as for :func:`brainalign.metrics.rsa.compare` (matched on ``stimulus_id``).
    method : str
        The comparison (see :func:`brainalign.metrics.rsa.compare`). Kendall's τa is computed
        permutation by permutation (slow); the others are vectorised.
    n_perm : int
        Number of permutations.
    alternative : {"greater", "less", "two-sided"}
        ``"greater"``: is the observed score larger than chance? ``"two-sided"``: twice the
        smaller one-sided p-value (at most 1).
    random_state : int or numpy Generator, optional
        Seed of the permutations.
    batch_size : int
        Permutations gathered at once (memory: ``batch_size × n_pairs`` values).
    %(backend)s

    Returns
    -------
    xarray.Dataset
        ``score`` (observed), ``p_value`` (``(1 + #{null ≥ observed}) / (1 + n_perm)``) and
        ``null`` (with a leading ``permutation`` dim), over the group dims of both RDMs.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> from brainalign.metrics import rsa
    >>> X = np.random.default_rng(0).normal(size=(12, 20))
    >>> res = stats.permutation_test(rsa.rdm(X), rsa.rdm(X + 0.1), n_perm=200, random_state=0)
    >>> float(res["p_value"]) < 0.01
    True
    """
    comparison = get_comparison(method)
    check_option("alternative", alternative, ALTERNATIVES)
    n_perm = check_count("n_perm", n_perm)
    batch_size = check_count("batch_size", batch_size)
    rng = check_random_state(random_state)
    be = resolve_backend(backend, rdm_a, rdm_b)
    xp = be.xp
    A, B = aligned_rdms(rdm_a, rdm_b)
    dims, shape, coords, B = group_layout(A, B)
    n = A.sizes["stimulus_id"]
    ra = comparison.represent(be, upper(be, be.asarray(A.values.reshape(-1, n, n), dtype="float64")), "rdm_a")
    rb = comparison.represent(be, upper(be, be.asarray(B.values.reshape(-1, n, n), dtype="float64")), "rdm_b")
    # The represented rdm_b as full n × n matrices, from which each permutation gathers its entries
    # (π(i), π(j)) for the pairs (i, j) of the layout.
    if comparison.layout == "square":
        rows, cols = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
        rb_square = rb
    else:
        rows, cols = np.triu_indices(n, k=1)
        rb_square = xp.reshape(square(be, rb, n), (rb.shape[0], n * n))
    observed = comparison.all_pairs(be, ra, rb)
    null = np.empty((n_perm, ra.shape[0], rb.shape[0]))
    base = np.arange(n)
    for start in progress(range(0, n_perm, batch_size), desc="permutations", unit="batch"):
        stop = min(start + batch_size, n_perm)
        perms = rng.permuted(np.broadcast_to(base, (stop - start, n)), axis=1)
        index = perms[:, rows] * n + perms[:, cols]  # (batch, pairs): entry (π(i), π(j)) of rdm_b
        gathered = xp.take(rb_square, be.asarray(index.reshape(-1)), axis=1)  # (l, batch·pairs)
        gathered = xp.reshape(gathered, (rb.shape[0], stop - start, index.shape[1]))
        null[start:stop] = comparison.permuted(be, ra, xp.permute_dims(gathered, (1, 0, 2)))
    p = p_value(null, observed[None], alternative)
    return _dataset(
        dims,
        shape,
        coords,
        {"score": observed, "p_value": p},
        ("null", "permutation", null),
        method=method,
        n_perm=n_perm,
        alternative=alternative,
        permuted="rdm_b",
    )


def _dataset(dims: tuple, shape: tuple, coords: dict, cells: dict, samples: tuple, **attrs: Any) -> xr.Dataset:
    """A result over the RDM groups: per-cell variables, and the resampled scores (``samples``:
    variable name, leading dim name, ``(n, k, l)`` array)."""
    name, dim, values = samples
    data_vars = {key: (dims, np.asarray(v).reshape(shape)) for key, v in cells.items()}
    data_vars[name] = ((dim, *dims), values.reshape((len(values), *shape)))
    return xr.Dataset(data_vars, coords=coords, attrs=attrs)


@fill_doc
def bootstrap_stimuli(
    rdm_a: xr.DataArray | np.ndarray,
    rdm_b: xr.DataArray | np.ndarray,
    method: Literal["spearman", "pearson", "kendall_tau_a", "cosine"] = "spearman",
    *,
    n_boot: int = 1000,
    ci: float = 0.95,
    random_state: int | np.random.Generator | None = None,
    batch_size: int = 200,
    backend: str | Backend | None = None,
) -> xr.Dataset:
    """Bootstrap confidence intervals of RDM comparisons over stimuli.

    Each bootstrap sample draws ``n`` stimuli with replacement and compares the two RDMs on the
    pairs of *different* draws whose stimuli differ: a stimulus drawn twice would otherwise add
    pairs of a stimulus with itself, whose dissimilarity is 0 in both RDMs and inflates the
    agreement.

    Parameters
    ----------
    rdm_a, rdm_b : xarray.DataArray or array
        RDMs as for :func:`brainalign.metrics.rsa.compare`.
    method : {"spearman", "pearson", "kendall_tau_a", "cosine"}
        The comparison (the whitened Pearson needs complete RDMs and is not bootstrapped here).
    n_boot : int
        Number of bootstrap samples.
    ci : float
        Coverage of the percentile interval.
    random_state : int or numpy Generator, optional
        Seed of the resampling.
    batch_size : int
        Bootstrap samples computed at once.
    %(backend)s

    Returns
    -------
    xarray.Dataset
        ``score`` (on all stimuli), ``ci_low``, ``ci_high`` and ``bootstrap`` (the resampled
        scores, leading dim ``bootstrap``).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> from brainalign.metrics import rsa
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(20, 10))
    >>> res = stats.bootstrap_stimuli(rsa.rdm(X), rsa.rdm(X + rng.normal(size=X.shape)), n_boot=100,
    ...                               random_state=0)
    >>> bool(res["ci_low"] < res["score"] < res["ci_high"])
    True
    """
    check_option("method", method, BOOTSTRAP_METHODS)
    comparison = get_comparison(method)
    n_boot = check_count("n_boot", n_boot)
    batch_size = check_count("batch_size", batch_size)
    ci = check_ci(ci)
    rng = check_random_state(random_state)
    be = resolve_backend(backend, rdm_a, rdm_b)
    A, B = aligned_rdms(rdm_a, rdm_b)
    dims, shape, coords, B = group_layout(A, B)
    n = A.sizes["stimulus_id"]
    va = upper(be, be.asarray(A.values.reshape(-1, n, n), dtype="float64"))
    vb = upper(be, be.asarray(B.values.reshape(-1, n, n), dtype="float64"))
    # Also refuses constant RDMs.
    observed = comparison.all_pairs(be, comparison.represent(be, va, "rdm_a"), comparison.represent(be, vb, "rdm_b"))
    iu0, iu1, cond = pair_index(n)
    m = iu0.size
    boot = np.empty((n_boot, va.shape[0], vb.shape[0]))
    for start in progress(range(0, n_boot, batch_size), desc="bootstrap", unit="batch"):
        stop = min(start + batch_size, n_boot)
        draws = rng.integers(0, n, size=(stop - start, n))
        s0, s1 = draws[:, iu0], draws[:, iu1]
        valid = s0 != s1
        if np.any(valid.sum(axis=1) < 3):
            raise ValueError("A bootstrap sample has fewer than 3 distinct stimuli; use more stimuli.")
        # A resample is a multiset of the original pairs: how often each pair of different stimuli
        # was drawn (pairs of a stimulus with itself left out).
        rows = np.broadcast_to(np.arange(stop - start)[:, None], valid.shape)[valid]
        counts = np.bincount(rows * m + cond[s0, s1][valid], minlength=(stop - start) * m)
        C = be.asarray(counts.reshape(stop - start, m).astype(np.float64))
        boot[start:stop] = be.to_numpy(comparison.weighted(be, va, vb, C))
    low, high = np.quantile(boot, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
    return _dataset(
        dims,
        shape,
        coords,
        {"score": observed, "ci_low": low, "ci_high": high},
        ("bootstrap", "bootstrap", boot),
        method=method,
        n_boot=n_boot,
        ci=ci,
        resampled="stimuli",
    )
