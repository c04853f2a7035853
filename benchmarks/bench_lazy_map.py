"""Peak memory of an RSA map over lazy activations (zarr on disk, read one layer at a time).

Writes ``--layers`` × ``--units`` × ``--stimuli`` float32 activations to a zarr store, loads them
with ``brainalign.io.arrays.load(path, lazy=True)`` and runs ``alignment_map(method="rsa")``, tracing
Python/numpy allocations (tracemalloc). Prints the peak against the size of all activations, and
checks the lazy map against the in-memory one.

    python benchmarks/bench_lazy_map.py [--layers 12] [--units 4096] [--stimuli 2000]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

import brainalign
from brainalign import data
from brainalign.io import arrays


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--units", type=int, default=4096)
    parser.add_argument("--stimuli", type=int, default=2000)
    parser.add_argument("--voxels", type=int, default=200, help="voxels per region (2 regions)")
    parser.add_argument("--no-compare", action="store_true", help="skip the in-memory map")
    args = parser.parse_args()
    brainalign.set_options(progress=False)
    rng = np.random.default_rng(0)
    n, p = args.stimuli, args.units
    layers = {f"layer{k:02d}": rng.standard_normal((n, p), dtype=np.float32) for k in range(args.layers)}
    layers["layer01"][:, : args.voxels] += 0  # keep the planted layer's units as they are
    acts = data.activations(layers, stimulus_id=np.arange(n), dtype=np.float32)
    y = np.concatenate(
        [
            layers["layer01"][:, : args.voxels] + rng.standard_normal((n, args.voxels), dtype=np.float32),
            layers[f"layer{args.layers - 1:02d}"][:, : args.voxels],
        ],
        axis=1,
    )
    del layers
    rec = data.recording(y, stimulus_id=np.arange(n), subject="S1", region=["A"] * args.voxels + ["B"] * args.voxels)
    total = acts.nbytes
    with tempfile.TemporaryDirectory() as tmp:
        path = arrays.save(acts, Path(tmp) / "acts.zarr")
        eager = None if args.no_compare else brainalign.alignment_map(acts, rec, "rsa", ceiling=False)
        del acts
        lazy = arrays.load(path, lazy=True)
        plan = brainalign.planning.estimate(lazy, rec, "rsa")
        tracemalloc.start()
        t0 = time.perf_counter()
        amap = brainalign.alignment_map(lazy, rec, "rsa", ceiling=False)
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f"activations: {args.layers} layers × {p} units × {n} stimuli float32 = {total / 2**20:.0f} MiB (zarr, lazy)")
    print(
        f"lazy RSA map: {seconds:.1f} s, traced peak {peak / 2**20:.1f} MiB = {100 * peak / total:.1f} % of activations"
    )
    print(f"planner: {plan.summary()}  (estimate / measured = {plan.peak_bytes / peak:.2f})")
    print("best layer for A:", amap["score"].sel(region="A").idxmax("layer").item())
    if eager is not None:
        diff = float(np.nanmax(np.abs(amap["score"].values - eager["score"].values)))
        print(f"lazy vs in-memory map: max |difference| = {diff:.2e}")


if __name__ == "__main__":
    main()
