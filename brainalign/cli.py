"""The ``brainalign`` command line.

Errors the user can fix (bad arguments, missing files, unwritable folders) print one line,
``brainalign: error: ...``, and exit with code 2; ``--debug`` shows the traceback instead.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from ._version import __version__

EXIT_USAGE = 2
_ALLOW_CODE = (
    "let the config import and call the code it names ('module:callable' methods, factory, preprocess, "
    "path_from); without it a config is data and runs no code (same as `allow_code: true` in the config)"
)


def _configure_logging(verbose: int, quiet: bool) -> None:
    level = logging.WARNING if quiet else (logging.DEBUG if verbose > 1 else logging.INFO)
    logger = logging.getLogger("brainalign")
    logger.setLevel(level)
    if not any(getattr(h, "_brainalign_cli", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s" if verbose > 1 else "%(message)s"))
        handler._brainalign_cli = True  # type: ignore[attr-defined]
        logger.addHandler(handler)


def _headless(models: bool = True) -> None:
    """Figures go to files (Agg backend); transformers' own weight-loading bar adds nothing to ours."""
    import importlib.util

    import matplotlib

    matplotlib.use("Agg")
    if models and importlib.util.find_spec("transformers") is not None:
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()


def _cmd_demo(args: argparse.Namespace) -> int:
    _headless()
    from .demo import DEMO_REGIONS, format_map, run_demo

    print("brainalign demo: all-MiniLM-L6-v2 (a real 6-layer transformer) on built-in sentences")
    print("               vs a SIMULATED brain: each region is a noisy linear read-out of a planted layer.")
    result = run_demo(
        args.out,
        n_neuroids=args.n_neuroids,
        snr=args.snr,
        random_state=args.seed,
        overwrite=args.overwrite,
        cache=args.cache,
        device=args.device,
    )
    print()
    print(
        f"RSA (correlation distance, Spearman) over {result.map.attrs['n_stimuli']} sentences; "
        "* = best layer per region"
    )
    print(format_map(result.map, DEMO_REGIONS))
    print()
    print("Planted layer recovered for every region:", "yes" if result.recovered else "NO")
    for path in result.files:
        print(f"wrote {path}")
    return 0 if result.recovered else 1


def _cmd_info(args: argparse.Namespace) -> int:
    import importlib.metadata as md

    print(f"brainalign {__version__}")
    for dist in ("numpy", "scipy", "xarray", "torch", "transformers", "himalaya", "nilearn", "mne"):
        try:
            version = md.version(dist)
        except md.PackageNotFoundError:
            version = "not installed"
        print(f"  {dist:<13}{version}")
    from . import registry
    from .methods import method_info

    print("methods (family, direction, needs, ceiling, statistics):")
    for name in registry.list_methods():
        try:
            info = method_info(registry.get(name))
        except (ImportError, TypeError, ValueError) as err:  # a plug-in that needs options or fails to load
            print(f"  {name:<18}(not built with default options: {err})")
            continue
        needs = [k for k in ("trials", "tokens", "unit_correspondence") if getattr(info, f"needs_{k}")]
        print(
            f"  {name:<18}{info.family:<11}{'higher' if info.higher_is_better else 'lower':<7}"
            f"{'+'.join(needs) or '-':<21}{info.ceiling:<27}"
            f"{'bootstrap+permutation' if info.resampling else 'none'}{'  accepts RDMs' if info.accepts_rdms else ''}"
        )
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    _headless()
    if args.dry_run:
        from .runner_dry import dry_run, format_dry_run

        rows = dry_run(args.config, allow_code=args.allow_code)
        print(format_dry_run(rows))
        refused = sum(not row["fits"] for row in rows)
        print(f"{len(rows)} cell(s) planned, {refused} would not fit; nothing was computed or written.")
        return 0
    from .runner import install_sigterm_handler, run

    install_sigterm_handler()
    result = run(
        args.config,
        scheduler=args.scheduler,
        overwrite=args.overwrite,
        recompute=args.recompute,
        report=not args.no_report,
        allow_code=args.allow_code,
    )
    print(f"{len(result.computed)} cell(s) computed, {len(result.skipped)} already done; results in {result.output}")
    if result.report is not None:
        print(f"report: {result.report}")
    return 0


def _cmd_identify(args: argparse.Namespace) -> int:
    _headless()
    from .identify_config import identify
    from .runner import install_sigterm_handler

    install_sigterm_handler()
    result, files = identify(
        args.config, scheduler=args.scheduler, overwrite=args.overwrite, allow_code=args.allow_code
    )
    table = (
        result["accuracy"].mean(("n_stimuli", "n_neuroids"))
        if result.sizes["n_stimuli"] * result.sizes["n_neuroids"] > 1
        else result["accuracy"].squeeze(("n_stimuli", "n_neuroids"), drop=True)
    )
    print(
        f"top-1 accuracy of the true {result.attrs['level']} (chance {float(result['chance']):.2f}), "
        f"{result.attrs['n_trials_per_condition']} trials per cell:"
    )
    print(table.to_pandas().round(2).to_string())
    for path in files:
        print(f"wrote {path}")
    return 0


