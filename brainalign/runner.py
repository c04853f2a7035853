"""``brainalign run``: every (dataset, model, method) cell of a config, resumable, serial or on Dask.

Each finished cell is one netCDF map in ``<output>/maps/``, written atomically and stamped with a
key of the configuration that made it. A rerun skips cells whose map exists with the same key, so
an interrupted run (Ctrl-C, a killed job) finishes only what is left and gives the same maps as an
uninterrupted one; a map made by a *different* configuration is never replaced unless asked.
"""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .config import ConfigError, fingerprint, import_object, load_config, validate_config
from .utils import check_writable_dir, logger, progress

__all__ = ["Cell", "RunResult", "load_stimuli", "plan", "run"]

_SEP = "__"


@dataclass(frozen=True)
class Cell:
    """One (dataset, model, method) triple of a config."""

    dataset: dict[str, Any]
    model: dict[str, Any]
    method: dict[str, Any]
    statistics: dict[str, Any]

    @property
    def name(self) -> str:
        return _SEP.join((self.dataset["name"], self.model["name"], self.method["label"]))

    @property
    def key(self) -> str:
        """Digest of everything that determines this cell's map."""
        return fingerprint(
            {"dataset": self.dataset, "model": self.model, "method": self.method, "statistics": self.statistics}
        )


@dataclass
class RunResult:
    """What a run did: the output folder, cells computed and skipped, and the report's path."""

    output: Path
    computed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    report: Path | None = None


# ------------------------------------------------------------------------------------- inputs
def load_stimuli(spec: Mapping[str, Any]) -> tuple[list[Any] | np.ndarray, np.ndarray]:
    """Read the stimuli of a dataset: ``(stimuli, stimulus_ids)``.

    ``text``: a ``.txt`` file (one text per non-empty line; ids 0, 1, ...) or a ``.csv``/``.tsv``
    with a text column and an id column. ``array``: a ``.npy`` array (ids 0, 1, ...) or a ``.npz``
    with ``stimuli`` and an id array.
    """
    path = Path(spec["path"])
    if not path.is_file():
        raise ConfigError(f"stimuli.path: {str(path)!r} does not exist.")
    suffix = path.suffix.lower()
    if spec["type"] == "text":
        if suffix == ".txt":
            texts = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
            return texts, np.arange(len(texts))
        if suffix in (".csv", ".tsv"):
            frame = pd.read_csv(path, sep="\t" if suffix == ".tsv" else ",")
            for col in (spec["text_column"], spec["id_column"]):
                if col not in frame.columns:
                    raise ConfigError(f"stimuli: {path.name} has no column {col!r}; columns: {list(frame.columns)}.")
            return frame[spec["text_column"]].astype(str).tolist(), frame[spec["id_column"]].to_numpy()
        raise ConfigError(f"stimuli.path: text stimuli must be .txt, .csv or .tsv, got {path.name!r}.")
    if suffix == ".npy":
        arr = np.load(path, allow_pickle=False)
        return arr, np.arange(len(arr))
    if suffix == ".npz":
        with np.load(path, allow_pickle=False) as npz:
            if "stimuli" not in npz or spec["id_column"] not in npz:
                raise ConfigError(f"stimuli: {path.name} must hold arrays 'stimuli' and {spec['id_column']!r}.")
            return npz["stimuli"], npz[spec["id_column"]]
    raise ConfigError(f"stimuli.path: array stimuli must be .npy or .npz, got {path.name!r}.")


