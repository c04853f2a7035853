"""Figures of studies beside the map: frequency-tagging profiles and identifiability curves."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ..utils import fill_doc
from ._style import figure_axes, outside_legend

__all__ = ["identifiability", "tagging_profile"]


@fill_doc
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
    %(ax)s
    colors : dict, optional
        Label → colour.
    %(axes_title)s

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import xarray as xr
    >>> profile = xr.Dataset({"proportion": (("layer", "label"), [[0.1, 0.2, 0.0, 0.7], [0.4, 0.1, 0.1, 0.4]])},
    ...                      coords={"layer": ["l1", "l2"], "label": ["sentence", "phrase", "shared", "none"]})
    >>> fig = tagging_profile(profile)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['sentence', 'phrase', 'shared']
    """
    import matplotlib.pyplot as plt

    if isinstance(profile, xr.Dataset) and "label" in profile.data_vars:
        from ..probes import frequency_tagging as ft

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
    fig, ax = figure_axes(ax, (1.5 + 0.45 * len(groups), 3.6))
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
    outside_legend(ax)
    if title is not None:
        ax.set_title(title)
    return fig


@fill_doc
def identifiability(result: xr.Dataset, *, title: str | None = None) -> Any:
    """Accuracy of recovering the true layer (or model), one line per method.

    One panel against the signal-to-noise ratio and, when the design varies it, one against the
    number of stimuli (other factors at their largest level). Bands are the 95 %% Wilson
    intervals; the dashed line is chance.

    Parameters
    ----------
    result : xarray.Dataset
        The output of :func:`brainalign.identifiability`.
    %(figure_title)s

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> dims = ("method_name", "snr", "n_stimuli", "n_neuroids")
    >>> acc = np.array([0.3, 0.8, 1.0, 0.2, 0.5, 0.9]).reshape(2, 3, 1, 1)
    >>> result = xr.Dataset(
    ...     {"accuracy": (dims, acc), "accuracy_low": (dims, acc - 0.1), "accuracy_high": (dims, acc + 0.1),
    ...      "chance": 0.25},
    ...     coords={"method_name": ["ridge", "rsa"], "snr": [0.1, 1.0, 10.0], "n_stimuli": [100], "n_neuroids": [50]})
    >>> fig = identifiability(result)
    >>> [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    ['ridge', 'rsa', 'chance']
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
    outside_legend(axes[0][-1], loc="center left", bbox_to_anchor=(1.02, 0.5))
    fig.suptitle(title if title is not None else "Would the method find the true layer?")
    return fig
