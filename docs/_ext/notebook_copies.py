"""The notebooks of ``notebooks/`` copied for the docs gallery (no Sphinx or docutils needed here,
so the tests can check the copies without the docs dependencies)."""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

SHARED_ENV = "BRAINALIGN_SHARED_DATA"
MISSING_DATA_NOTE = (
    "```{note}\n"
    "The shared data folder (`../shared/data`, or `$BRAINALIGN_SHARED_DATA`) was absent when this page "
    "was built, so the cells that need real recordings or stimuli were skipped, or ran on a small stand-in; "
    "the messages they print say which. Run the notebook beside the data to see its real results.\n"
    "```"
)


def find_shared_data(repo: Path) -> Path | None:
    """``$BRAINALIGN_SHARED_DATA``, else ``shared/data`` beside the repository or one of its parents."""
    if SHARED_ENV in os.environ:
        folder = Path(os.environ[SHARED_ENV]).resolve()
        return folder if folder.is_dir() else None
    for parent in repo.resolve().parents:
        if (parent / "shared" / "data").is_dir():
            return parent / "shared" / "data"
    return None


def needs_shared_data(notebook: dict[str, Any]) -> bool:
    """Whether a notebook's code reads the shared data folder (through ``$BRAINALIGN_SHARED_DATA``)."""
    return any(cell["cell_type"] == "code" and SHARED_ENV in "".join(cell["source"]) for cell in notebook["cells"])


def gallery_copy(notebook: dict[str, Any], have_data: bool) -> dict[str, Any]:
    """The notebook as the docs show it: with a note after its title when its data are absent."""
    notebook = copy.deepcopy(notebook)
    if not have_data and needs_shared_data(notebook):
        note = {"cell_type": "markdown", "id": "missing-shared-data", "metadata": {}, "source": MISSING_DATA_NOTE}
        notebook["cells"].insert(1, note)
    return notebook


def copy_notebooks(source: Path, target: Path, have_data: bool) -> list[str]:
    """Copy ``source/*.ipynb`` into ``target`` (rewriting only files that change); return their names.

    Notebooks no longer in ``source`` are removed from ``target``.
    """
    target.mkdir(parents=True, exist_ok=True)
    names = []
    for path in sorted(source.glob("*.ipynb")):
        text = json.dumps(gallery_copy(json.loads(path.read_text()), have_data), indent=1, ensure_ascii=False) + "\n"
        out = target / path.name
        if not out.is_file() or out.read_text() != text:
            out.write_text(text)
        names.append(path.name)
    for stale in set(p.name for p in target.glob("*.ipynb")) - set(names):
        (target / stale).unlink()
    return names
