"""Voxelwise ridge at realistic size: brainalign vs plain himalaya RidgeCV vs scikit-learn RidgeCV.

All three fit the same data with the same alphas and the same contiguous folds, in the same run:

- brainalign ``RidgeEncoder`` (one eigendecomposition of XᵀX per fold, reused for every alpha);
- himalaya ``RidgeCV`` (its SVD solver) on the same backend;
- scikit-learn ``RidgeCV(cv=folds)``, one per target (scikit-learn picks one alpha for all
  targets of a fit when ``cv`` is given), on ``--sklearn-targets`` targets, its time scaled up to
  all targets.

It prints the times, the ratios and how far the results are from himalaya's (share of equal best
alphas, largest relative difference of held-out predictions).

The issue's size (run it on a GPU machine; add ``--eigh-dtype float32`` to time float32
eigendecompositions, ``--tf32`` to time TF32 products and their error)::

    python benchmarks/bench_ridge.py --samples 8000 --features 3072 --targets 50000 --backend torch_cuda --tf32

A CPU size that finishes in a few minutes on 2 cores::

    python benchmarks/bench_ridge.py --samples 4000 --features 1024 --targets 10000 --backend numpy

Peak memory with many targets (brainalign only)::

    python benchmarks/bench_ridge.py --samples 2000 --features 128 --targets 500000 --only brainalign
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np

import brainalign
from brainalign.backend import get_backend
from brainalign.encoders import RidgeEncoder, time_folds


def make_data(n: int, p: int, t: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Features with a decaying spectrum (like network activations) and targets of mixed SNR, float32."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, p), dtype=np.float32) * (1.0 / np.sqrt(1 + np.arange(p, dtype=np.float32)))
    Y = np.empty((n, t), dtype=np.float32)
    chunk = 20_000
    for start in range(0, t, chunk):  # chunks: no float64 copy of a huge target matrix
        stop = min(start + chunk, t)
        W = rng.standard_normal((p, stop - start), dtype=np.float32) / np.sqrt(p)
        signal = X @ W
        snr = np.float32(10.0) ** rng.uniform(-2, 1, stop - start).astype(np.float32)
        Y[:, start:stop] = signal * np.sqrt(snr) / signal.std(0) + rng.standard_normal((n, stop - start), np.float32)
    return X, Y


def _sync(backend: str) -> None:
    if backend == "torch_cuda":
        import torch

        torch.cuda.synchronize()


def _himalaya(X, Y, alphas, folds, backend, n_targets_batch):
    from himalaya.backend import set_backend
    from himalaya.ridge import RidgeCV

    hb = set_backend(backend)
    try:
        Xb = hb.asarray(X)
        params = {"warn": False}
        if n_targets_batch:
            params.update(n_targets_batch=n_targets_batch, n_targets_batch_refit=n_targets_batch)
        y_in_cpu = backend == "torch_cuda" and Y.nbytes > 8e9
        model = RidgeCV(alphas=alphas, cv=folds, fit_intercept=True, solver_params=params, Y_in_cpu=y_in_cpu)
        _sync(backend)
        t0 = time.perf_counter()
        model.fit(Xb, Y if y_in_cpu else hb.asarray(Y))
        _sync(backend)
        elapsed = time.perf_counter() - t0
        return elapsed, hb.to_numpy(model.best_alphas_), hb.to_numpy(model.coef_), hb.to_numpy(model.intercept_)
    finally:
        set_backend("numpy")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=8000)
    parser.add_argument("--features", type=int, default=3072)
    parser.add_argument("--targets", type=int, default=50_000)
    parser.add_argument("--alphas", type=int, default=11, help="alphas on np.logspace(-2, 8, n)")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--backend", default="auto", help="auto, numpy, torch or torch_cuda")
    parser.add_argument("--sklearn-targets", type=int, default=2, help="targets fitted by scikit-learn (then scaled)")
    parser.add_argument("--himalaya-batch", type=int, default=None, help="himalaya's n_targets_batch (default: all)")
    parser.add_argument("--memory-budget", default="0.6", help="brainalign's memory_budget (fraction or '8GB')")
    parser.add_argument("--tf32", action="store_true", help="also time brainalign with TF32 (CUDA only)")
    parser.add_argument(
        "--eigh-dtype", default="float64", choices=["float64", "float32"], help="RidgeEncoder's eigh_dtype"
    )
    parser.add_argument("--only", nargs="+", default=["brainalign", "himalaya", "sklearn"])
    parser.add_argument("--repeats", type=int, default=1, help="time brainalign this many times, keep the best")
    args = parser.parse_args()

    be = get_backend(args.backend)
    budget = float(args.memory_budget) if args.memory_budget.replace(".", "", 1).isdigit() else args.memory_budget
    n, p, t = args.samples, args.features, args.targets
    alphas = np.logspace(-2, 8, args.alphas)
    folds = time_folds(n, args.folds)
    X, Y = make_data(n, p, t)
    X_test, _ = make_data(500, p, 1, seed=1)
    print(
        f"{n} samples × {p} features → {t} targets, {len(alphas)} alphas, {args.folds} contiguous folds, float32, "
        f"backend {be.describe()}"
    )

    times: dict[str, float] = {}
    ours = None
    if "brainalign" in args.only:
        for tf32 in [False, True] if args.tf32 else [False]:
            best = np.inf
            for _ in range(args.repeats):
                enc = RidgeEncoder(
                    alphas=alphas, cv=folds, backend=be, memory_budget=budget, tf32=tf32, eigh_dtype=args.eigh_dtype
                )
                _sync(be.name)
                t0 = time.perf_counter()
                with brainalign.set_options(progress=False):
                    enc.fit(X, Y)
                _sync(be.name)
                best = min(best, time.perf_counter() - t0)
            label = "brainalign RidgeEncoder" + (" (TF32)" if tf32 else "")
            times[label] = best
            print(f"{label:<40}{best:10.2f} s   ({enc.solver_}, {enc.n_targets_batch_} targets per batch)")
            if tf32:
                pred32 = X_test @ enc.coef_ + enc.intercept_
                pred = X_test @ ours.coef_ + ours.intercept_
                err = np.abs(pred32 - pred).max() / np.abs(pred).max()
                same = np.mean(enc.best_alphas_ == ours.best_alphas_)
                print(f"{'':<40}TF32 vs fp32: same best alpha for {same:.1%} of targets, predictions within {err:.1e}")
            else:
                ours = enc
    if "himalaya" in args.only:
        elapsed, best_alphas, coef, intercept = _himalaya(X, Y, alphas, folds, be.name, args.himalaya_batch)
        times["himalaya RidgeCV"] = elapsed
        print(f"{'himalaya RidgeCV':<40}{elapsed:10.2f} s")
        if ours is not None:
            same = np.isclose(best_alphas, ours.best_alphas_, rtol=1e-4)
            ref = X_test @ coef + intercept
            pred = X_test @ ours.coef_ + ours.intercept_
            err = np.abs(pred[:, same] - ref[:, same]).max() / np.abs(ref).max()
            print(
                f"{'':<40}same best alpha as himalaya for {same.mean():.2%} of targets; held-out predictions "
                f"of those within {err:.1e} (relative to the largest)"
            )
    if "sklearn" in args.only:
        from sklearn.linear_model import RidgeCV

        k = min(args.sklearn_targets, t)
        t0 = time.perf_counter()
        for j in range(k):
            RidgeCV(alphas=alphas, cv=folds, scoring="neg_mean_squared_error").fit(X, Y[:, j])
        elapsed = (time.perf_counter() - t0) * t / k
        times["scikit-learn RidgeCV (scaled)"] = elapsed
        print(f"{'scikit-learn RidgeCV (scaled)':<40}{elapsed:10.2f} s   ({k} targets timed, ×{t / k:.0f})")

    base = times.get("brainalign RidgeEncoder")
    if base:
        for name, value in times.items():
            if name != "brainalign RidgeEncoder":
                print(f"ratio {name} / brainalign: {value / base:8.2f}×")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # KiB → GiB
    print(f"peak host memory (RSS) {peak:.2f} GiB; X + Y take {(X.nbytes + Y.nbytes) / 2**30:.2f} GiB")
    if be.name == "torch_cuda":
        import torch

        print(f"peak GPU memory {torch.cuda.max_memory_allocated() / 2**30:.2f} GiB")


if __name__ == "__main__":
    main()
