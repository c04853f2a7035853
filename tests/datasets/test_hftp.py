"""HFTP corpora: the shared copies and small files written here."""

from __future__ import annotations

import pytest
from brainalign.datasets import hftp


@pytest.mark.shared_data
def test_shared_corpora_load(shared_data):
    syn = hftp.load("syntactic", shared_data / "hftp")
    assert len(syn) == 50 and (syn["n_words"] == 4).all() and syn["stimulus_id"].is_unique
    assert syn["words"].iloc[0] == ("fat", "rat", "sensed", "fear")
    assert syn.attrs["structure"] == "[adjective noun][verb noun]"
    nat = hftp.load("natural", shared_data / "hftp")
    assert len(nat) == 50 and nat["words"].iloc[0] == (
        "With",
        "malice",
        "toward",
        "none",
        "with",
        "charity",
        "toward",
        "all",
    )
    assert nat["text"].iloc[1] == "Tonight, shall we watch the meteor shower together?"  # quotes removed


def test_a_sentence_that_is_not_four_words_is_an_error(tmp_path):
    (tmp_path / "English_syntactic_corpus.csv").write_text("text\nfat rat sensed fear\nwood shelf holds many cans\n")
    with pytest.raises(ValueError, match=r"row 2 .* has 5 words"):
        hftp.load("syntactic", tmp_path, verify=False)
    with pytest.raises(ValueError, match="Allowed values"):
        hftp.load("poetry", tmp_path)
