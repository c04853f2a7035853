"""Results drawn on the brain: cortical surface or glass brain (nilearn; imported when first used)."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .. import data
from ..utils import fill_doc
from ._style import SEQUENTIAL, is_signed, significant_mask, value_scale

__all__ = ["brain_map"]


def _cell_values(
    ds: xr.Dataset, unit: str, value: str, layer: str | None, alpha: float
) -> tuple[np.ndarray, np.ndarray | None, str, list[str] | None, str]:
    """The value of every ``unit`` (region or neuroid) and whether it is significant.

    Returns ``(values, significant or None, label, layer names for a best-layer scale, variable)``.
    """
    from ..maps import best_layer

    layers = [str(v) for v in ds["layer"].values] if "layer" in ds.coords else []
    if value == "best_layer":
        variable = next((v for v in ("score", "r") if v in ds.data_vars), None)
        if variable is None or "layer" not in ds[variable].dims:
            raise ValueError(
                f"value='best_layer' needs a 'score' or 'r' variable over 'layer'; got {list(ds.data_vars)}."
            )
    else:
        variable = value
        if value not in ds.data_vars:
            raise ValueError(f"value must be 'best_layer' or a variable ({list(ds.data_vars)}), got {value!r}.")
    field = ds[variable]
    extra = [d for d in field.dims if d not in ("layer", unit)]
    if extra:
        raise ValueError(
            f"{variable!r} has dims {extra} besides layer × {unit}; select them first, e.g. .sel({extra[0]}=...)."
        )
    if "layer" in field.dims:
        field = field.transpose("layer", unit)
    significant = significant_mask(ds, field, alpha)
    columns = np.arange(field.sizes[unit])
    if value == "best_layer":
        best = best_layer(ds, variable).transpose(unit).values
        rows = np.array([layers.index(str(b)) for b in best])
        values = np.where(np.isfinite(field.values).any(axis=0), rows.astype(float), np.nan)
        return values, None if significant is None else significant[rows, columns], "best layer", layers, variable
    if "layer" not in field.dims:
        return field.values.astype(float), significant, value, None, variable
    if layer is None:
        raise ValueError(f"value={value!r} needs layer=... (one of {layers}).")
    if layer not in layers:
        raise ValueError(f"layer {layer!r} is not in the map; its layers are {layers}.")
    row = layers.index(layer)
    values = field.values[row].astype(float)
    return values, None if significant is None else significant[row], f"{value} of {layer}", None, variable


def _neuroid_source(result: xr.Dataset, recording: xr.DataArray | None) -> Any:
    """Whose ``neuroid`` coordinates place a per-neuroid result: its own, else the recording's."""
    placed = ("vertex" in result.coords and "hemisphere" in result.coords) or all(c in result.coords for c in "xyz")
    if placed or recording is None:
        return result
    if recording.sizes.get("neuroid") != result.sizes["neuroid"]:
        raise ValueError(
            f"recording has {recording.sizes.get('neuroid')} neuroids but the result has {result.sizes['neuroid']}; "
            "pass the recording the result was computed on."
        )
    return recording


