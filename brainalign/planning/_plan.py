"""The memory plan of a map and the memory budget it must fit (see :mod:`brainalign.planning`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..backend import get_backend

__all__ = ["Plan", "batched_kernels", "default_budget", "resolve_budget", "size_text", "streams_layers"]


@dataclass
class Plan:
    """A map's memory plan: byte estimates per part, the peak, and chosen batch sizes.

    Attributes
    ----------
    method : str
        The method's name.
    parts : dict of str to int
        Bytes of each part held at the peak (e.g. ``"cell representations"``).
    peak_bytes : int
        Estimated peak host RAM of the map's work (inputs already in memory not counted).
    vram_bytes : int or None
        Estimated peak GPU memory when the backend is CUDA, else None.
    batch : dict of str to int
        Batch sizes chosen (``workers``: layers represented at once; ``targets``: encoder targets
        per batch).
    shape : dict of str to int
        The sizes the estimate used (stimuli, layers, largest layer, neuroids, cells).
    hints : list of str
        What to change to need less memory, most effective first.
    lazy : bool
        The activations stay on disk (read one layer at a time).
    """

    method: str
    parts: dict[str, int]
    peak_bytes: int
    vram_bytes: int | None
    batch: dict[str, int]
    shape: dict[str, int]
    hints: list[str] = field(default_factory=list)
    lazy: bool = False

    def check(self, budget: int | str | None = None) -> Plan:
        """Raise one ValueError naming what to change when the peak exceeds ``budget``.

        Parameters
        ----------
        budget : float, int or str, optional
            See :func:`resolve_budget`; default :func:`default_budget`.

        Returns
        -------
        Plan
            ``self``, when it fits.

        Examples
        --------
        >>> from brainalign.planning import estimate_from_shapes
        >>> plan = estimate_from_shapes(4000, [256] * 6, 200, 2, "rsa")
        >>> plan.check("64 GiB") is plan
        True
        """
        limit = resolve_budget(budget)
        over = [("RAM", self.peak_bytes)] + ([("GPU memory", self.vram_bytes)] if self.vram_bytes else [])
        for what, need in over:
            if need > limit:
                largest = max(self.parts, key=self.parts.get)
                raise ValueError(
                    f"{self.method} map needs about {size_text(need)} of {what} but the memory budget is "
                    f"{size_text(limit)} "
                    f"(largest part: {largest}, {size_text(self.parts[largest])}; {self.describe_shape()}). "
                    + " ".join(self.hints)
                    + " Or raise memory_budget= if the machine has the memory."
                )
        return self

    def describe_shape(self) -> str:
        return ", ".join(f"{v} {k}" for k, v in self.shape.items())

    def summary(self) -> str:
        """One line for logs and ``--dry-run``.

        Examples
        --------
        >>> from brainalign.planning import estimate_from_shapes
        >>> estimate_from_shapes(1000, [64] * 3, 20, 2, "rsa").summary().startswith("rsa: peak")
        True
        """
        parts = ", ".join(f"{k} {size_text(v)}" for k, v in self.parts.items())
        batch = ", ".join(f"{k}={v}" for k, v in self.batch.items())
        vram = f", GPU {size_text(self.vram_bytes)}" if self.vram_bytes else ""
        return f"{self.method}: peak {size_text(self.peak_bytes)}{vram} ({parts}; {batch})"


def size_text(n: float | None) -> str:
    n = float(n or 0)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"  # pragma: no cover


def default_budget(fraction: float = 0.8) -> int:
    """The default memory budget: ``fraction`` of the host's available RAM (psutil if installed,
    else ``/proc/meminfo``).

    Examples
    --------
    >>> default_budget() > 0
    True
    """
    return get_backend("numpy").memory_budget(float(fraction))


def resolve_budget(budget: float | int | str | None) -> int:
    """A budget in bytes: None → :func:`default_budget`; a float in (0, 1] → that fraction of the
    available RAM; an int → bytes; a string such as ``"8GB"``.

    Examples
    --------
    >>> resolve_budget("1 GiB")
    1073741824
    """
    return default_budget() if budget is None else get_backend("numpy").memory_budget(budget)


def batched_kernels(info: Any) -> bool:
    """Whether a similarity map represents each layer once, through the method's batched kernels
    (``represent`` or ``rdm``), rather than calling the method on every (layer, cell) pair (no
    batched kernels, or a method that needs trials). ``info`` is the method's
    :class:`brainalign.methods.MethodInfo`.

    Examples
    --------
    >>> from brainalign.methods import MethodInfo
    >>> batched_kernels(MethodInfo("similarity", "rdm")), batched_kernels(MethodInfo("similarity", "call"))
    (True, False)
    """
    return info.kernels in ("represent", "rdm") and not info.needs_trials


def streams_layers(info: Any, n_cells: int, n_layers: int, statistics: bool) -> bool:
    """Whether a similarity map streams its layers (the cells' representations held) rather than
    its cells (every layer's representation held): the method has batched kernels
    (:func:`batched_kernels`), there are fewer cells than layers and no resampling statistics
    (which need every layer's representation). The map engine and the memory planner both ask here.

    Examples
    --------
    >>> from brainalign.methods import MethodInfo
    >>> rsa = MethodInfo("similarity", "rdm")
    >>> streams_layers(rsa, n_cells=2, n_layers=6, statistics=False)
    True
    >>> streams_layers(rsa, n_cells=2, n_layers=6, statistics=True)
    False
    """
    return batched_kernels(info) and not statistics and 0 < n_cells < n_layers
