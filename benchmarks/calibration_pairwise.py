"""Calibration of stats.pairwise: false positives under planted nulls, interval coverage, power.

Every dataset is simulated from a seed: a true representation ``T`` (stimuli × 20 features), two
models that are noisy views of it, and subjects' brain RDMs (correlation distance of ``T`` plus
the subject's own noise). The maps are ``alignment_map(..., "rsa", n_boot, keep_samples=True)``
(Spearman correlation of correlation-distance RDMs), then ``stats.pairwise`` compares the models.

Designs (what is exchangeable under each null):

- ``population``: models ``a = T + s·E_a`` and ``b = T + (s + gap)·E_b`` with fresh stimuli,
  model noise and subjects in every dataset. With ``gap = 0`` the two models are exchangeable
  over the population of stimuli (and subjects): the null of the tests that generalise over
  stimuli (jackknife, crossed with subjects for several; stimulus bootstrap; dual bootstrap). It is
  *not* the sign-flip test's null: given the stimuli, one model can be the better one for every subject.
- ``relabelled``: stimuli come in pairs with the same true pattern, model ``b`` is model ``a``
  with the two stimuli of every pair swapped. Given the stimuli and the models, each subject's
  RDM is as likely as its swapped copy, so each subject's difference is symmetric about 0: the
  sign-flip test's null holds exactly, conditionally on the stimuli (and every test's null too).

Coverage is of the population difference ``E[score_a − score_b]`` at the design's number of
stimuli: 0 by symmetry in both nulls, a Monte-Carlo mean over ``--truth-reps`` fresh datasets
(one subject each, scipy's Spearman) with a gap. Rates carry Wilson 95 % intervals.

python benchmarks/calibration_pairwise.py      # defaults (40 stimuli, 1 and 8 subjects): 223 s with --jobs 2
python benchmarks/calibration_pairwise.py --stimuli 40 100 --subjects 8 16 --gaps 0.5 1.0 --n-boot 200   # the full grid
python benchmarks/calibration_pairwise.py --datasets 100 --n-boot 100 --stimuli 40 --subjects 8
python benchmarks/calibration_pairwise.py --subjects 8 16 --no-one-subject --no-relabelled   # several subjects: 175 s
"""

from __future__ import annotations

import argparse
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np
from scipy import stats as sps
from scipy.spatial.distance import pdist

FEATURES, MODEL_NOISE, SUBJECT_NOISE = 20, 1.5, 1.5


def _rdms(X: np.ndarray) -> np.ndarray:
    return pdist(X, "correlation")