@fill_doc
def brain_map(
    amap: xr.Dataset,
    recording: xr.DataArray | None = None,
    *,
    value: str = "best_layer",
    layer: str | None = None,
    kind: str = "auto",
    mesh: Any = None,
    cmap: str | None = None,
    alpha: float = 0.05,
    title: str | None = None,
) -> Any:
    """Region-level or per-neuroid results drawn on the brain: cortical surface or glass brain.

    Two kinds of input:

    - an alignment map over ``layer × region`` and the ``recording`` it was computed on: every
      neuroid takes its region's value;
    - a per-neuroid result, e.g. the Dataset :func:`brainalign.encode` returns (``r`` over
      ``layer × neuroid``, with the recording's neuroid coordinates): every neuroid its own value
      (coordinates from the result, else from ``recording``).

    The value is the best layer (``value="best_layer"``: of ``score``, else ``r``; coloured
    from the first layer to the last on viridis) or a variable of one layer (``value="score"``,
    ``layer=...``). Scores are drawn on a diverging scale centred at 0, distances
    (``attrs["higher_is_better"] == 0``) and other non-negative quantities on viridis. When the
    input has ``significant`` (else ``p_fdr``, below ``alpha``), non-significant values are
    masked on surfaces and drawn as hollow grey markers on the glass brain.

    - ``kind="surface"``: surface data (``hemisphere`` and ``vertex`` coordinates, e.g. from
      :func:`brainalign.io.fmri.load_fmri` on fsaverage data) are painted on the mesh (``mesh``,
      default the ``space`` attribute such as ``"fsaverage5"``, which nilearn ships), lateral and
      medial views of both hemispheres.
    - ``kind="volume"``: a searchlight map (a ``center`` dim, :mod:`brainalign.searchlight`) of
      voxels, put back on its grid (:func:`brainalign.searchlight.to_image`) and drawn as axial
      slices (:func:`nilearn.plotting.plot_stat_map`). Searchlight
      maps on a surface are painted centre by centre (``kind="surface"``), other searchlights
      (electrodes, sensors) drawn on the glass brain.
    - ``kind="glass"``: volumes and electrodes (``x``, ``y``, ``z`` in mm, MNI space) are drawn
      as markers on a glass brain (a region map above 2 000 neuroids: one marker per region centroid).

    Parameters
    ----------
    amap : xarray.Dataset
        An alignment map (a group map, or the mean over subjects, is drawn) or a per-neuroid
        result (a ``neuroid`` dim).
    recording : xarray.DataArray, optional
        The recording the map was computed on (needed for region and searchlight maps).
    value : str
        ``"best_layer"`` or a variable (``"score"``, ``"normalized"``, ``"r"``, ...).
    layer : str, optional
        The layer whose ``value`` is drawn (not with ``"best_layer"``).
    kind : {"auto", "surface", "glass", "volume"}
        ``"auto"``: surface when the neuroids have vertices, volume for a searchlight map of
        voxels, else glass brain.
    mesh : str or mesh, optional
        Surface mesh (a nilearn fsaverage name or a nilearn ``PolyMesh``).
    cmap : str, optional
        Colour map (default: see above).
    %(plot_alpha)s
    %(figure_title)s

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import xarray as xr
    >>> result = xr.Dataset(
    ...     {"r": (("layer", "neuroid"), [[0.3, -0.2, 0.1], [0.1, 0.4, -0.3]])},
    ...     coords={"layer": ["l1", "l2"], "x": ("neuroid", [40.0, -30, 10]),
    ...             "y": ("neuroid", [-20.0, 10, -60]), "z": ("neuroid", [50.0, 20, 5])},
    ...     attrs={"encoder": "ridge"})
    >>> fig = brain_map(result, value="r", layer="l2")
    >>> fig.axes[-1].get_ylabel(), [float(v) for v in fig.axes[-1].get_ylim()]
    ('r of l2', [-0.4, 0.4])
    """
    import matplotlib.pyplot as plt

    from ..maps import summary_view
    from ..utils import check_option, soft_import, validate_type

    validate_type("amap", amap, xr.Dataset, "an alignment map or a per-neuroid result (xarray.Dataset)")
    check_option("kind", kind, ("auto", "surface", "glass", "volume"))
    volume = False
    if "center" in amap.dims:  # a searchlight map: one value per centre, placed at its neuroid
        data.validate(amap, "map", name="amap")
        if recording is None:
            raise ValueError("recording is needed to draw a searchlight map: pass the recording it was computed on.")
        values, significant, label, layer_names, variable = _cell_values(
            summary_view(amap), "center", value, layer, alpha
        )
        centers = np.asarray(amap["neuroid_index"].values, dtype=int)
        where = recording.isel(neuroid=centers)
        regions = None
        volume = all(f"voxel_{a}" in recording.coords for a in "ijk")
    elif "neuroid" in amap.dims:
        values, significant, label, layer_names, variable = _cell_values(amap, "neuroid", value, layer, alpha)
        where = _neuroid_source(amap, recording)
        regions = None
    else:
        data.validate(amap, "map", name="amap")
        if recording is None:
            raise ValueError("recording is needed to draw a region map: pass the recording the map was computed on.")
        data.validate(recording, "recording", name="recording", check_values=False)
        view = summary_view(amap)
        per, sig, label, layer_names, variable = _cell_values(view, "region", value, layer, alpha)
        names = [str(r) for r in view["region"].values]
        regions = np.asarray(recording["region"].values).astype(str)
        if not set(names) & set(regions):
            raise ValueError(f"None of the map's regions ({sorted(names)[:5]}) are regions of the recording.")
        index = np.array([names.index(r) if r in names else -1 for r in regions])
        values = np.where(index >= 0, per[index], np.nan)
        significant = None if sig is None else np.where(index >= 0, sig[index], False)
        where = recording
    surface = "vertex" in where.coords and "hemisphere" in where.coords
    if kind == "auto":
        kind = "surface" if surface else "volume" if volume else "glass"
    if kind == "volume" and not volume:
        raise ValueError("kind='volume' draws searchlight maps of voxels (voxel_i/j/k on the recording's neuroids).")
    if layer_names:
        cmap, vmin, vmax = cmap or SEQUENTIAL, 0.0, float(len(layer_names) - 1)
    else:
        signed = is_signed(values, variable, amap.attrs.get("higher_is_better", 1))
        cmap, vmin, vmax = value_scale(values, signed=signed, cmap=cmap)
    plotting = soft_import("nilearn.plotting", "brain maps")
    shown = values if significant is None else np.where(significant, values, np.nan)
    if kind == "surface":
        if not surface:
            raise ValueError(
                "kind='surface' needs a surface recording or result ('vertex' and 'hemisphere' neuroid coordinates)."
            )
        mesh = mesh if mesh is not None else amap.attrs.get("space", where.attrs.get("space"))
        if isinstance(mesh, str):
            mesh = soft_import("nilearn.datasets", "brain maps").load_fsaverage(mesh)["inflated"]
        if mesh is None:
            raise ValueError("Pass mesh=... (e.g. 'fsaverage5'): the data do not name their surface.")
        hemis = np.asarray(where["hemisphere"].values).astype(str)
        vertex = np.asarray(where["vertex"].values).astype(int)
        fig, axes = plt.subplots(2, 2, figsize=(7.0, 5.2), subplot_kw={"projection": "3d"})
        fig.subplots_adjust(left=0.0, right=0.9, bottom=0.0, top=0.93, wspace=-0.05, hspace=-0.15)
        for col, hemi in enumerate(("left", "right")):
            part = mesh.parts[hemi]
            texture = np.full(part.n_vertices, np.nan)
            sel = hemis == hemi
            texture[vertex[sel]] = shown[sel]
            for row, view_name in enumerate(("lateral", "medial")):
                plotting.plot_surf_stat_map(
                    part,
                    texture,
                    hemi=hemi,
                    view=view_name,
                    cmap=cmap,
                    vmin=vmin,
                    vmax=vmax,
                    symmetric_cbar=False,
                    colorbar=False,
                    axes=axes[row, col],
                    figure=fig,
                    bg_on_data=True,
                )
        note = "not significant: not painted"
    elif kind == "volume":
        fig = _volume(plotting, shown, recording, centers, cmap, vmin, vmax)
        note = "not significant: not painted"
    else:
        fig = _glass(plotting, where, values, significant, regions, cmap, vmin, vmax)
        note = "hollow grey: not significant"
    _colorbar(fig, cmap, vmin, vmax, label, layer_names)
    if significant is not None:
        test = "" if "significant" in amap else f" (p_fdr ≥ {alpha:g})"
        fig.text(0.01, 0.01, note + test, fontsize="small", color="0.3")
    method = amap.attrs.get("method", amap.attrs.get("encoder", ""))
    fig.suptitle(title if title is not None else f"{method}: {label}".strip(": "))
    return fig


