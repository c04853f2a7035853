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