def get_activations(model_cfg: Mapping[str, Any], stimuli: Any, ids: np.ndarray, cache: str | None) -> xr.DataArray:
    """Activations of one configured model for one dataset's stimuli (cached when ``cache`` is set)."""
    from . import data
    from .io.arrays import load

    where = f"models[{model_cfg['name']}]"
    kind = model_cfg["type"]
    if kind == "activations":
        acts = load(model_cfg["path"])
        data.validate(acts, "activations", name=f"{where} activations")
        if model_cfg["layers"]:
            known = data.layer_names(acts)
            unknown = [layer for layer in model_cfg["layers"] if layer not in known]
            if unknown:
                raise ConfigError(f"{where}.layers: {unknown} are not in {model_cfg['path']}; layers there: {known}.")
            acts = acts.isel(unit=np.isin(acts["layer"].values, model_cfg["layers"]))
        return acts
    if kind == "huggingface":
        from .models import huggingface as hf

        path = model_cfg["path"] or import_object(model_cfg["path_from"], f"{where}.path_from")()
        model, tokenizer = hf.load(path)
        return hf.extract_text(
            model,
            list(stimuli),
            tokenizer=tokenizer,
            layers=model_cfg["layers"],
            pool=model_cfg["pool"],
            stimulus_id=ids,
            batch_size=model_cfg["batch_size"],
            max_length=model_cfg["max_length"],
            device=model_cfg["device"],
            cache=cache,
            model_name=model_cfg["name"],
        )
    from .models import extract

    factory = import_object(model_cfg["factory"], f"{where}.factory")
    model = factory(**model_cfg["factory_options"])
    collate = import_object(model_cfg["preprocess"], f"{where}.preprocess") if model_cfg["preprocess"] else None
    if not model_cfg["layers"]:
        raise ConfigError(f"{where}.layers: a torch model needs the names of the layers to record.")
    return extract(
        model,
        stimuli,
        layers=model_cfg["layers"],
        stimulus_id=ids,
        batch_size=model_cfg["batch_size"],
        device=model_cfg["device"],
        cache=cache,
        model_name=model_cfg["name"],
        collate=collate,
        reduce=model_cfg["reduce"],
    )


def get_recording(dataset_cfg: Mapping[str, Any], simulate_from: xr.DataArray | None) -> xr.DataArray:
    """The dataset's recording: read from disk, or simulated from a model's activations."""
    from . import data, simulate
    from .io.arrays import load

    if dataset_cfg["recording"] is not None:
        path = Path(dataset_cfg["recording"])
        if not path.exists():
            raise ConfigError(f"datasets[{dataset_cfg['name']}].recording: {str(path)!r} does not exist.")
        rec = load(path)
        data.validate(rec, "recording", name=f"datasets[{dataset_cfg['name']}].recording")
        return rec
    sim = dataset_cfg["simulate"]
    known = data.layer_names(simulate_from)
    for region, layer in sim["regions"].items():
        if layer not in known:
            raise ConfigError(
                f"datasets[{dataset_cfg['name']}].simulate.regions.{region}: {layer!r} is not a layer of "
                f"{sim['model']!r}; its layers: {known}."
            )
    rec = simulate.make_recording(
        simulate_from,
        sim["regions"],
        readout=sim["readout"],
        n_neuroids=sim["n_neuroids"],
        snr=sim["snr"],
        n_repetitions=sim["n_repetitions"],
        random_state=sim["random_state"],
    )
    if sim["shuffle"]:
        order = np.random.default_rng(sim["random_state"]).permutation(rec.sizes["presentation"])
        rec = rec.isel(presentation=order)
    return rec


def compute_map(cell: Cell, activations: xr.DataArray, recording: xr.DataArray) -> xr.Dataset:
    """The map of one cell (a pure function of its inputs: the same on any worker)."""
    from .maps import alignment_map, with_group
    from .methods import resolve

    stats = cell.statistics
    method, _, info = resolve(cell.method["name"], cell.method["options"])
    if info.family == "encoder":
        method = method.replace(cv=cell.method["cv"], delays=cell.method["delays"], hrf_model=cell.method["hrf_model"])
    elif cell.method["delays"] is not None or cell.method["hrf_model"] is not None:
        raise ConfigError(f"methods[{cell.method['label']}]: delays / hrf_model apply to encoders only.")
    amap = alignment_map(
        activations,
        recording,
        method,
        repetitions=cell.dataset["repetitions"],
        ceiling=stats["ceiling"],
        n_boot=stats["n_boot"],
        n_perm=stats["n_perm"],
        random_state=stats["random_state"],
    )
    amap.attrs["method"] = cell.method["name"]
    if "subject" in amap["score"].dims:
        amap = with_group(amap, n_boot=stats["n_boot"], n_perm=stats["n_perm"], random_state=stats["random_state"])
    amap.attrs.update(
        cell=cell.name,
        cell_key=cell.key,
        dataset=cell.dataset["name"],
        model_label=cell.model["name"],
        method_label=cell.method["label"],
    )
    if "truth" in recording.attrs:
        amap.attrs["truth"] = dict(recording.attrs["truth"])
    return amap