def _volume(
    plotting: Any, shown: np.ndarray, recording: Any, centers: np.ndarray, cmap: str, vmin: float, vmax: float
) -> Any:
    """A searchlight map on its voxel grid (:func:`brainalign.searchlight.to_image`): axial slices.

    Values are shifted so that ``vmin`` lands just above 0, where nilearn's threshold masks
    empty and non-significant voxels (NaN in ``shown``).
    """
    import matplotlib.pyplot as plt
    import nibabel as nib

    from ..searchlight import to_image

    span = max(vmax - vmin, 1e-12)
    lifted = np.where(np.isfinite(shown), shown - vmin + span * 1e-3, 0.0)  # > 0 where drawn
    img = to_image(lifted, recording, centers=centers)
    img = nib.Nifti1Image(np.nan_to_num(np.asarray(img.dataobj, dtype=float)), img.affine)
    # Up to 6 axial slices through the grid's own voxel centres (world z of voxel_k planes).
    ks = np.unique(np.asarray(recording["voxel_k"].values, dtype=int))
    ks = ks[np.linspace(0, len(ks) - 1, min(len(ks), 6)).round().astype(int)]
    cuts = [float((img.affine @ np.array([0.0, 0.0, k, 1.0]))[2]) for k in np.unique(ks)]
    fig = plt.figure(figsize=(9.5, 3.0))
    plotting.plot_stat_map(
        img,
        bg_img=None,
        display_mode="z",
        cut_coords=cuts,
        cmap=cmap,
        vmin=span * 1e-3,
        vmax=span * 1.001,
        symmetric_cbar=False,
        threshold=span * 1e-4,
        colorbar=False,
        figure=fig,
        axes=(0.0, 0.0, 0.9, 0.92),
        black_bg=False,
        annotate=True,
        draw_cross=False,
    )
    return fig


