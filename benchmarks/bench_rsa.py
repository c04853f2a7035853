"""Representational similarity: RDMs, a permutation test and pairwise shape distances.

Three timings, each against the peer tool on the same data in the same run, with the ratio:

1. RDMs (correlation distance) of 12 layers × 2 000 stimuli × 768 units — ``brainalign.metrics.rsa.rdm``
   on one labelled array of all layers vs ``rsatoolbox.rdm.calc_rdm`` on the 12 datasets, both
   given the same arrays, in float64 and in float32 (models give float32; both tools compute in
   the input's precision). rsatoolbox's product runs on one core, brainalign's on all (BLAS), so
   the ratio grows with the number of cores.
2. A 10 000-permutation test of one 92 × 92 RDM comparison (Spearman; the real monkey-IT and
   human-IT RDMs of Kriegeskorte et al. 2008 when ``../shared/data`` is present) —
   ``brainalign.stats.permutation_test`` vs a plain loop of ``scipy.stats.spearmanr`` over the
   permuted RDMs.
3. Pairwise generalized shape distances (α = 0.5, angular) among 20 networks — ``shape.pairwise``
   vs a plain NumPy/SciPy version that whitens both networks and solves the orthogonal Procrustes
   problem for every pair (as netrep's ``LinearMetric.pairwise_distances`` does).

    python benchmarks/bench_rsa.py [--layers 12] [--stimuli 2000] [--units 768] [--n-perm 10000]
                                   [--networks 20] [--shape-stimuli 500] [--shape-units 100]

Timings are the best of 2 runs for the RDMs (both tools) and for brainalign elsewhere.
"""

from __future__ import annotations

import argparse
import itertools
import os
import time
import warnings
from pathlib import Path

import numpy as np
from scipy.linalg import orthogonal_procrustes
from scipy.spatial.distance import squareform
from scipy.stats import spearmanr

import brainalign
from brainalign import data, stats
from brainalign.backend import gpu_available
from brainalign.metrics import rsa, shape

