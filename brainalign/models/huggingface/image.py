"""Hugging Face image encoders (ViT, CLIP vision, DINOv2): CLS, mean patch or every patch token."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ...utils import check_option, fill_doc, soft_import
from ._sequence import extract_sequence, sequence_ids, torch_batches

__all__ = ["extract_images"]

_POOLS = ("cls", "mean", None)


@fill_doc
def extract_images(
    model: Any,
    images: Any,
    *,
    processor: Any = None,
    pool: str | None = "cls",
    layers: Sequence[str] | None = None,
    stimulus_id: Sequence[Any] | None = None,
    batch_size: int = 32,
    device: str | Any = "auto",
    cache: str | os.PathLike | None = None,
    model_name: str | None = None,
    project: Any = None,
    store: str | os.PathLike | None = None,
) -> xr.DataArray:
    """Activations of a Hugging Face vision transformer (ViT, CLIP vision tower, DINOv2) per image.

    Parameters
    ----------
    model : transformers model
        An image encoder taking ``pixel_values`` (``ViTModel``, ``CLIPVisionModel``,
        ``Dinov2Model``, ...).
    images : sequence or array
        With ``processor``: anything it accepts, one item per image (PIL images, ``(H, W, 3)``
        uint8 arrays, ...). Without: preprocessed pixels, a float array or tensor
        ``(n_images, 3, H, W)``, passed to the model as they are.
    processor : transformers image processor, optional
        E.g. ``AutoImageProcessor.from_pretrained(...)``; run on each batch.
    pool : {"cls", "mean", None}
        ``"cls"``: the first token; ``"mean"``: the mean of the patch tokens (the last
        ``(H / patch) × (W / patch)`` tokens, so CLS and register tokens are left out);
        ``None``: every token, kept on a ``token`` dim (CLS first, then patches row by row).
    layers : sequence of str, optional
        Module names; default :func:`encoder_layers`: the first block's input (the patch
        embeddings, ``hidden_states[0]``) and every block's output (``hidden_states[1:]``).
    stimulus_id : sequence, optional
        One id per image (default ``0 … n-1``).
    %(extract_options)s

    Returns
    -------
    xarray.DataArray
        Activations ``(presentation, unit)`` (``(presentation, token, unit)`` with
        ``pool=None``, with an all-True ``token_mask``), schema of
        :func:`brainalign.data.validate` ``"activations"``.

    Examples
    --------
    >>> import torch, transformers
    >>> from brainalign.models import huggingface as hf
    >>> cfg = transformers.ViTConfig(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
    ...                              intermediate_size=16, image_size=16, patch_size=8)
    >>> vit = transformers.ViTModel(cfg)
    >>> acts = hf.extract_images(vit, torch.randn(3, 3, 16, 16), pool="mean", device="cpu")
    >>> acts.sizes["presentation"], sorted(set(acts["layer"].values))
    (3, ['layers.0', 'layers.0:input', 'layers.1'])
    >>> hf.extract_images(vit, torch.randn(3, 3, 16, 16), pool=None, device="cpu").sizes["token"]
    5
    """
    torch = soft_import("torch", "Hugging Face models")
    check_option("pool", pool, _POOLS)
    ids = sequence_ids(stimulus_id, len(images), batch_size, "images", "image")
    if processor is None:
        pixels = torch.as_tensor(np.asarray(images) if not isinstance(images, torch.Tensor) else images)
        if pixels.ndim != 4 or not pixels.is_floating_point():
            raise ValueError(
                f"images must be float pixels (n_images, channels, height, width) without a processor, got "
                f"{tuple(pixels.shape)} {pixels.dtype}; pass processor=AutoImageProcessor.from_pretrained(...)."
            )
        pixels = pixels.float()

        def to_inputs(chunk: Any) -> dict[str, Any]:
            return {"pixel_values": chunk}

        items: Any = pixels
    else:

        def to_inputs(chunk: Any) -> dict[str, Any]:
            return {"pixel_values": processor(images=list(chunk), return_tensors="pt")["pixel_values"]}

        items = images if isinstance(images, (np.ndarray, torch.Tensor)) else list(images)
    patch = model.config.patch_size
    shapes: list[tuple[int, int]] = []

    def batches():
        for inputs, meta in torch_batches(items, batch_size, to_inputs)():
            shapes.append(tuple(inputs["pixel_values"].shape[-2:]))
            yield inputs, meta

    def n_prefix(n_tokens: int) -> int:
        h, w = shapes[-1]
        return n_tokens - (h // patch) * (w // patch)

    return extract_sequence(
        model,
        batches,
        batch_size,
        ids=ids,
        layers=layers,
        pool=pool,
        n_prefix=n_prefix,
        device=device,
        cache=cache,
        model_name=model_name,
        project=project,
        store=store,
        key_parts={"kind": "image"},
    )
