"""Figures of alignment maps (matplotlib; imported when first used)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from . import data

__all__ = ["brain_map", "heatmap", "identifiability", "layer_profile", "save_figure", "tagging_profile", "time_course"]


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
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.patches import Rectangle

    data.validate(amap, "map", name="amap")
    values = amap[variable]
    extra = [d for d in values.dims if d not in ("layer", "region")]
    if extra:
        raise ValueError(
            f"amap[{variable!r}] has dims {extra} besides layer × region; select them first, "
            f"e.g. amap.sel({extra[0]}=...)."
        )
    values = values.transpose("layer", "region")
    layers = [str(v) for v in values["layer"].values]
    regions = [str(v) for v in values["region"].values]
    if ax is None:
        label_width = 0.07 * max(len(v) for v in layers)  # inches for the layer names
        size = (max(4.2, 2.4 + label_width + 0.9 * len(regions)), max(3.0, 1.4 + 0.38 * len(layers)))
        fig, ax = plt.subplots(figsize=size, layout="constrained")
    else:
        fig = ax.figure
    image = ax.imshow(values.values, aspect="auto", cmap=cmap, interpolation="nearest")
    ax.set_xticks(
        range(len(regions)),
        regions,
        rotation=45 if len(regions) > 6 else 0,
        ha="right" if len(regions) > 6 else "center",
    )
    ax.set_yticks(range(len(layers)), layers)
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

    data.validate(amap, "map", name="amap")
    values = amap[variable]
    extra = [d for d in values.dims if d not in ("layer", "region")]
    if extra:
        raise ValueError(f"amap[{variable!r}] has dims {extra} besides layer × region; select them first.")
    values = values.transpose("layer", "region")
    layers = [str(v) for v in values["layer"].values]
    if ax is None:
        fig, ax = plt.subplots(figsize=(max(4.5, 0.45 * len(layers) + 2), 3.4), layout="constrained")
    else:
        fig = ax.figure
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
    ax.set_xticks(
        x, layers, rotation=60 if len(layers) > 6 else 0, ha="right" if len(layers) > 6 else "center", fontsize="small"
    )
    ax.set_xlabel("layer")
    ax.set_ylabel(f"{variable} ({amap.attrs.get('method', '')})")
    ax.legend(fontsize="small", frameon=False, title="region", title_fontsize="small")
    ax.set_title(title if title is not None else "layer profile")
    return fig


def tagging_profile(
    profile: xr.Dataset,
    *,
    variable: str = "proportion",
    ax: Any = None,
    colors: dict[str, str] | None = None,
    title: str | None = None,
) -> Any:
    """Stacked bars of the frequency-tagging labels per layer (or per region).

    Parameters
    ----------
    profile : xarray.Dataset
        :func:`brainalign.probes.frequency_tagging.profile` (``count`` and ``proportion`` over
        group × label), or a :func:`~brainalign.probes.frequency_tagging.probe` result (profiled
        by layer, or by region for channels).
    variable : {"proportion", "count"}
        What the bars show. The ``"none"`` label is left out.
    ax : matplotlib Axes, optional
        Draw into these axes; by default a new figure is made.
    colors : dict, optional
        Label → colour.
    title : str, optional
        The axes' title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> from brainalign.probes import frequency_tagging as ft
    >>> fig = tagging_profile(ft.profile(ft.probe(responses)))  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    if isinstance(profile, xr.Dataset) and "label" in profile.data_vars:
        from .probes import frequency_tagging as ft

        profile = ft.profile(profile)
    if not isinstance(profile, xr.Dataset) or variable not in profile or "label" not in profile.dims:
        raise TypeError(
            "profile must be frequency_tagging.profile(...) or probe(...) output with a "
            f"{variable!r} variable over (group, label)."
        )
    values = profile[variable]
    group = next(d for d in values.dims if d != "label")
    labels = [str(v) for v in profile["label"].values if str(v) != "none"]
    groups = [str(v) for v in profile[group].values]
    palette = {"sentence": "#1E6AE1", "phrase": "#1ECBE1", "shared": "#1EE196"} | dict(colors or {})
    fallback = iter(plt.get_cmap("tab10").colors)
    if ax is None:
        fig, ax = plt.subplots(figsize=(1.5 + 0.45 * len(groups), 3.6), layout="constrained")
    else:
        fig = ax.figure
    bottom = np.zeros(len(groups))
    for label in labels:
        heights = values.sel(label=label).values.astype(float)
        ax.bar(range(len(groups)), heights, bottom=bottom, label=label, color=palette.get(label, next(fallback)))
        bottom += heights
    ax.set_xticks(range(len(groups)), groups, rotation=60, ha="right")
    ax.set_xlabel(group)
    ax.set_ylabel(f"{variable} of units" if group == "layer" else f"{variable} of channels")
    if variable == "proportion":
        ax.set_ylim(0, 1)
    ax.legend(frameon=False, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title is not None:
        ax.set_title(title)
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

    data.validate(amap, "map", name="amap")
    values = amap[variable]
    if "latency" not in values.dims:
        raise ValueError(f"amap[{variable!r}] has no 'latency' dim; time courses need a time-resolved map.")
    extra = [d for d in values.dims if d not in ("layer", "region", "latency")]
    if extra:
        raise ValueError(f"amap[{variable!r}] has dims {extra} besides layer × region × latency; select them first.")
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
    axes[0][-1].legend(
        fontsize="x-small",
        frameon=False,
        title="layer",
        title_fontsize="x-small",
        loc="upper left",
        bbox_to_anchor=(1.01, 1.0),
    )
    if title:
        fig.suptitle(title)
    return fig


def _region_values(amap: xr.Dataset, value: str, layer: str | None) -> tuple[dict[str, float], str, Any]:
    """Per-region values to paint: the best layer's depth (0 = first layer) or a layer's score."""
    from .maps import best_layer, summary_view

    view = summary_view(amap)
    layers = [str(v) for v in view["layer"].values]
    if value == "best_layer":
        best = best_layer(view)
        values = {str(r): float(layers.index(str(best.sel(region=r).item()))) for r in view["region"].values}
        return values, "best layer", layers
    if value not in view:
        raise ValueError(f"value must be 'best_layer' or a map variable ({list(view.data_vars)}), got {value!r}.")
    if layer is None:
        raise ValueError(f"value={value!r} needs layer=... (one of {layers}).")
    if layer not in layers:
        raise ValueError(f"layer {layer!r} is not in the map; its layers are {layers}.")
    sel = view[value].sel(layer=layer)
    return {str(r): float(sel.sel(region=r)) for r in view["region"].values}, f"{value} of {layer}", None


def brain_map(
    amap: xr.Dataset,
    recording: xr.DataArray,
    *,
    value: str = "best_layer",
    layer: str | None = None,
    kind: str = "auto",
    mesh: Any = None,
    cmap: str = "viridis",
    title: str | None = None,
) -> Any:
    """A map's per-region result drawn on the brain: cortical surface or glass brain.

    Every neuroid of the recording takes its region's value: the best layer of the region
    (``value="best_layer"``, coloured from the first layer to the last) or a map variable of one
    layer (``value="score"``, ``layer=...``).

    - ``kind="surface"``: surface recordings (``hemisphere`` and ``vertex`` coordinates, e.g.
      from :func:`brainalign.io.fmri.load_fmri` on fsaverage data) are painted on the mesh
      (``mesh``, default the recording's ``space`` such as ``"fsaverage5"``, which nilearn ships),
      lateral and medial views of both hemispheres.
    - ``kind="glass"``: volumes and electrodes (``x``, ``y``, ``z`` in mm, MNI space) are drawn
      as markers on a glass brain (one per neuroid; per region centroid above 2 000 neuroids).

    Parameters
    ----------
    amap : xarray.Dataset
        An alignment map (a group map, or the mean over subjects, is drawn).
    recording : xarray.DataArray
        The recording whose neuroids (coordinates, ``region``) the map was computed on.
    value : str
        ``"best_layer"`` or a map variable (``"score"``, ``"normalized"``, ...).
    layer : str, optional
        The layer whose ``value`` is drawn (not with ``"best_layer"``).
    kind : {"auto", "surface", "glass"}
        ``"auto"``: surface when the recording has vertices, else glass brain.
    mesh : str or mesh, optional
        Surface mesh (a nilearn fsaverage name or a nilearn ``PolyMesh``).
    cmap, title
        Colour map and title.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = brain_map(amap, surface_recording)  # doctest: +SKIP
    >>> fig = brain_map(amap, ieeg_recording, value="score", layer="encoder.layer.3")  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    from .utils import check_option, soft_import

    data.validate(amap, "map", name="amap")
    data.validate(recording, "recording", name="recording", check_values=False)
    check_option("kind", kind, ("auto", "surface", "glass"))
    per_region, label, layer_names = _region_values(amap, value, layer)
    regions = np.asarray(recording["region"].values).astype(str)
    missing = sorted(set(per_region) - set(regions))
    if len(missing) == len(per_region):
        raise ValueError(f"None of the map's regions ({sorted(per_region)[:5]}) are regions of the recording.")
    values = np.array([per_region.get(r, np.nan) for r in regions], dtype=float)
    surface = "vertex" in recording.coords and "hemisphere" in recording.coords
    if kind == "auto":
        kind = "surface" if surface else "glass"
    plotting = soft_import("nilearn.plotting", "brain maps")
    vmin, vmax = (0.0, float(len(layer_names) - 1)) if layer_names else (np.nanmin(values), np.nanmax(values))
    if kind == "surface":
        if not surface:
            raise ValueError("kind='surface' needs a surface recording ('vertex' and 'hemisphere' coordinates).")
        mesh = mesh if mesh is not None else recording.attrs.get("space")
        if isinstance(mesh, str):
            mesh = soft_import("nilearn.datasets", "brain maps").load_fsaverage(mesh)["inflated"]
        if mesh is None:
            raise ValueError("Pass mesh=... (e.g. 'fsaverage5'): the recording does not name its surface.")
        hemis = np.asarray(recording["hemisphere"].values).astype(str)
        vertex = np.asarray(recording["vertex"].values).astype(int)
        fig, axes = plt.subplots(2, 2, figsize=(7.0, 5.2), subplot_kw={"projection": "3d"})
        fig.subplots_adjust(left=0.0, right=0.9, bottom=0.0, top=0.93, wspace=-0.05, hspace=-0.15)
        for col, hemi in enumerate(("left", "right")):
            part = mesh.parts[hemi]
            texture = np.full(part.n_vertices, np.nan)
            sel = hemis == hemi
            texture[vertex[sel]] = values[sel]
            for row, view in enumerate(("lateral", "medial")):
                plotting.plot_surf_stat_map(
                    part,
                    texture,
                    hemi=hemi,
                    view=view,
                    cmap=cmap,
                    vmin=vmin,
                    vmax=vmax,
                    colorbar=False,
                    axes=axes[row, col],
                    figure=fig,
                    bg_on_data=True,
                )
        _colorbar(fig, cmap, vmin, vmax, label, layer_names)
    else:
        for c in ("x", "y", "z"):
            if c not in recording.coords:
                raise ValueError(f"kind='glass' needs neuroid coordinates x, y, z (mm); the recording lacks {c!r}.")
        coords = np.stack([np.asarray(recording[c].values, dtype=float) for c in ("x", "y", "z")], axis=1)
        keep = np.isfinite(values) & np.isfinite(coords).all(axis=1)
        coords, values = coords[keep], values[keep]
        if len(values) > 2000:  # one marker per region: its centroid
            kept = regions[keep]
            names = list(dict.fromkeys(kept))
            coords = np.stack([coords[kept == r].mean(axis=0) for r in names])
            values = np.array([per_region[r] for r in names])
        fig = plt.figure(figsize=(9.5, 3.4))
        plotting.plot_markers(
            values,
            coords,
            node_cmap=cmap,
            node_vmin=vmin,
            node_vmax=vmax,
            node_size=30,
            figure=fig,
            axes=(0.0, 0.0, 0.88, 0.92),
            colorbar=False,
            title=None,
            annotate=True,
        )
        _colorbar(fig, cmap, vmin, vmax, label, layer_names)
    fig.suptitle(title if title is not None else f"{amap.attrs.get('method', '')}: {label}")
    return fig


def _colorbar(fig: Any, cmap: str, vmin: float, vmax: float, label: str, layer_names: list[str] | None) -> None:
    import matplotlib as mpl

    ax = fig.add_axes([0.92, 0.15, 0.015, 0.7])
    norm = mpl.colors.Normalize(vmin=vmin, vmax=vmax)
    bar = fig.colorbar(mpl.cm.ScalarMappable(norm=norm, cmap=cmap), cax=ax, label=label)
    if layer_names:
        ticks = np.arange(len(layer_names))
        if len(ticks) > 12:
            ticks = np.linspace(0, len(layer_names) - 1, 12).round().astype(int)
        bar.set_ticks(ticks, labels=[layer_names[i] for i in ticks])
        bar.ax.tick_params(labelsize="x-small")


def identifiability(result: xr.Dataset, *, title: str | None = None) -> Any:
    """Accuracy of recovering the true layer (or model), one line per method.

    One panel against the signal-to-noise ratio and, when the design varies it, one against the
    number of stimuli (other factors at their largest level). Bands are the 95 % Wilson
    intervals; the dashed line is chance.

    Parameters
    ----------
    result : xarray.Dataset
        The output of :func:`brainalign.identifiability`.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> fig = identifiability(brainalign.identifiability(acts, ["ridge", "rsa"]))  # doctest: +SKIP
    """
    import matplotlib.pyplot as plt

    for var in ("accuracy", "accuracy_low", "accuracy_high", "chance"):
        if var not in result:
            raise ValueError(f"result must be the output of brainalign.identifiability (it lacks {var!r}).")
    panels = [("snr", "signal-to-noise ratio (per trial)")]
    if result.sizes["n_stimuli"] > 1:
        panels.append(("n_stimuli", "number of stimuli"))
    fig, axes = plt.subplots(
        1, len(panels), figsize=(4.6 * len(panels) + 1.6, 3.6), squeeze=False, layout="constrained"
    )
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, (dim, xlabel) in zip(axes[0], panels, strict=True):
        others = {d: result[d].values[-1] for d in ("snr", "n_stimuli", "n_neuroids") if d != dim}
        for m, method in enumerate(result["method_name"].values):
            sel = {"method_name": method, **others}
            x = result[dim].values.astype(float)
            finite = np.isfinite(x)
            shown = np.where(finite, x, np.nanmax(x[finite]) * 10 if finite.any() else 1.0)
            acc = result["accuracy"].sel(sel).values
            lo, hi = result["accuracy_low"].sel(sel).values, result["accuracy_high"].sel(sel).values
            color = colors[m % len(colors)]
            ax.plot(shown, acc, marker="o", color=color, label=str(method))
            ax.fill_between(shown, lo, hi, color=color, alpha=0.15, linewidth=0)
        ax.axhline(float(result["chance"]), color="0.4", linestyle="--", linewidth=1, label="chance")
        if dim == "snr":
            ax.set_xscale("log")
            if not np.all(np.isfinite(result["snr"].values)):
                ax.annotate(
                    "∞ = no noise",
                    xy=(1, 0),
                    xycoords="axes fraction",
                    ha="right",
                    va="bottom",
                    fontsize="x-small",
                    color="0.4",
                )
        ax.set_ylim(-0.02, 1.02)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(f"top-1 accuracy ({result.attrs.get('level', 'layer')})")
        fixed = ", ".join(f"{k}={v:g}" for k, v in others.items())
        ax.set_title(fixed, fontsize="small")
    axes[0][-1].legend(fontsize="small", frameon=False, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.suptitle(title if title is not None else "Would the method find the true layer?")
    return fig


def save_figure(fig: Any, path: str | os.PathLike, *, dpi: int = 300, overwrite: bool = False) -> Path:
    """Save a figure atomically (PNG, PDF or SVG from the suffix).

    Examples
    --------
    >>> save_figure(fig, "map.pdf")  # doctest: +SKIP
    """
    from .io.arrays import atomic_write

    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt not in ("png", "pdf", "svg"):
        raise ValueError(f"path must end in .png, .pdf or .svg, got {str(path)!r}.")
    atomic_write(
        path, lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi, bbox_inches="tight"), overwrite=overwrite, kind=fmt
    )
    return path
