"""A model of SmolLM2-135M's width against a large fMRI set: ridge and RSA maps, with the planner.

Synthetic stand-in: ``--blocks`` transformer blocks (30), each giving a residual-stream layer of
``--hidden`` units (576) and an MLP-neuron layer of ``--mlp`` units (1 536), for ``--stimuli``
stimuli (5 000) against ``--voxels`` voxels (50 000) in ``--regions`` regions. For each map it
prints the time, the traced peak (tracemalloc) and the process's peak RSS so far, the planner's
estimate (:func:`brainalign.planning.estimate`) and the ratio against a competent baseline run on
the same data: one himalaya ``RidgeCV`` per layer and fold over all voxels (same folds, alphas and
inner CV) for ridge; scipy ``pdist`` + ``spearmanr`` per (layer, region) for RSA.

    python benchmarks/bench_scale.py                         # the full size (a large machine)
    python benchmarks/bench_scale.py --blocks 2 --stimuli 600 --voxels 3000 --regions 4   # a laptop
"""

from __future__ import annotations

import argparse
import itertools
import resource
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

import brainalign
from brainalign import data, planning

sys.path.insert(0, str(Path(__file__).parent))
from bench_map import himalaya_map


def make(args):
    rng = np.random.default_rng(0)
    n, h = args.stimuli, args.hidden
    x = rng.standard_normal((n, h), dtype=np.float32)
    layers = {}
    for b in range(args.blocks):
        w_in = rng.standard_normal((h, args.mlp), dtype=np.float32) / np.sqrt(h)
        mlp = np.maximum(x @ w_in, 0)
        w_out = rng.standard_normal((args.mlp, h), dtype=np.float32) / np.sqrt(args.mlp)
        x = x + 0.5 * (mlp @ w_out)
        x /= x.std(1, keepdims=True)
        layers[f"blocks.{b}"] = x.copy()
        layers[f"blocks.{b}.mlp"] = mlp
    acts = data.activations(layers, stimulus_id=np.arange(n), dtype=np.float32)
    names = list(layers)
    per = args.voxels // args.regions
    parts, region = [], []
    for r in range(args.regions):
        src = layers[names[(r * len(names)) // args.regions]]
        w = rng.standard_normal((src.shape[1], per), dtype=np.float32) / np.sqrt(src.shape[1])
        parts.append(src @ w + rng.standard_normal((n, per), dtype=np.float32))
        region += [f"R{r}"] * per
    rec = data.recording(np.concatenate(parts, 1), stimulus_id=np.arange(n), subject="S1", region=region)
    return acts, rec.astype(np.float32)


def rsa_baseline(acts, rec):
    from scipy.spatial.distance import pdist
    from scipy.stats import spearmanr

    regions = list(dict.fromkeys(rec["region"].values.tolist()))
    brain = [pdist(rec.sel(neuroid=rec["region"] == r).values, "correlation") for r in regions]
    out = np.zeros((len(data.layer_names(acts)), len(regions)))
    for k, layer in enumerate(data.layer_names(acts)):
        d = pdist(acts.sel(unit=acts["layer"] == layer).values, "correlation")
        out[k] = [spearmanr(d, b)[0] for b in brain]
    return out


def timed(func):
    tracemalloc.start()
    t0 = time.perf_counter()
    out = func()
    seconds = time.perf_counter() - t0
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return out, seconds, peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--blocks", type=int, default=30)
    parser.add_argument("--hidden", type=int, default=576)
    parser.add_argument("--mlp", type=int, default=1536)
    parser.add_argument("--stimuli", type=int, default=5000)
    parser.add_argument("--voxels", type=int, default=50_000)
    parser.add_argument("--regions", type=int, default=10)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--backend", default="numpy", help="numpy, torch or torch_cuda")
    parser.add_argument("--skip", choices=["ridge", "rsa"], default=None)
    args = parser.parse_args()
    brainalign.set_options(progress=False)
    acts, rec = make(args)
    n = args.stimuli
    print(
        f"{args.blocks} blocks × ({args.hidden} hidden + {args.mlp} MLP) = {acts.sizes['unit']} units, {n} stimuli, "
        f"{args.voxels} voxels in {args.regions} regions; activations {acts.nbytes / 2**30:.2f} GiB, "
        f"recording {rec.nbytes / 2**30:.2f} GiB (float32), backend {args.backend}"
    )
    rows = []
    if args.skip != "ridge":
        from brainalign.encoders import RidgeEncoder

        alphas = np.logspace(-2, 8, 11)
        bounds = np.linspace(0, n, args.folds + 1).astype(int)
        folds = [(np.r_[0:a, b:n], np.arange(a, b)) for a, b in itertools.pairwise(bounds)]
        method = brainalign.Encoding(RidgeEncoder(alphas=alphas, cv=5, backend=args.backend), cv=folds)
        plan = planning.estimate(acts, rec, method)
        amap, t_ours, peak = timed(lambda: brainalign.alignment_map(acts, rec, method, ceiling=False))
        base, t_base, peak_base = timed(lambda: himalaya_map(acts, rec, alphas, folds, 5, args.backend))
        diff = np.abs(amap["score"].transpose("layer", "region").values - base).max()
        rows.append(("ridge", t_ours, peak, plan, "himalaya RidgeCV per layer", t_base, peak_base, diff))
    if args.skip != "rsa":
        plan = planning.estimate(acts, rec, "rsa")
        amap, t_ours, peak = timed(lambda: brainalign.alignment_map(acts, rec, "rsa", ceiling=False))
        base, t_base, peak_base = timed(lambda: rsa_baseline(acts, rec))
        diff = np.abs(amap["score"].transpose("layer", "region").values - base).max()
        rows.append(("rsa", t_ours, peak, plan, "scipy pdist + spearmanr", t_base, peak_base, diff))
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(f"{'map':<6}{'seconds':>9}{'traced MiB':>11}{'plan MiB':>10}{'plan/meas':>10}   baseline")
    for name, t, peak, plan, label, tb, pb, diff in rows:
        print(
            f"{name:<6}{t:>9.1f}{peak / 2**20:>11.0f}{plan.peak_bytes / 2**20:>10.0f}{plan.peak_bytes / peak:>10.2f}"
            f"   {label}: {tb:.1f} s, {pb / 2**20:.0f} MiB traced; ratio baseline/brainalign {tb / t:.2f}×; "
            f"max |map difference| {diff:.1e}"
        )
        print(f"      plan: {plan.summary()}")
    print(f"process peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
