"""Stimuli: the corpus, the word streams (trials) and their controls, the tagged rates."""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ...utils import check_count, check_option, check_random_state, validate_type
from ._common import check_rate, split_words

_CONTROLS = (None, "shuffled", "within_sentence")


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
    >>> from brainalign.probes import frequency_tagging as ft
    >>> ft.read_corpus(["fat rat sensed fear", "wood shelf holds cans"])[1]
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
    return split_words(texts, "corpus")


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
    >>> from brainalign.probes import frequency_tagging as ft
    >>> corpus = ["fat rat sensed fear", "wood shelf holds cans", "tan girls drove trucks"]
    >>> trials = ft.make_trials(corpus, n_trials=2, n_sentences=3)
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
    validate_type("column", column, str)
    sentences = read_corpus(corpus, column=column)
    n_trials = check_count("n_trials", n_trials, 1)
    if n_words is not None:
        n_words = check_count("n_words", n_words, 1)
    word_rate = check_rate("word_rate", word_rate)
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
    >>> from brainalign.probes import frequency_tagging as ft
    >>> r = ft.natural_rates(8)
    >>> r["sentence"], [round(f, 3) for f in r["phrase"]]
    (0.5, [2.0, 1.333, 1.0, 0.8, 0.667, 0.571])
    """
    n_words = check_count("n_words", n_words, 3)
    word_rate = check_rate("word_rate", word_rate)
    return {"sentence": word_rate / n_words, "phrase": [word_rate / k for k in range(2, n_words)]}
