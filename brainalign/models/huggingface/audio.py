"""Hugging Face audio encoders (wav2vec2, HuBERT, Whisper's encoder): frame tokens, pooled or kept."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ...utils import check_option, fill_doc, soft_import
from ._sequence import extract_sequence, sequence_ids, torch_batches

__all__ = ["extract_audio"]

_POOLS = ("mean", None)


@fill_doc
def extract_audio(
    model: Any,
    waveforms: Any,
    sampling_rate: int,
    *,
    feature_extractor: Any = None,
    pool: str | None = "mean",
    layers: Sequence[str] | None = None,
    stimulus_id: Sequence[Any] | None = None,
    batch_size: int = 8,
    device: str | Any = "auto",
    cache: str | os.PathLike | None = None,
    model_name: str | None = None,
    project: Any = None,
    store: str | os.PathLike | None = None,
) -> xr.DataArray:
    """Activations of a Hugging Face audio encoder (wav2vec2, HuBERT, Whisper encoder) per sound.

    Parameters
    ----------
    model : transformers model
        An audio encoder: one taking ``input_values`` (``Wav2Vec2Model``, ``HubertModel``) or
        ``input_features`` (``WhisperModel(...).get_encoder()``).
    waveforms : array (n_sounds, n_samples) or sequence of 1-D arrays
        Mono waveforms, all of the same length (crop or pad them first: padded frames would
        enter the frame mean).
    sampling_rate : int
        Samples per second of ``waveforms``; the feature extractor checks it against the
        rate the model was trained at.
    feature_extractor : transformers feature extractor, optional
        E.g. ``AutoFeatureExtractor.from_pretrained(...)``; run on each batch. Required for
        models taking ``input_features`` (Whisper's log-mel spectrogram, padded to its window).
        Without it the raw waveforms are the ``input_values``.
    pool : {"mean", None}
        ``"mean"``: the mean over frames; ``None``: every frame kept on a ``token`` dim.
    layers : sequence of str, optional
        Default :func:`encoder_layers`: the first block's input (``hidden_states[0]``) and every
        block's output (``hidden_states[1:]``).
    stimulus_id : sequence, optional
        One id per sound (default ``0 … n-1``).
    %(extract_options)s

    Returns
    -------
    xarray.DataArray
        Activations ``(presentation, unit)``, or ``(presentation, token, unit)`` with
        ``pool=None``; ``sampling_rate`` in attrs.

    Examples
    --------
    >>> import numpy as np, transformers
    >>> from brainalign.models import huggingface as hf
    >>> cfg = transformers.Wav2Vec2Config(hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
    ...     intermediate_size=16, conv_dim=(8, 8), conv_stride=(5, 2), conv_kernel=(10, 3),
    ...     num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=2)
    >>> w2v = transformers.Wav2Vec2Model(cfg)
    >>> sounds = np.random.default_rng(0).standard_normal((2, 800)).astype("float32")
    >>> acts = hf.extract_audio(w2v, sounds, 16000, device="cpu")
    >>> acts.sizes["presentation"], acts.sizes["unit"]
    (2, 48)
    """
    torch = soft_import("torch", "Hugging Face models")
    check_option("pool", pool, _POOLS)
    if not isinstance(sampling_rate, (int, np.integer)) or sampling_rate <= 0:
        raise ValueError(f"sampling_rate must be a positive integer (Hz), got {sampling_rate!r}.")
    sounds = [np.asarray(w, dtype=np.float32) for w in waveforms]
    ids = sequence_ids(stimulus_id, len(sounds), batch_size, "waveforms", "waveform")
    if any(w.ndim != 1 for w in sounds) or len({len(w) for w in sounds}) != 1:
        raise ValueError(
            "waveforms must be 1-D (mono) and all of one length, got shapes "
            f"{sorted({w.shape for w in sounds})[:4]}; crop or pad them to one length first."
        )
    if not all(np.isfinite(w).all() for w in sounds):
        raise ValueError("waveforms contain NaN or infinite samples.")
    input_name = model.main_input_name
    if feature_extractor is None:
        if input_name != "input_values":
            raise ValueError(
                f"{type(model).__name__} takes {input_name!r}, not raw waveforms: pass "
                "feature_extractor=AutoFeatureExtractor.from_pretrained(...)."
            )

        def to_inputs(chunk: list[np.ndarray]) -> dict[str, Any]:
            return {"input_values": torch.from_numpy(np.stack(chunk))}
    else:

        def to_inputs(chunk: list[np.ndarray]) -> dict[str, Any]:
            enc = feature_extractor(chunk, sampling_rate=int(sampling_rate), return_tensors="pt")
            return {input_name: enc[input_name]}

    return extract_sequence(
        model,
        torch_batches(sounds, batch_size, to_inputs),
        batch_size,
        ids=ids,
        layers=layers,
        pool=pool,
        n_prefix=lambda n_tokens: 0,
        device=device,
        cache=cache,
        model_name=model_name,
        project=project,
        store=store,
        key_parts={"kind": "audio", "sampling_rate": int(sampling_rate)},
        extras={"sampling_rate": int(sampling_rate)},
    )
