"""``brainalign run``: every (dataset, model, method) cell of a config, resumable, serial or on Dask.

Each finished cell is one netCDF map in ``<output>/maps/``, written atomically and stamped with a
key of everything that made it: the cell's configuration *and* the content (SHA-256) of every
input file it read. A rerun skips cells whose map exists with the same key, so an interrupted run
(Ctrl-C, a killed job) finishes only what is left and gives the same maps as an uninterrupted one;
a map made by a different configuration, or from input files that changed since, is never replaced
unless asked (``overwrite``); ``recompute`` computes every cell again. The output folder is locked
while a run uses it, and only files brainalign wrote there are ever replaced
(:mod:`brainalign.runner_output`). See ``docs/reliability.md``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from .config import CODE_REFUSED, ConfigError, fingerprint, load_config
from .config_limits import check_cell_sizes, check_simulation
from .runner_inputs import file_digest, get_activations, get_recording, input_files, load_stimuli
from .runner_output import OutputFolder, OutputLockedError, install_sigterm_handler
from .utils import check_writable_dir, logger, progress

__all__ = [
    "Cell",
    "OutputLockedError",
    "RunResult",
    "compute_map",
    "get_activations",
    "get_recording",
    "install_sigterm_handler",
    "load_stimuli",
    "plan",
    "run",
]

_SEP = "__"


@dataclass(frozen=True)
class Cell:
    """One (dataset, model, method) triple of a config, with the digests of the files it reads."""

    dataset: dict[str, Any]
    model: dict[str, Any]
    method: dict[str, Any]
    statistics: dict[str, Any]
    inputs: dict[str, str] = field(default_factory=dict)  # path -> SHA-256 of its content
    allow_code: bool = False

    @property
    def name(self) -> str:
        return _SEP.join((self.dataset["name"], self.model["name"], self.method["label"]))

    @property
    def config_key(self) -> str:
        """Digest of the cell's configuration (without its input files)."""
        return fingerprint(
            {"dataset": self.dataset, "model": self.model, "method": self.method, "statistics": self.statistics}
        )

    @property
    def key(self) -> str:
        """Digest of everything that determines this cell's map: configuration and input contents."""
        return fingerprint({"config": self.config_key, "inputs": self.inputs})


@dataclass
class RunResult:
    """What a run did: the output folder, cells computed and skipped, and the report's path."""

    output: Path
    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    report: Path | None = None


def compute_map(cell: Cell, activations: xr.DataArray, recording: xr.DataArray) -> xr.Dataset:
    """The map of one cell (a pure function of its inputs: the same on any worker)."""
    from . import registry
    from .maps import alignment_map, with_group
    from .methods import resolve

    stats = cell.statistics
    where = f"methods[{cell.method['label']}]"
    if cell.method["name"] not in registry.list_methods() and not cell.allow_code:
        raise ConfigError(f"{where}.name: {cell.method['name']!r} is an import path; {CODE_REFUSED}")
    method, _, info = resolve(cell.method["name"], cell.method["options"])
    if info.family == "encoder":
        method = method.replace(cv=cell.method["cv"], delays=cell.method["delays"], hrf_model=cell.method["hrf_model"])
    elif cell.method["delays"] is not None or cell.method["hrf_model"] is not None:
        raise ConfigError(f"{where}: delays / hrf_model apply to encoders only.")
    if cell.dataset["rdms"] is not None and not info.accepts_rdms:
        raise ConfigError(
            f"{where}: {cell.method['name']!r} needs responses, but dataset {cell.dataset['name']!r} holds brain "
            "RDMs; use a method that accepts RDMs (brainalign info lists them)."
        )
    regions: Any = "region"
    if cell.dataset["searchlight"] is not None:
        from .searchlight import spheres

        sl = cell.dataset["searchlight"]
        regions = spheres(recording, sl["radius"], min_neuroids=sl["min_neuroids"], min_fraction=sl["min_fraction"])
    amap = alignment_map(
        activations,
        recording,
        method,
        regions=regions,
        repetitions=cell.dataset["repetitions"],
        ceiling=stats["ceiling"],
        n_boot=stats["n_boot"],
        n_perm=stats["n_perm"],
        random_state=stats["random_state"],
    )
    amap.attrs["method"] = cell.method["name"]
    if "subject" in amap["score"].dims and "center" not in amap["score"].dims:
        amap = with_group(amap, n_boot=stats["n_boot"], n_perm=stats["n_perm"], random_state=stats["random_state"])
    amap.attrs.update(
        cell=cell.name,
        cell_key=cell.key,
        cell_config_key=cell.config_key,
        cell_inputs=dict(cell.inputs),
        dataset=cell.dataset["name"],
        model_label=cell.model["name"],
        method_label=cell.method["label"],
    )
    if "truth" in recording.attrs:
        amap.attrs["truth"] = dict(recording.attrs["truth"])
    return amap


