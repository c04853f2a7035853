"""Figures of a map's scores: layer × region heatmap, layer profiles, time courses."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..utils import fill_doc
from ._style import (
    category_ticks,
    ceiling_bounds,
    figure_axes,
    is_signed,
    map_values,
    outside_legend,
    significant_mask,
    value_scale,
)

__all__ = ["heatmap", "layer_profile", "time_course"]


@fill_doc
def heatmap(
    amap: xr.Dataset,
    *,
    variable: str = "score",
    mark_best: bool = True,
    truth: dict[str, str] | None = None,
    ax: Any = None,
    cmap: str | None = None,
    title: str | None = None,
    alpha: float = 0.05,
) -> Any:
    """Layer × region heatmap of an alignment map.

    Scores are coloured on a diverging scale centred at 0 (they may be negative), distances
    (``attrs["higher_is_better"] == 0``) and other non-negative quantities on viridis.

    Parameters
    ----------
    amap : xarray.Dataset
        An alignment map (``score`` over ``layer × region``; other dims must be selected first).
    variable : str
        The map variable to draw.
    mark_best : bool
        Outline the best layer of each region.
    truth : dict, optional
        Region → planted layer (simulations): marked with a red dot in the cell's upper-left
        corner, clear of the significance star.
    %(ax)s
    cmap : str, optional
        Colour map (default: see above).
    %(axes_title)s
    alpha : float
        Maps without ``significant``: cells whose ``p_fdr`` is below ``alpha`` are starred.

    Returns
    -------
    matplotlib.figure.Figure
        ``*`` marks the cells whose ``significant`` is True (never from uncorrected p-values).

    Examples
    --------
    >>> import xarray as xr
    >>> amap = xr.Dataset(
    ...     {"score": (("layer", "region"), [[0.1, -0.2], [0.5, 0.3]]),
    ...      "significant": (("layer", "region"), [[False, False], [True, False]])},
    ...     coords={"layer": ["l1", "l2"], "region": ["V1", "IT"]}, attrs={"method": "rsa"})
    >>> fig = heatmap(amap, truth={"V1": "l2"})
    >>> [t.get_text() for t in fig.axes[0].texts]
    ['*']
    """
    import matplotlib.patheffects as pe
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    from ..maps import best_layer

    values = map_values(amap, variable)
    layers = [str(v) for v in values["layer"].values]
    regions = [str(v) for v in values["region"].values]
    label_width = 0.07 * max(len(v) for v in layers)  # inches for the layer names
    size = (max(4.2, 2.4 + label_width + 0.9 * len(regions)), max(3.0, 1.4 + 0.38 * len(layers)))
    fig, ax = figure_axes(ax, size)
    signed = is_signed(values.values, variable, amap.attrs.get("higher_is_better", 1))
    cmap, vmin, vmax = value_scale(values.values, signed=signed, cmap=cmap)
    image = ax.imshow(values.values, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    category_ticks(ax, regions, rotation=45)
    category_ticks(ax, layers, axis="y")
    ax.set_xlabel("region")
    ax.set_ylabel("layer")
    label = amap.attrs.get("method", "")
    fig.colorbar(image, ax=ax, label=f"{variable} ({label})" if label else variable)
    outline = [pe.withStroke(linewidth=3.5, foreground="black")]  # white on black: seen on any colour
    significant = significant_mask(amap, values, alpha)
    handles = []
    if significant is not None:
        for k, r in zip(*np.nonzero(significant), strict=True):
            ax.text(r, k, "*", ha="center", va="center", color="white", fontsize=13, path_effects=outline)
        handles.append(Line2D([], [], marker="$*$", color="0.2", linestyle="", markersize=7, label="significant"))
    if mark_best:
        best = best_layer(amap, variable).transpose("region").values
        for r, layer in enumerate(best):
            k = layers.index(str(layer))
            box = Rectangle((r - 0.5, k - 0.5), 1, 1, fill=False, edgecolor="white", linewidth=2, path_effects=outline)
            ax.add_patch(box)
        handles.append(Rectangle((0, 0), 1, 1, fill=False, edgecolor="0.3", linewidth=2, label="best layer"))
    if truth:
        for r, region in enumerate(regions):
            if region in truth and truth[region] in layers:  # a corner of the cell: the star keeps the centre
                k = layers.index(truth[region])
                ax.plot(r - 0.3, k - 0.25, "o", color="red", markeredgecolor="white", markersize=5)
        handles.append(Line2D([], [], marker="o", color="red", linestyle="", markersize=5, label="planted layer"))
    if handles:  # below the axes, under the region names: never over a cell
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16 - 0.08 * (len(regions) > 6)),
            ncol=len(handles),
            frameon=False,
            fontsize="small",
        )
    ax.set_title(title if title is not None else f"{amap.attrs.get('model', '')} × brain: {label}".strip())
    return fig


@fill_doc
def layer_profile(
    amap: xr.Dataset,
    *,
    variable: str = "score",
    truth: dict[str, str] | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Score against layer depth, one line per region, with confidence bands and noise ceilings.

    The "intermediate-layer advantage" figure: where along the network does each region peak?
    ``ci_low``/``ci_high`` are drawn as filled bands. The noise ceiling is a hatched band from
    ``ceiling_low`` to ``ceiling_high`` (its lower and upper bound) when the map has both, else a
    dashed line at ``ceiling``. The legend stands outside the axes, to the right.

    Parameters
    ----------
    amap : xarray.Dataset
        An alignment map over ``layer × region``.
    variable : str
        ``"score"`` or ``"normalized"`` (intervals and ceilings are drawn with ``"score"``).
    truth : dict, optional
        Region → planted layer (simulations): marked with a ring.
    %(ax)s
    %(axes_title)s

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import xarray as xr
    >>> amap = xr.Dataset(
    ...     {"score": (("layer", "region"), [[0.1, 0.2], [0.5, 0.3], [0.3, 0.6]]),
    ...      "ceiling_low": ("region", [0.6, 0.7]), "ceiling_high": ("region", [0.7, 0.8])},
    ...     coords={"layer": ["l1", "l2", "l3"], "region": ["V1", "IT"]}, attrs={"method": "rsa"})
    >>> fig = layer_profile(amap)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['V1', 'IT', 'noise ceiling [lower, upper]']
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgba
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    values = map_values(amap, variable)
    layers = [str(v) for v in values["layer"].values]
    fig, ax = figure_axes(ax, (max(5.5, 0.45 * len(layers) + 3), 3.4))
    x = np.arange(len(layers), dtype=float)
    wide = np.r_[x[0] - 0.4, x, x[-1] + 0.4]  # ceilings reach past the first and last layer

    def widen(v: np.ndarray) -> np.ndarray:
        return np.r_[v[0], v, v[-1]]

    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    has_ci = variable == "score" and "ci_low" in amap and "ci_high" in amap
    ceiling = ceiling_bounds(amap, values) if variable == "score" else None
    handles = []
    for r, region in enumerate(values["region"].values):
        color = colors[r % len(colors)]
        (line,) = ax.plot(x, values.values[:, r], marker="o", markersize=3, color=color, label=str(region))
        handles.append(line)
        if has_ci:
            lo = map_values(amap, "ci_low").values[:, r]
            hi = map_values(amap, "ci_high").values[:, r]
            ax.fill_between(x, lo, hi, color=color, alpha=0.2, linewidth=0)
        if ceiling is not None and ceiling[2]:
            ax.fill_between(
                wide,
                widen(ceiling[0][:, r]),
                widen(ceiling[1][:, r]),
                facecolor=to_rgba(color, 0.08),
                edgecolor=to_rgba(color, 0.7),
                hatch="///",
                linewidth=0.6,
                linestyle="--",
            )
        elif ceiling is not None:
            ax.plot(wide, widen(ceiling[0][:, r]), color=color, linestyle="--", linewidth=0.8)
        if truth and str(region) in truth and truth[str(region)] in layers:
            k = layers.index(truth[str(region)])
            ax.plot(k, values.values[k, r], "o", markersize=10, markerfacecolor="none", markeredgecolor=color)
    if has_ci:
        handles.append(Patch(facecolor="0.5", alpha=0.3, label="95 % interval"))
    if ceiling is not None and ceiling[2]:
        handles.append(Patch(facecolor="none", edgecolor="0.3", hatch="///", label="noise ceiling [lower, upper]"))
    elif ceiling is not None:
        handles.append(Line2D([], [], color="0.3", linestyle="--", linewidth=0.8, label="noise ceiling"))
    category_ticks(ax, layers)
    ax.tick_params(axis="x", labelsize="small")
    ax.set_xlabel("layer")
    ax.set_ylabel(f"{variable} ({amap.attrs.get('method', '')})")
    outside_legend(ax, handles=handles, title="region", title_fontsize="small")
    ax.set_title(title if title is not None else "layer profile")
    return fig


@fill_doc
def time_course(
    amap: xr.Dataset,
    *,
    variable: str = "score",
    regions: list[str] | None = None,
    title: str | None = None,
) -> Any:
    """Score against latency for every layer, one panel per region (time-resolved maps).

    Layers are coloured from early (dark) to late (light); significant cells (FDR) are marked
    with dots when the map has p-values.

    Parameters
    ----------
    amap : xarray.Dataset
        A map with a ``latency`` dim (MEG/EEG/iEEG epochs).
    variable : str
        The variable to draw.
    regions : list of str, optional
        Regions to draw (default: all).
    %(figure_title)s

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> meg_map = xr.Dataset({"score": (("layer", "region", "latency"), np.random.default_rng(0).random((2, 1, 5)))},
    ...                      coords={"layer": ["l1", "l2"], "region": ["MEG"], "latency": np.linspace(0, 0.4, 5)},
    ...                      attrs={"method": "rsa"})
    >>> fig = time_course(meg_map)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['l1', 'l2']
    """
    import matplotlib.pyplot as plt

    values = map_values(amap, variable, ("layer", "region", "latency"))
    if "latency" not in values.dims:
        raise ValueError(f"amap[{variable!r}] has no 'latency' dim; time courses need a time-resolved map.")
    regions = [str(r) for r in (regions or values["region"].values)]
    layers = [str(v) for v in values["layer"].values]
    latency = values["latency"].values
    fig, axes = plt.subplots(
        1, len(regions), figsize=(3.6 * len(regions) + 1.2, 3.2), squeeze=False, layout="constrained", sharey=True
    )
    colors = plt.get_cmap("viridis")(np.linspace(0, 0.9, len(layers)))
    significant = amap["significant"] if "significant" in amap and amap["significant"].dims == values.dims else None
    for ax, region in zip(axes[0], regions, strict=True):
        for k, layer in enumerate(layers):
            y = values.sel(region=region, layer=layer).values
            ax.plot(latency, y, color=colors[k], label=layer, linewidth=1.2)
            if significant is not None:
                mask = significant.sel(region=region, layer=layer).values.astype(bool)
                ax.plot(latency[mask], y[mask], "o", color=colors[k], markersize=2.5)
        ax.axhline(0, color="0.7", linewidth=0.6)
        ax.set_title(region)
        ax.set_xlabel("latency (s)")
    axes[0][0].set_ylabel(f"{variable} ({amap.attrs.get('method', '')})")
    outside_legend(axes[0][-1], fontsize="x-small", title="layer", title_fontsize="x-small")
    if title:
        fig.suptitle(title)
    return fig
