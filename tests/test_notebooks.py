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
    # Each notebook ends with a figure, unless it says that it skipped its real-data cells (data
    # or model weights missing), which is reported as a skip with its reason.
    last = [c for c in nb.cells if c.cell_type == "code"][-1]
    if not any("image/png" in out.get("data", {}) for out in last.outputs):
        printed = "".join(out.get("text", "") for out in last.outputs if out.get("output_type") == "stream")
        if printed.startswith("skipped"):
            pytest.skip(f"{path.name}: {printed.strip()}")
        raise AssertionError(f"{path.name} does not end with a figure")
