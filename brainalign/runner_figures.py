"""The figures of one ``brainalign run`` cell: heatmap, layer profile, brain map (as file bytes).

Figures are rendered where the map is computed (a Dask worker has the recording at hand) and
returned as bytes, which the run writes into ``<output>/figures/`` through its
:class:`brainalign.runner_output.OutputFolder`.
"""

from __future__ import annotations

import io
from typing import Any

import xarray as xr

__all__ = ["cell_figures", "searchlight_view"]


def _render(fig: Any, fmt: str, dpi: int) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buf.getvalue()


def searchlight_view(amap: xr.Dataset) -> xr.Dataset:
    """A searchlight map (``layer × center``) as a per-neuroid result that :func:`brainalign.plot.brain_map` draws.

    Each centre becomes a neuroid with the centre's coordinates (``x``/``y``/``z``,
    ``hemisphere``/``vertex``).
    """
    keep = [v for v in ("score", "significant", "p_fdr") if v in amap and "center" in amap[v].dims]
    view = amap[keep].rename({"center": "neuroid"})
    view.attrs = dict(amap.attrs)
    return view


def cell_figures(amap: xr.Dataset, recording: xr.DataArray, title: str) -> dict[str, bytes]:
    """The figures of a cell by file suffix: ``.png``/``.pdf`` (heatmap), ``.profile.png``/``.pdf``, ``.brain.png``.

    Region maps get a heatmap (significant cells starred when the map has ``significant``) and a
    layer profile; maps whose recording has coordinates, and searchlight maps, a brain map.
    """
    import matplotlib

    matplotlib.use("Agg")
    from .maps import summary_view
    from .plot import brain_map, heatmap, layer_profile

    out: dict[str, bytes] = {}
    truth = amap.attrs.get("truth")
    if "center" in amap["score"].dims:
        view = searchlight_view(amap)
        if "subject" in view["score"].dims:
            view = view.mean("subject", keep_attrs=True)
        out[".brain.png"] = _render(brain_map(view, title=title), "png", 110)
        return out
    view = summary_view(amap)
    for suffix, make in ((".", heatmap), (".profile.", layer_profile)):
        for fmt, dpi in (("png", 150), ("pdf", 150)):
            out[f"{suffix}{fmt}"] = _render(make(view, truth=truth, title=title), fmt, dpi)
    has_surface = "vertex" in recording.coords and "hemisphere" in recording.coords
    if has_surface or all(c in recording.coords for c in ("x", "y", "z")):
        out[".brain.png"] = _render(brain_map(amap, recording), "png", 110)
    return out
