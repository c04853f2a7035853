"""Self-contained HTML reports of alignment maps (tables and embedded figures; opens offline)."""

from __future__ import annotations

import base64
import datetime as _dt
import html
import io
import json
import os
from importlib import resources
from pathlib import Path
from string import Template
from typing import Any

import xarray as xr

from .._version import __version__
from ..utils import logger

__all__ = ["build_report", "render_report"]


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _img(b64: str, alt: str) -> str:
    return f'<img src="data:image/png;base64,{b64}" alt="{html.escape(alt)}">'


def _best_layers(view: xr.Dataset) -> dict[str, str]:
    from ..maps import best_layer

    best = best_layer(view)
    return {str(r): str(best.sel(region=r).item()) for r in view["region"].values}


def _score_table(amap: xr.Dataset, note: str) -> str:
    from ..maps import best_layer

    score = amap["score"].transpose("layer", "region")
    layers = [str(v) for v in score["layer"].values]
    best = [layers.index(str(b)) for b in best_layer(amap).transpose("region").values]
    has_ci = "ci_low" in amap and "ci_high" in amap
    significant = amap["significant"].transpose("layer", "region").values if "significant" in amap else None
    rows = [
        '<tr><th class="label">layer</th>'
        + "".join(f"<th>{html.escape(str(r))}</th>" for r in score["region"].values)
        + "</tr>"
    ]
    for k, layer in enumerate(score["layer"].values):
        cells = []
        for r in range(score.sizes["region"]):
            text = f"{score.values[k, r]:.3f}"
            if has_ci:
                lo = float(amap["ci_low"].transpose("layer", "region").values[k, r])
                hi = float(amap["ci_high"].transpose("layer", "region").values[k, r])
                text += f" <small>[{lo:.2f}, {hi:.2f}]</small>"
            if significant is not None and bool(significant[k, r]):
                text += "*"
            cells.append(f'<td class="{"best" if best[r] == k else ""}">{text}</td>')
        rows.append(f'<tr><td class="label">{html.escape(str(layer))}</td>{"".join(cells)}</tr>')
    sig = "; * significant (permutation test, FDR)" if significant is not None else ""
    ci = "; [95 % interval]" if has_ci else ""
    return f'<p class="meta">score{note}; best layer of each region in bold{ci}{sig}.</p><table>{"".join(rows)}</table>'


def _checkable_truth(amap: xr.Dataset, regions: dict[str, str]) -> dict[str, str]:
    """The planted layers of the regions the map scores (sensor-level simulations plant sources)."""
    return {str(r): layer for r, layer in (amap.attrs.get("truth") or {}).items() if str(r) in regions}


def _truth_line(amap: xr.Dataset, best: dict[str, str]) -> str:
    truth = _checkable_truth(amap, best)
    if not truth:
        planted = amap.attrs.get("truth")
        if planted:
            return (
                "<p>Simulated recording; its planted layers drive sources "
                f"({html.escape(', '.join(f'{r} ← {v}' for r, v in planted.items()))}) that are mixed into the "
                "recorded channels, so they are not checked region by region.</p>"
            )
        return ""
    parts = []
    for region, layer in truth.items():
        ok = best.get(str(region)) == layer
        mark = (
            '<span class="ok">recovered</span>'
            if ok
            else f'<span class="bad">not recovered (best: {html.escape(best.get(str(region), "?"))})</span>'
        )
        parts.append(f"<li>{html.escape(str(region))} ← <code>{html.escape(str(layer))}</code>: {mark}</li>")
    return "<p>Simulated recording with planted layers:</p><ul>" + "".join(parts) + "</ul>"


