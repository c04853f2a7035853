"""Split-half noise ceilings of similarity maps: seconds of ``alignment_map(..., ceiling=True)`` minus
the same map without a ceiling, for a searchlight map (RSA correlation, crossnobis RSA, CKA) and a
many-region RSA map.

    python benchmarks/bench_ceiling.py [--centres 500] [--regions 50] [--stimuli 24] [--repetitions 4]
        [--methods rsa,crossnobis,cka]

A searchlight's centres are the voxels of a grid (3 mm voxels, 5 mm spheres: up to 19 voxels each);
regions split the same number of voxels into equal parts.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import brainalign
from brainalign import alignment_map, data, searchlight

brainalign.set_options(progress=False)

METHODS = {"rsa": ("rsa", {}), "crossnobis": ("rsa", {"metric": "crossnobis"}), "cka": ("cka", {})}


def grid_recording(rng, n_voxels, n_stim, n_rep, n_regions):
    """A trial recording ``(presentation, neuroid, repetition)`` on a 3 mm grid of ``n_voxels`` voxels."""
    side = int(np.ceil(n_voxels ** (1 / 3)))
    ijk = np.argwhere(np.ones((side, side, side), bool))[:n_voxels]
    signal = rng.normal(size=(n_stim, n_voxels))
    trials = signal[..., None] + rng.normal(size=(n_stim, n_voxels, n_rep))
    region = np.repeat(np.arange(n_regions), int(np.ceil(n_voxels / n_regions)))[:n_voxels].astype(str)
    xyz = 3.0 * ijk
    return data.recording(
        trials,
        stimulus_id=np.arange(n_stim),
        subject="S1",
        region=region,
        neuroid_coords={"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2]},
    )


def timed(acts, rec, method, options, regions, ceiling):
    start = time.perf_counter()
    amap = alignment_map(acts, rec, method, method_options=options, regions=regions, ceiling=ceiling, random_state=0)
    return time.perf_counter() - start, amap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    for flag, default in (("centres", 500), ("regions", 50), ("stimuli", 24), ("repetitions", 4)):
        parser.add_argument(f"--{flag}", type=int, default=default)
    parser.add_argument("--methods", default="rsa,crossnobis,cka")
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    rec = grid_recording(rng, args.centres, args.stimuli, args.repetitions, args.regions)
    acts = data.activations(
        {f"l{k}": rng.normal(size=(args.stimuli, 16)) for k in range(2)}, stimulus_id=np.arange(args.stimuli)
    )
    sl = searchlight.spheres(rec, radius=5.0)
    sizes = [len(n) for n in sl.neighbours]
    print(
        f"{len(sl)} centres ({min(sizes)}-{max(sizes)} voxels), {args.stimuli} stimuli, {args.repetitions} repetitions"
    )
    for key in args.methods.split(","):
        method, options = METHODS[key]
        for label, regions in ((f"searchlight {len(sl)} centres", sl), (f"{args.regions} regions", "region")):
            if key == "cka" and regions == "region":
                continue
            t_map, _ = timed(acts, rec, method, options, regions, False)
            t_all, amap = timed(acts, rec, method, options, regions, True)
            finite = int(np.isfinite(amap["ceiling"].values).sum())
            print(
                f"{key:>10} {label:>26}: map {t_map:6.2f} s, with ceiling {t_all:6.2f} s, "
                f"ceiling {t_all - t_map:6.2f} s ({finite} finite ceilings)"
            )


if __name__ == "__main__":
    main()
