"""The engine's kernel (public: the metric functions use it too): represent every layer once, then
score cells against all layers."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import get_backend
from ..methods import MethodInfo
from ..metrics._rdm import upper
from ..utils import logger, progress

#: A score beyond its method's declared ``score_range`` by at most this many machine epsilons of the
#: working dtype (times ``max(1, |bound|)``) is rounding, and is clipped to the bound.
RANGE_TOLERANCE_EPS = 8


def clip_to_range(scores: np.ndarray, info: MethodInfo, name: str, dtype: Any) -> np.ndarray:
    """``scores`` clipped to ``info.score_range``: rounding beyond a bound is removed, more is refused.

    A correlation or CKA computed in float32 can come out as ``1.0000001``, which breaks what
    follows (Fisher z, normalised scores, plots with fixed limits). A score beyond a bound by at
    most ``RANGE_TOLERANCE_EPS · eps(dtype) · max(1, |bound|)`` (float32: 9.5e-7 at a bound of 1;
    float64: 1.8e-15) is set to the bound; a score further out is a bug of the method or of its
    declared range and raises ``ValueError`` naming the method and the value. NaN stays NaN.

    Parameters
    ----------
    scores : numpy.ndarray
        Scores of any shape.
    info : MethodInfo
        The method's declaration (its ``score_range``).
    name : str
        The method's name, for the error message.
    dtype : str or numpy dtype
        The precision the scores were computed in (float32 for float32 inputs).

    Returns
    -------
    numpy.ndarray
        The scores, float64, within ``score_range``.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.methods import MethodInfo
    >>> info = MethodInfo(family="similarity", kernels="call", score_range=(-1.0, 1.0))
    >>> clip_to_range(np.array([1 + 2e-7, 0.5, np.nan]), info, "toy", "float32").tolist()
    [1.0, 0.5, nan]
    """
    values = np.asarray(scores, dtype=np.float64)
    eps = RANGE_TOLERANCE_EPS * float(np.finfo(dtype).eps)
    for bound, beyond in zip(info.score_range, (np.less, np.greater), strict=True):
        tol = eps * max(1.0, abs(bound))
        out = beyond(values, bound - tol if beyond is np.less else bound + tol)
        if np.any(out):
            value = float(values[out].flat[0])
            raise ValueError(
                f"{name} returned the score {value!r}, outside its declared score_range {tuple(info.score_range)} "
                f"by more than rounding ({tol:.2g} in {np.dtype(dtype).name}): a bug in the method or in its "
                "MethodInfo.score_range."
            )
    return np.clip(values, *info.score_range)


NUMPY = get_backend("numpy")


def stacked(reps: list[Any]) -> Any:
    """One stacked numpy array when the representations share a shape, else the list."""
    if reps and all(isinstance(r, np.ndarray) for r in reps) and len({r.shape for r in reps}) == 1:
        return np.stack(reps)
    return reps


class Scorer:
    """A similarity method's scores of layer blocks against cells, with its batched kernels.

    Methods with ``represent`` kernels (and not needing trials; RDM methods also with trials)
    have each layer represented once (:attr:`reps`) and all layers compared with a cell in one
    ``compare_represented`` call; others are called on every (layer, cell) pair. RDM methods
    that declare their ``rdm_metric`` score many cells at once (:meth:`scores_cells`).
    """

    def __init__(
        self,
        method: Any,
        info: MethodInfo,
        name: str,
        blocks: list[Any],
        layers: list[Any],
        on_error: str,
        *,
        label: str = "layer",
        represent: Any = None,
        stack: bool = True,
    ) -> None:
        self.method, self.info, self.name = method, info, name
        #: How a block is represented (default ``method.represent``; a caller whose blocks are
        #: already checked and on the backend may pass a faster path).
        self.batched = info.kernels in ("represent", "rdm") and (not info.needs_trials or info.kernels == "rdm")
        self.represent = represent if represent is not None else method.represent if self.batched else None
        self.blocks, self.layers = blocks, layers
        self.usable = np.ones(len(blocks), dtype=bool)  # layers the method can represent
        self.reps = None
        self._layer_rdms: np.ndarray | None = None  # condensed layer RDMs, built on first use
        if self.batched:
            reps = []
            for k, B in enumerate(
                progress(blocks, desc=f"{name}: {label}s", disable=True if len(blocks) < 4 else None)
            ):
                try:
                    reps.append(self.represent(B))
                except ValueError as err:
                    message = f"{name}: {label} {layers[k]!r}: {err}" if layers[k] is not None else str(err)
                    if on_error == "raise":
                        raise ValueError(message) from err
                    logger.warning("%s (scored NaN)", message)
                    self.usable[k] = False
            self.reps = (stacked(reps) if stack else reps) if reps else None

    @property
    def n_stimuli(self) -> int:
        return int(self.blocks[0].shape[0])

    def represent_layers(self, blocks: list[np.ndarray]) -> Any:
        """The stacked representations of (resampled) layer blocks; None for unbatched methods."""
        return stacked([self.represent(B) for B in blocks]) if self.batched else None

    def scores(self, Y: np.ndarray, reps: Any = None, blocks: list[np.ndarray] | None = None) -> np.ndarray:
        """Scores ``(layer,)`` of one cell's data ``Y`` against every layer (NaN for layers the method
        could not represent); ``reps``/``blocks`` replace the layers (resampled stimuli)."""
        if self.batched:
            reps = self.reps if reps is None else reps
            out = np.full(len(self.blocks), np.nan)
            if reps is not None:
                usable = self.usable if len(out) == self.usable.size and reps is self.reps else slice(None)
                out[usable] = np.asarray(self.method.compare_represented(reps, self.represent(Y)))[:, 0]
            return out
        return np.array([self.method(B, Y) for B in (self.blocks if blocks is None else blocks)], dtype=float)

    def scores_many(self, Ys: list[Any]) -> np.ndarray:
        """Scores ``(layer, len(Ys))`` of every layer against several cells' data in one batched
        call (what :func:`brainalign.metrics` functions return for feature groups)."""
        if not self.batched:
            return np.stack([self.scores(Y) for Y in Ys], axis=1)
        out = np.full((len(self.blocks), len(Ys)), np.nan)
        if self.reps is not None:
            reps_y = [self.represent(Y) for Y in Ys]
            out[self.usable] = np.asarray(self.method.compare_represented(self.reps, reps_y))
        return out

    @property
    def cells_batched(self) -> bool:
        """Whether :meth:`scores_cells` computes the cells' RDMs in batches: an RDM method whose
        brain RDM is a plain ``rsa.rdm`` (its declared ``rdm_metric``), compared by a comparison
        of :data:`brainalign.searchlight.CELL_COMPARE`."""
        from ..searchlight import CELL_COMPARE, CELL_METRICS

        return (
            self.info.kernels == "rdm"
            and self.info.rdm_metric in CELL_METRICS
            and self.method.comparison in CELL_COMPARE
            and self.reps is not None
        )

    def layer_rdms(self) -> np.ndarray:
        """The condensed RDMs ``(usable layer, n(n − 1)/2)`` (float64) of the layers the method could
        represent: ``method.rdm_matrix`` of each layer, computed on the first call and kept.

        Layers do not depend on latency, subject or resample, so a map calls ``rdm_matrix`` once
        per layer however many latencies, chunks of cells and statistics it scores. The cache holds
        ``n_layers · n(n − 1)/2 · 8`` bytes for the Scorer's lifetime (6 layers of 2 000 stimuli:
        96 MB; of 8 000: 1.5 GB), half the square stack that each call built before; squares are
        built one layer at a time.
        """
        if self._layer_rdms is None:
            n = self.n_stimuli
            kept = [B for B, ok in zip(self.blocks, self.usable, strict=True) if ok]
            out = np.empty((len(kept), n * (n - 1) // 2))
            for k, B in enumerate(kept):  # upper triangles row by row: no n²-long index arrays
                out[k] = upper(NUMPY, self.method.rdm_matrix(B)[None])[0]
            self._layer_rdms = out
        return self._layer_rdms

    def square_layer_rdms(self) -> np.ndarray:
        """The square RDMs ``(layer, n, n)`` of every layer, what :mod:`brainalign.stats` resamples:
        the usable layers' from :meth:`layer_rdms` (mirrored, zero diagonal), the others from
        ``method.rdm_matrix``."""
        n = self.n_stimuli
        rows, cols = np.triu_indices(n, 1)
        condensed = iter(self.layer_rdms())
        out = np.zeros((len(self.blocks), n, n))
        for k, ok in enumerate(self.usable):
            if ok:
                out[k, rows, cols] = out[k, cols, rows] = next(condensed)
            else:
                out[k] = self.method.rdm_matrix(self.blocks[k])
        return out

    def scores_cells(
        self, values: np.ndarray, columns: list[np.ndarray], *, memory_budget: float | int | str | None = None
    ) -> np.ndarray:
        """Scores ``(layer, len(columns))`` of every layer against the cells ``values[..., cols]``.

        ``values`` is ``(presentation, neuroid)`` (``(repetition, presentation, neuroid)`` for a
        method that needs trials). With :attr:`cells_batched`, every cell's RDM comes out of
        :func:`brainalign.searchlight.cell_rdms` in chunks of ``memory_budget``, ranked once, and
        is compared with all layers in one product (:func:`brainalign.searchlight.compare_cells`),
        on the backend of the layers' representations; the scores equal :meth:`scores` of each
        cell. Other methods are scored cell by cell. A cell the method cannot score raises
        ``ValueError`` (the caller may then score cell by cell to name it).
        """
        if not self.cells_batched:
            return np.stack([self.scores(values[..., cols]) for cols in columns], axis=1)
        from ..metrics._arrays import resolve_backend
        from ..searchlight import cell_rdms, compare_cells

        be = resolve_backend(None, self.reps)
        metric = self.info.rdm_metric
        Y = np.transpose(values, (1, 2, 0)) if metric == "crossnobis" else values
        chunks = cell_rdms(Y, columns, metric, backend=be, memory_budget=memory_budget)
        out = np.full((len(self.blocks), len(columns)), np.nan)
        out[self.usable] = compare_cells(chunks, self.layer_rdms(), self.method.comparison, backend=be).T
        return out
