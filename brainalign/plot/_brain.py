"""A map drawn on the brain: cortical surface or glass brain (nilearn; imported when first used)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .. import data

__all__ = ["brain_map"]


def _region_values(amap: xr.Dataset, value: str, layer: str | None) -> tuple[dict[str, float], str, Any]:
    """Per-region values to paint: the best layer's depth (0 = first layer) or a layer's score."""
    from ..maps import best_layer, summary_view

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

    from ..utils import check_option, soft_import

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
