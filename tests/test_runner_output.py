"""The output folder's record of brainalign's files: its cost, what a kill leaves, old manifests."""

import hashlib
import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from brainalign.runner_output import STATE_DIR, OutputFolder


def _sha(content: bytes) -> str:  # independent of brainalign's own digest
    return hashlib.sha256(content).hexdigest()


def _process_bytes_written() -> int | None:
    """Bytes this process has passed to write() (Linux), or None."""
    try:
        text = Path("/proc/self/io").read_text()
    except OSError:
        return None
    return int(next(line.split()[1] for line in text.splitlines() if line.startswith("wchar:")))


def _write_many(root: Path, n: int) -> tuple[int, int | None]:
    before = _process_bytes_written()
    with OutputFolder(root) as out:
        for i in range(n):
            out.write_bytes(f"maps/f{i:04d}.txt", f"file {i}".encode())
    after = _process_bytes_written()
    return out.record_bytes, None if before is None else after - before


@pytest.mark.parametrize("journal_limit", [None, 1024])  # never folded during the run / folded many times
def test_recording_a_write_costs_the_same_however_many_files_there_are(tmp_path, monkeypatch, journal_limit):
    if journal_limit is not None:
        monkeypatch.setattr(OutputFolder, "journal_limit", journal_limit)
    record_200, io_200 = _write_many(tmp_path / "a", 200)
    record_400, io_400 = _write_many(tmp_path / "b", 400)
    # Rewriting the whole manifest per file made these ~4x (quadratic); linear is ~2x.
    assert record_400 < 2.5 * record_200
    if io_200 is not None:  # everything the process wrote, measured by the kernel
        assert io_400 < 2.5 * io_200
    assert not (tmp_path / "b" / STATE_DIR / "manifest.log").exists()  # folded on close
    listed = json.loads((tmp_path / "b" / STATE_DIR / "manifest.json").read_text())["files"]
    assert listed == {f"maps/f{i:04d}.txt": [_sha(f"file {i}".encode())] for i in range(400)}


@pytest.mark.parametrize("when", ["before", "after"])
def test_a_write_stopped_at_its_rename_leaves_a_file_the_record_accepts(tmp_path, monkeypatch, when):
    real_replace = os.replace

    def interrupted(src, dst):
        if Path(dst).name == "a.txt":
            if when == "after":
                real_replace(src, dst)
            raise KeyboardInterrupt  # Ctrl-C or SIGTERM right at the rename
        real_replace(src, dst)

    with OutputFolder(tmp_path) as out:
        out.write_bytes("a.txt", b"old")
        monkeypatch.setattr(os, "replace", interrupted)
        with pytest.raises(KeyboardInterrupt):
            out.write_bytes("a.txt", b"new")
        monkeypatch.undo()
    assert (tmp_path / "a.txt").read_bytes() == (b"old" if when == "before" else b"new")
    with OutputFolder(tmp_path) as out:
        assert out.owns(tmp_path / "a.txt")
        out.write_bytes("a.txt", b"newer")
    assert (tmp_path / "a.txt").read_bytes() == b"newer"


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL")
def test_a_killed_run_leaves_a_journal_the_next_run_honours(tmp_path):
    script = textwrap.dedent(
        """
        import os, signal, sys
        from brainalign.runner_output import OutputFolder
        OutputFolder.journal_limit = 2048  # folded into the manifest several times, then killed mid-journal
        out = OutputFolder(sys.argv[1])
        out.acquire()
        for i in range(300):
            out.write_bytes(f"maps/f{i:03d}.txt", b"%d" % i)
        out.write_bytes("a.txt", b"old")
        os.replace = lambda src, dst: os.kill(os.getpid(), signal.SIGKILL)  # killed between record and rename
        out.write_bytes("a.txt", b"new")
        """
    )
    done = subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert done.returncode == -signal.SIGKILL, done.stderr
    state = tmp_path / STATE_DIR
    assert (state / "lock").exists() and (state / "manifest.log").stat().st_size > 0
    assert list(tmp_path.glob(".a.txt.tmp-*"))  # the new content, never moved into place
    with OutputFolder(tmp_path) as out:  # the lock of a process that is gone is taken over
        assert all(out.owns(tmp_path / f"maps/f{i:03d}.txt") for i in range(300))
        assert (tmp_path / "a.txt").read_bytes() == b"old" and out.owns(tmp_path / "a.txt")
        out.clean_temporaries(".")
        out.write_bytes("a.txt", b"newer")
    assert not list(tmp_path.glob(".a.txt.tmp-*")) and not (state / "manifest.log").exists()
    with OutputFolder(tmp_path) as out:
        assert all(out.owns(tmp_path / f"maps/f{i:03d}.txt") for i in range(300)) and out.owns(tmp_path / "a.txt")


