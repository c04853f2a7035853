"""Inference for alignment scores: permutation tests, bootstrap confidence intervals, FDR.

- :func:`permutation_test`: the null distribution of an RDM comparison, by permuting the
  stimulus labels of one RDM (rows and columns together). Vectorised: the permuted RDMs are
  gathered for thousands of permutations at once and compared with every RDM of the other side
  in one matrix product (Spearman, Pearson and cosine are invariant to the reordering of the
  values, so their normalisation is computed once).
- :func:`bootstrap_stimuli`: confidence intervals by resampling stimuli with replacement; pairs
  of copies of the same stimulus (zero-distance "duplicates") are left out of each comparison.
- :func:`bootstrap_subjects`: confidence intervals of a mean score over subjects.
- :func:`fdr_correction`: Benjamini–Hochberg false discovery rate across a map.

References
----------
Nili, H. et al. (2014). A toolbox for representational similarity analysis. PLoS Comput. Biol.
10, e1003553.
Schütt, H. H. et al. (2023). Statistical inference on representational geometries. eLife 12,
e82566.
Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. J. R. Stat. Soc. B 57.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np
import xarray as xr

from .backend import Backend
from .metrics._base import resolve_backend
from .metrics.rsa import (
    COMPARE_METHODS,
    _aligned_rdms,
    _compare_represented,
    _represent_condensed,
    _square,
    _tau_a,
    _tied_pairs,
    _upper,
    rankdata,
)
from .utils import check_count, check_option, check_random_state, progress, validate_type

__all__ = ["bootstrap_stimuli", "bootstrap_subjects", "fdr_correction", "permutation_test"]

ALTERNATIVES = ("greater", "less", "two-sided")
#: The comparisons :func:`bootstrap_stimuli` resamples (the whitened Pearson needs complete RDMs).
BOOTSTRAP_METHODS = ("spearman", "pearson", "kendall_tau_a", "cosine")


def _check_ci(ci: Any) -> float:
    validate_type("ci", ci, (float, np.floating), "a float")
    if not 0 < ci < 1:
        raise ValueError(f"ci is the coverage of the interval and must lie in (0, 1), got {ci!r}.")
    return float(ci)


def _pair_index(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Upper-triangle pairs (i < j) and the table ``cond[a, b]`` of the condensed index of pair {a, b}."""
    iu0, iu1 = np.triu_indices(n, k=1)
    cond = np.zeros((n, n), dtype=np.int64)
    cond[iu0, iu1] = np.arange(iu0.size)
    cond[iu1, iu0] = np.arange(iu0.size)
    return iu0, iu1, cond


def _group_layout(A: xr.DataArray, B: xr.DataArray) -> tuple[tuple, tuple, dict, xr.DataArray]:
    ga = A.dims[:-2]
    B = B.rename({d: f"{d}_2" for d in B.dims[:-2] if d in ga})
    gb = B.dims[:-2]
    coords = {d: A[d].values for d in ga if d in A.coords} | {d: B[d].values for d in gb if d in B.coords}
    shape = tuple(A.sizes[d] for d in ga) + tuple(B.sizes[d] for d in gb)
    return ga + gb, shape, coords, B


