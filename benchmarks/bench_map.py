"""A 12-layer × 10-region ridge map: brainalign.alignment_map vs competent himalaya code.

The baseline (the ratio printed) is what a competent himalaya user writes: for every layer and
outer fold, one himalaya ``RidgeCV`` over *all* voxels (himalaya's per-target alphas make one fit
serve every region), predict the held-out fold, correlate per voxel, average per region. A second,
labelled line times the loop many users write instead: one ``RidgeCV`` per (layer, region, fold).
brainalign fits each layer once per fold for all regions (its own eigendecomposition path,
himalaya's conventions). Same data, same contiguous folds, same alphas, same inner CV (5 blocks);
the maps are compared.

    python benchmarks/bench_map.py [--stimuli 1500] [--units 512] [--voxels 300] [--backend numpy] [--no-loop]

On a GPU machine: ``--backend torch_cuda`` (both sides run on the GPU).
"""

from __future__ import annotations

import argparse
import itertools
import time

import numpy as np

import brainalign
from brainalign import data, simulate


def himalaya_map(acts, rec, alphas, folds, inner_cv, backend):
    """The competent baseline: one himalaya RidgeCV per layer and fold over every voxel (a linear
    KernelRidgeCV where features outnumber the training samples, as himalaya's warning advises),
    with an intercept as brainalign's encoders fit one (himalaya's default is none)."""
    from himalaya.backend import set_backend
    from himalaya.kernel_ridge import KernelRidgeCV
    from himalaya.ridge import RidgeCV

    hb = set_backend(backend)
    layers = data.layer_names(acts)
    region_of = rec["region"].values
    regions = list(dict.fromkeys(region_of.tolist()))
    Y = rec.transpose("presentation", "neuroid").values.astype(np.float32)
    out = np.zeros((len(layers), len(regions)))
    for k, layer in enumerate(layers):
        X = acts.sel(unit=acts.layer == layer).values.astype(np.float32)
        r = np.zeros(Y.shape[1])
        for train, test in folds:
            if X.shape[1] > len(train):
                model = KernelRidgeCV(kernel="linear", alphas=alphas, cv=inner_cv, fit_intercept=True)
            else:
                model = RidgeCV(alphas=alphas, cv=inner_cv, fit_intercept=True)
            model.fit(X[train], Y[train])
            pred = hb.to_numpy(model.predict(X[test]))
            yc, pc = Y[test] - Y[test].mean(0), pred - pred.mean(0)
            r += (yc * pc).sum(0) / np.sqrt((yc**2).sum(0) * (pc**2).sum(0)) / len(folds)
        out[k] = [r[region_of == region].mean() for region in regions]
    return out


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
                model = RidgeCV(alphas=alphas, cv=inner_cv, fit_intercept=True)
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
    parser.add_argument("--no-loop", action="store_true", help="skip the per-region loop (slow)")
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
    base = himalaya_map(acts, rec, alphas, folds, 5, args.backend)
    t_base = time.perf_counter() - t0
    ours = amap["score"].transpose("layer", "region").values
    best_ours = ours.argmax(0)
    print(
        f"{'brainalign alignment_map':<40}{t_ours:8.2f} s   ({args.layers} layers × {args.folds} folds = "
        f"{args.layers * args.folds} fits)"
    )
    print(f"{'himalaya RidgeCV per layer (all voxels)':<40}{t_base:8.2f} s   ({args.layers * args.folds} fits)")
    print(f"ratio himalaya / brainalign: {t_base / t_ours:.2f}×")
    print(
        f"largest difference of the two maps: {np.abs(ours - base).max():.2e}; "
        f"same best layer for {np.mean(best_ours == base.argmax(0)):.0%} of regions; "
        f"planted layer recovered for {np.mean([names[b] == truth[f'R{r}'] for r, b in enumerate(best_ours)]):.0%}"
    )
    if not args.no_loop:
        t0 = time.perf_counter()
        loop = loop_map(acts, rec, alphas, folds, 5, args.backend)
        t_loop = time.perf_counter() - t0
        print(
            f"{'(loop: layers × regions × RidgeCV)':<40}{t_loop:8.2f} s   ({args.layers * args.regions * args.folds} "
            f"fits; ratio {t_loop / t_ours:.2f}×, largest difference {np.abs(ours - loop).max():.2e})"
        )


if __name__ == "__main__":
    main()
