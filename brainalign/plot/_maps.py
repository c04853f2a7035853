"""Figures of a map's scores: layer × region heatmap, layer profiles, time courses."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ._style import category_ticks, figure_axes, map_values, outside_legend

__all__ = ["heatmap", "layer_profile", "time_course"]


def heatmap(
    amap: xr.Dataset,
    *,
    variable: str = "score",
    mark_best: bool = True,
    truth: dict[str, str] | None = None,
    ax: Any = None,
    cmap: str = "viridis",
    title: str | None = None,
    alpha: float = 0.05,
) -> Any:
    """Layer × region heatmap of an alignment map.

    Parameters
    ----------
    amap : xarray.Dataset
        An alignment map (``score`` over ``layer × region``; other dims must be selected first).
    variable : str
        The map variable to draw.
    mark_best : bool
        Outline the best layer of each region.
    truth : dict, optional
        Region → planted layer (simulations): marked with a dot.
    ax : matplotlib Axes, optional
        Draw into these axes; by default a new figure is made.
    cmap, title
        Colour map and title.
    alpha : float
        Cells whose FDR-corrected p-value (``p_fdr``, else ``p_value``) is below ``alpha`` get a
        ``*`` when the map has p-values.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = heatmap(amap)  # doctest: +SKIP
    >>> save_figure(fig, "map.png")  # doctest: +SKIP
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    values = map_values(amap, variable)
    layers = [str(v) for v in values["layer"].values]
    regions = [str(v) for v in values["region"].values]
    label_width = 0.07 * max(len(v) for v in layers)  # inches for the layer names
    size = (max(4.2, 2.4 + label_width + 0.9 * len(regions)), max(3.0, 1.4 + 0.38 * len(layers)))
    fig, ax = figure_axes(ax, size)
    image = ax.imshow(values.values, aspect="auto", cmap=cmap, interpolation="nearest")
    category_ticks(ax, regions, rotation=45)
    category_ticks(ax, layers, axis="y")
    ax.set_xlabel("region")
    ax.set_ylabel("layer")
    label = amap.attrs.get("method", "")
    fig.colorbar(image, ax=ax, label=f"{variable} ({label})" if label else variable)
    significance = _significance(amap, alpha)
    if significance is not None:
        for k, r in zip(*np.nonzero(significance), strict=True):
            ax.text(r, k, "*", ha="center", va="center", color="white", fontsize=12, fontweight="bold")
    if mark_best:
        if amap.attrs.get("higher_is_better", 1):
            best = np.nanargmax(np.where(np.isnan(values.values), -np.inf, values.values), axis=0)
        else:  # distances: the smallest is the best
            best = np.nanargmin(np.where(np.isnan(values.values), np.inf, values.values), axis=0)
        for r, k in enumerate(best):
            ax.add_patch(Rectangle((r - 0.5, k - 0.5), 1, 1, fill=False, edgecolor="white", linewidth=2))
    handles = []
    if mark_best:
        handles.append(Rectangle((0, 0), 1, 1, fill=False, edgecolor="0.3", linewidth=2, label="best layer"))
    if truth:
        for r, region in enumerate(regions):
            if region in truth and truth[region] in layers:
                ax.plot(r, layers.index(truth[region]), "o", color="red", markersize=5)
        handles.append(Line2D([], [], marker="o", color="red", linestyle="", markersize=5, label="planted layer"))
    if handles:
        ax.legend(
            handles=handles,
            loc="upper center",
            bbox_to_anchor=(0.5, -0.16 - 0.06 * (len(regions) > 6)),
            ncol=len(handles),
            frameon=False,
            fontsize="small",
        )
    ax.set_title(title if title is not None else f"{amap.attrs.get('model', '')} × brain: {label}".strip())
    return fig


def _significance(amap: xr.Dataset, alpha: float) -> np.ndarray | None:
    for var in ("p_fdr", "p_value"):
        if var in amap and set(amap[var].dims) == {"layer", "region"}:
            return amap[var].transpose("layer", "region").values < alpha
    return None


def layer_profile(
    amap: xr.Dataset,
    *,
    variable: str = "score",
    truth: dict[str, str] | None = None,
    ax: Any = None,
    title: str | None = None,
) -> Any:
    """Score against layer depth, one line per region, with confidence bands and ceilings.

    The "intermediate-layer advantage" figure: where along the network does each region peak?
    ``ci_low``/``ci_high`` are drawn as bands and ``ceiling`` as dashed lines when the map has them.

    Parameters
    ----------
    amap : xarray.Dataset
        An alignment map over ``layer × region``.
    variable : str
        ``"score"`` or ``"normalized"``.
    truth : dict, optional
        Region → planted layer (simulations): marked with a ring.
    ax : matplotlib Axes, optional
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = layer_profile(amap)  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    values = map_values(amap, variable)
    layers = [str(v) for v in values["layer"].values]
    fig, ax = figure_axes(ax, (max(4.5, 0.45 * len(layers) + 2), 3.4))
    x = np.arange(len(layers))
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for r, region in enumerate(values["region"].values):
        color = colors[r % len(colors)]
        ax.plot(x, values.values[:, r], marker="o", markersize=3, color=color, label=str(region))
        if variable == "score" and "ci_low" in amap and "ci_high" in amap:
            lo = amap["ci_low"].transpose("layer", "region").values[:, r]
            hi = amap["ci_high"].transpose("layer", "region").values[:, r]
            ax.fill_between(x, lo, hi, color=color, alpha=0.2, linewidth=0)
        if variable == "score" and "ceiling" in amap:
            ceiling = amap["ceiling"]
            c = float(ceiling.sel(region=region).mean()) if "region" in ceiling.dims else float(ceiling.mean())
            if np.isfinite(c):
                ax.axhline(c, color=color, linestyle="--", linewidth=0.8)
        if truth and str(region) in truth and truth[str(region)] in layers:
            k = layers.index(truth[str(region)])
            ax.plot(k, values.values[k, r], "o", markersize=10, markerfacecolor="none", markeredgecolor=color)
    category_ticks(ax, layers)
    ax.tick_params(axis="x", labelsize="small")
    ax.set_xlabel("layer")
    ax.set_ylabel(f"{variable} ({amap.attrs.get('method', '')})")
    ax.legend(fontsize="small", frameon=False, title="region", title_fontsize="small")
    ax.set_title(title if title is not None else "layer profile")
    return fig


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
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = time_course(meg_map)  # doctest: +SKIP
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
