"""Hugging Face transformers: text, image and audio models in, activations out.

Text (:func:`extract_text`): sub-word tokens are pooled back to the words of the text
(whitespace-separated words) through the fast tokenizer's character offsets, so this works the same
for WordPiece (BERT), byte-level BPE (GPT-2) and SentencePiece (Llama) tokenizers.

torch and transformers are imported only when these functions run.
"""

from ._common import encoder_layers, load, mlp_layers, transformer_layers
from .audio import extract_audio
from .image import extract_images
from .text import as_texts, extract_text

__all__ = [
    "as_texts",
    "encoder_layers",
    "extract_audio",
    "extract_images",
    "extract_text",
    "load",
    "mlp_layers",
    "transformer_layers",
]
