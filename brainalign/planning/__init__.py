"""Memory planning: what a map will hold in memory, before it runs.

:func:`estimate` reads only shapes and dtypes (lazy activations stay on disk) and returns a
:class:`Plan`: bytes per part of the work, the peak host RAM (and GPU memory on a CUDA backend), and
the batch sizes chosen to fit a budget. :func:`brainalign.alignment_map` and the identifiability
study call it first and refuse a map that cannot fit (``Plan.check``); ``brainalign run --dry-run``
prints :func:`estimate_cell` for every cell of a config.

The figures model what the engine allocates: similarity maps read one layer at a time and, with
fewer cells than layers, hold the cells' representations and stream the layers (``workers`` at a
time); otherwise they hold every layer's representation and stream the cells. Encoders fit one
layer at a time, targets in batches. The RDM coefficients were measured with ``tracemalloc`` on
numpy (``tests/test_planning.py`` pins them within 30 %).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..backend import get_backend
from ..methods import method_params, resolve
from ..metrics._ranks import BLOCK_VALUES
from ..utils import get_options
from ._plan import Plan, batched_kernels, default_budget, resolve_budget, streams_layers

__all__ = [
    "Plan",
    "batched_kernels",
    "default_budget",
    "estimate",
    "estimate_cell",
    "estimate_from_shapes",
    "plan_map",
    "resolve_budget",
    "streams_layers",
]

#: Bytes per stimulus pair that ranking one condensed RDM needs on numpy, by float size: float32
#: packs value and position in one uint64 and ranks ties in int32 (triangle 4 + packed 8 + ties 4 +
#: ranks 4); float64 takes an argsort (calibrated on traced peaks at 400–8 000 stimuli).
RDM_WORKING_PER_PAIR = {4: 20.0, 8: 46.0}

#: Fixed overhead per stimulus of a similarity map (coordinates, cell views, indices), bytes.
PER_STIMULUS = 4096
#: Fewest cells scored in batches of cell RDMs (searchlights; the map engine's threshold).
MIN_BATCHED_CELLS = 8
#: The most layers represented at once (threads; the RDM kernels release the GIL).
MAX_WORKERS = 4


def estimate_from_shapes(
    n_stimuli: int,
    layer_units: list[int],
    n_neuroids: int,
    n_cells: int,
    method: str | Any = "ridge",
    *,
    method_options: dict[str, Any] | None = None,
    n_boot: int = 0,
    n_perm: int = 0,
    itemsize: int = 4,
    recording_itemsize: int | None = None,
    lazy: bool = False,
    budget: int | str | None = None,
    workers: int | None = None,
) -> Plan:
    """The plan of a map from sizes alone (what ``--dry-run`` knows before loading anything).

    Parameters
    ----------
    n_stimuli : int
        Stimuli (rows) the map scores.
    layer_units : list of int
        Units of every layer.
    n_neuroids : int
        Neuroids (× latencies) of the recording.
    n_cells : int
        Cells scored (regions × subjects × latencies, or searchlight centres).
    method, method_options
        As for :func:`brainalign.alignment_map`.
    n_boot, n_perm : int
        Resampling statistics.
    itemsize, recording_itemsize : int
        Bytes per value of the activations (4: float32) and of the recording (default: the same).
    lazy : bool
        The activations are on disk (read one layer at a time through dask).
    budget : int or str, optional
        The memory budget the batch sizes must fit (default :func:`default_budget`).
    workers : int, optional
        Layers represented at once (default: as many as the cores and the budget allow, up to 4).

    Returns
    -------
    Plan

    Examples
    --------
    >>> plan = estimate_from_shapes(8000, [256] * 6, 200, 2, "rsa", budget="2GB")
    >>> plan.batch["workers"] >= 1 and plan.peak_bytes < 2e9
    True
    """
    obj, name, info = resolve(method, method_options)
    limit = resolve_budget(budget)
    n, L, p = int(n_stimuli), len(layer_units), int(max(layer_units))
    b_a, b_r = int(itemsize), int(recording_itemsize or itemsize)
    b = max(b_a, b_r)
    shape = {"stimuli": n, "layers": L, "units (largest layer)": p, "neuroids": int(n_neuroids), "cells": int(n_cells)}
    params = method_params(obj)
    backend = params.get("backend") or params.get("encoder_params", {}).get("backend") or "numpy"
    cuda = backend == "torch_cuda" or (backend == "auto" and get_backend("auto").name == "torch_cuda")
    block = n * p * b_a  # a lazy layer is assembled from its chunks (twice that, briefly, before any work)
    if info.family == "encoder":
        plan = _encoder_plan(name, info, n, L, p, int(n_neuroids), b_a, n_boot or n_perm, block, limit)
    else:
        plan = _similarity_plan(name, info, n, L, p, int(n_neuroids), int(n_cells), b_a, b_r, b, n_boot, n_perm, block)
        plan.lazy = bool(lazy)
        plan.batch["workers"] = _workers(plan, limit, workers, L)
        if plan.batch["workers"] > 1:  # threads whose peaks may coincide: an upper bound
            extra = plan.batch["workers"]
            plan.parts["layer working set"] = int(plan.parts["layer working set"] * extra)
            plan.parts["layer block"] *= plan.batch["workers"]
    plan.shape = shape
    plan.peak_bytes = int(sum(plan.parts.values()))
    plan.vram_bytes = plan.peak_bytes if cuda else None
    return plan


def _similarity_plan(name, info, n, L, p, neuroids, cells, b_a, b_r, b, n_boot, n_perm, block) -> Plan:
    m = n * (n - 1) // 2
    stats = bool(n_boot or n_perm)
    if info.kernels == "rdm":
        # Two phases: the distances (a centred copy of the layer and the triangle, in row blocks;
        # a transformed RDM, tRSA's, needs the n × n square), then the ranks of the triangle.
        rep_a, rep_r = m * b_a, m * b_r
        distances = n * p * b + m * b + (min(BLOCK_VALUES, n * n) * b if info.rdm_metric else n * n * b)
        # float32 ranks also hold chunk-long packing temporaries (a key, a position, a mask).
        working = max(distances, RDM_WORKING_PER_PAIR[b] * m + (9 * min(m, BLOCK_VALUES) if b == 4 else 0))
    elif info.kernels == "represent":  # kernels/Gram matrices or whitened bases: about n × n each
        rep_a, rep_r, working = n * n * b_a, n * n * b_r, 3 * n * n * b
    else:  # called on every (layer, cell) pair
        rep_a = rep_r = 0
        working = 3 * n * n * b
    batched = batched_kernels(info)
    parts = {"layer block": block, "cell data": 2 * n * neuroids * b_r + n * PER_STIMULUS}
    hints = []
    if streams_layers(info, cells, L, stats):
        parts["cell representations"] = cells * rep_r
        parts["layer working set"] = int(working)
        hints.append("Fewer stimuli shrink every RDM quadratically; fewer regions drop cell representations.")
    else:
        parts["layer representations"] = L * rep_a if batched else 0
        parts["layer working set"] = int(working) + rep_r
        if info.kernels == "rdm" and info.rdm_metric and cells >= MIN_BATCHED_CELLS:
            from ..searchlight import CELL_CHUNK_BYTES

            # Many cells (a searchlight) are scored in chunks of cell RDMs against every layer's RDM
            # (kept in float64); a chunk and its ranks and products: twice its working budget.
            parts["layer RDMs (batched cells)"] = L * m * 8
            parts["cell RDM chunks"] = 2 * CELL_CHUNK_BYTES
        hints.append(f"Fewer layers per map (it holds all {L} layers' representations), or fewer stimuli.")
    if stats and info.kernels == "rdm":
        parts["statistics (square RDMs)"] = (L + cells) * n * n * b + 2 * m * 8
        hints.insert(0, "Drop n_boot/n_perm (or run them on fewer layers): they hold every square RDM.")
    elif stats:
        parts["statistics"] = L * n * p * b_a
        hints.insert(0, "Drop n_boot/n_perm, or run them on fewer layers.")
    return Plan(name, parts, 0, None, {}, {}, hints)


def _encoder_plan(name, info, n, L, p, t, b, stats, block, limit) -> Plan:
    from ..encoders._solvers import per_target_bytes

    n_folds, n_alphas = 5, 11
    rank = min(n, p)
    folds = [(np.arange(n - n // n_folds), np.arange(n // n_folds))] * n_folds
    # Per fold and the refit: eigenvectors (p or n × rank) and the test rows projected; eigh in float64.
    fixed = (n_folds + 1) * (min(p, n) * rank * b + (n // n_folds) * rank * b) + rank * rank * 8
    per_target = per_target_bytes(n, p, rank, folds, n_alphas, b)
    room = max(limit - block - fixed - 3 * n * t * b, per_target)
    targets = int(max(1, min(t, room // per_target)))
    parts = {
        "layer block": block + 2 * n * p * b,
        "targets": 3 * n * t * b,
        "decompositions": int(fixed),
        "target batch": targets * per_target,
        "scores": 6 * L * n_folds * t * 8,
    }
    hints = ["Fewer targets (voxels) per map, or fewer units per layer (e.g. PCA)."]
    if stats:
        parts["predictions (statistics)"] = L * n * t * 8
        hints.insert(0, "Drop n_boot/n_perm: they keep every layer's held-out predictions.")
    return Plan(name, parts, 0, None, {"targets": targets}, {}, hints)


def _workers(plan: Plan, limit: int, workers: int | None, n_layers: int) -> int:
    workers = workers if workers is not None else get_options()["workers"]
    if workers is not None:
        return max(1, int(workers))
    if "cell representations" not in plan.parts or plan.lazy:
        # Held layers are represented one after the other; lazy (on-disk) activations are read
        # one layer at a time so that memory stays one layer plus the working set.
        return 1
    base = sum(plan.parts.values())
    per = plan.parts["layer working set"] + plan.parts["layer block"]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    k = min(MAX_WORKERS, max(1, cores), n_layers)
    while k > 1 and base + (k - 1) * per > limit:
        k -= 1
    return k


def estimate(
    activations: xr.DataArray,
    recording: xr.DataArray,
    method: str | Any = "ridge",
    *,
    method_options: dict[str, Any] | None = None,
    regions: str | Any = "region",
    n_boot: int = 0,
    n_perm: int = 0,
    budget: int | str | None = None,
    workers: int | None = None,
) -> Plan:
    """The memory plan of ``alignment_map(activations, recording, method, ...)``, from shapes only.

    Parameters
    ----------
    activations, recording, method, method_options, regions, n_boot, n_perm
        As for :func:`brainalign.alignment_map` (lazy activations are not read).
    budget : int or str, optional
        The budget batch sizes are chosen for (default :func:`default_budget`).
    workers : int, optional
        Layers represented at once (similarity maps; default: what cores and budget allow).

    Returns
    -------
    Plan
        Parts, peak and batch sizes; ``plan.check(budget)`` raises when it cannot fit.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, planning
    >>> acts = data.activations({"l1": np.ones((100, 8), np.float32)}, stimulus_id=np.arange(100))
    >>> rec = data.recording(np.ones((100, 4)), stimulus_id=np.arange(100), subject="S1", region="V1")
    >>> plan = planning.estimate(acts, rec, "rsa")
    >>> plan.shape["stimuli"], plan.peak_bytes > 0
    (100, True)
    """
    from ..maps._cells import Cells

    layers = pd.unique(np.asarray(activations["layer"].values))
    layer_of = np.asarray(activations["layer"].values)
    units = [int(np.sum(layer_of == layer)) for layer in layers]
    n_lat = recording.sizes.get("latency", 1)
    if "neuroid" in recording.dims:
        if "presentation" in recording.dims:
            n = len(pd.unique(np.asarray(recording["stimulus_id"].values)))
        else:
            n = recording.sizes["time"]
        n_neuroids = recording.sizes["neuroid"] * n_lat
        cells = len(Cells.from_recording(recording, regions).items()) * n_lat
    else:  # brain RDMs (data.rdms): one cell per RDM
        n, n_neuroids, cells = recording.sizes["stimulus_id"], 0, recording.sizes.get("rdm", 1)
    lazy = not isinstance(activations.variable._data, np.ndarray)
    return estimate_from_shapes(
        n,
        units,
        n_neuroids,
        cells,
        method,
        method_options=method_options,
        n_boot=n_boot,
        n_perm=n_perm,
        itemsize=activations.dtype.itemsize,
        recording_itemsize=recording.dtype.itemsize,
        lazy=lazy,
        budget=budget,
        workers=workers,
    )


def plan_map(
    activations: Any, recording: Any, method: Any, *, budget: float | int | str | None = None, **options: Any
) -> Plan | None:
    """What :func:`brainalign.alignment_map` calls first: the checked plan (``Plan.check`` raises when
    the map cannot fit ``budget``), or None when the inputs' shapes cannot be read (the map's own
    validation then says what is wrong with them).

    Examples
    --------
    >>> plan_map("not an array", None, "rsa") is None
    True
    """
    try:
        plan = estimate(activations, recording, method, budget=budget, **options)
    except (KeyError, IndexError, ValueError, TypeError, AttributeError):
        return None
    return plan.check(budget)


def estimate_cell(
    n_stimuli: int,
    layer_units: list[int],
    n_neuroids: int,
    n_cells: int,
    method: str | Any,
    *,
    budget: int | str | None = None,
    **options: Any,
) -> dict[str, Any]:
    """One ``brainalign run --dry-run`` row: the plan of a (model, dataset, method) cell as a dict.

    Keys: ``method``, ``peak_bytes``, ``vram_bytes``, ``batch``, ``parts``, ``fits`` (within the
    budget) and ``summary`` (one line). ``options`` go to :func:`estimate_from_shapes`.

    Examples
    --------
    >>> row = estimate_cell(2000, [768] * 12, 5000, 4, "ridge", budget="16GB")
    >>> row["fits"], row["method"]
    (True, 'ridge')
    """
    plan = estimate_from_shapes(n_stimuli, layer_units, n_neuroids, n_cells, method, budget=budget, **options)
    limit = resolve_budget(budget)
    fits = plan.peak_bytes <= limit and (plan.vram_bytes or 0) <= limit
    return {
        "method": plan.method,
        "peak_bytes": plan.peak_bytes,
        "vram_bytes": plan.vram_bytes,
        "batch": dict(plan.batch),
        "parts": dict(plan.parts),
        "fits": bool(fits),
        "summary": plan.summary(),
    }
