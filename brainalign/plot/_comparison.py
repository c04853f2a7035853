"""Bars per layer (or model) with the noise ceiling and the significant pairwise differences."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..utils import fill_doc
from ._style import category_ticks, ceiling_bounds, outside_legend, significant_mask

__all__ = ["model_comparison"]


def _compared_dim(scores: xr.DataArray, dim: str | None) -> str:
    others = [d for d in scores.dims if d != "region"]
    if dim is None:
        dim = next((d for d in ("layer", "model") if d in others), others[0] if len(others) == 1 else None)
    if dim is None or dim not in scores.dims:
        raise ValueError(f"dim must name the compared dim of the scores (dims {tuple(scores.dims)}), got {dim!r}.")
    extra = [d for d in scores.dims if d not in (dim, "region")]
    if extra:
        raise ValueError(
            f"the scores have dims {extra} besides {dim} × region; select them first, e.g. .sel({extra[0]}=...)."
        )
    return dim


def _significant_pairs(
    pairwise: xr.Dataset, dim: str, names: list[str], region: str | None, alpha: float
) -> list[tuple[int, int]]:
    """Bar positions ``(i, j)``, ``i < j``, of the pairs whose difference is significant."""
    from ..utils import validate_type

    validate_type("pairwise", pairwise, xr.Dataset, "a stats.pairwise Dataset")
    other = f"{dim}_2"
    if "difference" not in pairwise or not {dim, other} <= set(pairwise["difference"].dims):
        raise ValueError(f"pairwise must be stats.pairwise output: 'difference' over ({dim}, {other}); got {pairwise}.")
    if "region" in pairwise.dims:
        if region is None:
            raise ValueError("pairwise has a 'region' dim: draw one region (region=...) or pass one region's pairs.")
        pairwise = pairwise.sel(region=region)
    significant = significant_mask(pairwise, pairwise["difference"].transpose(dim, other), alpha)
    if significant is None:
        raise ValueError("pairwise must hold 'significant' (or 'p_fdr') over the same dims as 'difference'.")
    first = [str(v) for v in pairwise[dim].values]
    second = [str(v) for v in pairwise[other].values]
    if not set(first) & set(names) or not set(second) & set(names):
        raise ValueError(f"pairwise compares {first[:5]}, none of which are the bars {names[:5]}.")
    pairs = set()
    for a, b in zip(*np.nonzero(significant), strict=True):
        if first[a] in names and second[b] in names and first[a] != second[b]:
            i, j = names.index(first[a]), names.index(second[b])
            pairs.add((min(i, j), max(i, j)))
    return sorted(pairs, key=lambda p: (p[1] - p[0], p[0]))


def _levels(pairs: list[tuple[int, int]]) -> list[int]:
    """Stack brackets: each at the lowest level where it shares no bar with another bracket."""
    taken: list[list[tuple[int, int]]] = []
    levels = []
    for i, j in pairs:
        level = next((n for n, row in enumerate(taken) if all(j < a or b < i for a, b in row)), len(taken))
        if level == len(taken):
            taken.append([])
        taken[level].append((i, j))
        levels.append(level)
    return levels


@fill_doc
def model_comparison(
    amap_or_scores: xr.Dataset | xr.DataArray,
    pairwise: xr.Dataset | None = None,
    *,
    variable: str = "score",
    dim: str | None = None,
    region: str | None = None,
    alpha: float = 0.05,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Bars per layer (or model) with the noise-ceiling band and the significant pairwise differences.

    One panel per region (or the one ``region``). Error bars are ``ci_low``/``ci_high``; the
    noise ceiling is a hatched band from ``ceiling_low`` to ``ceiling_high`` when the map has
    both, else a dashed line at ``ceiling``. A bracket with ``*`` joins every pair of bars whose
    difference is significant in ``pairwise`` (brackets that share no bar share a level).

    Parameters
    ----------
    amap_or_scores : xarray.Dataset or xarray.DataArray
        An alignment map (``variable`` over ``layer`` [× ``region``]), or scores over ``layer``
        or ``model`` [× ``region``] (no intervals or ceiling then).
    pairwise : xarray.Dataset, optional
        :func:`brainalign.stats.pairwise` output: ``difference`` and ``significant`` (else
        ``p_fdr``, below ``alpha``) over ``(dim, dim_2)`` [× ``region``]; pairs are matched to
        bars by name.
    variable : str
        The map variable to draw.
    dim : str, optional
        The compared dim (default ``"layer"``, else ``"model"``).
    region : str, optional
        Draw this region only.
    %(plot_alpha)s
    ax : matplotlib Axes, optional
        Draw into these axes (one region); by default a new figure is made.
    %(figure_title)s

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> layers = ["l1", "l2", "l3"]
    >>> amap = xr.Dataset({"score": ("layer", [0.2, 0.5, 0.45]), "ceiling_low": 0.6, "ceiling_high": 0.7},
    ...                   coords={"layer": layers}, attrs={"method": "rsa"})
    >>> significant = np.array([[False, True, True], [True, False, False], [True, False, False]])
    >>> pw = xr.Dataset({"difference": (("layer", "layer_2"), np.zeros((3, 3))),
    ...                  "significant": (("layer", "layer_2"), significant)},
    ...                 coords={"layer": layers, "layer_2": layers})
    >>> fig = model_comparison(amap, pw)
    >>> sum(t.get_text() == "*" for t in fig.axes[0].texts)  # l1-l2 and l1-l3
    2
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    if isinstance(amap_or_scores, xr.Dataset):
        if variable not in amap_or_scores.data_vars:
            raise ValueError(f"variable must be one of {list(amap_or_scores.data_vars)}, got {variable!r}.")
        amap, scores = amap_or_scores, amap_or_scores[variable]
    elif isinstance(amap_or_scores, xr.DataArray):
        amap, scores = xr.Dataset(attrs=amap_or_scores.attrs), amap_or_scores
    else:
        raise TypeError(f"amap_or_scores must be an xarray Dataset or DataArray, got {type(amap_or_scores).__name__}.")
    dim = _compared_dim(scores, dim)
    if region is not None:
        if "region" not in scores.dims or region not in [str(r) for r in scores["region"].values]:
            raise ValueError(f"region {region!r} is not a region of the scores.")
        amap, scores = amap.sel(region=region) if "region" in amap.dims else amap, scores.sel(region=region)
    regions = [str(r) for r in scores["region"].values] if "region" in scores.dims else [region]
    if ax is not None and len(regions) > 1:
        raise ValueError(f"ax holds one panel: pass region=... (one of {regions}).")
    names = [str(v) for v in scores[dim].values]
    width = max(3.2, 0.45 * len(names) + 1.6)
    if ax is None:
        fig, axes = plt.subplots(
            1, len(regions), figsize=(width * len(regions) + 2.2, 3.6), squeeze=False, sharey=True, layout="constrained"
        )
        axes = list(axes[0])
    else:
        fig, axes = ax.figure, [ax]
    x = np.arange(len(names))
    edges = np.repeat(x, 2) + np.tile([-0.5, 0.5], len(x))  # each bar's left and right edge
    has_ci = variable == "score" and "ci_low" in amap and "ci_high" in amap
    handles: list[Any] = []
    ceiling_of_axes = []  # the top each panel needs for its brackets (the y axis is shared)
    for axis, name in zip(axes, regions, strict=True):
        sel = {"region": name} if "region" in scores.dims else {}
        here = amap.sel({k: v for k, v in sel.items() if k in amap.dims})
        heights = np.asarray(scores.sel(sel).transpose(dim).values, dtype=float)
        tops = [heights, [0.0]]
        axis.bar(x, heights, color="C0")
        if has_ci:  # the interval as drawn, even where it does not hold the score
            lo, hi = (np.asarray(here[v].broadcast_like(scores.sel(sel)).values, float) for v in ("ci_low", "ci_high"))
            axis.vlines(x, lo, hi, color="0.25", linewidth=0.9)
            tops.append(hi)
        ceiling = ceiling_bounds(here, scores.sel(sel)) if variable == "score" else None
        if ceiling is not None:
            low, high = np.repeat(ceiling[0], 2), np.repeat(ceiling[1], 2)
            tops.append(high)
            if ceiling[2]:
                axis.fill_between(
                    edges,
                    low,
                    high,
                    facecolor=(0.5, 0.5, 0.5, 0.15),
                    edgecolor="0.35",
                    hatch="///",
                    linewidth=0.6,
                    zorder=0,
                )
            else:
                axis.plot(edges, low, color="0.35", linestyle="--", linewidth=1.0, zorder=0)
        top = float(np.nanmax(np.concatenate([np.ravel(t) for t in tops])))
        bottom = min(0.0, float(np.nanmin(heights)))
        step = 0.08 * ((top - bottom) or 1.0)
        pairs = [] if pairwise is None else _significant_pairs(pairwise, dim, names, name, alpha)
        for (i, j), level in zip(pairs, _levels(pairs), strict=True):
            y = top + step * (level + 1)
            axis.plot([i, i, j, j], [y - 0.3 * step, y, y, y - 0.3 * step], color="0.15", linewidth=0.9)
            axis.text((i + j) / 2, y, "*", ha="center", va="bottom", fontsize=11)
        ceiling_of_axes.append(top + step * (max(_levels(pairs)) + 2 if pairs else 1))
        category_ticks(axis, names)
        axis.set_xlabel(dim)
        axis.axhline(0, color="0.6", linewidth=0.6)
        if name is not None:
            axis.set_title(name)
    for axis in axes:
        axis.set_ylim(top=max(ceiling_of_axes))
    axes[0].set_ylabel(f"{variable} ({amap.attrs.get('method', '')})" if amap.attrs.get("method") else variable)
    if has_ci:
        handles.append(Line2D([], [], color="0.25", marker="|", linestyle="", markersize=8, label="95 % interval"))
    if ceiling is not None:
        ceil = {"facecolor": (0.5, 0.5, 0.5, 0.15), "edgecolor": "0.35", "hatch": "///"}
        handles.append(
            Patch(**ceil, label="noise ceiling [lower, upper]")
            if ceiling[2]
            else Line2D([], [], color="0.35", linestyle="--", label="noise ceiling")
        )
    if pairwise is not None:
        handles.append(Line2D([], [], color="0.15", marker="$*$", linestyle="-", label="significant difference"))
    if handles:
        outside_legend(axes[-1], handles=handles)
    if title is not None:
        fig.suptitle(title)
    return fig
