"""The documentation stays true to the code."""

from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def test_config_reference_is_current():
    from brainalign.config import schema_reference

    text = (DOCS / "config.md").read_text()
    assert schema_reference() in text, "docs/config.md is out of date: regenerate its table with schema_reference()"


def test_every_page_is_in_a_toctree():
    index = (DOCS / "index.md").read_text()
    pages = {str(p.relative_to(DOCS).with_suffix("")) for p in DOCS.rglob("*.md") if "_build" not in p.parts} - {
        "index"
    }
    missing = [p for p in sorted(pages) if f"\n{p}\n" not in index]
    assert not missing, f"pages not listed in docs/index.md: {missing}"


def _gallery():
    import importlib
    import sys

    sys.path.insert(0, str(DOCS / "_ext"))
    try:
        return importlib.import_module("notebook_copies")
    finally:
        sys.path.remove(str(DOCS / "_ext"))


def test_every_notebook_is_in_the_gallery_and_says_when_its_data_are_missing(tmp_path):
    import json

    gallery = _gallery()
    notebooks = sorted(p.name for p in (DOCS.parent / "notebooks").glob("*.ipynb"))
    (tmp_path / "gone.ipynb").write_text("{}")  # a notebook since deleted from notebooks/
    assert gallery.copy_notebooks(DOCS.parent / "notebooks", tmp_path, have_data=False) == notebooks
    assert sorted(p.name for p in tmp_path.glob("*.ipynb")) == notebooks
    noted = []
    for name in notebooks:
        original = json.loads((DOCS.parent / "notebooks" / name).read_text())
        copied = json.loads((tmp_path / name).read_text())
        assert [c["source"] for c in copied["cells"] if c["cell_type"] == "code"] == [
            c["source"] for c in original["cells"] if c["cell_type"] == "code"
        ]
        if len(copied["cells"]) > len(original["cells"]):
            assert copied["cells"][1]["source"] == gallery.MISSING_DATA_NOTE
            noted.append(name)
    # The notebooks that read ../shared/data, and only they, get the note.
    assert "vision_92_objects.ipynb" in noted and "quickstart.ipynb" not in noted
    assert all("BRAINALIGN_SHARED_DATA" in (DOCS.parent / "notebooks" / n).read_text() for n in noted)
    # With the data there, the copies are the notebooks as committed.
    gallery.copy_notebooks(DOCS.parent / "notebooks", tmp_path, have_data=True)
    for name in notebooks:
        assert json.loads((tmp_path / name).read_text()) == json.loads((DOCS.parent / "notebooks" / name).read_text())


def test_the_gallery_page_includes_every_notebook():
    text = (DOCS / "examples" / "index.md").read_text()
    assert "```{notebook-gallery}" in text and ":glob:" in text and "\n*\n" in text
