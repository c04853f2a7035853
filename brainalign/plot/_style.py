"""What every figure shares: axes, category ticks, legends, colour scales, significance, ceilings, saving."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from .. import data

__all__ = [
    "category_ticks",
    "ceiling_bounds",
    "figure_axes",
    "is_signed",
    "map_values",
    "outside_legend",
    "save_figure",
    "significant_mask",
    "value_scale",
]

#: Colour map of signed scores (centred at 0) and of non-negative quantities (distances, layer depth).
DIVERGING = "RdBu_r"
SEQUENTIAL = "viridis"


def map_values(amap: xr.Dataset, variable: str, dims: Sequence[str] = ("layer", "region")) -> xr.DataArray:
    """``amap[variable]`` checked to be an alignment map variable over ``dims`` only, in that order."""
    data.validate(amap, "map", name="amap")
    if variable not in amap.data_vars:
        raise ValueError(f"variable must be one of the map's variables {list(amap.data_vars)}, got {variable!r}.")
    values = amap[variable]
    extra = [d for d in values.dims if d not in dims]
    if extra:
        raise ValueError(
            f"amap[{variable!r}] has dims {extra} besides {' × '.join(dims)}; select them first, "
            f"e.g. amap.sel({extra[0]}=...)."
        )
    return values.transpose(*[d for d in dims if d in values.dims])


def figure_axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    """``(figure, axes)``: the given axes and their figure, or a new constrained-layout figure."""
    import matplotlib.pyplot as plt

    if ax is None:
        return plt.subplots(figsize=figsize, layout="constrained")
    return ax.figure, ax


def category_ticks(ax: Any, labels: Sequence[str], *, axis: str = "x", rotation: int = 60, crowded: int = 6) -> None:
    """One tick per category; names turned by ``rotation`` degrees when there are more than ``crowded`` or long."""
    positions = range(len(labels))
    if axis == "y":
        ax.set_yticks(positions, labels)
        return
    turned = len(labels) > crowded or sum(len(str(v)) for v in labels) > 6 * crowded
    ax.set_xticks(positions, labels, rotation=rotation if turned else 0, ha="right" if turned else "center")


def outside_legend(ax: Any, **kwargs: Any) -> Any:
    """A legend to the right of the axes, outside them, so that it never covers data."""
    options = {"loc": "upper left", "bbox_to_anchor": (1.02, 1.0), "borderaxespad": 0.0}
    return ax.legend(**(options | {"frameon": False, "fontsize": "small"} | kwargs))


def significant_mask(amap: xr.Dataset, like: xr.DataArray, alpha: float = 0.05) -> np.ndarray | None:
    """Where ``amap`` marks a cell of ``like`` significant, as booleans shaped like ``like``.

    ``significant`` when the map has it (``True`` only; NaN counts as not significant), else
    ``p_fdr < alpha``; ``None`` when the map has neither over ``like``'s dims. Uncorrected
    ``p_value`` is never used.
    """
    for var in ("significant", "p_fdr"):
        if var in amap and set(amap[var].dims) == set(like.dims):
            values = np.asarray(amap[var].transpose(*like.dims).values, dtype=float)
            return values == 1.0 if var == "significant" else values < alpha
    return None


def ceiling_bounds(amap: xr.Dataset, like: xr.DataArray) -> tuple[np.ndarray, np.ndarray, bool] | None:
    """The noise ceiling broadcast like ``like``: ``(lower, upper, is_band)``.

    ``ceiling_low``/``ceiling_high`` (lower and upper bound) when the map has both
    (``is_band=True``), else ``ceiling`` as both bounds (``is_band=False``); ``None`` without a ceiling.
    """
    if "ceiling_low" in amap and "ceiling_high" in amap:
        names, band = ("ceiling_low", "ceiling_high"), True
    elif "ceiling" in amap:
        names, band = ("ceiling", "ceiling"), False
    else:
        return None
    bounds = []
    for name in names:
        extra = [d for d in amap[name].dims if d not in like.dims]
        if extra:
            raise ValueError(f"amap[{name!r}] has dims {extra} that amap's scores lack; select them first.")
        bounds.append(np.asarray(amap[name].broadcast_like(like).transpose(*like.dims).values, dtype=float))
    return bounds[0], bounds[1], band


#: Quantities that are never signed scores: drawn on a sequential scale unless they go negative.
UNSIGNED = ("p_value", "p_fdr", "significant", "alpha", "best_layer", "n_neuroids")


def is_signed(values: np.ndarray, variable: str, higher_is_better: Any = 1) -> bool:
    """Whether ``variable`` is drawn on a diverging scale centred at 0.

    Yes for scores (correlations, R², CKA, ...: they may be negative, and 0 means no alignment)
    and for anything with a negative value; no for distances (``higher_is_better`` false),
    p-values, penalties and layer depths.
    """
    values = np.asarray(values, dtype=float)
    if np.any(values[np.isfinite(values)] < 0):
        return True
    return bool(higher_is_better) and variable not in UNSIGNED


def value_scale(values: np.ndarray, *, signed: bool, cmap: str | None = None) -> tuple[str, float, float]:
    """``(cmap, vmin, vmax)``: diverging and centred at 0 for signed scores, else viridis over the range.

    Raises ``ValueError`` when no value is finite (there is nothing to colour).
    """
    finite = np.asarray(values, dtype=float)[np.isfinite(values)]
    if finite.size == 0:
        raise ValueError("Every value to draw is NaN or infinite: there is nothing to colour.")
    if signed:
        limit = float(np.abs(finite).max()) or 1.0
        return cmap or DIVERGING, -limit, limit
    lo, hi = float(finite.min()), float(finite.max())
    if lo == hi:  # one value: a scale around it
        lo, hi = lo - (0.5 * abs(lo) or 0.5), hi + (0.5 * abs(hi) or 0.5)
    return cmap or SEQUENTIAL, lo, hi


def save_figure(fig: Any, path: str | os.PathLike, *, dpi: int = 300, overwrite: bool = False) -> Path:
    """Save a figure atomically (PNG, PDF or SVG from the suffix).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure to write.
    path : path
        Where to write it; the suffix (``.png``, ``.pdf``, ``.svg``) picks the format.
    dpi : int
        Resolution of raster output.
    overwrite : bool
        Replace an existing file (else ``FileExistsError``).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import tempfile, matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> out = save_figure(fig, Path(tempfile.mkdtemp()) / "map.pdf")
    >>> out.suffix, out.stat().st_size > 0
    ('.pdf', True)
    >>> plt.close(fig)
    """
    from ..io.arrays import atomic_write

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "pdf", "svg"):
        raise ValueError(f"path must end in .png, .pdf or .svg, got {str(path)!r}.")
    atomic_write(
        path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight"), overwrite=overwrite, kind=fmt
    )
    return path