def _cmd_report(args: argparse.Namespace) -> int:
    _headless(models=False)
    from .report import build_report

    out = args.output or f"{args.results.rstrip('/')}/report.html"
    path = build_report(args.results, out, overwrite=args.overwrite)
    print(f"wrote {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brainalign",
        description="Measure how well deep-network representations align with brain recordings.",
    )
    parser.add_argument("--version", action="version", version=f"brainalign {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv: debug)")
    parser.add_argument("-q", "--quiet", action="store_true", help="only warnings and errors (no progress bars)")
    parser.add_argument("--no-progress", action="store_true", help="hide progress bars")
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    demo = sub.add_parser(
        "demo",
        help="run the whole path offline on built-in data (real model, simulated brain)",
        description="Run MiniLM on built-in sentences, build a simulated brain from known layers, "
        "compute an RSA layer × region map, print it and save it (netCDF + PNG).",
    )
    demo.add_argument("--out", default="brainalign-demo", help="output folder (default: ./brainalign-demo)")
    demo.add_argument("--overwrite", action="store_true", help="replace the files of an earlier run")
    demo.add_argument("--cache", default=None, help="folder to cache model activations in")
    demo.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    demo.add_argument("--n-neuroids", type=int, default=200, help="simulated neuroids per region (default 200)")
    demo.add_argument("--snr", type=float, default=2.0, help="signal-to-noise variance ratio (default 2)")
    demo.add_argument("--seed", type=int, default=0, help="seed of the simulated brain (default 0)")
    demo.set_defaults(func=_cmd_demo)

    run = sub.add_parser(
        "run",
        help="run a benchmark config (models × datasets × methods): maps, figures, HTML report",
        description="Run every (dataset, model, method) cell of a YAML config. Finished cells are kept on "
        "disk, keyed by their configuration and the content of their input files, so an interrupted run resumes "
        "where it stopped. The output folder is locked while a run uses it (a second run exits with code 2), and "
        "only files brainalign wrote there are replaced. See docs/config.md for the keys.",
    )
    run.add_argument("config", help="the YAML config file")
    run.add_argument("--scheduler", default=None, help="run cells on Dask: 'local' or a scheduler address")
    run.add_argument(
        "--overwrite",
        action="store_true",
        help="replace maps made by a different config or from changed input files (maps made by this same "
        "config and inputs are kept: see --recompute)",
    )
    run.add_argument("--recompute", action="store_true", help="compute every cell again, even the up-to-date ones")
    run.add_argument("--allow-code", action="store_true", help=_ALLOW_CODE)
    run.add_argument("--no-report", action="store_true", help="do not write report.html")
    run.add_argument(
        "--dry-run",
        action="store_true",
        help="print each cell's memory estimate (the planner's parts and batch sizes) and whether it fits; "
        "nothing is computed or written",
    )
    run.set_defaults(func=_cmd_run)

    ident = sub.add_parser(
        "identify",
        help="would each method find the true layer? a model-recovery study from a config",
        description="Simulate brains from the configured models' layers with known truth, score every candidate "
        "layer with every method, and report how often the true layer ranks first (identifiability.nc and a figure).",
    )
    ident.add_argument("config", help="the YAML config file")
    ident.add_argument("--scheduler", default=None, help="run on Dask: 'local' or a scheduler address")
    ident.add_argument("--overwrite", action="store_true", help="replace an earlier result")
    ident.add_argument("--allow-code", action="store_true", help=_ALLOW_CODE)
    ident.set_defaults(func=_cmd_identify)

    report = sub.add_parser("report", help="rebuild the HTML report from saved results")
    report.add_argument("results", help="a results folder written by 'brainalign run'")
    report.add_argument("-o", "--output", default=None, help="the HTML file (default: RESULTS/report.html)")
    report.add_argument("--overwrite", action="store_true", help="replace an existing report")
    report.set_defaults(func=_cmd_report)

    info = sub.add_parser("info", help="versions of brainalign and its dependencies, registered methods")
    info.set_defaults(func=_cmd_info)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``brainalign`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    _configure_logging(args.verbose, args.quiet)
    from .utils import set_options

    if args.no_progress or args.quiet:
        set_options(progress=False)
    try:
        return int(args.func(args))
    except (ValueError, TypeError, FileExistsError, FileNotFoundError, PermissionError, ImportError) as err:
        if args.debug:
            raise
        print(f"brainalign: error: {err}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("brainalign: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
