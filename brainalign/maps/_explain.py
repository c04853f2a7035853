"""Statistics that came out NaN for a cell whose score is finite: named, explained, counted."""

from __future__ import annotations

import numpy as np
import xarray as xr

from ..utils import logger

__all__ = ["explain_nan_statistics"]

#: Cells named in the warning (the rest are counted).
MAX_NAMED = 5


def _reasons(ci_method: str) -> dict[str, str]:
    ci = (
        "no bootstrap resample could be scored (degenerate resamples: too few distinct stimuli, or constant "
        "predictions or responses in the resampled rows)"
    )
    if ci_method == "bca":
        ci += ", or BCa is undefined there (the score lies outside every resample, or no jackknife value is finite)"
    return {
        "ci_low": ci,
        "ci_high": ci,
        "p_value": "no permutation could be scored (constant predictions or responses in the permuted rows)",
    }


def _plain(value: object) -> object:
    """A numpy scalar as the Python value it holds (``'A'``, not ``np.str_('A')``)."""
    return value.item() if isinstance(value, np.generic) else value


def explain_nan_statistics(out: xr.Dataset, name: str, ci_method: str = "percentile") -> int:
    """Log one warning naming the cells (layer, region/center, subject, latency) whose ``ci_low``,
    ``ci_high`` or ``p_value`` is NaN while their ``score`` is finite, and why; return how many
    (statistic, cell) pairs there are (``attrs["n_nan_statistics"]``).

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> m = xr.Dataset({"score": ("layer", [0.5, np.nan]), "p_value": ("layer", [np.nan, np.nan])},
    ...                coords={"layer": ["a", "b"]})
    >>> explain_nan_statistics(m, "rsa")
    1
    """
    score = out["score"]
    count, named, why = 0, [], []
    for var, reason in _reasons(ci_method).items():
        if var not in out:
            continue
        bad = out[var].isnull() & np.isfinite(score).broadcast_like(out[var])
        n = int(bad.sum())
        if not n:
            continue
        count += n
        why.append(f"{var}: {reason}")
        for index in np.argwhere(bad.transpose(*out[var].dims).values)[: max(0, MAX_NAMED - len(named))]:
            where = ", ".join(
                f"{dim} {_plain(out[var][dim].values[i])!r}" if dim in out[var].coords else f"{dim} {i}"
                for dim, i in zip(out[var].dims, index, strict=True)
            )
            named.append(f"{var} at {where}")
    if count:
        more = f" (and {count - len(named)} more)" if count > len(named) else ""
        logger.warning(
            "%s: %d statistic(s) are NaN where the score is finite: %s%s. Why: %s.",
            name,
            count,
            "; ".join(named),
            more,
            "; ".join(why),
        )
    return count
