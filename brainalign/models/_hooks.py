"""Forward hooks on any torch module: devices, layer names, and one pass over the batches."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import numpy as np

from ..utils import close_matches, progress, soft_import

__all__ = ["check_layers", "list_layers", "resolve_device", "run_hooks"]

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


def check_layers(model: Any, layers: Sequence[str] | str) -> tuple[list[str], dict[str, Any]]:
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

            def pre_hook(module: Any, args: Any, kwargs: Any) -> None:
                # The first positional input, else the first keyword input (hidden_states=...).
                store[layer] = _first_tensor(args if args else kwargs.get("hidden_states", kwargs), layer)

            return pre_hook

        def hook(module: Any, args: Any, output: Any) -> None:
            store[layer] = _first_tensor(output, layer)

        return hook

    try:
        for layer, module in modules.items():
            if layer.endswith(_INPUT_SUFFIX):
                handles.append(module.register_forward_pre_hook(make_hook(layer, True), with_kwargs=True))
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
) -> Iterator[dict[str, np.ndarray]]:
    """Run ``model`` over ``batches()`` (pairs of inputs and metadata), one batch at a time.

    ``post(layer, tensor, meta)`` turns one batch's captured tensor into a ``(rows, units)``
    numpy array (reduction or token pooling). Yields ``{layer: (rows, units)}`` per batch, so
    a caller can write each batch away instead of holding every layer.
    """
    torch = soft_import("torch")
    store: dict[str, Any] = {}
    with _evaluating(model, device), _hooked(modules, store), torch.inference_mode():
        for inputs, meta in progress(batches(), desc=desc, total=n_batches, unit="batch"):
            store.clear()
            _call(model, _to_device(inputs, device))
            out = {}
            for layer in modules:
                if layer not in store:
                    raise RuntimeError(
                        f"Layer {layer!r} was not called during the forward pass; choose a module the "
                        "model uses for these inputs."
                    )
                out[layer] = np.asarray(post(layer, store[layer], meta), dtype=np.float32)
            store.clear()
            yield out
