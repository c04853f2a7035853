"""Searchlight RSA: brainalign's batched kernels vs rsatoolbox's searchlight pipeline.

1. **Against rsatoolbox**, same data, same neighbourhoods (rsatoolbox's ``get_volume_searchlight``
   centres and neighbours, which brainalign's ``searchlight.spheres`` reproduces): the RDM of every
   sphere (correlation distance) and its Spearman comparison with each layer model.
   rsatoolbox: ``get_searchlight_RDMs`` + ``evaluate_models_searchlight`` (``eval_fixed``,
   one job); brainalign: ``searchlight.cell_rdms`` + ``searchlight.compare_cells``, and the same
   work through the map engine (``alignment_map(acts, rec, "rsa", regions=sl)``). Time per
   centre, the ratios, and that all give the same scores. rsatoolbox runs on the first
   ``--peer-centres`` centres only (it is slow); brainalign on all of them.
2. **Whole brain** (``--whole-brain``): brainalign alone on a synthetic box of voxels
   (``--wb-centres`` centres, ``--wb-layers`` layers), time and peak RSS.

    python benchmarks/bench_searchlight.py [--grid 14] [--radius 3] [--conditions 92] [--layers 6]
                                           [--peer-centres 300] [--whole-brain] [--wb-centres 50000]
                                           [--wb-layers 20] [--backend numpy]

Peak memory: ``resource.getrusage`` (max RSS of the process; the whole-brain run is done last,
so its figure includes everything before it) and ``tracemalloc`` for numpy's allocations.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import resource
import time
import tracemalloc
import warnings

import numpy as np

from brainalign import data, searchlight


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20  # kB on Linux


def _volume(shape, n_cond, rng):
    mask = np.ones(shape, bool)
    ijk = np.argwhere(mask)
    values = rng.normal(size=(n_cond, len(ijk)))
    rec = data.recording(
        values,
        stimulus_id=[f"c{i}" for i in range(n_cond)],
        subject="S1",
        region="box",
        neuroid_coords={
            "x": 3.0 * ijk[:, 0],
            "y": 3.0 * ijk[:, 1],
            "z": 3.0 * ijk[:, 2],
            "voxel_i": ijk[:, 0],
            "voxel_j": ijk[:, 1],
            "voxel_k": ijk[:, 2],
        },
    )
    return mask, rec


def _layers(n_cond, n_layers, rng):
    """Layer activations (50 units each, stimulus ids as the volume's) and their correlation RDMs."""
    from brainalign.metrics import rsa

    feats = [rng.normal(size=(n_cond, 50)) for _ in range(n_layers)]
    acts = data.activations({f"layer{i}": f for i, f in enumerate(feats)}, stimulus_id=[f"c{i}" for i in range(n_cond)])
    return acts, np.stack([rsa.rdm(f).values for f in feats])


def against_rsatoolbox(args, rng) -> None:
    from rsatoolbox.inference import eval_fixed
    from rsatoolbox.model import ModelFixed
    from rsatoolbox.rdm import RDMs
    from rsatoolbox.util.searchlight import evaluate_models_searchlight, get_searchlight_RDMs, get_volume_searchlight

    shape = (args.grid,) * 3
    mask, rec = _volume(shape, args.conditions, rng)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        centers, neighbors = get_volume_searchlight(mask, radius=args.radius, threshold=1.0)
    sl = searchlight.spheres(rec, radius=3.0 * args.radius, min_fraction=1.0, grid_shape=shape)
    assert np.array_equal(sl.centers, centers), "neighbourhoods differ from rsatoolbox's"
    acts, layers = _layers(args.conditions, args.layers, rng)
    Y = rec.values
    n_peer = min(args.peer_centres, len(sl))
    print(
        f"[1] {len(sl)} spheres of {sl.sizes.min()}–{sl.sizes.max()} voxels, {args.conditions} conditions, "
        f"{args.layers} layer models; rsatoolbox on the first {n_peer} centres"
    )

    tracemalloc.start()
    t0 = time.perf_counter()
    scores = searchlight.compare_cells(
        searchlight.cell_rdms(Y, sl.neighbours, "correlation", backend=args.backend), layers, "spearman"
    )
    t_ba = time.perf_counter() - t0
    ba_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()

    models = [
        ModelFixed(f"layer{i}", RDMs(layers[i][np.triu_indices(args.conditions, 1)][None])) for i in range(args.layers)
    ]
    events = np.arange(args.conditions)
    tracemalloc.start()
    t0 = time.perf_counter()
    with (
        contextlib.redirect_stdout(io.StringIO()),
        contextlib.redirect_stderr(io.StringIO()),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("ignore")
        sl_rdms = get_searchlight_RDMs(Y, centers[:n_peer], neighbors[:n_peer], events, method="correlation")
        evals = evaluate_models_searchlight(sl_rdms, models, eval_fixed, method="spearman", n_jobs=1)
    t_rt = time.perf_counter() - t0
    rt_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    ref = np.array([np.asarray(e.evaluations).reshape(-1) for e in evals])
    err = np.abs(ref - scores[:n_peer]).max()
    per_ba, per_rt = t_ba / len(sl), t_rt / n_peer
    print(
        f"    brainalign ({args.backend}): {t_ba:.2f} s for {len(sl)} centres = {1e3 * per_ba:.3f} ms/centre, "
        f"peak traced {ba_peak:.0f} MiB"
    )
    print(
        f"    rsatoolbox: {t_rt:.2f} s for {n_peer} centres = {1e3 * per_rt:.3f} ms/centre, "
        f"peak traced {rt_peak:.0f} MiB"
    )
    print(f"    ratio: {per_rt / per_ba:.1f}x faster per centre; max |score difference| = {err:.2e}")

    # The same work through the map engine: alignment_map(..., regions=sl) (batched cell path).
    from brainalign import alignment_map, set_options

    set_options(progress=False)
    method = {"metric": "correlation", "compare": "spearman", "backend": args.backend}
    t0 = time.perf_counter()
    amap = alignment_map(acts, rec, "rsa", method_options=method, regions=sl, ceiling=False)
    t_map = time.perf_counter() - t0
    per_map = t_map / len(sl)
    err_map = np.abs(amap["score"].transpose("center", "layer").values - scores).max()
    print(
        f"    alignment_map(regions=sl): {t_map:.2f} s = {1e3 * per_map:.3f} ms/centre, "
        f"{per_rt / per_map:.1f}x faster than rsatoolbox; max |difference to the kernels| = {err_map:.2e}; "
        f"peak RSS so far {_rss_gb():.2f} GiB"
    )


def whole_brain(args, rng) -> None:
    side = int(np.ceil(args.wb_centres ** (1 / 3)))
    shape = (side, side, int(np.ceil(args.wb_centres / side**2)))
    _, rec = _volume(shape, args.conditions, rng)
    t0 = time.perf_counter()
    sl = searchlight.spheres(rec, radius=3.0 * args.radius)
    t_sl = time.perf_counter() - t0
    acts, layers = _layers(args.conditions, args.wb_layers, rng)
    t0 = time.perf_counter()
    if args.wb_engine:  # through the map engine: alignment_map(..., regions=sl)
        from brainalign import alignment_map, set_options

        with set_options(progress=False):
            amap = alignment_map(acts, rec, "rsa", regions=sl, ceiling=False)
        scores = amap["score"].transpose("center", "layer").values
    else:
        scores = searchlight.compare_cells(
            searchlight.cell_rdms(rec.values, sl, "correlation", backend=args.backend, memory_budget=args.budget),
            layers,
            "spearman",
        )
    t_k = time.perf_counter() - t0
    print(
        f"[2] whole brain: {len(sl)} centres ({sl.sizes.min()}–{sl.sizes.max()} voxels) × {args.wb_layers} "
        f"layers × {args.conditions} conditions -> scores {scores.shape}"
    )
    print(
        f"    {'alignment_map' if args.wb_engine else 'kernels'}: spheres {t_sl:.1f} s; "
        f"RDMs + comparison {t_k:.1f} s ({1e3 * t_k / len(sl):.3f} ms/centre); "
        f"peak RSS {_rss_gb():.2f} GiB"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--grid", type=int, default=14, help="side of the voxel cube (voxels)")
    p.add_argument("--radius", type=float, default=3, help="sphere radius in voxels (3: 123-voxel spheres)")
    p.add_argument("--conditions", type=int, default=92)
    p.add_argument("--layers", type=int, default=6)
    p.add_argument("--peer-centres", type=int, default=300)
    p.add_argument("--whole-brain", action="store_true")
    p.add_argument("--wb-centres", type=int, default=50_000)
    p.add_argument("--wb-layers", type=int, default=20)
    p.add_argument("--wb-engine", action="store_true", help="run the whole brain through alignment_map")
    p.add_argument("--budget", default=None, help="memory budget of one chunk of centres")
    p.add_argument("--backend", default="numpy", choices=["numpy", "torch", "torch_cuda"])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.peer_centres > 0:
        against_rsatoolbox(args, rng)
    if args.whole_brain:
        whole_brain(args, rng)


if __name__ == "__main__":
    main()
