"""Cache folder resolution, checksum lists (installed as package data) and cached downloads."""

from __future__ import annotations

import shutil

import pytest
from brainalign.datasets import _fetch

from brainalign import datasets


def test_data_dir_argument_then_env_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAINALIGN_DATA", str(tmp_path / "env"))
    assert datasets.get_data_dir(tmp_path / "arg") == tmp_path / "arg"
    assert datasets.get_data_dir() == tmp_path / "env"
    monkeypatch.delenv("BRAINALIGN_DATA")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert datasets.get_data_dir() == tmp_path / "home" / "brainalign_data"


@pytest.mark.parametrize("name", datasets.list_datasets())
def test_every_dataset_has_a_card_and_a_checksum_list(name):
    from importlib import resources

    sums = datasets.read_checksums(name)
    assert sums and all(d.split(":")[0] in ("sha256", "md5") for d in sums.values())
    card = resources.files(f"brainalign.datasets.{name}").joinpath("README.md").read_text()
    for heading in ("Citation", "Licence", "Size"):
        assert heading in card
    assert callable(getattr(datasets, name).load) and callable(getattr(datasets, name).fetch)


@pytest.mark.shared_data
def test_cached_files_with_the_right_checksum_are_not_downloaded(tmp_path, shared_data):
    cache = tmp_path / "cache" / "hftp"
    cache.mkdir(parents=True)
    for f in ("English_syntactic_corpus.csv", "English_8-naturale.csv"):
        shutil.copy(shared_data / "hftp" / f, cache / f)
    # No network here: pooch only returns the cached, verified paths.
    assert datasets.hftp.fetch(data_dir=tmp_path / "cache") == cache
    assert len(datasets.hftp.load("natural", data_dir=tmp_path / "cache")) == 50


@pytest.mark.shared_data
def test_local_copy_is_verified_against_the_checksums(tmp_path, shared_data):
    copy = tmp_path / "hftp"
    shutil.copytree(shared_data / "hftp", copy)
    with open(copy / "English_syntactic_corpus.csv", "a") as f:
        f.write("one more line\n")
    with pytest.raises(ValueError, match=r"English_syntactic_corpus\.csv.*does not match its checksum"):
        datasets.hftp.load("syntactic", copy)
    with pytest.raises(FileNotFoundError, match="lacks"):
        _fetch.local_files("hftp", tmp_path, ["English_8-naturale.csv"], verify=False)


def test_resolve_files_local_copy_with_optional_parts(tmp_path):
    required = "derivatives/preprocessed/preprocessed_P1-epo.fif"
    optional = [
        "derivatives/preprocessed/preprocessed_P1-epo-1.fif",
        "derivatives/preprocessed/preprocessed_P1-epo-2.fif",
    ]
    (tmp_path / "derivatives" / "preprocessed").mkdir(parents=True)
    (tmp_path / required).write_bytes(b"x")
    (tmp_path / optional[0]).write_bytes(b"y")
    paths = _fetch.resolve_files(
        "things_meg", [required], optional=optional, path=tmp_path, base_url="https://unused", verify=False
    )
    assert sorted(paths) == sorted([required, optional[0]])  # absent optional parts left out
    with pytest.raises(FileNotFoundError, match="lacks"):
        _fetch.resolve_files("things_meg", optional[1:], path=tmp_path, base_url="https://unused", verify=False)


def test_local_copy_checksum_mismatch_is_refused(tmp_path):
    pytest.importorskip("pooch")
    (tmp_path / "English_8-naturale.csv").write_text("text\nnot the corpus\n")
    with pytest.raises(ValueError, match=r"English_8-naturale\.csv.*does not match its checksum \(sha256"):
        datasets.hftp.load("natural", tmp_path)
    assert len(datasets.hftp.load("natural", tmp_path, verify=False)) == 1


@pytest.mark.parametrize("name", ["hftp", "kriegeskorte2008"])
def test_git_hosted_downloads_are_pinned_to_a_commit(name):
    """The checksums are fixed, so the files must come from a fixed commit, not a branch."""
    import re

    assert re.search(r"/[0-9a-f]{40}/", getattr(datasets, name).BASE_URL)