def _p_value(null: np.ndarray, observed: np.ndarray, alternative: str) -> np.ndarray:
    """Permutation p-values over the first axis of ``null``: ``(1 + #{draws at least as extreme}) / (1 + #draws)``.

    ``observed`` broadcasts against ``null`` (a leading axis of 1). Draws within 1e-12 of the
    observed score count as at least as extreme (ties that rounding broke); NaN draws
    (degenerate resamples) are left out; a NaN score, or one without a valid draw, gets NaN.
    ``"two-sided"`` is twice the smaller one-sided p-value (at most 1): right wherever the null
    is centred (the null of a cosine comparison of RDMs sits near 0.9, not at 0).
    """
    if alternative == "two-sided":
        one_sided = np.minimum(_p_value(null, observed, "greater"), _p_value(null, observed, "less"))
        return np.minimum(1.0, 2.0 * one_sided)
    hits = null >= observed - 1e-12 if alternative == "greater" else null <= observed + 1e-12
    n_valid = np.sum(~np.isnan(null), axis=0)
    p = (1.0 + np.sum(hits, axis=0)) / (1.0 + n_valid)
    return np.where(np.isnan(observed).all(axis=0) | (n_valid == 0), np.nan, p)


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
    backend : str, optional
        Where to compute; ``None`` follows the inputs.

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
    check_option("method", method, COMPARE_METHODS)
    check_option("alternative", alternative, ALTERNATIVES)
    n_perm = check_count("n_perm", n_perm)
    batch_size = check_count("batch_size", batch_size)
    rng = check_random_state(random_state)
    be = resolve_backend(backend, rdm_a, rdm_b)
    xp = be.xp
    A, B = _aligned_rdms(rdm_a, rdm_b)
    dims, shape, coords, B = _group_layout(A, B)
    n = A.sizes["stimulus_id"]
    MA = be.asarray(A.values.reshape(-1, n, n), dtype="float64")
    MB = be.asarray(B.values.reshape(-1, n, n), dtype="float64")
    ra = _represent_condensed(be, _upper(be, MA), method, "rdm_a")
    rb = _represent_condensed(be, _upper(be, MB), method, "rdm_b")
    if method == "whitened_pearson":  # represented as full n × n matrices
        rows, cols = np.repeat(np.arange(n), n), np.tile(np.arange(n), n)
        rb_square = rb
    else:  # condensed upper triangles: gather them from the square form
        rows, cols = np.triu_indices(n, k=1)
        rb_square = xp.reshape(_square(be, rb, n), (rb.shape[0], n * n))
    observed = _compare_represented(be, ra, rb, method)
    null = np.empty((n_perm, ra.shape[0], rb.shape[0]))
    base = np.arange(n)
    if method == "kendall_tau_a":  # on the host; a permutation reorders the values, so ties stay
        va, vb = be.to_numpy(ra).astype(np.float64), be.to_numpy(rb_square).astype(np.float64)
        ties_a = [_tied_pairs(x) for x in va]
        ties_b = [_tied_pairs(y) for y in be.to_numpy(rb)]
    for start in progress(range(0, n_perm, batch_size), desc="permutations", unit="batch"):
        stop = min(start + batch_size, n_perm)
        perms = rng.permuted(np.broadcast_to(base, (stop - start, n)), axis=1)
        index = perms[:, rows] * n + perms[:, cols]  # (batch, pairs): entry (π(i), π(j)) of rdm_b
        if method == "kendall_tau_a":
            for t in range(stop - start):
                null[start + t] = [
                    [_tau_a(x, y[index[t]], tx, ty) for y, ty in zip(vb, ties_b, strict=True)]
                    for x, tx in zip(va, ties_a, strict=True)
                ]
            continue
        gathered = xp.take(rb_square, be.asarray(index.reshape(-1)), axis=1)  # (l, batch·pairs)
        gathered = xp.reshape(gathered, (rb.shape[0], stop - start, index.shape[1]))
        # (batch, l, pairs) @ (pairs, k) → (batch, l, k)
        scores = xp.permute_dims(gathered, (1, 0, 2)) @ xp.matrix_transpose(ra)
        null[start:stop] = np.swapaxes(be.to_numpy(scores), 1, 2)
    p = _p_value(null, observed[None], alternative)
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