def _crash(out: OutputFolder) -> None:
    """Leave ``out`` as a killed run would: journal not folded, lock deleted as the message advises."""
    (out.state / "lock").unlink()


def test_a_journal_line_cut_short_is_ignored_and_the_next_line_is_whole(tmp_path, caplog):
    out = OutputFolder(tmp_path)
    out.acquire()
    for i in range(5):
        out.write_bytes(f"f{i}.txt", b"%d" % i)
    _crash(out)
    journal = tmp_path / STATE_DIR / "manifest.log"
    with open(journal, "ab") as fh:  # killed while appending the record of a sixth file
        fh.write(b'{"file": "f5.txt", "sha256": ["' + _sha(b"5")[:20].encode())
    (tmp_path / "f5.txt").write_bytes(b"5")  # not brainalign's: its record never finished
    again = OutputFolder(tmp_path)
    with caplog.at_level(logging.INFO, logger="brainalign"):
        again.acquire()
    assert "unfinished line" in caplog.text
    assert all(again.owns(tmp_path / f"f{i}.txt") for i in range(5))
    with pytest.raises(FileExistsError, match=r"f5\.txt' exists and was not written by brainalign"):
        again.write_bytes("f5.txt", b"mine now")
    again.write_bytes("f6.txt", b"6")  # recorded on a line of its own, not glued to the cut one
    _crash(again)
    with OutputFolder(tmp_path) as third:
        assert all(third.owns(tmp_path / f"f{i}.txt") for i in (0, 1, 2, 3, 4, 6))
        assert not third.owns(tmp_path / "f5.txt")


def test_from_a_damaged_journal_line_on_nothing_is_replaced(tmp_path, caplog):
    out = OutputFolder(tmp_path)
    out.acquire()
    out.write_bytes("before.txt", b"b")
    journal = tmp_path / STATE_DIR / "manifest.log"
    with open(journal, "ab") as fh:
        fh.write(b"\x00\x00 not json\n")
    out.write_bytes("after.txt", b"a")
    _crash(out)
    with caplog.at_level(logging.WARNING, logger="brainalign"), OutputFolder(tmp_path) as again:
        assert "damaged at line 3" in caplog.text  # two lines per write: before and after its rename
        assert again.owns(tmp_path / "before.txt")
        assert not again.owns(tmp_path / "after.txt")
        with pytest.raises(FileExistsError, match="was not written by brainalign"):
            again.write_bytes("after.txt", b"x")
    assert (tmp_path / "after.txt").read_bytes() == b"a"


def test_an_unreadable_manifest_protects_every_file(tmp_path, caplog):
    with OutputFolder(tmp_path) as out:
        out.write_bytes("a.txt", b"a")
    (tmp_path / STATE_DIR / "manifest.json").write_text('{"version": 1, "files": {"a.txt": ["')
    with caplog.at_level(logging.WARNING, logger="brainalign"), OutputFolder(tmp_path) as again:
        assert "is unreadable; files written earlier are not replaced" in caplog.text
        with pytest.raises(FileExistsError, match="was not written by brainalign"):
            again.write_bytes("a.txt", b"b")
    assert (tmp_path / "a.txt").read_bytes() == b"a"


def test_a_folder_with_only_an_old_manifest_is_honoured(tmp_path):
    files = {"config.json": b"{}", "figures/c.png": b"png", "report.html": b"<p>edited by the user</p>"}
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(content)
    (tmp_path / "mine.txt").write_bytes(b"the user's")
    listed = {"config.json": [_sha(b"{}")], "figures/c.png": [_sha(b"old png"), _sha(b"png")]}
    listed["report.html"] = [_sha(b"<p>ours</p>")]  # changed since brainalign wrote it
    (tmp_path / STATE_DIR).mkdir()
    (tmp_path / STATE_DIR / "manifest.json").write_text(json.dumps({"version": 1, "files": listed}, indent=1))
    with OutputFolder(tmp_path) as out:
        assert out.owns(tmp_path / "config.json") and out.owns(tmp_path / "figures/c.png")
        assert not out.owns(tmp_path / "report.html") and not out.owns(tmp_path / "mine.txt")
        for name in ("report.html", "mine.txt"):
            with pytest.raises(FileExistsError, match="was not written by brainalign"):
                out.write_bytes(name, b"ours")
        out.write_bytes("config.json", b'{"a": 1}')
    assert (tmp_path / "report.html").read_bytes() == files["report.html"]
    assert (tmp_path / "mine.txt").read_bytes() == b"the user's"
    record = json.loads((tmp_path / STATE_DIR / "manifest.json").read_text())
    assert record["version"] == 1 and record["files"]["config.json"] == [_sha(b'{"a": 1}')]
    assert record["files"]["figures/c.png"] == listed["figures/c.png"]
