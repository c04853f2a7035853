"""The engine's kernel: represent every layer once, then score one cell against all layers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..methods import MethodInfo
from ..utils import logger, progress


def stacked(reps: list[Any]) -> Any:
    """One stacked numpy array when the representations share a shape, else the list."""
    if reps and all(isinstance(r, np.ndarray) for r in reps) and len({r.shape for r in reps}) == 1:
        return np.stack(reps)
    return reps


class Scorer:
    """A similarity method's scores of layer blocks against cells, with its batched kernels.

    Methods with ``represent`` kernels (and not needing trials) have each layer represented
    once (:attr:`reps`) and all layers compared with a cell in one ``compare_represented`` call;
    others are called on every (layer, cell) pair.
    """

    def __init__(
        self, method: Any, info: MethodInfo, name: str, blocks: list[np.ndarray], layers: list[str], on_error: str
    ) -> None:
        self.method, self.info, self.name = method, info, name
        self.blocks, self.layers = blocks, layers
        self.batched = info.kernels in ("represent", "rdm") and not info.needs_trials
        self.usable = np.ones(len(blocks), dtype=bool)  # layers the method can represent
        self.reps = None
        if self.batched:
            reps = []
            for k, B in enumerate(progress(blocks, desc=f"{name}: layers")):
                try:
                    reps.append(method.represent(B))
                except ValueError as err:
                    message = f"{name}: layer {layers[k]!r}: {err}"
                    if on_error == "raise":
                        raise ValueError(message) from err
                    logger.warning("%s (scored NaN)", message)
                    self.usable[k] = False
            self.reps = stacked(reps) if reps else None

    @property
    def n_stimuli(self) -> int:
        return int(self.blocks[0].shape[0])

    def represent_layers(self, blocks: list[np.ndarray]) -> Any:
        """The stacked representations of (resampled) layer blocks; None for unbatched methods."""
        return stacked([self.method.represent(B) for B in blocks]) if self.batched else None

    def scores(self, Y: np.ndarray, reps: Any = None, blocks: list[np.ndarray] | None = None) -> np.ndarray:
        """Scores ``(layer,)`` of one cell's data ``Y`` against every layer (NaN for layers the method
        could not represent); ``reps``/``blocks`` replace the layers (resampled stimuli)."""
        if self.batched:
            reps = self.reps if reps is None else reps
            out = np.full(len(self.blocks), np.nan)
            if reps is not None:
                usable = self.usable if len(out) == self.usable.size and reps is self.reps else slice(None)
                out[usable] = np.asarray(self.method.compare_represented(reps, self.method.represent(Y)))[:, 0]
            return out
        return np.array([self.method(B, Y) for B in (self.blocks if blocks is None else blocks)], dtype=float)
