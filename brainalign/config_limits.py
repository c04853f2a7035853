"""Resource-sized config keys: bounds checked before anything is computed.

A config is data from a file: a typo (``n_perm: 100000000000``) must end in a one-line error
naming the key, not in a ``MemoryError`` traceback an hour later. Two checks:

- :data:`LIMITS`, fixed upper bounds of the counts, checked when a config is validated;
- :func:`check_memory`, an estimate of the largest arrays of a cell (the simulated recording,
  the resampling scores) against this machine's memory, checked when the cell's sizes are known.

The estimate is deliberately simple (an upper bound of the arrays sized by these keys, in
float64) so that the error can name the key. The map's whole memory is planned by
:mod:`brainalign.planning` (``brainalign run --dry-run`` prints it; ``alignment_map`` refuses a map
that cannot fit, naming what to change).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import xarray as xr

from .config_schema import ConfigError

__all__ = [
    "LIMITS",
    "check_cell_sizes",
    "check_limits",
    "check_memory",
    "check_simulation",
    "estimate_cell_bytes",
    "total_memory",
]

#: Largest accepted value of each count (key as written in a config; ``[]`` any item).
LIMITS: dict[str, int] = {
    "statistics.n_perm": 1_000_000,
    "statistics.n_boot": 1_000_000,
    "datasets[].simulate.n_neuroids": 10_000_000,
    "datasets[].simulate.n_repetitions": 10_000,
    "methods[].cv": 100_000,
    "models[].batch_size": 1_000_000,
    "models[].max_length": 1_000_000,
    "conditions.n_neuroids": 10_000_000,
    "conditions.n_stimuli": 100_000_000,
    "conditions.n_repeats": 100_000,
}


def _values(cfg: Mapping[str, Any], key: str) -> list[tuple[str, Any]]:
    """``(where, value)`` of every occurrence of ``key`` (``a[].b.c``) in ``cfg``."""
    head, _, rest = key.partition(".")
    if head.endswith("[]"):
        name = head[:-2]
        out = []
        for i, item in enumerate(cfg.get(name) or []):
            out += [(f"{name}[{i}].{w}", v) for w, v in _values(item, rest)]
        return out
    if head not in cfg or cfg[head] is None:
        return []
    if not rest:
        return [(head, cfg[head])]
    return [(f"{head}.{w}", v) for w, v in _values(cfg[head], rest)]


def check_limits(cfg: Mapping[str, Any]) -> None:
    """Refuse counts above :data:`LIMITS` (``ConfigError`` naming the key and the bound).

    Examples
    --------
    >>> check_limits({"statistics": {"n_perm": 10**11}})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    brainalign.config_schema.ConfigError: statistics.n_perm: 100000000000 is above the limit of 1000000 ...
    """
    for key, bound in LIMITS.items():
        for where, value in _values(cfg, key):
            values = value if isinstance(value, list) else [value]
            for v in values:
                if isinstance(v, int) and not isinstance(v, bool) and v > bound:
                    raise ConfigError(
                        f"{where}: {v} is above the limit of {bound} (a resource-sized key: memory and time grow "
                        "with it). Use a smaller value."
                    )


def total_memory() -> int | None:
    """Physical memory of this machine in bytes (``None`` where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def estimate_cell_bytes(
    *, n_stimuli: int, n_layers: int, n_cells: int, n_perm: int, n_boot: int, n_neuroids: int = 0
) -> dict[str, int]:
    """Upper bounds (bytes, float64) of the largest arrays of one cell, by the config key that sizes them.

    ``statistics.n_perm`` / ``statistics.n_boot``: one resampled stimulus order and one score per
    layer × cell for each resample; ``datasets[].simulate.n_neuroids``: the simulated recording.

    Examples
    --------
    >>> estimate_cell_bytes(n_stimuli=100, n_layers=4, n_cells=3, n_perm=1000, n_boot=0)["statistics.n_perm"]
    896000
    """
    per_resample = (n_stimuli + n_layers * n_cells) * 8
    return {
        "statistics.n_perm": n_perm * per_resample,
        "statistics.n_boot": n_boot * per_resample,
        "datasets[].simulate.n_neuroids": n_stimuli * n_neuroids * 8,
    }


def check_memory(estimates: Mapping[str, int], where: str, *, memory: int | None = None) -> None:
    """Refuse a cell whose estimated arrays exceed half of this machine's memory, naming the key.

    Examples
    --------
    >>> check_memory({"statistics.n_perm": 10**15}, "cell d__m__rsa", memory=2**34)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    brainalign.config_schema.ConfigError: statistics.n_perm: cell d__m__rsa would need about 1000000.0 GB ...
    """
    memory = total_memory() if memory is None else memory
    if memory is None:
        return
    for key, n_bytes in estimates.items():
        if n_bytes > memory / 2:
            raise ConfigError(
                f"{key}: {where} would need about {n_bytes / 1e9:.1f} GB for it, more than half of this machine's "
                f"{memory / 1e9:.1f} GB. Use a smaller value."
            )


def check_cell_sizes(
    name: str, dataset: Mapping[str, Any], statistics: Mapping[str, Any], acts: xr.DataArray, rec: xr.DataArray
) -> None:
    """Refuse a ``brainalign run`` cell whose resampling would not fit in memory (naming the key)."""
    import numpy as np

    from . import data

    n_cells = rec.sizes.get("neuroid", 1) if dataset["searchlight"] is not None else 1
    if "region" in rec.coords:
        n_cells = max(n_cells, len(np.unique(rec["region"].values)))
    estimates = estimate_cell_bytes(
        n_stimuli=acts.sizes.get("presentation", 0),
        n_layers=len(data.layer_names(acts)),
        n_cells=n_cells,
        n_perm=statistics["n_perm"],
        n_boot=statistics["n_boot"],
    )
    check_memory({k: v for k, v in estimates.items() if k.startswith("statistics.")}, f"cell {name}")


def check_simulation(dataset: Mapping[str, Any], n_stimuli: int) -> None:
    """Refuse a simulated recording that would not fit in memory, before it is built."""
    sim = dataset["simulate"]
    if sim is None:
        return
    n = sim["n_repetitions"] * len(sim["regions"]) * sim["n_neuroids"]
    n_bytes = estimate_cell_bytes(n_stimuli=n_stimuli, n_layers=0, n_cells=0, n_perm=0, n_boot=0, n_neuroids=n)
    check_memory(
        {f"datasets[{dataset['name']}].simulate.n_neuroids": n_bytes["datasets[].simulate.n_neuroids"]},
        f"the simulated recording of {dataset['name']!r}",
    )