def _masked_scores(be: Backend, va: Any, vb: Any, w: Any, method: str) -> Any:
    """Comparisons of gathered condensed RDMs ``(batch, k, m)`` and ``(batch, l, m)`` restricted to
    the pairs where ``w`` (``(batch, 1, m)``, 0/1) is 1 → ``(batch, k, l)``."""
    xp = be.xp
    count = xp.sum(w, axis=-1, keepdims=True)
    if method == "spearman":
        # Left-out pairs rank last, so the others get ranks 1 … count among themselves.
        va = xp.where(w > 0, va, xp.full_like(va, float("inf")))
        vb = xp.where(w > 0, vb, xp.full_like(vb, float("inf")))
        va = xp.reshape(rankdata(be, xp.reshape(va, (-1, va.shape[-1]))), va.shape)
        vb = xp.reshape(rankdata(be, xp.reshape(vb, (-1, vb.shape[-1]))), vb.shape)
    va, vb = va * w, vb * w
    if method in ("spearman", "pearson"):
        va = (va - xp.sum(va, axis=-1, keepdims=True) / count) * w
        vb = (vb - xp.sum(vb, axis=-1, keepdims=True) / count) * w
    na = xp.sqrt(xp.sum(va * va, axis=-1))  # (batch, k)
    nb = xp.sqrt(xp.sum(vb * vb, axis=-1))
    return (va @ xp.matrix_transpose(vb)) / (na[:, :, None] * nb[:, None, :])


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
    backend : str, optional
        Where to compute; ``None`` follows the inputs.

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
    n_boot = check_count("n_boot", n_boot)
    batch_size = check_count("batch_size", batch_size)
    ci = _check_ci(ci)
    rng = check_random_state(random_state)
    be = resolve_backend(backend, rdm_a, rdm_b)
    xp = be.xp
    A, B = _aligned_rdms(rdm_a, rdm_b)
    dims, shape, coords, B = _group_layout(A, B)
    n = A.sizes["stimulus_id"]
    va = _upper(be, be.asarray(A.values.reshape(-1, n, n), dtype="float64"))
    vb = _upper(be, be.asarray(B.values.reshape(-1, n, n), dtype="float64"))
    observed = _compare_represented(  # also refuses constant RDMs
        be, _represent_condensed(be, va, method, "rdm_a"), _represent_condensed(be, vb, method, "rdm_b"), method
    )
    if method == "kendall_tau_a":  # on the host
        a_host, b_host = be.to_numpy(va), be.to_numpy(vb)
    iu0, iu1, cond = _pair_index(n)
    boot = np.empty((n_boot, va.shape[0], vb.shape[0]))
    for start in progress(range(0, n_boot, batch_size), desc="bootstrap", unit="batch"):
        stop = min(start + batch_size, n_boot)
        draws = rng.integers(0, n, size=(stop - start, n))
        s0, s1 = draws[:, iu0], draws[:, iu1]
        valid = s0 != s1
        if np.any(valid.sum(axis=1) < 3):
            raise ValueError("A bootstrap sample has fewer than 3 distinct stimuli; use more stimuli.")
        index = cond[s0, s1]  # pairs of one stimulus with itself point anywhere; their weight is 0
        if method == "kendall_tau_a":
            for t in range(stop - start):
                sel = index[t][valid[t]]
                boot[start + t] = [[_tau_a(x[sel], y[sel]) for y in b_host] for x in a_host]
            continue
        flat = be.asarray(index.reshape(-1))
        ga = xp.permute_dims(xp.reshape(xp.take(va, flat, axis=1), (va.shape[0], stop - start, -1)), (1, 0, 2))
        gb = xp.permute_dims(xp.reshape(xp.take(vb, flat, axis=1), (vb.shape[0], stop - start, -1)), (1, 0, 2))
        w = be.asarray(valid[:, None, :].astype(np.float64))
        boot[start:stop] = be.to_numpy(_masked_scores(be, ga, gb, w, method))
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


