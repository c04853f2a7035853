"""Model activations: forward hooks on any torch module; Hugging Face text, image and audio paths.

torch and transformers are imported only when these functions run.
"""

from ._extract import extract
from ._hooks import list_layers, resolve_device
from ._projection import Projection

__all__ = [
    "Projection",
    "extract",
    "extract_audio",
    "extract_images",
    "extract_text",
    "huggingface",
    "list_layers",
    "mlp_layers",
    "resolve_device",
    "transformer_layers",
]


def __getattr__(name: str):
    import importlib

    if name in ("extract_audio", "extract_images", "extract_text", "mlp_layers", "transformer_layers"):
        return getattr(importlib.import_module(f"{__name__}.huggingface"), name)
    if name == "huggingface":
        return importlib.import_module(f"{__name__}.huggingface")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