SHARED = (
    Path(os.environ.get("BRAINALIGN_SHARED_DATA", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
    / "kriegeskorte2008"
)


CPU = {}


def timed(fn, repeat=1):
    """Best wall-clock time of ``repeat`` runs (its CPU time, all threads, kept for the printout)."""
    best, out = np.inf, None
    for _ in range(repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < best:
            best = wall
            CPU[best] = cpu
    return best, out


def line(label, seconds, ref=None, note=""):
    ratio = f"   ratio peer/brainalign = {ref / seconds:6.1f}" if ref is not None else ""
    print(f"  {label:<44}{seconds:9.3f} s (cpu {CPU.get(seconds, float('nan')):7.2f} s){ratio}{note}")


def bench_rdms(args, rng):
    print(f"\n1. RDMs: {args.layers} layers × {args.stimuli} stimuli × {args.units} units (correlation distance)")
    import rsatoolbox

    for dtype in (np.float64, np.float32):
        layers = {f"layer{k}": rng.normal(size=(args.stimuli, args.units)).astype(dtype) for k in range(args.layers)}
        acts = data.activations(layers, stimulus_id=np.arange(args.stimuli))
        name = np.dtype(dtype).name

        def peer(layers=layers):
            return rsatoolbox.rdm.calc_rdm([rsatoolbox.data.Dataset(v) for v in layers.values()], method="correlation")

        t_peer, ref = timed(peer, repeat=2)
        line(f"rsatoolbox calc_rdm ({name})", t_peer)
        t_ours, ours = timed(lambda acts=acts: rsa.rdm(acts), repeat=2)
        err = max(
            np.abs(ours.values[k][np.triu_indices(args.stimuli, 1)] - ref.dissimilarities[k]).max()
            for k in range(args.layers)
        )
        line(f"brainalign rsa.rdm ({name})", t_ours, t_peer, f"   max |difference| {err:.1e}")
        try:
            import torch  # noqa: F401

            t_torch, _ = timed(lambda acts=acts: rsa.rdm(acts, backend="torch"), repeat=2)
            line(f"brainalign rsa.rdm, backend='torch' ({name})", t_torch, t_peer)
            if gpu_available():
                rsa.rdm(acts.isel(unit=slice(0, args.units)), backend="torch_cuda")  # warm-up
                t_gpu, _ = timed(lambda acts=acts: rsa.rdm(acts, backend="torch_cuda"), repeat=3)
                line(f"brainalign rsa.rdm, backend='torch_cuda' ({name})", t_gpu, t_peer)
        except ImportError:
            print("  (torch not installed: torch backends skipped)")


def bench_permutations(args, rng):
    if SHARED.is_dir():
        from scipy.io import loadmat

        mat = loadmat(SHARED / "Kriegeskorte_Neuron2008_supplementalData.mat")
        a, b = (squareform(np.ravel(r["RDM"]).astype(float)) for r in mat["RDMs_mIT_hIT_fig1"][0])
        what = "monkey IT vs human IT (Kriegeskorte et al. 2008)"
    else:
        X = rng.normal(size=(92, 100))
        a, b = rsa.rdm(X).values, rsa.rdm(X + rng.normal(size=X.shape)).values
        what = "simulated"
    print(f"\n2. Permutation test: {args.n_perm} permutations of one 92 × 92 comparison ({what}, Spearman)")
    va = squareform(a, checks=False)

    def peer():
        perm_rng = np.random.default_rng(0)
        null = np.empty(args.n_perm)
        for i in range(args.n_perm):
            p = perm_rng.permutation(92)
            null[i] = spearmanr(va, squareform(b[p][:, p], checks=False))[0]
        observed = spearmanr(va, squareform(b, checks=False))[0]
        return (1 + np.sum(null >= observed)) / (1 + args.n_perm)

    t_peer, p_peer = timed(peer)
    line("plain loop of scipy.stats.spearmanr", t_peer, note=f"   p = {p_peer:.2e}")
    t_ours, res = timed(lambda: stats.permutation_test(a, b, "spearman", n_perm=args.n_perm, random_state=0), 2)
    line("brainalign stats.permutation_test", t_ours, t_peer, f"   p = {float(res['p_value']):.2e}")


def _whiten(X, alpha):
    lam, V = np.linalg.eigh(X.T @ X)
    lam = np.maximum(lam, 1e-7)
    d = alpha + (1 - alpha) * lam**-0.5
    d *= np.sqrt(lam.sum() / np.sum((alpha * lam**0.5 + (1 - alpha)) ** 2))
    return X @ (V * d) @ V.T


def bench_shape(args, rng):
    print(
        f"\n3. Pairwise shape distances: {args.networks} networks × {args.shape_stimuli} stimuli × "
        f"{args.shape_units} units (α = 0.5, angular)"
    )
    nets = [rng.normal(size=(args.shape_stimuli, args.shape_units)) for _ in range(args.networks)]

    def peer():
        D = np.zeros((len(nets), len(nets)))
        for i, j in itertools.combinations(range(len(nets)), 2):
            Xw = _whiten(nets[i] - nets[i].mean(0), 0.5)
            Yw = _whiten(nets[j] - nets[j].mean(0), 0.5)
            R, _ = orthogonal_procrustes(Xw, Yw)
            A = Xw @ R
            D[i, j] = D[j, i] = np.arccos(np.clip(np.sum(A * Yw) / np.linalg.norm(A) / np.linalg.norm(Yw), -1, 1))
        return D

    t_peer, ref = timed(peer)
    line("per-pair whitening + scipy Procrustes", t_peer)
    t_ours, ours = timed(lambda: shape.pairwise(nets, alpha=0.5), repeat=2)
    err = np.abs(ours.values - ref).max()
    line("brainalign shape.pairwise", t_ours, t_peer, f"   max |difference| {err:.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--stimuli", type=int, default=2000)
    parser.add_argument("--units", type=int, default=768)
    parser.add_argument("--n-perm", type=int, default=10_000)
    parser.add_argument("--networks", type=int, default=20)
    parser.add_argument("--shape-stimuli", type=int, default=500)
    parser.add_argument("--shape-units", type=int, default=100)
    parser.add_argument("--only", choices=("rdm", "perm", "shape"), help="run one of the three benchmarks")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{os.cpu_count()} CPU cores, load average {load:.1f} (other work on the machine slows both sides)")
    brainalign.set_options(progress=False)
    warnings.simplefilter("ignore")
    for name, bench in (("rdm", bench_rdms), ("perm", bench_permutations), ("shape", bench_shape)):
        if args.only in (None, name):
            bench(args, rng)


if __name__ == "__main__":
    main()
