"""Execute every notebook in notebooks/ (small data; they must run offline in CI)."""

from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path, monkeypatch, shared_data_or_none):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    monkeypatch.setenv("BRAINALIGN_PROGRESS", "0")
    monkeypatch.setenv("NILEARN_DATA", str(tmp_path / "nilearn_data"))
    if shared_data_or_none is not None:
        monkeypatch.setenv("BRAINALIGN_SHARED_DATA", str(shared_data_or_none))
    else:  # make sure the notebooks' default path misses too
        monkeypatch.setenv("BRAINALIGN_SHARED_DATA", str(tmp_path / "no-shared-data"))
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    # Each notebook ends with a figure (with the real data, for those that need it).
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    needs_data = "SHARED" in "".join(c.source for c in nb.cells) and path.stem not in (
        "language_model_maps",
        "quickstart",
    )
    if shared_data_or_none is not None or not needs_data:
        assert any("image/png" in out.get("data", {}) for out in last.outputs), (
            f"{path.name} does not end with a figure"
        )
