"""Execute every notebook in notebooks/ (small data; they must run offline in CI)."""

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("BRAINALIGN_PROGRESS", "0")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    # Each notebook ends with a figure.
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    assert any("image/png" in out.get("data", {}) for out in last.outputs), f"{path.name} does not end with a figure"