def _searchlight_section(name: str, amap: xr.Dataset, figures_dir: Path | None) -> tuple[str, str]:
    """A searchlight map (``layer × center``): its brain figure and the centres each layer wins."""
    from ..maps import best_layer
    from ..plot import brain_map
    from ..runner_figures import searchlight_view

    pretty = name.replace("__", " · ")
    brain = figures_dir / f"{name}.brain.png" if figures_dir is not None else None
    if brain is not None and brain.is_file():
        b64 = base64.b64encode(brain.read_bytes()).decode("ascii")
    else:
        view = searchlight_view(amap)
        b64 = _png(brain_map(view.mean("subject", keep_attrs=True) if "subject" in view.dims else view, title=pretty))
    score = amap["score"].mean([d for d in amap["score"].dims if d not in ("layer", "center")])
    # The best layer of each centre, whichever way the method's scores run (distances: the smallest).
    wins = best_layer(xr.Dataset({"score": score}, attrs=amap.attrs)).values.astype(str)
    layers = [str(v) for v in score["layer"].values]
    counts = ", ".join(f"{layer}: {int((wins == layer).sum())}" for layer in layers if (wins == layer).any())
    body = (
        f'<h2 id="{html.escape(name)}">{html.escape(pretty)}</h2>'
        f'<p class="meta">searchlight: {score.sizes["center"]} centres, radius '
        f"{html.escape(str(amap.attrs.get('radius', '?')))} · best layer per centre: {html.escape(counts)}</p>"
        f'<div class="figures">{_img(b64, f"brain map of {pretty}")}</div>'
    )
    link = f'<a href="#{html.escape(name)}">{html.escape(pretty)}</a>'
    return body, f'<tr><td class="label">{link}</td><td class="label">{html.escape(counts)}</td><td></td></tr>'


def _section(name: str, amap: xr.Dataset, figures_dir: Path | None = None) -> tuple[str, str]:
    from ..maps import summary_view

    if "center" in amap["score"].dims:
        return _searchlight_section(name, amap, figures_dir)
    from ..plot import heatmap, layer_profile, time_course

    view = summary_view(amap)
    best = _best_layers(view)
    pretty = name.replace("__", " · ")
    params = amap.attrs.get("method_params", {})
    direction = "" if amap.attrs.get("higher_is_better", 1) else " (a distance: lower is better)"
    meta = (
        f"method <code>{html.escape(str(amap.attrs.get('method', '?')))}</code>{direction} "
        f"{html.escape(json.dumps(params)) if params else ''} · "
        f"{amap.attrs.get('n_stimuli', '?')} stimuli · "
        f"brainalign {html.escape(str(amap.attrs.get('brainalign_version', '?')))}"
    )
    if "group_score" in amap:
        note = f" of the group map ({amap.attrs.get('n_subjects')} subjects; {amap.attrs.get('group_test', '')})"
    elif "latency" in amap["score"].dims:
        note = " (mean over latency)"
    else:
        note = ""
    truth = _checkable_truth(amap, best)
    figures = [
        _img(_png(heatmap(view, truth=truth, title=pretty)), f"heatmap of {pretty}"),
        _img(_png(layer_profile(view, truth=truth, title=pretty)), f"layer profile of {pretty}"),
    ]
    brain = figures_dir / f"{name}.brain.png" if figures_dir is not None else None
    if brain is not None and brain.is_file():
        figures.append(_img(base64.b64encode(brain.read_bytes()).decode("ascii"), f"brain map of {pretty}"))
    if "latency" in amap["score"].dims:
        series = amap if "subject" not in amap["score"].dims else amap.mean("subject", keep_attrs=True)
        figures.append(_img(_png(time_course(series, title=pretty)), f"time course of {pretty}"))
    body = (
        f'<h2 id="{html.escape(name)}">{html.escape(pretty)}</h2>'
        f'<p class="meta">{meta}</p>{_truth_line(amap, best)}{_score_table(view, note)}'
        f'<div class="figures">{"".join(figures)}</div>'
    )
    recovered = ""
    if truth:
        n_ok = sum(best.get(str(r)) == layer for r, layer in truth.items())
        cls = "ok" if n_ok == len(truth) else "bad"
        recovered = f'<span class="{cls}">{n_ok}/{len(truth)}</span>'
    best_text = ", ".join(f"{html.escape(r)}: {html.escape(b)}" for r, b in best.items())
    link = f'<a href="#{html.escape(name)}">{html.escape(pretty)}</a>'
    row = f'<tr><td class="label">{link}</td><td class="label">{best_text}</td><td>{recovered}</td></tr>'
    return body, row