# ---------------------------------------------------------------------------------------- plan
def plan(cfg: Mapping[str, Any]) -> list[Cell]:
    """The cells of a validated config, dataset by dataset, then model, then method.

    Reads every input file once to fingerprint it (a missing one is an error naming its key).
    """
    digests: dict[str, str] = {}
    cells = []
    for ds in cfg["datasets"]:
        for model in cfg["models"]:
            inputs = {}
            for _, path in input_files(cfg, ds, model):
                if path not in digests:
                    digests[path] = file_digest(path)
                inputs[path] = digests[path]
            cells += [
                Cell(ds, model, method, cfg["statistics"], inputs=inputs, allow_code=cfg["allow_code"])
                for method in cfg["methods"]
            ]
    return cells


def _map_path(output: Path, cell: Cell) -> Path:
    return output / "maps" / f"{cell.name}.nc"


def _existing_attrs(path: Path) -> dict[str, Any] | None:
    from .io.arrays import load

    try:
        return dict(load(path, lazy=True).attrs)  # the attrs only: no map is read into memory
    except (OSError, ValueError):
        return None


def _decide(cell: Cell, path: Path, overwrite: bool, recompute: bool) -> bool:
    """Whether to compute ``cell`` (False: its map is done); raise when its map must not be replaced."""
    if not (path.exists() or path.is_symlink()):
        return True
    attrs = _existing_attrs(path)
    if attrs is None:
        size = path.stat().st_size if path.is_file() else 0
        raise ConfigError(
            f"{path} is not a map brainalign can read ({size} bytes: empty or damaged). brainalign writes maps "
            "atomically and does not replace files it cannot recognise; delete it and rerun to compute that cell."
        )
    if "cell_key" not in attrs:
        raise ConfigError(
            f"{path} is a netCDF file that `brainalign run` did not write (it has no cell key), so it is never "
            "replaced. Move it away, or choose another output folder."
        )
    if attrs["cell_key"] == cell.key:
        return recompute
    if overwrite or recompute:
        return True
    before = attrs.get("cell_inputs") or {}
    if attrs.get("cell_config_key") == cell.config_key and isinstance(before, dict):
        changed = sorted(p for p, digest in cell.inputs.items() if before.get(p) != digest)
        raise ConfigError(
            f"{path} was computed from another version of {', '.join(changed) or 'its input files'} (changed "
            "since). Pass --overwrite to recompute it, or use another output folder."
        )
    raise ConfigError(
        f"{path} holds results of a different configuration. Use another output folder, or pass --overwrite to "
        "replace them."
    )


def _groups(cells: list[Cell]) -> Iterator[tuple[tuple[str, str], list[Cell]]]:
    groups: dict[tuple[str, str], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.dataset["name"], cell.model["name"]), []).append(cell)
    yield from groups.items()


