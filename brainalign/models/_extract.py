"""Layer activations from any torch module through forward hooks, batched and cached."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..io.arrays import load
from ..utils import check_option, logger, soft_import
from ._cache import ActivationCache, InputHasher, hash_callable, hash_model
from ._hooks import check_layers, resolve_device, run_hooks
from ._projection import Projection, as_projection
from ._stream import unit_coords, write_stream

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
    project: Projection | Mapping[str, Any] | None = None,
    store: str | os.PathLike | None = None,
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
    project : Projection or dict, optional
        Reduce each layer to ``n_components`` units as it is extracted
        (:class:`brainalign.models.Projection`, or a dict of its arguments such as
        ``{"method": "sparse_random", "n_components": 512, "random_state": 0}`` or
        ``{"method": "pca", "n_components": 100, "fit_stimuli": 200}``). PCA costs one extra
        forward pass (over all stimuli, keeping the ``fit_stimuli`` rows). The projection is part
        of the cache key.
    store : path, optional
        A ``.zarr`` path: each batch of every layer is appended to it as it is computed, so the
        layers are never all in memory, and the result is the store read back lazily
        (:func:`brainalign.io.arrays.load` with ``lazy=True``). An existing brainalign zarr
        store there is replaced (atomically, when the new one is complete).

    Returns
    -------
    xarray.DataArray
        Activations ``(presentation, unit)`` in float32 with coords ``stimulus_id``, ``model``,
        ``layer``, ``unit_index``; layers in the order given (dask-backed with ``store``).

    Examples
    --------
    >>> import torch
    >>> from brainalign.models import extract
    >>> net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> acts = extract(net, torch.randn(10, 4), layers=["1", "2"])
    >>> acts.sizes["unit"]
    10
    >>> small = extract(net, torch.randn(10, 4), layers=["1", "2"], project={"method": "pca", "n_components": 3})
    >>> small.sizes["unit"]  # layer "1" (8 units) → 3 components; layer "2" (2 units) is kept
    5
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
        coords={"stimulus_id": ("presentation", ids)},
        project=project,
        store=store,
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
    coords: dict[str, Any],
    model_name: str,
    desc: str,
    project: Projection | Mapping[str, Any] | None = None,
    store: str | os.PathLike | None = None,
) -> xr.DataArray:
    """Shared by :func:`extract` and the Hugging Face paths: cache lookup, projection, hooks, assembly.

    ``coords`` are the presentation coordinates of the result (``stimulus_id`` first: one per
    row). With ``store`` every batch is appended to that zarr store as it is computed and the
    result is read back lazily from it.
    """
    from ..data import validate

    projection = as_projection(project)
    if projection is not None:
        key_parts = {**key_parts, "project": projection.key()}
    n_rows = len(coords["stimulus_id"][1])
    disk = ActivationCache(cache) if cache is not None else None
    keys: dict[str, str] = {}
    cached: dict[str, xr.DataArray] = {}
    if disk is not None:
        hasher = InputHasher()
        for inputs, meta in batches():
            hasher.update(inputs)
            hasher.update(meta)
        base = {"model": hash_model(model), "inputs": hasher.hexdigest(), **key_parts}
        keys = {layer: disk.key(layer=layer, **base) for layer in layers}
        for layer, key in keys.items():
            hit = disk.get(key, lazy=store is not None)
            if hit is not None:
                cached[layer] = hit
        if cached:
            logger.info("extract: %d of %d layers read from the cache %s", len(cached), len(layers), disk.folder)
    todo = {layer: modules[layer] for layer in layers if layer not in cached}
    if projection is not None and todo:
        post = _projected(post, projection, model, batches, n_batches, todo, device, desc, n_rows)
    attrs = {"model": model_name, "layers": list(layers), **{k: str(v) for k, v in key_parts.items()}}

    def parts() -> Iterator[dict[str, np.ndarray]]:
        """Every layer's rows, batch by batch: computed ones from the hooks, cached ones sliced."""
        offset = 0
        source = run_hooks(model, batches, n_batches, todo, post, device, desc) if todo else None
        while offset < n_rows:
            batch = next(source) if source is not None else {}
            rows = next(iter(batch.values())).shape[0] if batch else min(1024, n_rows - offset)
            for layer, hit in cached.items():
                batch[layer] = np.asarray(
                    hit.values[offset : offset + rows] if store is None else hit[offset : offset + rows]
                )
            offset += rows
            yield batch

    if store is not None:
        path = write_stream(store, parts(), layers, coords, model_name, attrs)
        out = load(path, lazy=True)
        if disk is not None:  # one computed layer in memory at a time
            for layer in todo:
                values = out.sel(unit=out["layer"] == layer).values
                disk.put(keys[layer], xr.DataArray(values, dims=("row", "unit"), attrs={"layer": layer}))
        validate(out, "activations", name="activations")
        return out
    collected: dict[str, list[np.ndarray]] = {layer: [] for layer in layers}
    for batch in parts():
        for layer in layers:
            collected[layer].append(batch[layer])
    values = {layer: np.concatenate(p, axis=0) for layer, p in collected.items()}
    if disk is not None:
        for layer in todo:
            disk.put(keys[layer], xr.DataArray(values[layer], dims=("row", "unit"), attrs={"layer": layer}))
    widths = {layer: v.shape[1] for layer, v in values.items()}
    out = xr.DataArray(
        np.concatenate([values[layer] for layer in layers], axis=1),
        dims=("presentation", "unit"),
        coords={**coords, **unit_coords(widths, model_name)},
        name="activations",
        attrs=attrs,
    )
    validate(out, "activations", name="activations")
    return out


def _projected(
    post: Callable[[str, Any, Any], np.ndarray],
    projection: Projection,
    model: Any,
    batches: Callable[[], Iterator[tuple[Any, Any]]],
    n_batches: int,
    modules: dict[str, Any],
    device: Any,
    desc: str,
    n_rows: int,
) -> Callable[[str, Any, Any], np.ndarray]:
    """``post`` followed by each layer's projection; PCA is fitted first, on one pass over the fit rows."""
    fitted: dict[str, Projection] = {}
    if projection.needs_fit_rows:
        rows = projection.fit_rows(n_rows)
        kept: dict[str, list[np.ndarray]] = {layer: [] for layer in modules}
        offset = 0
        for batch in run_hooks(model, batches, n_batches, modules, post, device, f"{desc} (fit {projection.method})"):
            size = next(iter(batch.values())).shape[0]
            pick = rows[(rows >= offset) & (rows < offset + size)] - offset
            for layer, values in batch.items():
                kept[layer].append(values[pick])
            offset += size
        fitted = {layer: projection.fit(np.concatenate(v, axis=0)) for layer, v in kept.items()}

    def post_projected(layer: str, tensor: Any, meta: Any) -> np.ndarray:
        values = post(layer, tensor, meta)
        if layer not in fitted:  # a random projection needs the width only
            fitted[layer] = projection.fit(values[:0])
        return fitted[layer].transform(values)

    return post_projected