# ---------------------------------------------------------------------------------------- plan
def plan(cfg: Mapping[str, Any]) -> list[Cell]:
    """The cells of a validated config, dataset by dataset, then model, then method."""
    return [
        Cell(dataset=ds, model=model, method=method, statistics=cfg["statistics"])
        for ds in cfg["datasets"]
        for model in cfg["models"]
        for method in cfg["methods"]
    ]


def _map_path(output: Path, cell: Cell) -> Path:
    return output / "maps" / f"{cell.name}.nc"


def _existing_key(path: Path) -> str | None:
    from .io.arrays import load

    try:
        return str(load(path).attrs.get("cell_key"))
    except (OSError, ValueError):
        return None


def _clean_stale_temporaries(folder: Path) -> None:
    """Remove temporary files left by a killed run (our own ``.<name>.tmp-*`` files only)."""
    if folder.is_dir():
        for stale in folder.glob(".*.tmp-*"):
            logger.info("run: removing %s left by an interrupted run", stale)
            if stale.is_dir():
                import shutil

                shutil.rmtree(stale, ignore_errors=True)
            else:
                stale.unlink(missing_ok=True)


def _save_cell(output: Path, cell: Cell, amap: xr.Dataset, brain: bytes | None, overwrite: bool) -> None:
    import matplotlib.pyplot as plt

    from .io.arrays import save
    from .maps import summary_view
    from .plot import heatmap, save_figure

    # Figures first, the map last: the map marks the cell as done, so a run killed in between
    # redoes the cell instead of leaving it without its figures.
    fig = heatmap(summary_view(amap), truth=amap.attrs.get("truth"), title=cell.name.replace(_SEP, " · "))
    try:
        save_figure(fig, output / "figures" / f"{cell.name}.png", dpi=150, overwrite=True)
        save_figure(fig, output / "figures" / f"{cell.name}.pdf", overwrite=True)
    finally:
        plt.close(fig)
    if brain is not None:
        from .io.arrays import atomic_write

        path = output / "figures" / f"{cell.name}.brain.png"
        atomic_write(path, lambda tmp: tmp.write_bytes(brain), overwrite=True, kind="png")
    save(amap, _map_path(output, cell), overwrite=overwrite)


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
        return once(("activations", name, m["name"]), lambda: get_activations(m, stimuli, ids, cfg["cache"]))

    def recording() -> xr.DataArray:
        source = None
        if dataset["simulate"] is not None:
            source = activations(next(m for m in cfg["models"] if m["name"] == dataset["simulate"]["model"]))
        return get_recording(dataset, source)

    acts = activations(model)
    rec = once(("recording", name), recording)
    memo.pop(("activations", name, model["name"]), None)  # kept only while another model may need it
    return acts, rec


def _brain_png(amap: xr.Dataset, recording: xr.DataArray) -> bytes | None:
    """The cell's best-layer brain map as PNG bytes, when the recording has coordinates."""
    has_surface = "vertex" in recording.coords and "hemisphere" in recording.coords
    has_xyz = all(c in recording.coords for c in ("x", "y", "z"))
    if not (has_surface or has_xyz):
        return None
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .plot import brain_map

    fig = brain_map(amap, recording)
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return buf.getvalue()


