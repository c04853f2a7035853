"""Token sequences of image and audio encoders: CLS, mean over patches/frames, or every token."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ...utils import soft_import
from .._extract import extract_cached
from .._hooks import check_layers, resolve_device
from ._common import encoder_layers, model_label, unflatten_tokens

__all__ = ["extract_sequence", "sequence_ids", "torch_batches"]


def sequence_ids(stimulus_id: Sequence[Any] | None, n: int, batch_size: Any, name: str, item: str) -> np.ndarray:
    """Check ``batch_size`` and that the ``n`` stimuli of argument ``name`` are not empty; return
    their ids: ``stimulus_id`` (one unique id per ``item``) or ``0 … n-1``."""
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    if n == 0:
        raise ValueError(f"{name} is empty.")
    ids = np.arange(n) if stimulus_id is None else np.asarray(stimulus_id)
    if ids.shape != (n,) or len(set(ids.tolist())) != n:
        raise ValueError(f"stimulus_id must have one unique id per {item} ({n}), got shape {ids.shape}.")
    return ids


def extract_sequence(
    model: Any,
    batches: Callable[[], Iterator[tuple[Any, Any]]],
    batch_size: int,
    *,
    ids: np.ndarray,
    layers: Sequence[str] | None,
    pool: str | None,
    n_prefix: Callable[[int], int],
    device: str | Any,
    cache: str | os.PathLike | None,
    model_name: str | None,
    key_parts: dict[str, Any],
    extras: dict[str, Any] | None = None,
    project: Any = None,
    store: str | os.PathLike | None = None,
) -> xr.DataArray:
    """Run an encoder whose layers give ``(batch, tokens, features)`` and pool the tokens.

    ``pool``: ``"cls"`` (token 0), ``"mean"`` (mean of the tokens after the first
    ``n_prefix(n_tokens)``: patches without CLS/register tokens, or every audio frame) or
    ``None`` (every token kept on a ``token`` dim, with an all-True ``token_mask``). ``batches()``
    gives the inputs of ``batch_size`` stimuli at a time; ``device`` and ``model_name`` as the
    public extractors take them.
    """
    if pool is None and (project is not None or store is not None):
        raise ValueError("project and store need pooled rows; pass pool='cls' or 'mean' (not None) with them.")
    layers = list(layers) if layers is not None else encoder_layers(model)
    layers, modules = check_layers(model, layers)
    seen_tokens: set[int] = set()

    def post(layer: str, hidden: Any, meta: Any) -> np.ndarray:
        if hidden.ndim != 3:
            raise ValueError(
                f"Layer {layer!r} gives shape {tuple(hidden.shape)}, not (batch, tokens, features); choose "
                "a transformer block (see brainalign.models.huggingface.encoder_layers(model))."
            )
        n_tokens = int(hidden.shape[1])
        if pool == "cls":
            out = hidden[:, 0]
        elif pool == "mean":
            start = n_prefix(n_tokens)
            if not 0 <= start < n_tokens:
                raise ValueError(f"Layer {layer!r} has {n_tokens} tokens, fewer than the {start} prefix tokens.")
            out = hidden[:, start:].mean(dim=1)
        else:
            seen_tokens.add(n_tokens)
            out = hidden.reshape(hidden.shape[0], -1)
        return out.float().cpu().numpy()

    model_name = model_label(model, model_name)
    out = extract_cached(
        model,
        batches,
        -(-len(ids) // batch_size),
        layers,
        modules,
        post=post,
        device=resolve_device(device),
        cache=cache,
        key_parts={"pool": str(pool), **key_parts},
        coords={"stimulus_id": ("presentation", ids)},
        model_name=model_name,
        desc=f"extract {model_name}",
        project=project,
        store=store,
    )
    out.attrs.update(extras or {})
    if pool is not None:
        return out
    if not seen_tokens:  # every layer came from the cache: recover the token count from the widths
        widths = {int((out["layer"] == layer).sum()) for layer in layers}
        seen_tokens = {w // d for w in widths for d in _feature_sizes(model) if w % d == 0} or seen_tokens
    if len(seen_tokens) != 1:
        raise ValueError(
            f"The layers have different numbers of tokens {sorted(seen_tokens)}; keep tokens (pool=None) only "
            "for layers of one sequence length, or pool them."
        )
    n_tokens = seen_tokens.pop()
    return unflatten_tokens(out, n_tokens, np.ones((out.sizes["presentation"], n_tokens), dtype=bool))


def _feature_sizes(model: Any) -> list[int]:
    config = model.config
    return [v for v in (getattr(config, "hidden_size", None), getattr(config, "d_model", None)) if isinstance(v, int)]


def torch_batches(items: Any, batch_size: int, to_inputs: Callable[[Any], Any]) -> Callable[[], Iterator]:
    """``batches()`` over consecutive slices of ``items``, each turned into model inputs by ``to_inputs``."""
    soft_import("torch")

    def batches() -> Iterator[tuple[Any, None]]:
        for start in range(0, len(items), batch_size):
            yield to_inputs(items[start : start + batch_size]), None

    return batches
