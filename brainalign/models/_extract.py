"""Layer activations from any torch module through forward hooks, batched and cached."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ..utils import check_option, close_matches, logger, progress, soft_import
from ._cache import ActivationCache, InputHasher, hash_callable, hash_model

__all__ = ["extract", "list_layers", "resolve_device"]

_REDUCERS = ("flatten", "channel_mean", "token_mean")
_INPUT_SUFFIX = ":input"


def resolve_device(device: str | Any = "auto") -> Any:
    """``"auto"`` → ``"cuda"`` when torch sees a GPU, else ``"cpu"``; other values pass through."""
    torch = soft_import("torch", "model activations")
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}.") from err


def list_layers(model: Any, *, leaves_only: bool = False) -> list[str]:
    """Names of the modules of ``model`` that :func:`extract` can record.

    Append ``":input"`` to a name to record what goes *into* that module instead of what comes
    out (e.g. ``"model.layers.3.mlp.down_proj:input"``: the MLP neurons of a Llama block).

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Sequential(torch.nn.Linear(2, 3), torch.nn.ReLU())
    >>> list_layers(net)
    ['0', '1']
    """
    names = []
    for name, module in model.named_modules():
        if not name:
            continue
        if leaves_only and any(True for _ in module.children()):
            continue
        names.append(name)
    return names


def _check_layers(model: Any, layers: Sequence[str] | str) -> tuple[list[str], dict[str, Any]]:
    if isinstance(layers, str):
        layers = [layers]
    layers = list(layers)
    if not layers:
        raise ValueError("layers is empty; name at least one module (see brainalign.models.list_layers(model)).")
    if len(set(layers)) != len(layers):
        raise ValueError(f"layers has duplicate names: {layers}.")
    modules = dict(model.named_modules())
    found = {}
    for layer in layers:
        if not isinstance(layer, str):
            raise TypeError(f"layer names must be strings, got {layer!r}.")
        base = layer[: -len(_INPUT_SUFFIX)] if layer.endswith(_INPUT_SUFFIX) else layer
        if base not in modules:
            raise ValueError(
                f"Unknown layer {layer!r} in layers: {type(model).__name__} has no module of that name."
                f"{close_matches(base, [n for n in modules if n])} List the valid names with "
                "brainalign.models.list_layers(model)."
            )
        found[layer] = modules[base]
    return layers, found


def _first_tensor(output: Any, layer: str) -> Any:
    torch = soft_import("torch")
    if isinstance(output, torch.Tensor):
        return output
    if isinstance(output, (tuple, list)) and output and isinstance(output[0], torch.Tensor):
        return output[0]
    if isinstance(output, dict) and output:
        first = next(iter(output.values()))
        if isinstance(first, torch.Tensor):
            return first
    raise TypeError(
        f"Layer {layer!r} returned {type(output).__name__}, not a tensor; choose a module whose output "
        "(or first output) is a tensor."
    )


def _to_device(obj: Any, device: Any) -> Any:
    if hasattr(obj, "to") and hasattr(obj, "detach"):
        return obj.to(device)
    if hasattr(obj, "items"):  # dict, or a transformers BatchEncoding
        return {k: _to_device(v, device) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_device(v, device) for v in obj)
    return obj


def _call(model: Any, inputs: Any) -> Any:
    if isinstance(inputs, dict) or hasattr(inputs, "keys"):
        return model(**inputs)
    if isinstance(inputs, tuple):
        return model(*inputs)
    return model(inputs)


@contextlib.contextmanager
def _hooked(modules: dict[str, Any], store: dict[str, Any]) -> Iterator[None]:
    handles = []

    def make_hook(layer: str, want_input: bool) -> Callable[..., None]:
        if want_input:

            def pre_hook(module: Any, args: Any, kwargs: Any = None) -> None:
                store[layer] = _first_tensor(args, layer)

            return pre_hook

        def hook(module: Any, args: Any, output: Any) -> None:
            store[layer] = _first_tensor(output, layer)

        return hook

    try:
        for layer, module in modules.items():
            if layer.endswith(_INPUT_SUFFIX):
                handles.append(module.register_forward_pre_hook(make_hook(layer, True)))
            else:
                handles.append(module.register_forward_hook(make_hook(layer, False)))
        yield
    finally:
        for handle in handles:
            handle.remove()


@contextlib.contextmanager
def _evaluating(model: Any, device: Any) -> Iterator[None]:
    """Eval mode on ``device`` inside the block; the model's mode and device are restored after."""
    was_training = model.training
    params = list(model.parameters())
    old_device = params[0].device if params else None
    model.eval()
    if old_device is not None and old_device != device:
        model.to(device)
    try:
        yield
    finally:
        if old_device is not None and old_device != device:
            model.to(old_device)
        model.train(was_training)


def run_hooks(
    model: Any,
    batches: Callable[[], Iterator[tuple[Any, Any]]],
    n_batches: int,
    modules: dict[str, Any],
    post: Callable[[str, Any, Any], np.ndarray],
    device: Any,
    desc: str,
) -> dict[str, np.ndarray]:
    """Run ``model`` over ``batches()`` (pairs of inputs and metadata) and collect every layer.

    ``post(layer, tensor, meta)`` turns one batch's captured tensor into a ``(rows, units)``
    numpy array (reduction or token pooling). Returns ``{layer: (n_rows, n_units)}``.
    """
    torch = soft_import("torch")
    collected: dict[str, list[np.ndarray]] = {layer: [] for layer in modules}
    store: dict[str, Any] = {}
    with _evaluating(model, device), _hooked(modules, store), torch.inference_mode():
        for inputs, meta in progress(batches(), desc=desc, total=n_batches, unit="batch"):
            store.clear()
            _call(model, _to_device(inputs, device))
            for layer in modules:
                if layer not in store:
                    raise RuntimeError(
                        f"Layer {layer!r} was not called during the forward pass; choose a module the "
                        "model uses for these inputs."
                    )
                collected[layer].append(np.asarray(post(layer, store[layer], meta), dtype=np.float32))
    return {layer: np.concatenate(parts, axis=0) for layer, parts in collected.items()}


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
    layers, modules = _check_layers(model, layers)
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
    return _extract_cached(
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


def _extract_cached(
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
    computed = run_hooks(model, batches, n_batches, todo, post, device, desc) if todo else {}
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
