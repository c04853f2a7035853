"""Time of recording files in a run's output folder: ``--files`` small files written through
``OutputFolder.write_bytes`` (each one atomic, its digest recorded before it moves into place),
then the folder reopened; the bytes the process wrote in all (files and their record) are read
from its I/O counters where the system has them (Linux, with psutil).

python benchmarks/bench_output_folder.py --files 2000
"""

import argparse
import tempfile
import time
from pathlib import Path

from brainalign.runner_output import OutputFolder


def _written() -> int | None:
    """Bytes the process has passed to write() so far (psutil, where the system counts them)."""
    try:
        import psutil

        return psutil.Process().io_counters().write_chars
    except (ImportError, AttributeError):
        return None


parser = argparse.ArgumentParser()
parser.add_argument("--files", type=int, default=2000)
args = parser.parse_args()
with tempfile.TemporaryDirectory() as root:
    before, start = _written(), time.perf_counter()
    with OutputFolder(root) as out:
        for i in range(args.files):
            out.write_bytes(f"maps/s{i % 20:02d}/layer{i:05d}.txt", b"x" * 64)
    wrote = time.perf_counter() - start
    start = time.perf_counter()
    with OutputFolder(root) as out:
        owned = sum(out.owns(p) for p in Path(root, "maps").rglob("*.txt"))
    reopened = time.perf_counter() - start
    after = _written()
    io = f", {(after - before) / 1e6:.1f} MB written in all" if before is not None else ""
    print(f"{args.files} writes: {wrote:.2f} s; reopen and check: {reopened:.2f} s ({owned} owned){io}")
