"""Peak memory of loading a multi-run fMRI dataset with brainalign.io.fmri.load_fmri.

Writes ``--runs`` synthetic 4-D NIfTI runs (float32, ``--voxels`` voxels in the mask, ``--trs``
volumes each; by default 10 × 100 000 voxels × 300 TRs = 1.2 GB of data) to a scratch folder,
then loads them in a fresh process and reports its peak resident memory (``ru_maxrss``). The
peer is the naive way: ``nibabel`` loads every run, the runs are stacked, then masked. Both are
measured in their own subprocess, on the same files.

    python benchmarks/bench_fmri_memory.py [--runs 10] [--voxels 100000] [--trs 300] [--folder /tmp/x]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
import numpy as np
folder, mode = Path(sys.argv[1]), sys.argv[2]
runs = sorted(folder.glob("run-*_bold.nii"))
t0 = time.perf_counter()
if mode == "brainalign":
    import brainalign
    from brainalign.io.fmri import load_fmri
    with brainalign.set_options(progress=False):
        rec = load_fmri(runs, mask=folder / "mask.nii.gz", detrend=True, standardize=True)
    shape, nbytes = rec.shape, rec.nbytes
else:
    import nibabel as nib
    mask = np.asanyarray(nib.load(folder / "mask.nii.gz").dataobj) != 0
    data = np.concatenate([nib.load(p).get_fdata() for p in runs], axis=3)  # every run in memory
    values = data[mask].T.astype(np.float32)
    shape, nbytes = values.shape, values.nbytes
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux: kB
print(json.dumps({"shape": list(shape), "result_bytes": int(nbytes), "peak_rss": int(peak), "seconds": elapsed}))
"""


def write_runs(folder: Path, n_runs: int, n_voxels: int, n_trs: int) -> None:
    import nibabel as nib

    side = int(np.ceil(n_voxels ** (1 / 3)))
    shape = (side, side, int(np.ceil(n_voxels / side**2)))
    mask = np.zeros(shape, np.int8)
    mask.reshape(-1)[:n_voxels] = 1
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    nib.save(nib.Nifti1Image(mask, affine), folder / "mask.nii.gz")
    rng = np.random.default_rng(0)
    for r in range(n_runs):
        img = nib.Nifti1Image(rng.standard_normal((*shape, n_trs), dtype=np.float32), affine)
        img.header.set_xyzt_units("mm", "sec")
        img.header.set_zooms((2.0, 2.0, 2.0, 2.0))
        nib.save(img, folder / f"run-{r:02d}_bold.nii")  # uncompressed: nibabel maps it lazily


def measure(folder: Path, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(folder), mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--voxels", type=int, default=100_000)
    parser.add_argument("--trs", type=int, default=300)
    parser.add_argument("--folder", type=Path, default=None, help="scratch folder (default: a temporary one)")
    parser.add_argument("--skip-naive", action="store_true", help="do not run the load-everything peer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.folder) as tmp:
        folder = Path(tmp)
        t0 = time.perf_counter()
        write_runs(folder, args.runs, args.voxels, args.trs)
        print(f"wrote {args.runs} runs of {args.voxels} voxels x {args.trs} TRs in {time.perf_counter() - t0:.1f} s")
        ours = measure(folder, "brainalign")
        gb = 1024**3
        print(
            f"brainalign load_fmri (detrend + z-score per run): result {ours['result_bytes'] / gb:.2f} GiB, "
            f"peak RSS {ours['peak_rss'] / gb:.2f} GiB, {ours['seconds']:.1f} s"
        )
        if not args.skip_naive:
            naive = measure(folder, "naive")
            print(
                f"naive nibabel (all runs, then mask): peak RSS {naive['peak_rss'] / gb:.2f} GiB, "
                f"{naive['seconds']:.1f} s"
            )
            print(f"peak memory ratio naive / brainalign: {naive['peak_rss'] / ours['peak_rss']:.2f}x")


if __name__ == "__main__":
    main()
