"""Layer activations from any torch module through forward hooks, batched and cached."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..utils import check_option, logger, soft_import
from ._cache import ActivationCache, InputHasher, hash_callable, hash_model
from ._hooks import check_layers, resolve_device, run_hooks

__all__ = ["extract", "extract_cached"]

_REDUCERS = ("flatten", "channel_mean", "token_mean")


def _reducer(reduce: str | Callable[[Any], Any]) -> tuple[Callable[[Any], Any], str]:
    if callable(reduce):
        return reduce, "callable:" + hash_callable(reduce)
    check_option("reduce", reduce, _REDUCERS)

    def apply(t: Any) -> Any:
        if reduce == "channel_mean" and t.ndim > 2:
            t = t.flatten(2).mean(dim=2)
        elif reduce == "token_mean" and t.ndim > 2:
            t = t.mean(dim=1)
        return t.reshape(t.shape[0], -1)

    return apply, reduce


def extract(
    model: Any,
    stimuli: Any,
    *,
    layers: Sequence[str] | str,
    stimulus_id: Sequence[Any] | None = None,
    batch_size: int = 32,
    device: str | Any = "auto",
    cache: str | os.PathLike | None = None,
    model_name: str | None = None,
    collate: Callable[[list[Any]], Any] | None = None,
    reduce: str | Callable[[Any], Any] = "flatten",
) -> xr.DataArray:
    """Record layer activations of any :class:`torch.nn.Module` through forward hooks.

    Parameters
    ----------
    model : torch.nn.Module
        The network. It is run in eval mode under :func:`torch.inference_mode`; its mode and
        device are restored afterwards.
    stimuli : tensor, array, or sequence
        A tensor/array whose first dim indexes stimuli, or a sequence of items (images,
        strings, ...) that ``collate`` turns into the model's inputs batch by batch.
    layers : sequence of str
        Module names as in ``model.named_modules()`` (see :func:`list_layers`); append
        ``":input"`` to record a module's input instead of its output.
    stimulus_id : sequence, optional
        One unique id per stimulus (default ``0 … n-1``).
    batch_size : int
        Stimuli per forward pass.
    device : str
        ``"auto"`` (CUDA when available), ``"cpu"``, ``"cuda"``, ``"cuda:1"``, ...
    cache : path, optional
        A folder to cache activations in. Entries are keyed by the model's weights and
        architecture, the layer, the exact model inputs (after ``collate``) and ``reduce``, so a
        rerun with the same model and stimuli reads them back without a forward pass, and any
        change recomputes them. No cache unless you name a folder.
    model_name : str, optional
        Stored in the ``model`` coordinate (default: the model's class name).
    collate : callable, optional
        Turns one batch of stimuli (a list, or a slice when ``stimuli`` is a tensor/array) into
        model inputs: a tensor (``model(x)``), a dict (``model(**x)``) or a tuple
        (``model(*x)``). Default: stack tensors/arrays.
    reduce : {"flatten", "channel_mean", "token_mean"} or callable
        How a layer's output ``(batch, ...)`` becomes units: flatten everything; average
        over spatial positions (``(B, C, H, W) → C``); average over tokens
        (``(B, T, D) → D``); or your own function of the output tensor returning
        ``(batch, n_units)``.

    Returns
    -------
    xarray.DataArray
        Activations ``(presentation, unit)`` in float32 with coords ``stimulus_id``, ``model``,
        ``layer``, ``unit_index``; layers in the order given.

    Examples
    --------
    >>> import torch
    >>> from brainalign.models import extract
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> acts = extract(net, torch.randn(10, 4), layers=["1", "2"])
    >>> acts.sizes["unit"]
    10
    """
    torch = soft_import("torch", "model activations")
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}.")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    layers, modules = check_layers(model, layers)
    reduce_fn, reduce_key = _reducer(reduce)
    n = len(stimuli)
    if n == 0:
        raise ValueError("stimuli is empty.")
    ids = np.arange(n) if stimulus_id is None else np.asarray(stimulus_id)
    if ids.shape != (n,):
        raise ValueError(f"stimulus_id must have one id per stimulus ({n}), got shape {ids.shape}.")
    device = resolve_device(device)
    collate = collate or _default_collate

    def batches() -> Iterator[tuple[Any, None]]:
        for start in range(0, n, batch_size):
            chunk = stimuli[start : start + batch_size]
            yield collate(chunk if hasattr(chunk, "shape") else list(chunk)), None

    n_batches = -(-n // batch_size)
    name = model_name or type(model).__name__
    return extract_cached(
        model,
        batches,
        n_batches,
        layers,
        modules,
        post=lambda layer, t, meta: reduce_fn(t).float().cpu().numpy(),
        device=device,
        cache=cache,
        key_parts={"reduce": reduce_key},
        build=lambda values: {"stimulus_id": ("presentation", ids)},
        model_name=name,
        desc=f"extract {name}",
    )


def _default_collate(chunk: Any) -> Any:
    torch = soft_import("torch")
    if isinstance(chunk, torch.Tensor):
        return chunk
    if isinstance(chunk, np.ndarray):
        return (
            torch.from_numpy(np.ascontiguousarray(chunk)).float()
            if chunk.dtype.kind == "f"
            else torch.from_numpy(chunk)
        )
    items = list(chunk)
    if items and isinstance(items[0], torch.Tensor):
        return torch.stack(items)
    try:
        arr = np.stack([np.asarray(x) for x in items])
    except (ValueError, TypeError) as err:
        raise TypeError(
            "Cannot batch these stimuli automatically; pass collate=... that turns a list of stimuli "
            "into the model's inputs."
        ) from err
    return _default_collate(arr)


def extract_cached(
    model: Any,
    batches: Callable[[], Iterator[tuple[Any, Any]]],
    n_batches: int,
    layers: list[str],
    modules: dict[str, Any],
    *,
    post: Callable[[str, Any, Any], np.ndarray],
    device: Any,
    cache: str | os.PathLike | None,
    key_parts: dict[str, Any],
    build: Callable[[dict[str, np.ndarray]], dict[str, Any]],
    model_name: str,
    desc: str,
) -> xr.DataArray:
    """Shared by :func:`extract` and the Hugging Face path: cache lookup, hooks, assembly.

    ``build(values)`` returns the presentation coordinates of the result.
    """
    store = ActivationCache(cache) if cache is not None else None
    keys: dict[str, str] = {}
    cached: dict[str, np.ndarray] = {}
    if store is not None:
        hasher = InputHasher()
        for inputs, meta in batches():
            hasher.update(inputs)
            hasher.update(meta)
        base = {"model": hash_model(model), "inputs": hasher.hexdigest(), **key_parts}
        keys = {layer: store.key(layer=layer, **base) for layer in layers}
        for layer, key in keys.items():
            hit = store.get(key)
            if hit is not None:
                cached[layer] = hit.values
        if cached:
            logger.info("extract: %d of %d layers read from the cache %s", len(cached), len(layers), store.folder)
    todo = {layer: modules[layer] for layer in layers if layer not in cached}
    computed: dict[str, np.ndarray] = {}
    if todo:
        parts: dict[str, list[np.ndarray]] = {layer: [] for layer in todo}
        for batch in run_hooks(model, batches, n_batches, todo, post, device, desc):
            for layer, rows in batch.items():
                parts[layer].append(rows)
        computed = {layer: np.concatenate(p, axis=0) for layer, p in parts.items()}
    if store is not None:
        for layer, values in computed.items():
            store.put(keys[layer], xr.DataArray(values, dims=("row", "unit"), attrs={"layer": layer}))
    values = {layer: cached[layer] if layer in cached else computed[layer] for layer in layers}
    rows = {v.shape[0] for v in values.values()}
    if len(rows) != 1:
        raise RuntimeError(f"Layers returned different numbers of rows: { {k: v.shape for k, v in values.items()} }.")
    blocks, layer_col, index_col = [], [], []
    for layer in layers:
        arr = values[layer]
        blocks.append(arr)
        layer_col.append(np.full(arr.shape[1], layer, dtype=object))
        index_col.append(np.arange(arr.shape[1]))
    coords = build(values)
    stacked = np.concatenate(blocks, axis=1)
    coords.update(
        model=("unit", np.full(stacked.shape[1], model_name, dtype=object)),
        layer=("unit", np.concatenate(layer_col)),
        unit_index=("unit", np.concatenate(index_col)),
    )
    from ..data import validate

    out = xr.DataArray(stacked, dims=("presentation", "unit"), coords=coords, name="activations")
    out.attrs.update(model=model_name, layers=list(layers), **{k: str(v) for k, v in key_parts.items()})
    validate(out, "activations", name="activations")
    return out
