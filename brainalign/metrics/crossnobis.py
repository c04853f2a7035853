"""Crossvalidated Mahalanobis (crossnobis) RDMs and their noise covariance estimators.

What :func:`brainalign.metrics.rsa.rdm` computes for ``metric="crossnobis"``.

References
----------
Walther, A. et al. (2016). Reliability of dissimilarity measures for multi-voxel pattern
analysis. NeuroImage 137, 188–200.
Schäfer, J. & Strimmer, K. (2005). A shrinkage approach to large-scale covariance matrix
estimation. Stat. Appl. Genet. Mol. Biol. 4, 32.
Ledoit, O. & Wolf, M. (2004). A well-conditioned estimator for large-dimensional covariance
matrices. J. Multivar. Anal. 88, 365–411.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..backend import Backend, to_numpy
from ..utils import check_option
from ._arrays import float_dtype, resolve_backend
from ._base import auto_by, feature_groups
from ._rdm import labelled_rdms

__all__ = ["NOISE_METHODS", "crossnobis", "crossnobis_rdm", "shrinkage_covariance"]

NOISE_METHODS = ("shrinkage_diag", "shrinkage_eye", "diag", "full")


def shrinkage_covariance(R: np.ndarray, dof: int, method: str) -> np.ndarray:
    """Noise covariance from residuals ``R`` (n_obs, p) that are already centred.

    ``"shrinkage_diag"``: towards the diagonal (Schäfer & Strimmer 2005); ``"shrinkage_eye"``:
    towards a multiple of the identity (Ledoit & Wolf 2004); ``"diag"``; ``"full"``. The same
    estimators (and degrees-of-freedom convention) as rsatoolbox's ``cov_from_residuals``.
    """
    n = R.shape[0]
    S = R.T @ R
    if method == "full":
        return S / dof
    if method == "diag":
        return np.diag(np.diag(S) / dof)
    if method == "shrinkage_eye":
        s = S / n
        b2 = np.sum(((R * R).T @ (R * R)) / n - s * s) / n
        m = np.trace(s) / s.shape[0]
        d2 = np.sum((s - m * np.eye(s.shape[0])) ** 2)
        b2 = min(d2, b2)
        return (b2 / d2 * m * np.eye(s.shape[0]) + (d2 - b2) / d2 * s) * n / dof
    # shrinkage_diag
    s = S / dof
    var = np.diag(s)
    if np.any(var <= 0):
        raise ValueError("A feature has zero noise variance; drop constant features before crossnobis.")
    std = np.sqrt(var)
    s_mean = S / std[None, :] / std[:, None] / (n - 1)
    s2_mean = ((R * R).T @ (R * R)) / var[None, :] / var[:, None] / (n - 1)
    var_hat = n / dof**2 * (s2_mean - s_mean**2)
    off = ~np.eye(s.shape[0], dtype=bool)
    lamb = float(np.clip(np.sum(var_hat[off]) / np.sum(s_mean[off] ** 2), 0.0, 1.0))
    return s * (np.eye(s.shape[0]) + (1.0 - lamb) * off)


def crossnobis(be: Backend, trials: np.ndarray, fold: np.ndarray, stim: np.ndarray, n_stim: int, noise: Any) -> Any:
    """Leave-one-fold-out crossvalidated squared Mahalanobis distances, per feature.

    ``trials`` (n_obs, p) with their fold and stimulus codes. For each fold, the training
    patterns (mean of the other folds' trials) are contrasted with the test fold's mean patterns;
    the RDMs are averaged over folds and divided by the number of features (rsatoolbox's
    convention).
    """
    xp = be.xp
    folds = np.unique(fold)
    n_obs, p = trials.shape
    sums = np.zeros((len(folds), n_stim, p))
    counts = np.zeros((len(folds), n_stim))
    fcode = np.searchsorted(folds, fold)
    np.add.at(sums, (fcode, stim), trials)
    np.add.at(counts, (fcode, stim), 1.0)
    if np.any(counts == 0):
        f, s = np.argwhere(counts == 0)[0]
        raise ValueError(
            f"crossnobis needs every stimulus in every fold; stimulus #{s} has no trial in fold {folds[f]!r}. "
            "Drop incomplete folds or stimuli."
        )
    total, total_n = sums.sum(axis=0), counts.sum(axis=0)
    test = sums / counts[..., None]
    train = (total[None] - sums) / (total_n[None] - counts)[..., None]
    if isinstance(noise, str):
        means = total / total_n[:, None]
        resid = trials - means[stim]
        cov = shrinkage_covariance(resid, n_obs - n_stim, noise)
    else:
        cov = noise
    dtype = float_dtype(trials)
    train_b, test_b = be.asarray(train, dtype=dtype), be.asarray(test, dtype=dtype)
    if cov is not None:
        prec = be.asarray(np.linalg.inv(cov), dtype=dtype)
        train_b = train_b @ prec
    K = train_b @ xp.matrix_transpose(test_b)  # (folds, n, n)
    diag = xp.linalg.diagonal(K)
    D = diag[:, :, None] + diag[:, None, :] - K - xp.matrix_transpose(K)
    return xp.mean(D, axis=0) / p


def _crossnobis_inputs(X: Any, cv: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Any]:
    """(trials, fold codes, stimulus codes, stimulus ids, labelled source or None) for crossnobis."""
    if not isinstance(X, xr.DataArray):
        arr = to_numpy(X)
        if arr.ndim != 3:
            raise ValueError(
                "metric='crossnobis' on a plain array needs shape (n_folds, n_stimuli, n_features) (one pattern per "
                f"fold and stimulus), got shape {arr.shape}. A labelled recording with repeated stimulus_ids and a "
                "'run' coordinate works too."
            )
        k, n, p = arr.shape
        return (arr.reshape(k * n, p), np.repeat(np.arange(k), n), np.tile(np.arange(n), k), np.arange(n), None)
    if "repetition" in X.dims:
        if cv not in ("auto", "repetition"):
            raise ValueError(f"X has a 'repetition' dim, so the folds are its repetitions; got cv={cv!r}.")
        feature_dim = "unit" if "unit" in X.dims else "neuroid"
        R = X.transpose("repetition", "presentation", feature_dim)
        k, n, p = R.shape
        ids = np.asarray(X["stimulus_id"].values)
        if pd.Index(ids).has_duplicates:
            raise ValueError("X has both a 'repetition' dim and repeated stimulus_ids; use one or the other.")
        return (R.values.reshape(k * n, p), np.repeat(np.arange(k), n), np.tile(np.arange(n), k), ids, X)
    feature_dim = "unit" if "unit" in X.dims else "neuroid"
    if cv == "auto":
        cv = next((c for c in ("run", "repetition") if c in X.coords and X[c].dims == ("presentation",)), None)
        if cv is None:
            raise ValueError(
                "metric='crossnobis' needs trials in folds: a 'repetition' dim, or repeated stimulus_ids with a "
                "'run' (or 'repetition') coordinate on presentation. Keep the trials apart "
                "(data.align(..., repetitions='keep')) and name the fold coordinate with cv=..."
            )
    if cv not in X.coords or X[cv].dims != ("presentation",):
        raise ValueError(f"cv={cv!r} must name a coordinate along 'presentation'; X has {list(X.coords)}.")
    ids_all = np.asarray(X["stimulus_id"].values)
    codes, ids = pd.factorize(ids_all)
    folds = pd.factorize(np.asarray(X[cv].values))[0]
    if len(np.unique(folds)) < 2:
        raise ValueError(f"crossnobis needs at least 2 folds; the coordinate {cv!r} has one value.")
    return X.transpose("presentation", feature_dim).values, folds, codes, np.asarray(ids), X


def crossnobis_rdm(X: Any, by: str | None, noise: Any, cv: str, backend: Any) -> xr.DataArray:
    """Crossnobis RDMs of ``X`` (the arguments of :func:`brainalign.metrics.rsa.rdm`), checked and labelled."""
    be = resolve_backend(backend, X)
    trials, fold, stim, ids, source = _crossnobis_inputs(X, cv)
    if len(ids) < 3:
        raise ValueError(f"X has {len(ids)} stimuli; an RDM needs at least 3.")
    if not np.all(np.isfinite(trials)):
        raise ValueError("X contains NaN or infinite values.")
    if len(np.unique(fold)) < 2:
        raise ValueError("crossnobis needs at least 2 folds (runs or repetitions).")
    if isinstance(noise, str):
        check_option("noise", noise, NOISE_METHODS)
    elif noise is not None:
        noise = np.asarray(noise, dtype=np.float64)
    if source is not None:
        feature_dim = "unit" if "unit" in source.dims else "neuroid"
        if by == "auto":
            by = auto_by(source, feature_dim)
        group_dim, names, index = feature_groups(source, feature_dim, by)
    else:
        if by not in ("auto", None):
            raise ValueError(f"by={by!r} needs a labelled X (an xarray.DataArray with a {by!r} coordinate).")
        group_dim, names, index = None, [None], [np.arange(trials.shape[1])]
    if isinstance(noise, np.ndarray) and len(index) > 1:
        raise ValueError("noise as an array applies to one group of features; pass by=None or a noise method name.")
    mats = []
    for idx in index:
        cov = noise
        if isinstance(noise, np.ndarray) and noise.shape != (len(idx), len(idx)):
            raise ValueError(f"noise must be a ({len(idx)}, {len(idx)}) covariance matrix, got shape {noise.shape}.")
        mats.append(be.to_numpy(crossnobis(be, trials[:, idx], fold, stim, len(ids), cov)))
    attrs = {
        "metric": "crossnobis",
        "noise": noise if isinstance(noise, str) else ("identity" if noise is None else "given"),
    }
    return labelled_rdms(np.stack(mats), ids, group_dim, names, attrs)
