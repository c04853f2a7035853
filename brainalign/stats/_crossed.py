"""Variances of score differences from the jackknife of stimuli: one subject, and stimuli × subjects crossed."""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["crossed_variance", "difference_variance", "jackknife_variance"]


def difference_variance(X: np.ndarray) -> np.ndarray:
    """Samples ``(B, k, cell)`` → the variance over samples of every difference ``X_i − X_j``,
    ``(k, k, cell)``; samples with a NaN in a cell are left out of that cell."""
    ok = np.isfinite(X).all(axis=1)  # (B, cell)
    n = ok.sum(axis=0)
    filled = np.where(ok[:, None], X, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        centred = np.where(ok[:, None], filled - filled.sum(axis=0) / n, 0.0)
        cov = np.einsum("bic,bjc->ijc", centred, centred) / (n - 1)
    v = np.diagonal(cov, axis1=0, axis2=1).T  # (k, cell)
    return v[:, None] + v[None] - 2 * cov


def jackknife_variance(left: np.ndarray, half: np.ndarray) -> np.ndarray:
    """The variance of every difference ``X_i − X_j`` over stimulus sets, from the leave-one-out
    scores ``left`` ``(n, k, cell)`` and the half-sample scores ``half`` ``(h, k, cell)`` → ``(k, k, cell)``.

    A score over stimulus pairs has variance ``V(s) = α/s + β/(s(s − 1))`` on ``s`` stimuli (its
    Hoeffding decomposition: ``α`` the stimulus effects, ``β`` the pair-specific part). The
    jackknife estimates ``J = α/n + 2β/(n(n − 2))`` (β counted twice), the spread of the half
    samples ``H = V(n/2) − V(n)``; both solved for ``α``, ``β`` give ``V(n)``, kept between the
    bounds that ``α, β ≥ 0`` allow, ``J (n − 2)/(2(n − 1)) ≤ V(n) ≤ J``.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> rng = np.random.default_rng(0)
    >>> left, half = rng.normal(size=(20, 2, 1)), rng.normal(size=(50, 2, 1))
    >>> stats.jackknife_variance(left, half).shape  # (layer, layer, cell)
    (2, 2, 1)
    """
    n, s = len(left), len(left) // 2
    jack = difference_variance(left) * (n - 1) ** 2 / n
    spread = difference_variance(half)
    coef = np.array([[1 / n, 2 / (n * (n - 2))], [1 / s - 1 / n, 1 / (s * (s - 1)) - 1 / (n * (n - 1))]])
    alpha, beta = np.tensordot(np.linalg.inv(coef), np.stack([jack, spread]), axes=1)
    var = alpha / n + beta / (n * (n - 1))
    return np.clip(var, jack * (n - 2) / (2 * (n - 1)), jack)


def crossed_variance(left: np.ndarray, half: np.ndarray, score: np.ndarray) -> np.ndarray:
    """The variance of every subject-averaged difference ``mean_s (X_is − X_js)`` over stimulus sets
    *and* subjects (crossed random factors), from each subject's jackknife of stimuli.

    ``left`` ``(n, k, cell, subject)``: the scores with each stimulus left out (the same stimulus
    for every subject), ``half`` ``(h, k, cell, subject)``: the scores on random halves of the
    stimuli (the same halves for every subject), ``score`` ``(k, cell, subject)`` → ``(k, k, cell)``.
    A subject NaN anywhere in a cell is left out of that cell; a cell with fewer than 2 subjects is NaN.

    Notes
    -----
    For a pair of layers write subject ``s``'s difference on the stimulus set ``X`` as
    ``d_s(X) = μ + a(X) + b_s + c_s(X)``: ``a`` the stimulus effect shared by the subjects
    (variance ``σ_a²`` over stimulus sets), ``b_s`` the subject effect (``σ_b²``), ``c_s(X)`` the
    stimulus × subject interaction, measurement noise included (``σ_c²``; zero mean over subjects
    for each ``X`` and over ``X`` for each subject) — two crossed random factors with one
    observation per cell, the setting of Schütt et al. (2023). The mean of ``S`` subjects,
    ``D = mean_s d_s``, varies over fresh stimuli and subjects by

    ``Var D = σ_a² + σ_b²/S + σ_c²/S``.

    Three estimable quantities have known expectations (``V(·)``: :func:`jackknife_variance`):

    - ``V_mean = V(mean_s d_s)``, the subjects held fixed: ``σ_a² + σ_c²/S``;
    - ``V_s = V(d_s)``, each subject's own: mean over subjects ``σ_a² + σ_c²``;
    - ``V_subj = var_s(d_s)/S`` (``ddof=1``), the stimuli held fixed: ``(σ_b² + σ_c²)/S``.

    ``V_mean + V_subj`` counts ``σ_c²/S`` twice; ``mean_s V_s − V_mean`` estimates
    ``σ_c² (S − 1)/S`` (the two-way ANOVA estimate of the interaction), so

    ``Var D ≈ V_mean + V_subj − (mean_s V_s − V_mean)/(S − 1)``,

    unbiased when the ``V`` are, kept between the bounds that ``σ² ≥ 0`` allow:
    ``max(V_mean, V_subj) ≤ Var D ≤ V_mean + V_subj``. The bootstraps of an RDM score count the
    pair-specific part of the variance twice on each factor; the half-sample-corrected jackknife
    does not, which this inherits.

    References
    ----------
    Schütt, H. H. et al. (2023). Statistical inference on representational geometries. eLife 12, e82566.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import stats
    >>> rng = np.random.default_rng(0)
    >>> score = rng.normal(size=(2, 1, 6))  # (layer, cell, subject)
    >>> left = score + 0.01 * rng.normal(size=(30, 2, 1, 6))
    >>> half = score + 0.1 * rng.normal(size=(40, 2, 1, 6))
    >>> stats.crossed_variance(left, half, score).shape  # (layer, layer, cell)
    (2, 2, 1)
    """
    n, k, n_c, n_s = left.shape
    if half.shape[1:] != left.shape[1:] or score.shape != left.shape[1:]:
        raise ValueError(
            f"left, half, score: expected (n, k, cell, subject), (h, k, cell, subject) and (k, cell, subject) "
            f"with the same (k, cell, subject), got {left.shape}, {half.shape} and {score.shape}."
        )
    ok = np.isfinite(score).all(axis=0) & np.isfinite(left).all(axis=(0, 1)) & np.isfinite(half).all(axis=(0, 1))
    left, half, score = (np.where(ok, x, np.nan) for x in (left, half, score))
    n_sub = ok.sum(axis=-1)  # (cell,)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells with fewer than 2 subjects stay NaN
        own = jackknife_variance(left.reshape(n, k, -1), half.reshape(len(half), k, -1)).reshape(k, k, n_c, n_s)
        own = np.where(ok, own, np.nan)  # a subject without samples has no variance (not 0)
        v_mean = jackknife_variance(np.nanmean(left, axis=-1), np.nanmean(half, axis=-1))
        d = score[:, None] - score[None]  # (k, k, cell, subject)
        v_subj = np.nanvar(d, axis=-1, ddof=1) / n_sub
        interaction = (np.nanmean(own, axis=-1) - v_mean) / (n_sub - 1)
        var = np.clip(v_mean + v_subj - interaction, np.maximum(v_mean, v_subj), v_mean + v_subj)
    return np.where(n_sub >= 2, var, np.nan)
