"""Continuous alignment: word features resampled to fMRI TRs with a Lanczos filter.

brainalign builds the interpolation matrix of each run in one vectorised step; the field's
reference implementation (Huth et al. 2016, ``lanczosinterp2D``) fills it one TR at a time. Both are
timed on the same synthetic story (word times and features), and their outputs compared.

    python benchmarks/bench_align.py [--runs 10] [--trs 300] [--words-per-tr 5] [--features 768]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from brainalign import data


def lanczosfun(cutoff, t, window=3):
    t = t * cutoff
    with np.errstate(divide="ignore", invalid="ignore"):
        val = window * np.sin(np.pi * t) * np.sin(np.pi * t / window) / (np.pi**2 * t**2)
    val[t == 0] = 1.0
    val[np.abs(t) > window] = 0.0
    return val


def reference(features, word_times, runs, tr_times, tr_runs, window=3):
    """The per-TR loop of lanczosinterp2D, run by run."""
    out = []
    for run in np.unique(tr_runs):
        old, new, X = word_times[runs == run], tr_times[tr_runs == run], features[runs == run]
        cutoff = 1 / np.mean(np.diff(new))
        sincmat = np.zeros((len(new), len(old)))
        for i in range(len(new)):
            sincmat[i, :] = lanczosfun(cutoff, new[i] - old, window)
        out.append(sincmat @ X)
    return np.vstack(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--trs", type=int, default=300)
    parser.add_argument("--words-per-tr", type=float, default=5.0)
    parser.add_argument("--features", type=int, default=768)
    parser.add_argument("--tr", type=float, default=2.0)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    n_words = int(args.trs * args.words_per_tr)
    word_times = np.concatenate([np.sort(rng.uniform(0, args.trs * args.tr, n_words)) for _ in range(args.runs)])
    runs = np.repeat(np.arange(args.runs), n_words)
    features = rng.normal(size=(len(word_times), args.features)).astype(np.float32)
    acts = data.activations({"layer": features}, time=word_times, run=runs)
    rec = data.recording(
        np.zeros((args.runs * args.trs, 1), np.float32),
        tr=args.tr,
        run=np.repeat(np.arange(args.runs), args.trs),
        subject="S1",
        region="A",
    )
    print(f"{args.runs} runs × {args.trs} TRs, {len(word_times)} words × {args.features} features")
    t0 = time.perf_counter()
    ref = reference(features, word_times, runs, rec["time"].values, rec["run"].values)
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours, _ = data.align(acts, rec)
    t_ours = time.perf_counter() - t0
    err = np.abs(ours.values - ref).max() / np.abs(ref).max()
    print(f"{'reference per-TR loop':<28}{t_ref:8.3f} s")
    print(
        f"{'brainalign.data.align':<28}{t_ours:8.3f} s   ratio reference/brainalign = {t_ref / t_ours:5.2f}"
        f"   max relative difference {err:.1e}"
    )


if __name__ == "__main__":
    main()
