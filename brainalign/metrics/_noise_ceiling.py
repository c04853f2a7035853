"""RDM noise ceilings across subjects (Nili et al. 2014), re-exported as ``rsa.noise_ceiling``."""

from __future__ import annotations

from typing import Literal, NamedTuple

import numpy as np
import xarray as xr

from ..backend import Backend
from ._arrays import resolve_backend
from ._rdm import as_rdm, check_finite_rdm, upper
from .comparisons import get_comparison

__all__ = ["NoiseCeiling", "noise_ceiling"]


class NoiseCeiling(NamedTuple):
    """Lower and upper bounds of the noise ceiling of an RDM comparison."""

    lower: float
    upper: float


def noise_ceiling(
    rdms: xr.DataArray | np.ndarray,
    method: Literal["spearman", "pearson", "kendall_tau_a", "cosine", "whitened_pearson"] = "spearman",
    *,
    dim: str | None = None,
    backend: str | Backend | None = None,
) -> NoiseCeiling:
    """Noise ceiling of RDM comparisons across subjects (Nili et al. 2014).

    Each subject's RDM is compared with the best-fitting RDM of the others (leave-one-out: the
    **lower bound**) and with that of all subjects including itself (the **upper bound**); both
    are averaged over subjects. The true model's expected score lies between them. The best
    fitting RDM is the mean of the subjects' RDMs after the transform that ``method`` is
    invariant to (ranks for Spearman and τa, z-scores for Pearson, unit root-mean-square for
    cosine), as in rsatoolbox's ``boot_noise_ceiling``.

    Parameters
    ----------
    rdms : xarray.DataArray or array
        One RDM per subject: ``(subject, stimulus_id, stimulus_id_2)`` or an array
        ``(n_subjects, n_stimuli, n_stimuli)``.
    method : str
        The comparison (see :func:`compare`).
    dim : str, optional
        The subject dim (default: the one dim besides the stimulus dims).

    Returns
    -------
    NoiseCeiling
        ``(lower, upper)``.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import rsa
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(10, 30))
    >>> subjects = np.stack([rsa.rdm(X + rng.normal(size=X.shape)).values for _ in range(4)])
    >>> nc = rsa.noise_ceiling(subjects, "pearson")
    >>> bool(0 < nc.lower < nc.upper < 1)
    True
    """
    comparison = get_comparison(method)
    be = resolve_backend(backend, rdms)
    R = as_rdm(rdms, "rdms")
    groups = R.dims[:-2]
    if dim is None:
        if len(groups) != 1:
            raise ValueError(f"rdms must have one subject dim besides the stimulus dims, got dims {R.dims}; pass dim=.")
        dim = groups[0]
    if dim not in groups or len(groups) != 1:
        raise ValueError(f"dim={dim!r} must be the one dim of rdms besides the stimulus dims {R.dims[-2:]}.")
    n_sub = R.sizes[dim]
    if n_sub < 2:
        raise ValueError(f"A noise ceiling needs at least 2 subjects along {dim!r}, got {n_sub}.")
    if R.sizes["stimulus_id"] < 3:
        raise ValueError("RDMs need at least 3 stimuli.")
    check_finite_rdm(R.values, "rdms")
    V = upper(be, be.asarray(R.transpose(dim, ...).values, dtype="float64"))
    P = comparison.pool(be, V)
    total = be.xp.sum(P, axis=0, keepdims=True)
    loo = (total - P) / (n_sub - 1)
    rep_subjects = comparison.represent(be, V, "rdms")
    # Lower: subject s against the mean of the others (row s with row s); upper: every subject
    # against the mean of all.
    lower = comparison.paired(be, comparison.represent(be, loo), rep_subjects)
    high = comparison.all_pairs(be, comparison.represent(be, total / n_sub), rep_subjects)
    return NoiseCeiling(float(np.mean(lower)), float(np.mean(high)))