def bootstrap_subjects(
    scores: xr.DataArray | xr.Dataset,
    *,
    dim: str = "subject",
    n_boot: int = 10_000,
    ci: float = 0.95,
    random_state: int | np.random.Generator | None = None,
) -> xr.Dataset:
    """Bootstrap confidence intervals of the mean score over subjects.

    Parameters
    ----------
    scores : xarray.DataArray or Dataset
        Scores with a subject dim (e.g. ``alignment_map(...)["score"]`` of a recording with
        several subjects); a Dataset uses its ``score`` variable.
    dim : str
        The dim to resample.
    n_boot : int
        Number of bootstrap samples.
    ci : float
        Coverage of the percentile interval.
    random_state : int or numpy Generator, optional
        Seed of the resampling.

    Returns
    -------
    xarray.Dataset
        ``score`` (the mean over subjects), ``ci_low`` and ``ci_high``, over the other dims.
        Subjects with a NaN score are left out of their cell's mean.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> from brainalign import stats
    >>> s = xr.DataArray(np.random.default_rng(0).normal(0.5, 0.1, size=(8, 2)), dims=("subject", "layer"))
    >>> res = stats.bootstrap_subjects(s, random_state=0)
    >>> bool((res["ci_low"] < res["score"]).all())
    True
    """
    if isinstance(scores, xr.Dataset):
        if "score" not in scores.data_vars:
            raise ValueError(f"scores must hold a 'score' variable; it has {list(scores.data_vars)}.")
        scores = scores["score"]
    validate_type("scores", scores, xr.DataArray, "an xarray.DataArray or Dataset")
    if dim not in scores.dims:
        raise ValueError(f"scores has no {dim!r} dim to resample (dims {scores.dims}); pass dim=...")
    n_sub = scores.sizes[dim]
    if n_sub < 2:
        raise ValueError(f"Bootstrapping over {dim!r} needs at least 2, got {n_sub}.")
    n_boot = check_count("n_boot", n_boot)
    ci = _check_ci(ci)
    rng = check_random_state(random_state)
    values = np.moveaxis(scores.values.astype(np.float64), scores.get_axis_num(dim), 0)
    flat = values.reshape(n_sub, -1)  # subject × cell
    draws = rng.integers(0, n_sub, size=(n_boot, n_sub))
    # A bootstrap mean is a weighted mean: each subject weighs the times it was drawn, so all
    # samples are one product with the counts (n_boot × n_sub), never n_boot × n_sub × cells.
    counts = np.zeros((n_boot, n_sub))
    np.add.at(counts, (np.arange(n_boot)[:, None], draws), 1.0)
    scored = ~np.isnan(flat)
    filled = np.where(scored, flat, 0.0)
    low, high = np.empty(flat.shape[1]), np.empty(flat.shape[1])
    step = max(1, 2**22 // n_boot)  # cells per block: 32 MiB of bootstrap means
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells no subject scored stay NaN
        for start in range(0, flat.shape[1], step):
            block = slice(start, start + step)
            boot = (counts @ filled[:, block]) / (counts @ scored[:, block])  # NaN-skipping means
            low[block], high[block] = np.nanquantile(boot, [(1 - ci) / 2, (1 + ci) / 2], axis=0)
        mean = np.nanmean(values, axis=0)
    low, high = low.reshape(values.shape[1:]), high.reshape(values.shape[1:])
    other = [d for d in scores.dims if d != dim]
    coords = {name: c for name, c in scores.coords.items() if dim not in c.dims}
    out = xr.Dataset({"score": (other, mean), "ci_low": (other, low), "ci_high": (other, high)}, coords=coords)
    out.attrs.update(n_boot=n_boot, ci=ci, resampled=dim)
    return out


def fdr_correction(
    p_values: xr.DataArray | np.ndarray, alpha: float = 0.05
) -> tuple[xr.DataArray | np.ndarray, xr.DataArray | np.ndarray]:
    """Benjamini–Hochberg false discovery rate control across all values (e.g. a whole map).

    Parameters
    ----------
    p_values : xarray.DataArray or array
        P-values of any shape; NaNs (untested cells) are ignored and stay NaN / not rejected.
    alpha : float
        The false discovery rate.

    Returns
    -------
    reject : same type as ``p_values``
        Boolean: which hypotheses are rejected at FDR ``alpha``.
    p_corrected : same type as ``p_values``
        BH-adjusted p-values (q-values), monotone in the p-values and at most 1.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> reject, q = stats.fdr_correction(np.array([0.001, 0.01, 0.03, 0.5]))
    >>> reject.tolist(), q.round(3).tolist()
    ([True, True, True, False], [0.004, 0.02, 0.04, 0.5])
    """
    validate_type("alpha", alpha, (float, np.floating), "a float")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha!r}.")
    values = np.asarray(p_values.values if isinstance(p_values, xr.DataArray) else p_values, dtype=np.float64)
    flat = values.ravel()
    tested = ~np.isnan(flat)
    p = flat[tested]
    if np.any((p < 0) | (p > 1)):
        raise ValueError("p_values must lie in [0, 1] (NaN for untested cells).")
    q = np.full(flat.shape, np.nan)
    reject = np.zeros(flat.shape, dtype=bool)
    if p.size:
        from scipy.stats import false_discovery_control

        q[tested] = false_discovery_control(p, method="bh")
        reject[tested] = q[tested] <= alpha
    q, reject = q.reshape(values.shape), reject.reshape(values.shape)
    if isinstance(p_values, xr.DataArray):
        return p_values.copy(data=reject), p_values.copy(data=q)
    return reject, q


#: Public name of the permutation p-value rule (the map engine uses it).
p_value = _p_value
