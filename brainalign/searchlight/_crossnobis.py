"""Crossnobis RDMs of many cells at once: folds = repetitions, noise from each cell's residuals."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import Backend
from ..metrics._arrays import device_of

__all__ = ["crossnobis_block", "crossnobis_trials"]


def crossnobis_trials(be: Backend, arr: Any) -> tuple[Any, int]:
    """Trials ``(stimuli, features, repetitions)`` → ``(features, repetitions, stimuli)`` and the fold count."""
    reps = int(arr.shape[2])
    if reps < 2:
        raise ValueError(f"crossnobis needs at least 2 repetitions (folds), Y has {reps}.")
    xp = be.xp
    return xp.asarray(xp.permute_dims(arr, (1, 2, 0))), reps


def _covariance(be: Backend, R: Any, mask: Any, n_stim: int, noise: str, first: int) -> Any:
    """Noise covariances ``(c, k, k)`` of residuals ``R`` ``(c, n_obs, k)`` (padding zero), as
    :func:`brainalign.metrics.rsa.rdm` estimates them; padded features get a unit variance."""
    xp = be.xp
    n_obs, k = R.shape[1], R.shape[2]
    dof = n_obs - n_stim
    S = xp.matrix_transpose(R) @ R
    eye = xp.eye(k, dtype=R.dtype, device=device_of(R))
    pad = (1.0 - mask)[:, :, None] * eye  # ones on the padded diagonal
    diag = xp.linalg.diagonal(S) / dof
    if noise == "full":
        return S / dof + pad
    if noise == "diag":
        return diag[..., None] * eye + pad
    real = mask > 0
    if bool(be.to_numpy(xp.any((diag <= 0) & real))):
        c = int(np.argwhere(be.to_numpy((diag <= 0) & real))[0, 0])
        raise ValueError(
            f"Centre {first + c}: a neighbour has zero noise variance; drop constant features before crossnobis."
        )
    var = xp.where(real, diag, xp.ones_like(diag))
    std = xp.sqrt(var)
    s_mean = S / std[:, None, :] / std[:, :, None] / (n_obs - 1)
    R2 = R * R
    s2_mean = (xp.matrix_transpose(R2) @ R2) / var[:, None, :] / var[:, :, None] / (n_obs - 1)
    var_hat = n_obs / dof**2 * (s2_mean - s_mean**2)
    off = mask[:, :, None] * mask[:, None, :] * (1.0 - eye)
    num = xp.sum(var_hat * off, axis=(1, 2))
    den = xp.sum(s_mean**2 * off, axis=(1, 2))
    safe = xp.where(den > 0, den, xp.ones_like(den))
    lamb = xp.clip(xp.where(den > 0, num / safe, xp.zeros_like(num)), 0.0, 1.0)
    return (S / dof) * (eye + (1.0 - lamb)[:, None, None] * off) + pad


def crossnobis_block(be: Backend, Tt: Any, idx: Any, mask: Any, sizes: Any, noise: str | None, first: int) -> Any:
    """Square crossnobis RDMs ``(c, n, n)`` of one padded chunk; ``Tt`` is ``(features, reps, stimuli)``.

    For each fold (repetition) ``f``: training patterns are the mean of the other repetitions,
    test patterns repetition ``f``; ``D_f[i, j] = (a_i − a_j) Σ⁻¹ (b_i − b_j)ᵀ`` through
    ``K = A Σ⁻¹ Bᵀ``; the RDM is the mean over folds divided by the cell's size.
    """
    xp = be.xp
    T = Tt[idx] * mask[:, :, None, None]  # (c, k, reps, n)
    T = xp.permute_dims(T, (0, 2, 3, 1))  # (c, reps, n, k)
    c, reps, n, k = T.shape
    total = xp.sum(T, axis=1)  # (c, n, k)
    train = (total[:, None] - T) / (reps - 1)
    if noise is not None:
        R = xp.reshape(T - (total / reps)[:, None], (c, reps * n, k))
        cov = _covariance(be, R, mask, n, noise, first)
        train = train @ xp.linalg.inv(cov)[:, None]
    K = train @ xp.matrix_transpose(T)  # (c, reps, n, n)
    d = xp.linalg.diagonal(K)
    D = d[..., :, None] + d[..., None, :] - K - xp.matrix_transpose(K)
    return xp.mean(D, axis=1) / sizes[:, None, None]
