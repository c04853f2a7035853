"""Frequency-tagging probe: brainalign's batched probe vs a per-unit loop of the same algorithm.

The full probe without a control condition (trial average, rFFT, 1 000 shuffles, 95th percentile
— HFTP's shuffle stage — then the neighbouring-bin z-score, labels) over every MLP neuron of a
12-layer model with 3 072 neurons per layer (36 864 units), on synthetic activations of that size
(10 trials × 48 words; 10 % of units planted at 1 Hz, 10 % at 2 Hz). The peer is a per-unit loop
of the same steps (``n_shuffles`` FFTs per unit, as in HFTP's reference code), run with the same
permutations so the labels must agree; it is timed on a subset of units and scaled to all of them.

python benchmarks/bench_frequency_tagging.py [--loop-units 300] [--repeat 3] [--backend auto]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import brainalign
from brainalign.backend import get_backend
from brainalign.probes import frequency_tagging as ft

N_LAYERS, N_NEURONS, N_TRIALS, N_WORDS, SFREQ = 12, 3072, 10, 48, 4.0
RATES = {"sentence": 1.0, "phrase": 2.0}


def synthetic_activations(seed: int = 0) -> np.ndarray:
    """(trial, unit, word) float32 activations with planted sentence- and phrase-rate neurons."""
    rng = np.random.default_rng(seed)
    n_units = N_LAYERS * N_NEURONS
    x = rng.standard_normal((N_TRIALS, n_units, N_WORDS), dtype=np.float32)
    t = np.arange(N_WORDS) / SFREQ
    kind = rng.integers(0, 10, size=n_units)  # 0: sentence, 1: phrase, else noise
    x[:, kind == 0] += (0.5 * np.cos(2 * np.pi * 1.0 * t)).astype(np.float32)
    x[:, kind == 1] += (0.5 * np.cos(2 * np.pi * 2.0 * t)).astype(np.float32)
    return x


def per_unit_loop(x: np.ndarray, units: np.ndarray, perms: np.ndarray, alpha: float = 0.05) -> list[str]:
    """HFTP's algorithm one unit at a time: ``n_shuffles`` FFTs per unit, then the z-score check."""
    freqs = np.fft.rfftfreq(x.shape[-1], d=1.0 / SFREQ)
    bins = {name: int(np.argmin(np.abs(freqs - f))) for name, f in RATES.items()}
    labels = []
    for u in units:
        avg = x[:, u, :].astype(np.float64).mean(axis=0)
        spectrum = np.abs(np.fft.rfft(avg))
        spectrum[0] = 0.0
        null = {name: [] for name in RATES}
        for perm in perms:
            shuffled = np.abs(np.fft.rfft(avg[perm]))
            for name, k in bins.items():
                null[name].append(shuffled[k])
        tagged = []
        for name, k in bins.items():
            nb = [j for j in range(k - 10, k + 11) if 1 <= j < len(spectrum) and j != k]
            z = (spectrum[k] - np.mean(spectrum[nb])) / np.std(spectrum[nb])
            if spectrum[k] > np.percentile(null[name], 100 * (1 - alpha)) * (1 + 1e-9) and z > 2:
                tagged.append(name)
        labels.append("none" if not tagged else ("shared" if len(tagged) > 1 else tagged[0]))
    return labels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loop-units", type=int, default=300, help="units timed in the per-unit loop")
    parser.add_argument("--repeat", type=int, default=3, help="runs of the batched probe (best is kept)")
    parser.add_argument("--n-shuffles", type=int, default=1000)
    parser.add_argument("--backend", default="auto", help="auto, numpy, torch or torch_cuda")
    args = parser.parse_args()
    brainalign.set_options(progress=False)
    be = get_backend(args.backend)

    x = synthetic_activations()
    n_units = x.shape[1]
    print(
        f"{N_LAYERS} layers × {N_NEURONS} MLP neurons = {n_units} units, {N_TRIALS} trials × {N_WORDS} words, "
        f"{args.n_shuffles} shuffles, backend {be}"
    )
    ft.probe(x[:, :64], n_shuffles=10, backend=be)  # warm-up (imports, GPU context)
    times = []
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        result = ft.probe(x, n_shuffles=args.n_shuffles, random_state=0, backend=be)
        times.append(time.perf_counter() - t0)
    batched = min(times)
    counts = result["label"].to_series().value_counts().to_dict()
    print(f"brainalign probe (all units):        {batched:8.2f} s   labels {counts}")

    # The peer: the same permutations (probe's documented seeding), a subset of units spread over layers.
    rng = np.random.default_rng(0)
    perms = rng.permuted(np.tile(np.arange(N_WORDS), (args.n_shuffles, 1)), axis=1)
    subset = np.linspace(0, n_units - 1, args.loop_units).astype(int)
    t0 = time.perf_counter()
    loop_labels = per_unit_loop(x, subset, perms)
    loop_subset = time.perf_counter() - t0
    loop_all = loop_subset / len(subset) * n_units
    agree = np.array_equal(np.asarray(loop_labels), result["label"].values[subset])
    print(
        f"per-unit loop ({len(subset)} units, timed):    {loop_subset:8.2f} s   → scaled to {n_units} units: "
        f"{loop_all:8.1f} s"
    )
    print(f"labels of the {len(subset)} looped units identical: {agree}")
    print(f"speed-up: {loop_all / batched:.0f}×   (target: full probe < 30 s on 2 CPU cores, ≥ 100× the loop)")
    if not agree:
        raise SystemExit("the per-unit loop and the batched probe disagree")


if __name__ == "__main__":
    main()
