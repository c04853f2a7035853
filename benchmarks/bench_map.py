"""A 12-layer × 10-region ridge map: brainalign.alignment_map vs the loop users write today.

The loop: for every layer, every region and every outer fold, fit himalaya's ``RidgeCV`` on that
region's voxels, predict the held-out fold and average the per-voxel correlations — one fit per
(layer, region, fold). brainalign fits each layer once per fold for all regions at once (its own
eigendecomposition path, himalaya's conventions). Same data, same contiguous folds, same alphas,
same inner CV; the maps are compared and the ratio printed.

    python benchmarks/bench_map.py [--stimuli 1500] [--units 512] [--voxels 300] [--backend numpy]

On a GPU machine: ``--backend torch_cuda`` (both sides run on the GPU).
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

import brainalign
from brainalign import data, simulate


def loop_map(acts, rec, alphas, folds, inner_cv, backend):
    """What a user writes: a Python loop over layers × regions (× folds) with himalaya RidgeCV."""
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV

    hb = set_backend(backend)
    layers = data.layer_names(acts)
    regions = list(dict.fromkeys(rec["region"].values.tolist()))
    Y_all = rec.transpose("presentation", "neuroid").values.astype(np.float32)
    out = np.zeros((len(layers), len(regions)))
    for k, layer in enumerate(layers):
        X = acts.sel(unit=acts.layer == layer).values.astype(np.float32)
        for r, region in enumerate(regions):
            Y = Y_all[:, rec["region"].values == region]
            scores = []
            for train, test in folds:
                model = RidgeCV(alphas=alphas, cv=inner_cv)
                model.fit(X[train], Y[train])
                pred = hb.to_numpy(model.predict(X[test]))
                yc, pc = Y[test] - Y[test].mean(0), pred - pred.mean(0)
                scores.append((yc * pc).sum(0) / np.sqrt((yc**2).sum(0) * (pc**2).sum(0)))
            out[k, r] = np.mean(scores)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stimuli", type=int, default=1500)
    parser.add_argument("--units", type=int, default=512, help="units per layer")
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--regions", type=int, default=10)
    parser.add_argument("--voxels", type=int, default=300, help="voxels per region")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--backend", default="numpy", help="numpy, torch or torch_cuda")
    args = parser.parse_args()
    brainalign.set_options(progress=False)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(args.stimuli, args.units)).astype(np.float32)
    layers = {}
    for k in range(args.layers):
        x = np.tanh(
            x @ rng.normal(scale=1 / np.sqrt(args.units), size=(args.units, args.units)).astype(np.float32) * 1.5
        )
        layers[f"layer{k:02d}"] = x
    acts = data.activations(layers, stimulus_id=np.arange(args.stimuli), dtype=np.float32)
    names = list(layers)
    truth = {f"R{r}": names[(r * len(names)) // args.regions] for r in range(args.regions)}
    rec = simulate.make_recording(acts, truth, n_neuroids=args.voxels, snr=0.5, random_state=0)
    rec = rec.astype(np.float32)
    alphas = np.logspace(-2, 8, 11)
    n = args.stimuli
    bounds = np.linspace(0, n, args.folds + 1).astype(int)
    folds = [(np.r_[0:a, b:n], np.arange(a, b)) for a, b in itertools.pairwise(bounds)]
    from himalaya.ridge import RidgeCV  # noqa: F401  (imported here so both sides pay the import)

    from brainalign.encoders import RidgeEncoder

    print(
        f"{args.layers} layers × {args.units} units, {args.regions} regions × {args.voxels} voxels, "
        f"{n} stimuli, {args.folds} folds, 11 alphas, inner CV 5 blocks, backend {args.backend}"
    )
    t0 = time.perf_counter()
    amap = brainalign.alignment_map(
        acts, rec, brainalign.Encoding(RidgeEncoder(alphas=alphas, cv=5, backend=args.backend), cv=folds), ceiling=False
    )
    t_ours = time.perf_counter() - t0
    t0 = time.perf_counter()
    loop = loop_map(acts, rec, alphas, folds, 5, args.backend)
    t_loop = time.perf_counter() - t0
    ours = amap["score"].transpose("layer", "region").values
    best_ours = ours.argmax(0)
    best_loop = loop.argmax(0)
    print(
        f"{'brainalign alignment_map':<34}{t_ours:8.2f} s   ({args.layers} layers × {args.folds} folds = "
        f"{args.layers * args.folds} fits)"
    )
    print(f"{'loop: layers × regions × RidgeCV':<34}{t_loop:8.2f} s   ({args.layers * args.regions * args.folds} fits)")
    print(f"ratio loop / brainalign: {t_loop / t_ours:.2f}×")
    print(
        f"largest difference of the two maps: {np.abs(ours - loop).max():.2e}; "
        f"same best layer for {np.mean(best_ours == best_loop):.0%} of regions; "
        f"planted layer recovered for {np.mean([names[b] == truth[f'R{r}'] for r, b in enumerate(best_ours)]):.0%}"
    )


if __name__ == "__main__":
    main()