def build_report(
    results: str | os.PathLike,
    out: str | os.PathLike,
    *,
    title: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Write one self-contained HTML file from the maps saved under ``results/maps``.

    Parameters
    ----------
    results : path
        A ``brainalign run`` output folder (or any folder with a ``maps/`` folder of ``.nc`` maps).
    out : path
        The HTML file to write (atomically).
    title : str, optional
        Default: the benchmark's name from ``results/config.json``.
    overwrite : bool
        Replace an existing report (``--overwrite`` on the command line).

    Returns
    -------
    pathlib.Path

    Examples
    --------
    >>> import numpy as np, tempfile, os, xarray as xr
    >>> from brainalign.io import arrays
    >>> folder = tempfile.mkdtemp()
    >>> amap = xr.Dataset({"score": (("layer", "region"), np.eye(2))},
    ...                   coords={"layer": ["l0", "l1"], "region": ["V1", "IT"]}, attrs={"method": "rsa"})
    >>> _ = arrays.save(amap, os.path.join(folder, "maps", "d__m__rsa.nc"))
    >>> build_report(folder, os.path.join(folder, "report.html")).name
    'report.html'
    """
    from ..io.arrays import atomic_write

    out = Path(out)
    if (out.exists() or out.is_symlink()) and not overwrite:
        raise FileExistsError(
            f"{str(out)!r} already exists. Pass --overwrite (overwrite=True in Python) to replace it, or choose "
            "another file with -o."
        )
    page = render_report(results, title=title)
    path = atomic_write(out, lambda tmp: tmp.write_text(page, encoding="utf-8"), overwrite=overwrite, kind="html")
    logger.info("report: wrote %s", path)
    return path


def render_report(results: str | os.PathLike, *, title: str | None = None) -> str:
    """The HTML page of :func:`build_report` as a string (``brainalign run`` writes it itself).

    Examples
    --------
    See :func:`build_report`.
    """
    import matplotlib

    from ..io.arrays import load

    results = Path(results)
    maps_dir = results / "maps"
    files = sorted(maps_dir.glob("*.nc")) if maps_dir.is_dir() else []
    if not files:
        raise FileNotFoundError(f"No maps in {str(maps_dir)!r}: run the benchmark first (brainalign run config.yaml).")
    cfg_path = results / "config.json"
    cfg = json.loads(cfg_path.read_text()) if cfg_path.is_file() else None
    if title is None:
        title = cfg["name"] if cfg else "brainalign report"
    if cfg:  # the config's order: dataset, then model, then method
        order = {
            f"{d['name']}__{m['name']}__{x['label']}": i
            for i, (d, m, x) in enumerate(
                (d, m, x) for d in cfg["datasets"] for m in cfg["models"] for x in cfg["methods"]
            )
        }
        files.sort(key=lambda f: (order.get(f.stem, len(order)), f.stem))
    backend = matplotlib.get_backend()
    matplotlib.use("Agg")
    try:
        sections, rows = [], []
        for path in files:
            amap = load(path)
            body, row = _section(path.stem, amap, results / "figures")
            sections.append(body)
            rows.append(row)
    finally:
        matplotlib.use(backend)
    summary = (
        '<h2 id="summary">Summary</h2><table><tr><th class="label">cell (dataset · model · method)</th>'
        '<th class="label">best layer per region</th><th>planted layers recovered</th></tr>'
        + "".join(rows)
        + "</table>"
    )
    template = Template(resources.files(__name__).joinpath("template.html").read_text("utf-8"))
    return template.substitute(
        title=html.escape(title),
        version=html.escape(__version__),
        date=_dt.datetime.now().strftime("%Y-%m-%d %H:%M"),
        results=html.escape(str(results)),
        n_maps=len(files),
        summary=summary,
        sections="\n".join(sections),
    )
