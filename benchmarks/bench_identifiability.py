"""Identifiability at the issue's size: 6 layers × 5 methods × 8 SNR levels × 50 repeats, 500 stimuli.

Times :func:`brainalign.identifiability` per method (it shares work across repeats: all true
layers × SNRs × repeats of a stimulus set are regions of one simulated recording, scored in one
map call per method — one encoder fit per layer and fold, each candidate's RDM or kernel computed
once) and, for comparison, the naive design that calls ``alignment_map`` once per simulated
region (timed on a few regions and scaled, saying so).

    python benchmarks/bench_identifiability.py [--repeats 50] [--stimuli 500] [--units 384] [--backend numpy]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import brainalign
from brainalign import alignment_map, data, identifiability, simulate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=6)
    parser.add_argument("--units", type=int, default=384, help="units per layer (MiniLM's width)")
    parser.add_argument("--stimuli", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--neuroids", type=int, default=100)
    parser.add_argument("--methods", nargs="+", default=["ridge", "rsa", "trsa", "cka", "mutual_knn"])
    parser.add_argument("--backend", default="numpy", help="encoders' backend: numpy, torch, torch_cuda")
    parser.add_argument("--naive-regions", type=int, default=6, help="regions timed for the per-region loop")
    args = parser.parse_args()
    brainalign.set_options(progress=False)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.stimuli, args.units)).astype(np.float32)
    layers = {}
    for k in range(args.layers):
        w = rng.normal(scale=1 / np.sqrt(args.units), size=(args.units, args.units)).astype(np.float32)
        x = np.tanh(x @ w * 1.5)
        layers[f"layer{k}"] = x
    acts = data.activations(layers, stimulus_id=np.arange(args.stimuli), dtype=np.float32)
    snrs = np.logspace(-3, 1, 8)
    n_regions = args.layers * len(snrs) * args.repeats
    print(
        f"{args.layers} layers × {args.units} units, {args.stimuli} stimuli, {len(snrs)} SNR levels, "
        f"{args.repeats} repeats → {n_regions} simulated regions of {args.neuroids} neuroids per method"
    )
    total = 0.0
    rows = []
    for method in args.methods:
        options = {method: {"backend": args.backend}} if method in ("ridge",) else None
        t0 = time.perf_counter()
        res = identifiability(
            acts,
            [method],
            snr=snrs,
            n_neuroids=[args.neuroids],
            n_repeats=args.repeats,
            method_options=options,
            random_state=0,
        )
        elapsed = time.perf_counter() - t0
        total += elapsed
        # The naive design: one alignment_map call per simulated region.
        region = simulate.make_recording(acts, {"R": "layer2"}, n_neuroids=args.neuroids, snr=1.0, random_state=0)
        method_obj = brainalign.registry.get(method, **(options or {}).get(method, {}))
        t0 = time.perf_counter()
        for _ in range(args.naive_regions):
            alignment_map(acts, region, method_obj, ceiling=False)
        naive = (time.perf_counter() - t0) / args.naive_regions * n_regions
        rows.append((method, elapsed, naive, res["accuracy"].values.ravel()))
    print(
        f"\n{'method':<12}{'brainalign':>12}{'per-region loop (scaled)':>28}{'ratio':>8}   accuracy at SNR "
        + " ".join(f"{s:.0e}" for s in snrs)
    )
    for method, elapsed, naive, acc in rows:
        print(
            f"{method:<12}{elapsed:>10.1f} s{naive:>26.1f} s{naive / elapsed:>7.1f}×   "
            + " ".join(f"{a:5.2f}" for a in acc)
        )
    print(f"\ntotal: {total:.1f} s ({total / 60:.1f} min) on this machine")


if __name__ == "__main__":
    main()
