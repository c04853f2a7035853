"""Time of stats.pairwise(test="sign_flip"): layers × cells × subjects, n_perm random sign patterns.

python benchmarks/bench_sign_flip.py --subjects 20 --cells 10000 --layers 2 --n-perm 5000
python benchmarks/bench_sign_flip.py --save p.npy   # keep the p-values to compare two versions
"""

import argparse
import resource
import time

import numpy as np
import xarray as xr

from brainalign import stats

parser = argparse.ArgumentParser()
parser.add_argument("--subjects", type=int, default=20)
parser.add_argument("--cells", type=int, default=10_000)
parser.add_argument("--layers", type=int, default=2)
parser.add_argument("--n-perm", type=int, default=5000)
parser.add_argument("--repeat", type=int, default=3)
parser.add_argument("--save", default="", help="write the p-values and intervals here (.npz)")
args = parser.parse_args()
rng = np.random.default_rng(0)
score = rng.normal(size=(args.layers, args.cells, args.subjects)) + 0.05 * np.arange(args.layers)[:, None, None]
amap = xr.Dataset(
    {"score": (("layer", "region", "subject"), score)},
    coords={"layer": [f"l{i}" for i in range(args.layers)], "subject": np.arange(args.subjects)},
)
times = []
for _ in range(args.repeat):
    t = time.perf_counter()
    res = stats.pairwise(amap, test="sign_flip", n_perm=args.n_perm, random_state=0)
    times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20
print(
    f"pairwise(sign_flip): {args.layers} layers x {args.cells} cells x {args.subjects} subjects, {args.n_perm} flips: "
    f"best {min(times):.2f} s of {args.repeat}, peak RSS {peak:.2f} GB"
)
if args.save:
    np.savez(args.save, **{k: res[k].values for k in ("p_value", "ci_low", "ci_high", "difference")})