def simulate(seed: int, n_stimuli: int, n_subjects: int, design: str = "population", gap: float = 0.0):
    """Activations of models 'a' and 'b' and the subjects' brain RDMs of one seeded dataset."""
    from brainalign import data

    rng = np.random.default_rng(seed)
    if design == "population":
        T = rng.normal(size=(n_stimuli, FEATURES))
        a = T + MODEL_NOISE * rng.normal(size=T.shape)
        b = T + (MODEL_NOISE + gap) * rng.normal(size=T.shape)
    elif design == "relabelled":
        T = np.repeat(rng.normal(size=(n_stimuli // 2, FEATURES)), 2, axis=0)
        a = T + MODEL_NOISE * rng.normal(size=T.shape)
        b = a[np.arange(len(T)) ^ 1]  # the two stimuli of every pair swapped
    else:
        raise ValueError(f"design must be 'population' or 'relabelled', got {design!r}.")
    ids = np.arange(len(T))
    acts = data.activations({"a": a, "b": b}, stimulus_id=ids)
    brain = np.stack([_rdms(T + SUBJECT_NOISE * rng.normal(size=T.shape)) for _ in range(n_subjects)])
    rdms = data.rdms(brain, stimulus_id=ids, subject=[f"s{i}" for i in range(n_subjects)], region="IT")
    return acts, rdms


def population_difference(n_stimuli: int, gap: float, reps: int, seed: int = 10**6) -> tuple[float, float]:
    """Monte-Carlo ``E[score_a − score_b]`` (and its standard error) of the population design,
    computed with scipy's Spearman on fresh datasets, independently of brainalign."""
    rng = np.random.default_rng(seed)
    d = np.empty(reps)
    for i in range(reps):
        T = rng.normal(size=(n_stimuli, FEATURES))
        a = _rdms(T + MODEL_NOISE * rng.normal(size=T.shape))
        b = _rdms(T + (MODEL_NOISE + gap) * rng.normal(size=T.shape))
        y = _rdms(T + SUBJECT_NOISE * rng.normal(size=T.shape))
        d[i] = sps.spearmanr(a, y).statistic - sps.spearmanr(b, y).statistic
    return float(d.mean()), float(d.std(ddof=1) / np.sqrt(reps))


def run_one(seed: int, n_stimuli: int, n_subjects: int, design: str, gap: float, n_boot: int, alpha: float = 0.05):
    """``{test: (p_value, ci_low, ci_high)}`` of the difference a − b on one dataset."""
    import brainalign
    from brainalign import alignment_map, stats

    brainalign.set_options(progress=False)
    acts, rdms = simulate(seed, n_stimuli, n_subjects, design, gap)
    keep = n_boot > 0  # n_boot=0: no stimulus resamples, the sign-flip test only
    amap = alignment_map(acts, rdms, "rsa", n_boot=n_boot, keep_samples=keep, ceiling=False, random_state=seed)
    if n_subjects == 1:
        runs = {"jackknife": (amap, "jackknife"), "stimulus bootstrap": (amap, "bootstrap")}
    else:
        # the sign-flip p-value; without the map's samples, the interval over subjects
        runs = {
            "sign-flip / subject interval": (amap.drop_vars(["boot", "jack", "half"], errors="ignore"), "sign_flip")
        }
        if keep:
            runs["dual bootstrap"] = (amap, "bootstrap")
            runs["crossed jackknife"] = (amap, "jackknife")
    out = {}
    for name, (m, test) in runs.items():
        res = stats.pairwise(m, test=test, alpha=alpha, random_state=seed).isel(layer=0, layer_2=1, region=0)
        out[name] = tuple(float(res[v]) for v in ("p_value", "ci_low", "ci_high"))
    return out


def wilson(k: int, n: int) -> tuple[float, float]:
    """Wilson 95 % interval of a binomial proportion ``k / n``."""
    z = 1.959964
    p = k / n
    centre, half = (p + z * z / (2 * n)) / (1 + z * z / n), z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return float(centre - half / (1 + z * z / n)), float(centre + half / (1 + z * z / n))


def calibrate(n_stimuli, n_subjects, design, gap, n_datasets, n_boot, truth=0.0, alpha=0.05, jobs=1, seed0=0):
    """``{test: {"reject": k, "cover": k, "n": n}}`` over seeded datasets; ``truth`` the difference to cover."""
    seeds = range(seed0, seed0 + n_datasets)
    args = [(s, n_stimuli, n_subjects, design, gap, n_boot, alpha) for s in seeds]
    if jobs > 1:
        with ProcessPoolExecutor(jobs) as pool:
            results = list(pool.map(run_one, *zip(*args, strict=True), chunksize=4))
    else:
        results = [run_one(*a) for a in args]
    tally = {}
    for res in results:
        for name, (p, lo, hi) in res.items():
            t = tally.setdefault(name, {"reject": 0, "cover": 0, "n": 0})
            t["reject"] += p < alpha
            t["cover"] += lo <= truth <= hi
            t["n"] += 1
    return tally


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=int, default=400, help="datasets per design")
    parser.add_argument("--n-boot", type=int, default=100, help="bootstrap samples of every map")
    parser.add_argument("--stimuli", type=int, nargs="+", default=[40])
    parser.add_argument("--subjects", type=int, nargs="+", default=[8], help="multi-subject designs")
    parser.add_argument("--gaps", type=float, nargs="+", default=[1.0], help="model b's extra noise (power)")
    parser.add_argument("--truth-reps", type=int, default=2000, help="Monte-Carlo datasets of each true difference")
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--one-subject", action=argparse.BooleanOptionalAction, default=True, help="1-subject rows")
    parser.add_argument("--relabelled", action=argparse.BooleanOptionalAction, default=True, help="exact-null rows")
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"{args.datasets} datasets per row, n_boot={args.n_boot}, alpha={args.alpha}; 95 % Wilson intervals")
    head = f"{'design':<11} {'gap':>4} {'stim':>4} {'subj':>4} {'test':<30} {'reject':>22} {'coverage':>22}"
    print(head + "\n" + "-" * len(head))
    truths = {}
    for n in args.stimuli:
        for gap in args.gaps:
            truths[n, gap] = population_difference(n, gap, args.truth_reps)
    rows = []
    for n in args.stimuli:
        for n_sub in [1, *args.subjects] if args.one_subject else args.subjects:
            rows.append(("population", 0.0, n, n_sub))
            if n_sub > 1 and args.relabelled:
                rows.append(("relabelled", 0.0, n, n_sub))
            rows.extend(("population", gap, n, n_sub) for gap in args.gaps)
    for design, gap, n, n_sub in rows:
        truth = truths[n, gap][0] if gap else 0.0
        tally = calibrate(n, n_sub, design, gap, args.datasets, args.n_boot, truth, args.alpha, args.jobs)
        for name, t in tally.items():
            r, c = t["reject"] / t["n"], t["cover"] / t["n"]
            rl, rh = wilson(t["reject"], t["n"])
            cl, ch = wilson(t["cover"], t["n"])
            print(
                f"{design:<11} {gap:>4.2f} {n:>4d} {n_sub:>4d} {name:<30} {r:>6.3f} [{rl:.3f}, {rh:.3f}]"
                f" {c:>6.3f} [{cl:.3f}, {ch:.3f}]",
                flush=True,
            )
    print("true differences (Monte-Carlo mean ± se):", {k: f"{v[0]:.4f} ± {v[1]:.4f}" for k, v in truths.items()})
    print(f"total {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