def _inputs(
    cfg: Mapping[str, Any], dataset: Mapping[str, Any], model: Mapping[str, Any], memo: dict[Any, Any]
) -> tuple[xr.DataArray, xr.DataArray]:
    """Activations of ``model`` and the recording of ``dataset`` (built from the simulate model).

    ``memo`` keeps what a run has already loaded or computed (stimuli, activations, recordings),
    so that each dataset's recording is built once, whatever the number of models.
    """

    def once(key: Any, make: Any) -> Any:
        if key not in memo:
            memo[key] = make()
        return memo[key]

    name = dataset["name"]
    stimuli, ids = once(("stimuli", name), lambda: load_stimuli(dataset["stimuli"]))

    def activations(m: Mapping[str, Any]) -> xr.DataArray:
        return once(
            ("activations", name, m["name"]),
            lambda: get_activations(m, stimuli, ids, cfg["cache"], cfg["allow_code"]),
        )

    def recording() -> xr.DataArray:
        source = None
        if dataset["simulate"] is not None:
            source = activations(next(m for m in cfg["models"] if m["name"] == dataset["simulate"]["model"]))
        return get_recording(dataset, source, ids)

    acts = activations(model)
    rec = once(("recording", name), recording)
    memo.pop(("activations", name, model["name"]), None)  # kept only while another model may need it
    return acts, rec


def _iter_group(
    cfg: Mapping[str, Any], cells: list[Cell], memo: dict[Any, Any] | None = None
) -> Iterator[tuple[Cell, xr.Dataset, dict[str, bytes]]]:
    """Each cell of a (dataset, model) group, with its figures, as soon as it is computed."""
    from .runner_figures import cell_figures

    memo = {} if memo is None else memo
    dataset = cells[0].dataset
    if ("stimuli", dataset["name"]) not in memo:
        memo[("stimuli", dataset["name"])] = load_stimuli(dataset["stimuli"])
    check_simulation(dataset, len(memo[("stimuli", dataset["name"])][1]))
    acts, rec = _inputs(cfg, dataset, cells[0].model, memo)
    for cell in cells:
        check_cell_sizes(cell.name, cell.dataset, cell.statistics, acts, rec)
        amap = compute_map(cell, acts, rec)
        yield cell, amap, cell_figures(amap, rec, cell.name.replace(_SEP, " · "))


def _compute_group(cfg: Mapping[str, Any], cells: list[Cell]) -> list[tuple[Cell, xr.Dataset, dict[str, bytes]]]:
    """All cells of a group (one Dask task)."""
    return list(_iter_group(cfg, cells))


def _save_cell(folder: OutputFolder, cell: Cell, amap: xr.Dataset, figures: dict[str, bytes]) -> None:
    from .io.arrays import save

    # Figures first, the map last: the map marks the cell as done, so a run killed in between
    # redoes the cell instead of leaving it without its figures.
    for suffix, content in figures.items():
        folder.write_bytes(Path("figures") / f"{cell.name}{suffix}", content)
    save(amap, _map_path(folder.root, cell), overwrite=True)  # an existing map was checked by _decide