def _glass(
    plotting: Any,
    where: Any,
    values: np.ndarray,
    significant: np.ndarray | None,
    regions: np.ndarray | None,
    cmap: str,
    vmin: float,
    vmax: float,
) -> Any:
    """Glass-brain markers: coloured where significant (or untested), hollow grey elsewhere."""
    import matplotlib.pyplot as plt

    for c in ("x", "y", "z"):
        if c not in where.coords:
            raise ValueError(f"kind='glass' needs neuroid coordinates x, y, z (mm); the data lack {c!r}.")
    coords = np.stack([np.asarray(where[c].values, dtype=float) for c in ("x", "y", "z")], axis=1)
    significant = np.ones(len(values), bool) if significant is None else np.asarray(significant, bool)
    keep = np.isfinite(values) & np.isfinite(coords).all(axis=1)
    coords, values, significant = coords[keep], values[keep], significant[keep]
    if regions is not None and len(values) > 2000:  # a region map: one marker per region, at its centroid
        kept = regions[keep]
        names = list(dict.fromkeys(kept))
        coords = np.stack([coords[kept == r].mean(axis=0) for r in names])
        values = np.array([values[kept == r][0] for r in names])
        significant = np.array([significant[kept == r][0] for r in names])
    size = 30.0 if len(values) <= 200 else max(2.0, 30.0 * np.sqrt(200 / len(values)))
    fig = plt.figure(figsize=(9.5, 3.4))
    box = (0.0, 0.0, 0.88, 0.92)
    if significant.any():
        order = np.argsort(np.abs(values[significant]), kind="stable")  # the strongest on top
        display = plotting.plot_markers(
            values[significant][order],
            coords[significant][order],
            node_cmap=cmap,
            node_vmin=vmin,
            node_vmax=vmax,
            node_size=size,
            figure=fig,
            axes=box,
            colorbar=False,
            title=None,
            annotate=True,
        )
    else:
        display = plotting.plot_glass_brain(None, figure=fig, axes=box, title=None, annotate=True)
    if not significant.all():
        display.add_markers(
            coords[~significant], marker_color="none", marker_size=size, edgecolors="0.55", linewidths=0.8
        )
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