def _iter_group(
    cfg: Mapping[str, Any], cells: list[Cell], memo: dict[Any, Any] | None = None
) -> Iterator[tuple[Cell, xr.Dataset, bytes | None]]:
    """Each cell of a (dataset, model) group as soon as it is computed."""
    acts, rec = _inputs(cfg, cells[0].dataset, cells[0].model, {} if memo is None else memo)
    for cell in cells:
        amap = compute_map(cell, acts, rec)
        yield cell, amap, _brain_png(amap, rec)


def _compute_group(cfg: Mapping[str, Any], cells: list[Cell]) -> list[tuple[Cell, xr.Dataset, bytes | None]]:
    """All cells of a group (one Dask task)."""
    return list(_iter_group(cfg, cells))


def run(
    config: str | os.PathLike | Mapping[str, Any],
    *,
    scheduler: str | None = None,
    overwrite: bool = False,
    report: bool = True,
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
        Replace maps made by a different configuration (by default that is an error, and nothing
        is written).
    report : bool
        Write ``report.html`` at the end.

    Returns
    -------
    RunResult

    Examples
    --------
    >>> result = run("bench.yaml")  # doctest: +SKIP
    >>> result.computed, result.skipped  # doctest: +SKIP
    """
    cfg = load_config(config) if isinstance(config, (str, os.PathLike)) else validate_config(config)
    output = check_writable_dir("output", cfg["output"])
    for sub in ("maps", "figures"):
        check_writable_dir(f"output/{sub}", output / sub)
        _clean_stale_temporaries(output / sub)
    cells = plan(cfg)
    pending, result = [], RunResult(output=output)
    for cell in cells:
        path = _map_path(output, cell)
        if path.exists():
            key = _existing_key(path)
            if key == cell.key:
                result.skipped.append(cell.name)
                continue
            if not overwrite:
                raise ConfigError(
                    f"{path} holds results of a different configuration (or an unreadable file). Use another "
                    "output folder, or pass --overwrite to replace them."
                )
        pending.append(cell)
    if result.skipped:
        logger.info(
            "run: %d of %d cells already done; computing the other %d", len(result.skipped), len(cells), len(pending)
        )
    _write_json(output / "config.json", cfg)
    groups = list(_groups(pending))
    if scheduler is None:
        bar = progress(range(len(pending)), desc="cells", total=len(pending), unit="cell")
        memo: dict[Any, Any] = {}
        for _, group in groups:
            for cell, amap, brain in _iter_group(cfg, group, memo):  # saved one by one: resumable per cell
                _save_cell(output, cell, amap, brain, overwrite=True)
                result.computed.append(cell.name)
                next(bar, None)
    else:
        _run_dask(cfg, groups, output, scheduler, result)
    if report:
        from .report import build_report

        result.report = build_report(output, output / "report.html", overwrite=True)
    return result


def _run_dask(cfg: Mapping[str, Any], groups: list, output: Path, scheduler: str, result: RunResult) -> None:
    from .utils import dask_client, quietly, soft_import

    distributed = soft_import("distributed", "running cells on Dask")
    with dask_client(scheduler) as client:
        futures = [client.submit(quietly, _compute_group, dict(cfg), group, pure=False) for _, group in groups]
        total = sum(len(g) for _, g in groups)
        bar = progress(range(total), desc="cells (dask)", total=total, unit="cell")
        for future in distributed.as_completed(futures):
            for cell, amap, brain in future.result():
                _save_cell(output, cell, amap, brain, overwrite=True)
                result.computed.append(cell.name)
                next(bar, None)


def _write_json(path: Path, obj: Any) -> None:
    from .io.arrays import atomic_write

    text = json.dumps(obj, indent=2, sort_keys=True, default=str)
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"), overwrite=True, kind="json")


def install_sigterm_handler() -> None:
    """Turn SIGTERM (a job scheduler stopping the run) into KeyboardInterrupt, like Ctrl-C."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)