def run(
    config: str | os.PathLike | Mapping[str, Any],
    *,
    scheduler: str | None = None,
    overwrite: bool = False,
    recompute: bool = False,
    report: bool = True,
    allow_code: bool = False,
) -> RunResult:
    """Run a benchmark config: every cell's map, its figures, and the HTML report.

    Parameters
    ----------
    config : path or mapping
        A YAML file (relative paths inside it are relative to it) or a mapping (relative paths
        relative to the working folder).
    scheduler : str, optional
        Run the cells as ``dask.distributed`` tasks: ``"local"`` starts a local cluster, anything
        else is the address of a running scheduler (``tcp://host:8786``). Default: serial.
    overwrite : bool
        Replace maps made by a different configuration or from input files that changed since
        (by default that is an error, and nothing is written). Maps made by this very
        configuration are kept: see ``recompute``.
    recompute : bool
        Compute every cell again, even those whose map is up to date (implies ``overwrite``).
    report : bool
        Write ``report.html`` at the end.
    allow_code : bool
        Let the config import and call the code it names (``'module:callable'``); see
        :func:`brainalign.config.validate_config`.

    Returns
    -------
    RunResult

    Raises
    ------
    OutputLockedError
        Another run is using the output folder.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from brainalign import data, simulate
    >>> from brainalign.io import arrays
    >>> folder = tempfile.mkdtemp()
    >>> rng = np.random.default_rng(0)
    >>> acts = data.activations({"l0": rng.normal(size=(20, 5)), "l1": rng.normal(size=(20, 5))}, stimulus_id=range(20))
    >>> _ = arrays.save(acts, os.path.join(folder, "acts.nc"))
    >>> _ = open(os.path.join(folder, "s.txt"), "w").write("\\n".join(f"s{i}" for i in range(20)))
    >>> cfg = {"output": os.path.join(folder, "out"),
    ...        "models": [{"name": "m", "type": "activations", "path": os.path.join(folder, "acts.nc")}],
    ...        "datasets": [{"name": "d", "stimuli": {"type": "text", "path": os.path.join(folder, "s.txt")},
    ...                      "simulate": {"model": "m", "regions": {"V1": "l0"}, "n_neuroids": 10}}],
    ...        "methods": ["rsa"]}
    >>> result = run(cfg, report=False)
    >>> result.computed, run(cfg, report=False).skipped
    (['d__m__rsa'], ['d__m__rsa'])
    """
    cfg = load_config(config, allow_code=allow_code)
    with OutputFolder(cfg["output"]) as folder:
        output = folder.root
        for sub in ("maps", "figures"):
            check_writable_dir(f"output/{sub}", output / sub)
        folder.clean_temporaries("maps", "figures", ".")
        cells = plan(cfg)
        pending = [c for c in cells if _decide(c, _map_path(output, c), overwrite, recompute)]
        result = RunResult(output=output, skipped=[c.name for c in cells if c not in pending])
        # Every file this run will write is checked first: nothing is computed only to be refused.
        for target in ["config.json", "report.html"][: 2 if report else 1]:
            folder.check(output / target)
        for cell in pending:
            for path in (output / "figures").glob(f"{cell.name}.*"):
                folder.check(path)
        if result.skipped:
            logger.info(
                "run: %d of %d cells already done; computing the other %d",
                len(result.skipped),
                len(cells),
                len(pending),
            )
        folder.write_bytes("config.json", json.dumps(cfg, indent=2, sort_keys=True, default=str).encode())
        groups = list(_groups(pending))
        if scheduler is None:
            bar = progress(range(len(pending)), desc="cells", total=len(pending), unit="cell")
            memo: dict[Any, Any] = {}
            for _, group in groups:
                for cell, amap, figures in _iter_group(cfg, group, memo):  # saved one by one: resumable per cell
                    _save_cell(folder, cell, amap, figures)
                    _done(result, cell, bar)
        else:
            _run_dask(cfg, groups, folder, scheduler, result)
        if report:
            from .report import render_report

            result.report = folder.write_bytes("report.html", render_report(output).encode("utf-8"))
            logger.info("report: wrote %s", result.report)
    return result


def _done(result: RunResult, cell: Cell, bar: Any) -> None:
    result.computed.append(cell.name)
    logger.info("run: %s done", cell.name)
    next(bar, None)


def _run_dask(cfg: Mapping[str, Any], groups: list, folder: OutputFolder, scheduler: str, result: RunResult) -> None:
    from .utils import dask_client, quietly, soft_import

    distributed = soft_import("distributed", "running cells on Dask")
    with dask_client(scheduler) as client:
        futures = [client.submit(quietly, _compute_group, dict(cfg), group, pure=False) for _, group in groups]
        total = sum(len(g) for _, g in groups)
        bar = progress(range(total), desc="cells (dask)", total=total, unit="cell")
        for future in distributed.as_completed(futures):
            for cell, amap, figures in future.result():
                _save_cell(folder, cell, amap, figures)
                _done(result, cell, bar)
