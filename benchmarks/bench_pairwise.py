"""Time of keep_samples + stats.pairwise on RDM input (issue 16): n_boot resamples, layers × subjects' RDMs.

python benchmarks/bench_pairwise.py --n-boot 1000 --layers 20 --rdms 5 --stimuli 92
python benchmarks/bench_pairwise.py --calibrate 200   # false positives of each one-subject test on planted nulls
"""

import argparse
import time

import numpy as np
from scipy.spatial.distance import pdist

import brainalign
from brainalign import alignment_map, data, stats

parser = argparse.ArgumentParser()
parser.add_argument("--n-boot", type=int, default=1000)
parser.add_argument("--layers", type=int, default=20)
parser.add_argument("--rdms", type=int, default=5)
parser.add_argument("--stimuli", type=int, default=92)
parser.add_argument("--calibrate", type=int, default=0, help="null runs (one subject, 40 stimuli, equal layers)")
args = parser.parse_args()
brainalign.set_options(progress=False)
if args.calibrate:
    from scipy import stats as sps

    hits = {"jackknife": 0, "bootstrap": 0}
    for seed in range(args.calibrate):
        r = np.random.default_rng(seed)
        T = r.normal(size=(40, 20))
        acts = data.activations({k: T + 1.5 * r.normal(size=T.shape) for k in "ab"}, stimulus_id=np.arange(40))
        brain = data.rdms(pdist(T + 1.5 * r.normal(size=T.shape), "correlation")[None], stimulus_id=np.arange(40),
                          subject=["s0"], region="IT")  # fmt: skip
        amap = alignment_map(acts, brain, "rsa", n_boot=200, keep_samples=True, ceiling=False, random_state=seed)
        for test in hits:
            hits[test] += float(stats.pairwise(amap, test=test)["p_value"][0, 1, 0]) < 0.05
    low, high = sps.binom.interval(0.95, args.calibrate, 0.05)
    print(f"false positives of {args.calibrate} null runs (nominal {low:.0f}-{high:.0f}): {hits}")
    raise SystemExit
rng = np.random.default_rng(0)
n = args.stimuli
T = rng.normal(size=(n, 30))
acts = data.activations({f"l{i}": T + rng.normal(size=T.shape) for i in range(args.layers)}, stimulus_id=np.arange(n))
brain = data.rdms(
    np.stack([pdist(T + rng.normal(size=T.shape), "correlation") for _ in range(args.rdms)]),
    stimulus_id=np.arange(n),
    subject=[f"s{i}" for i in range(args.rdms)],
    region="IT",
)
for keep in (False, True):
    t = time.perf_counter()
    amap = alignment_map(acts, brain, "rsa", n_boot=args.n_boot, keep_samples=keep, ceiling=False)
    print(f"alignment_map(n_boot={args.n_boot}, keep_samples={keep}): {time.perf_counter() - t:.2f} s")
t = time.perf_counter()
res = stats.pairwise(amap)
print(f"stats.pairwise: {time.perf_counter() - t:.2f} s ({res.sizes['layer']} x {res.sizes['layer_2']} pairs)")
