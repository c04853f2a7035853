"""Per-column scores of paired (samples × columns) arrays, in numpy."""

from __future__ import annotations

import numpy as np

__all__ = ["pearson_columns", "r2_columns"]


def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of each column of ``a`` with the same column of ``b`` (NaN if one is constant)."""
    a = a - a.mean(0)
    b = b - b.mean(0)
    denom = np.sqrt((a**2).sum(0) * (b**2).sum(0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denom > 0, (a * b).sum(0) / denom, np.nan)


def r2_columns(y: np.ndarray, pred: np.ndarray) -> np.ndarray:
    """Coefficient of determination of each column of ``pred`` for ``y`` (0 where ``y`` is constant)."""
    sse = ((y - pred) ** 2).sum(0)
    sst = ((y - y.mean(0)) ** 2).sum(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        r2 = 1.0 - sse / sst
    return np.where(sst > 0, r2, 0.0)
