"""How an RSA map grows with the number of stimuli (RDM work is O(n²) per layer).

A 6-layer × 256-unit model against a 2-region recording, ``alignment_map(method="rsa")`` (correlation
RDMs, Spearman comparison), at several stimulus counts. Each size runs in its own process, so the
peak RSS printed is that run's alone (the data are a few MB; the RDMs are what grows).

    python benchmarks/bench_rsa_growth.py [--stimuli 1000 2000 4000 8000] [--layers 6] [--units 256]
    python benchmarks/bench_rsa_growth.py --path /tmp/old_checkout   # the brainalign found there

``--path`` imports brainalign from another checkout (e.g. ``git archive <commit> brainalign | tar -x
-C /tmp/old``) to compare before/after on the same machine in the same run. ``--plan`` also prints
the memory planner's estimate (:func:`brainalign.planning.estimate`) when the imported version has it.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time


def one_run(n: int, n_layers: int, n_units: int, n_voxels: int, plan: bool) -> dict:
    import numpy as np

    import brainalign
    from brainalign import data

    brainalign.set_options(progress=False)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, n_units)).astype(np.float32)
    layers = {}
    for k in range(n_layers):
        w = rng.normal(scale=1 / np.sqrt(n_units), size=(n_units, n_units)).astype(np.float32)
        x = np.tanh(x @ w * 1.5)
        layers[f"layer{k}"] = x
    acts = data.activations(layers, stimulus_id=np.arange(n), dtype=np.float32)
    y = np.concatenate([layers["layer1"] @ rng.normal(size=(n_units, n_voxels)).astype(np.float32)] * 2, axis=1)
    y += rng.normal(size=y.shape).astype(np.float32)
    rec = data.recording(y, stimulus_id=np.arange(n), subject="S1", region=["A"] * n_voxels + ["B"] * n_voxels)
    estimate = None
    if plan:
        from brainalign import planning

        estimate = planning.estimate(acts, rec, "rsa").peak_bytes
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t0 = time.perf_counter()
    amap = brainalign.alignment_map(acts, rec, "rsa", ceiling=False)
    seconds = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return {
        "n": n,
        "seconds": seconds,
        "peak_rss_mb": peak / 1024,
        "before_map_mb": base / 1024,
        "estimate_mb": None if estimate is None else estimate / 2**20,
        "best": str(amap["score"].sel(region="A").idxmax("layer").item()),
        "score": amap["score"].values.round(6).tolist(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stimuli", type=int, nargs="+", default=[1000, 2000, 4000, 8000])
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--voxels", type=int, default=100, help="voxels per region")
    parser.add_argument("--path", default=None, help="import brainalign from this folder")
    parser.add_argument("--plan", action="store_true", help="also print the planner's estimate")
    parser.add_argument("--one", type=int, default=None, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.path:
        sys.path.insert(0, args.path)
    if args.one is not None:
        print(json.dumps(one_run(args.one, args.layers, args.units, args.voxels, args.plan)))
        return
    print(f"RSA map, {args.layers} layers × {args.units} units, 2 regions × {args.voxels} voxels")
    print(f"{'stimuli':>8} {'seconds':>9} {'peak RSS MB':>12} {'planner MB':>11}  best layer (region A)")
    for n in args.stimuli:
        cmd = [sys.executable, __file__, "--one", str(n), "--layers", str(args.layers), "--units", str(args.units)]
        cmd += ["--voxels", str(args.voxels)] + (["--path", args.path] if args.path else [])
        cmd += ["--plan"] if args.plan else []
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode:
            print(f"{n:>8}  failed: {done.stderr.strip().splitlines()[-1] if done.stderr.strip() else done.returncode}")
            continue
        r = json.loads(done.stdout.strip().splitlines()[-1])
        est = f"{r['estimate_mb']:>11.0f}" if r["estimate_mb"] is not None else f"{'-':>11}"
        print(f"{n:>8} {r['seconds']:>9.2f} {r['peak_rss_mb']:>12.0f} {est}  {r['best']}")


if __name__ == "__main__":
    main()
