"""HFTP syntactic stimulus corpora (An et al., NeurIPS 2025): four-word sentences for frequency tagging.

``load("syntactic")`` gives the 50 English four-word sentences with the structure
``[adjective noun][verb noun]`` (two two-word phrases per sentence); ``load("natural")`` the 50
natural eight-word English sentences the HFTP authors use as a control corpus.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from brainalign.utils import check_option

from .._fetch import fetch_files, resolve_files

__all__ = ["BASE_URL", "CORPORA", "fetch", "load"]

#: The HFTP repository's data folder at the commit the checksums were taken from.
BASE_URL = "https://raw.githubusercontent.com/LilTiger/HFTP/1b03dd4ee390c40e078b2271b871491bb85a0154/data"
#: Corpus name → (file, words per sentence).
CORPORA = {
    "syntactic": ("English_syntactic_corpus.csv", 4),
    "natural": ("English_8-naturale.csv", 8),
}
_EDGE_PUNCT = re.compile(r"^[\W_]+|[\W_]+$")


def fetch(data_dir: str | os.PathLike | None = None) -> Path:
    """Download both corpora (4 kB) into ``<data_dir>/hftp`` and return that folder."""
    files = [f for f, _ in CORPORA.values()]
    paths = fetch_files("hftp", files, base_url=BASE_URL, data_dir=data_dir)
    return next(iter(paths.values())).parent


def load(
    corpus: str = "syntactic",
    path: str | os.PathLike | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    verify: bool = True,
) -> pd.DataFrame:
    """Load an HFTP corpus as a table of sentences and their words.

    Parameters
    ----------
    corpus : {"syntactic", "natural"}
        Four-word syntactic sentences, or natural eight-word sentences.
    path : path, optional
        Local folder holding the CSV files. Default: the cache, downloading what is missing.
    data_dir : path, optional
        Cache folder (default ``$BRAINALIGN_DATA`` or ``~/brainalign_data``).
    verify : bool
        Check the file against the checksum list.

    Returns
    -------
    pandas.DataFrame
        One row per sentence: ``stimulus_id`` (``"syntactic-01"``...), ``text``, ``words`` (a
        tuple of words, surrounding punctuation removed) and ``n_words``. ``attrs`` hold the
        corpus name, the words per sentence and, for the syntactic corpus, its structure.

    Raises
    ------
    ValueError
        A sentence of the syntactic corpus that does not have exactly four words (naming the
        file and the row).

    Examples
    --------
    >>> from brainalign.datasets import hftp
    >>> sentences = hftp.load("syntactic", "../shared/data/hftp")  # doctest: +SKIP
    >>> sentences["words"].iloc[0]  # doctest: +SKIP
    ('fat', 'rat', 'sensed', 'fear')

    References
    ----------
    An et al. (2025). Hierarchical Frequency Tagging Probe (HFTP): a unified approach to
    investigate syntactic structure representations in large language models and the human
    brain. NeurIPS 2025. Ding N., Melloni L., Zhang H., Tian X., Poeppel D. (2016). Cortical
    tracking of hierarchical linguistic structures in connected speech. Nat. Neurosci. 19:158-164.
    """
    check_option("corpus", corpus, tuple(CORPORA))
    fname, n_words = CORPORA[corpus]
    file = resolve_files("hftp", [fname], path=path, base_url=BASE_URL, data_dir=data_dir, verify=verify)[fname]
    # One sentence per line under a "text" header; the files quote some sentences that hold
    # commas but not others, so they are read as lines rather than as CSV.
    lines = [ln.strip() for ln in Path(file).read_text(encoding="utf-8").splitlines()]
    if not lines or lines[0].lower() != "text":
        raise ValueError(f"{str(file)!r} must start with a 'text' header line, then one sentence per line.")
    texts = pd.Series([ln[1:-1] if len(ln) > 1 and ln[0] == ln[-1] == '"' else ln for ln in lines[1:] if ln])
    words = [tuple(w for w in (_EDGE_PUNCT.sub("", tok) for tok in t.split()) if w) for t in texts]
    if corpus == "syntactic":
        bad = [i for i, w in enumerate(words) if len(w) != n_words]
        if bad:
            raise ValueError(
                f"{str(file)!r}: row {bad[0] + 1} ({texts.iloc[bad[0]]!r}) has {len(words[bad[0]])} words; every "
                f"sentence of the syntactic corpus must have {n_words} ([adjective noun][verb noun])."
            )
    out = pd.DataFrame(
        {
            "stimulus_id": [f"{corpus}-{i + 1:02d}" for i in range(len(texts))],
            "text": texts.to_list(),
            "words": words,
            "n_words": [len(w) for w in words],
        }
    )
    out.attrs.update(corpus=corpus, words_per_sentence=n_words, source=str(file))
    if corpus == "syntactic":
        out.attrs["structure"] = "[adjective noun][verb noun]"
    return out
