"""``brainalign run --dry-run``: the memory planner's estimate of every cell of a config.

Nothing is computed or written. The shapes come from the inputs without reading their data:
stored activations and recordings are opened lazily (their sizes and coordinates only),
simulated recordings are sized from their config, brain RDMs are small and read, and a model
that extracts its activations is run on the first stimulus alone (no cache written) to learn
its layers' widths.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .config import ConfigError, load_config
from .planning import estimate_cell
from .runner_inputs import get_activations, get_recording, load_stimuli

__all__ = ["dry_run", "format_dry_run"]


def _layer_units(model: Mapping[str, Any], stimuli: Any, ids: np.ndarray, allow_code: bool) -> list[int]:
    """Units of each layer the model gives (stored: from the file's coordinates; else one stimulus)."""
    from .io.arrays import load

    if model["type"] == "activations":
        acts = load(model["path"], lazy=True)
        layer_of = np.asarray(acts["layer"].values)
        names = model["layers"] or list(dict.fromkeys(layer_of.tolist()))
        return [int(np.sum(layer_of == name)) for name in names]
    acts = get_activations(model, stimuli[:1], ids[:1], None, allow_code)
    layer_of = np.asarray(acts["layer"].values)
    return [int(np.sum(layer_of == name)) for name in dict.fromkeys(layer_of.tolist())]


def _recording_shape(dataset: Mapping[str, Any], ids: np.ndarray) -> tuple[int, int]:
    """Neuroids (none for brain RDMs) and cells (regions × subjects × latencies, searchlight
    centres, or brain RDMs)."""
    from .io.arrays import load

    if dataset["rdms"] is not None:
        rdms = get_recording(dataset, None, ids)
        return 0, int(rdms.size // (rdms.sizes["stimulus_id"] ** 2))
    if dataset["simulate"] is not None:
        sim = dataset["simulate"]
        regions = len(sim["regions"])
        per = sim["n_neuroids"]
        neuroids = int(sum(per)) if isinstance(per, (list, tuple)) else int(per) * regions
        return neuroids, regions
    path = Path(dataset["recording"])
    if not path.exists():
        raise ConfigError(f"datasets[{dataset['name']}].recording: {str(path)!r} does not exist.")
    rec = load(path, lazy=True)
    neuroids = int(rec.sizes["neuroid"])
    if dataset["searchlight"] is not None:
        return neuroids, neuroids
    cells = len(np.unique(rec["region"].values)) if "region" in rec.coords else 1
    for dim in ("subject", "latency"):
        if dim in rec.coords:
            cells *= len(np.unique(np.asarray(rec[dim].values)))
    return neuroids, cells


def dry_run(
    config: str | os.PathLike | Mapping[str, Any], *, allow_code: bool = False, budget: int | str | None = None
) -> list[dict[str, Any]]:
    """The planner's estimate of every (dataset, model, method) cell of a config, as rows.

    Parameters
    ----------
    config : path or mapping
        A config, as for :func:`brainalign.runner.run`.
    allow_code : bool
        As for :func:`brainalign.runner.run` (a torch model's factory is code).
    budget : int or str, optional
        The memory a cell may use (default: this machine's, see
        :func:`brainalign.planning.resolve_budget`).

    Returns
    -------
    list of dict
        One row per cell: ``cell``, ``stimuli``, ``layers``, ``neuroids``, ``cells`` and the keys
        of :func:`brainalign.planning.estimate_cell` (``peak_bytes``, ``fits``, ``summary``, ...).

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from brainalign import data
    >>> from brainalign.io import arrays
    >>> folder = tempfile.mkdtemp()
    >>> acts = data.activations({"l0": np.ones((20, 5)) * np.arange(5), "l1": np.ones((20, 8))}, stimulus_id=range(20))
    >>> _ = arrays.save(acts, os.path.join(folder, "acts.nc"))
    >>> _ = open(os.path.join(folder, "s.txt"), "w").write("\\n".join(f"s{i}" for i in range(20)))
    >>> cfg = {"output": os.path.join(folder, "out"),
    ...        "models": [{"name": "m", "type": "activations", "path": os.path.join(folder, "acts.nc")}],
    ...        "datasets": [{"name": "d", "stimuli": {"type": "text", "path": os.path.join(folder, "s.txt")},
    ...                      "simulate": {"model": "m", "regions": {"V1": "l0"}, "n_neuroids": 10}}],
    ...        "methods": ["rsa", "ridge"]}
    >>> rows = dry_run(cfg, budget="1GB")
    >>> [(row["cell"], row["layers"], row["neuroids"], row["fits"]) for row in rows]
    [('d__m__rsa', 2, 10, True), ('d__m__ridge', 2, 10, True)]
    >>> os.path.exists(os.path.join(folder, "out"))  # nothing written
    False
    """
    cfg = load_config(config, allow_code=allow_code)
    stats = cfg["statistics"]
    rows = []
    for dataset in cfg["datasets"]:
        stimuli, ids = load_stimuli(dataset["stimuli"])
        neuroids, cells = _recording_shape(dataset, ids)
        for model in cfg["models"]:
            units = _layer_units(model, stimuli, ids, cfg["allow_code"])
            for method in cfg["methods"]:
                row = estimate_cell(
                    len(ids),
                    units,
                    neuroids,
                    cells,
                    method["name"],
                    method_options=method["options"],
                    n_boot=stats["n_boot"],
                    n_perm=stats["n_perm"],
                    budget=budget,
                )
                name = "__".join((dataset["name"], model["name"], method["label"]))
                shape = {"stimuli": len(ids), "layers": len(units), "neuroids": neuroids, "cells": cells}
                rows.append({"cell": name, **shape, **row})
    return rows


def format_dry_run(rows: list[dict[str, Any]]) -> str:
    """The rows of :func:`dry_run` as the lines ``brainalign run --dry-run`` prints."""
    lines = []
    for row in rows:
        verdict = "fits" if row["fits"] else "DOES NOT FIT the memory budget"
        lines.append(
            f"{row['cell']}: {row['stimuli']} stimuli, {row['layers']} layers, {row['neuroids']} neuroids, "
            f"{row['cells']} cells; {verdict}\n    {row['summary']}"
        )
    return "\n".join(lines)
