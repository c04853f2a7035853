"""The output folder of ``brainalign run``: a lock, and a record of the files brainalign wrote there.

- **Lock.** ``<output>/.brainalign/lock`` holds the PID and host of the run using the folder. A
  second run on the same folder stops with :class:`OutputLockedError` (exit code 2 on the
  command line) instead of redoing the same cells; a lock left by a process that is gone (killed,
  crashed) on this host is taken over.
- **Ownership.** ``<output>/.brainalign/manifest.json`` lists every file brainalign wrote with
  the SHA-256 of its content. A file is replaced only if it is listed with its current content:
  a user's own ``config.json``, ``report.html`` or figure in the folder is never overwritten
  (the rule :func:`brainalign.io.arrays.save` applies to netCDF files, applied to every file).
- **Journal.** Each write appends one JSON line (``{"file": ..., "sha256": [...]}``) to
  ``<output>/.brainalign/manifest.log`` instead of rewriting the manifest, so recording a file
  costs the same however many files the folder holds. The journal is replayed over the manifest
  when the folder is opened, and folded into it (then removed) when the lock is taken, when it
  is given back, and whenever the journal outgrows the manifest. A line cut short by a kill is
  ignored (its file never moved into place); from a damaged line on, nothing is trusted (those
  files are refused, never replaced), as with a damaged manifest.
- **Temporaries.** Writes are atomic (a temporary ``.<name>.tmp-*`` beside the target, then a
  rename). Temporaries are removed only while holding the lock, so they belong to a run that
  is gone, never to one in flight.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .runner_inputs import file_digest
from .utils import check_writable_dir, logger

__all__ = ["STATE_DIR", "OutputFolder", "OutputLockedError", "install_sigterm_handler"]

#: Hidden folder of an output folder holding the lock and the manifest.
STATE_DIR = ".brainalign"


class OutputLockedError(FileExistsError):
    """Another ``brainalign run`` is using the output folder."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def _fsync_dir(folder: Path) -> None:
    """Make renames and new files in ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


class OutputFolder:
    """An output folder: its lock (a context manager) and the files brainalign wrote in it.

    Attributes
    ----------
    record_bytes : int
        Bytes this object has written to the folder's record (journal lines and manifest
        rewrites) so far: it grows in proportion to the files written, not to their square.
    journal_limit : int
        The journal is folded into the manifest once it is larger than this many bytes and
        than the manifest itself (class attribute).

    Examples
    --------
    >>> import tempfile
    >>> with OutputFolder(tempfile.mkdtemp()) as out:
    ...     path = out.write_bytes("notes.txt", b"hello")
    ...     out.owns(path)
    True
    """

    journal_limit: int = 1 << 20

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = check_writable_dir("output", root)
        self.state = self.root / STATE_DIR
        if self.state.exists() and not self.state.is_dir():
            raise ValueError(f"output: {str(self.state)!r} is a file; brainalign keeps its records there.")
        self._lock = self.state / "lock"
        self._manifest = self.state / "manifest.json"
        self._journal = self.state / "manifest.log"
        self._files: dict[str, list[str]] = {}
        self._held = False
        self._journal_bytes = 0
        self._manifest_bytes = 0
        self.record_bytes = 0

    # ------------------------------------------------------------------------------ the lock
    def __enter__(self) -> OutputFolder:
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()

    def acquire(self) -> None:
        """Take the folder's lock, or raise :class:`OutputLockedError` naming the run that holds it."""
        self.state.mkdir(exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        tmp = self.state / f".lock.tmp-{uuid.uuid4().hex[:10]}"
        tmp.write_text(json.dumps(me))
        try:
            for _ in range(2):
                try:
                    os.link(tmp, self._lock)  # atomic: fails if a lock exists
                    self._held = True
                    break
                except FileExistsError:
                    self._take_over_stale(me)
            else:
                raise OutputLockedError(f"output: could not lock {str(self.root)!r}.")
        finally:
            tmp.unlink(missing_ok=True)
        try:
            self._files = self._read_manifest()
            self._manifest_bytes = self._manifest.stat().st_size if self._manifest.is_file() else 0
            if self._journal.exists() or self._journal.is_symlink():
                self._replay_journal()
                self._compact()  # also drops a line cut short, so that the next one starts on a line of its own
        except BaseException:
            self._lock.unlink(missing_ok=True)
            self._held = False
            raise

    def _take_over_stale(self, me: dict[str, Any]) -> None:
        try:
            holder = json.loads(self._lock.read_text())
            pid, host = int(holder["pid"]), str(holder["host"])
        except (OSError, ValueError, KeyError, TypeError):
            pid, host = None, None
        if pid is not None and host == me["host"] and not _alive(pid):
            logger.warning("run: %s was locked by process %d, which is gone; taking over.", self.root, pid)
            self._lock.unlink(missing_ok=True)
            return
        who = f"process {pid} on {host}" if pid is not None else "another process"
        raise OutputLockedError(
            f"output: {str(self.root)!r} is in use by another brainalign run ({who}). Wait for it to finish, or use "
            f"another output folder. If no run is going on, delete {str(self._lock)!r}."
        )

    def release(self) -> None:
        """Fold the journal into the manifest and give the lock back (only if this process holds it)."""
        if not self._held:
            return
        try:
            if self._journal.exists():
                self._compact()
        except (OSError, ValueError) as err:  # the journal stays, and is read by the next run
            logger.warning("run: could not fold %s into %s (%s).", self._journal, self._manifest, err)
        finally:
            self._lock.unlink(missing_ok=True)
            self._held = False

    def clean_temporaries(self, *folders: str) -> None:
        """Remove ``.<name>.tmp-*`` files that killed runs left (safe: the lock is held)."""
        if not self._held:
            raise RuntimeError("clean_temporaries needs the folder's lock.")
        for sub in folders:
            folder = self.root / sub
            for stale in folder.glob(".*.tmp-*") if folder.is_dir() else ():
                logger.info("run: removing %s left by an interrupted run", stale)
                if stale.is_dir():
                    import shutil

                    shutil.rmtree(stale, ignore_errors=True)
                else:
                    stale.unlink(missing_ok=True)

    # ---------------------------------------------------------------------------- ownership
    def _read_manifest(self) -> dict[str, list[str]]:
        if not self._manifest.is_file():
            return {}
        try:
            return {str(k): list(v) for k, v in json.loads(self._manifest.read_text())["files"].items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            logger.warning("run: %s is unreadable; files written earlier are not replaced.", self._manifest)
            return {}

    def _replay_journal(self) -> None:
        try:
            lines = self._journal.read_bytes().split(b"\n")
        except OSError as err:
            logger.warning("run: %s is unreadable (%s); files recorded there are not replaced.", self._journal, err)
            return
        for number, line in enumerate(lines[:-1], 1):  # lines[-1]: after the last newline, a cut-short line
            try:
                entry = json.loads(line)
                digests = entry["sha256"]
                if not isinstance(digests, list):
                    raise TypeError
                self._files[str(entry["file"])] = [str(d) for d in digests]
            except (ValueError, KeyError, TypeError):
                logger.warning(
                    "run: %s is damaged at line %d; files recorded from there on are not replaced.",
                    self._journal,
                    number,
                )
                return
        if lines[-1]:
            logger.info("run: ignoring the last, unfinished line of %s (an interrupted write).", self._journal)

    def _append(self, rel: str, digests: list[str], *, durable: bool) -> None:
        line = (json.dumps({"file": rel, "sha256": digests}) + "\n").encode()
        new = not self._journal.exists()
        if new:
            self.state.mkdir(exist_ok=True)
        with open(self._journal, "ab") as fh:
            fh.write(line)
            fh.flush()
            if durable:
                os.fsync(fh.fileno())
        if new:
            _fsync_dir(self.state)
        self._journal_bytes += len(line)
        self.record_bytes += len(line)

    def _compact(self) -> None:
        from .io.arrays import atomic_write

        text = json.dumps({"version": 1, "files": self._files}, indent=1, sort_keys=True).encode()
        atomic_write(self._manifest, lambda tmp: tmp.write_bytes(text), overwrite=True, kind="json")
        _fsync_dir(self.state)  # the new manifest is on disk before the journal it replaces goes
        self._journal.unlink(missing_ok=True)
        self._manifest_bytes, self._journal_bytes = len(text), 0
        self.record_bytes += len(text)

    def _rel(self, path: str | os.PathLike) -> str:
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    def owns(self, path: str | os.PathLike) -> bool:
        """Whether ``path`` is a file brainalign wrote here, unchanged since."""
        path = Path(path)
        digests = self._files.get(self._rel(path))
        return bool(digests) and path.is_file() and file_digest(path) in digests

    def check(self, path: str | os.PathLike) -> Path:
        """Refuse (``FileExistsError``) to write ``path`` if a file there is not brainalign's."""
        path = Path(path)
        if (path.exists() or path.is_symlink()) and not self.owns(path):
            raise FileExistsError(
                f"{str(path)!r} exists and was not written by brainalign (or was changed since), so brainalign will "
                "not replace it. Move it away, or choose another output folder."
            )
        return path

    def write(self, path: str | os.PathLike, writer: Callable[[Path], None], *, kind: str) -> Path:
        """Write ``path`` atomically with ``writer(tmp)`` and record it as brainalign's.

        The new digest is recorded *before* the file moves into place (next to the old one), so
        a run killed in between leaves a file the record still accepts.
        """
        from .io.arrays import atomic_write

        path = self.check(self.root / path)
        rel = self._rel(path)
        written: list[str] = []

        def record(tmp: Path) -> None:
            writer(tmp)
            written.append(file_digest(tmp))
            self._files[rel] = self._files.get(rel, [])[-1:] + written
            self._append(rel, self._files[rel], durable=True)  # on disk before the rename

        atomic_write(path, record, overwrite=True, kind=kind)
        self._files[rel] = written
        self._append(rel, written, durable=False)  # if lost, the record still holds the old digest too
        if self._held and self._journal_bytes > max(self.journal_limit, self._manifest_bytes):
            self._compact()
        return path

    def write_bytes(self, path: str | os.PathLike, content: bytes) -> Path:
        """Write ``content`` to ``path`` (relative to the folder), see :meth:`write`."""
        return self.write(path, lambda tmp: tmp.write_bytes(content), kind=Path(path).suffix.lstrip(".") or "file")


def install_sigterm_handler() -> None:
    """Turn SIGTERM (a job scheduler stopping the run) into KeyboardInterrupt, like Ctrl-C."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
