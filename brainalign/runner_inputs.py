"""The inputs of ``brainalign run``: stimuli, activations, recordings, brain RDMs, and their fingerprints.

Every file a cell reads is fingerprinted by its content (:func:`file_digest`), and the digests
are part of the cell's key: a rerun after an input file changed (same path, new values) is not
"already done".
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from .config import ConfigError, import_object

__all__ = ["file_digest", "get_activations", "get_recording", "input_files", "load_stimuli"]

_CHUNK = 1 << 20


def file_digest(path: str | os.PathLike) -> str:
    """SHA-256 of a file's content, or of a folder's files (relative names and contents, in sorted order).

    The whole content is read (about a second per GB), so any change of any byte changes the
    digest; sizes and modification times are not trusted (a copy with ``cp -p`` keeps them).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> _ = open(path, "w").write("hello")
    >>> file_digest(path)[:12]
    '2cf24dba5fb0'
    """
    path = Path(path)
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    outer = hashlib.sha256()
    for file in files:
        digest = hashlib.sha256()
        with open(file, "rb") as fh:
            while chunk := fh.read(_CHUNK):
                digest.update(chunk)
        if file is path:
            return digest.hexdigest()
        outer.update(f"{file.relative_to(path).as_posix()}\0{digest.hexdigest()}\n".encode())
    return outer.hexdigest()


def _source_files(model: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(key, path)`` of the files a model's activations come from (none for code or hub ids)."""
    if model["type"] == "activations":
        return [(f"models[{model['name']}].path", model["path"])]
    if model["type"] == "huggingface" and model["path"] is not None and Path(model["path"]).exists():
        return [(f"models[{model['name']}].path", model["path"])]
    return []


def input_files(cfg: Mapping[str, Any], dataset: Mapping[str, Any], model: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(key, path)`` of every file the cells of ``(dataset, model)`` read, named by their config key."""
    name = dataset["name"]
    files = [(f"datasets[{name}].stimuli.path", dataset["stimuli"]["path"])]
    if dataset["recording"] is not None:
        files.append((f"datasets[{name}].recording", dataset["recording"]))
    if dataset["rdms"] is not None:
        files.append((f"datasets[{name}].rdms.path", dataset["rdms"]["path"]))
    files += _source_files(model)
    if dataset["simulate"] is not None:
        source = next(m for m in cfg["models"] if m["name"] == dataset["simulate"]["model"])
        files += [f for f in _source_files(source) if f not in files]
    for key, path in files:
        if not Path(path).exists():
            raise ConfigError(f"{key}: {path!r} does not exist.")
    return files


# ------------------------------------------------------------------------------------- inputs
def load_stimuli(spec: Mapping[str, Any]) -> tuple[list[Any] | np.ndarray, np.ndarray]:
    """Read the stimuli of a dataset: ``(stimuli, stimulus_ids)``.

    ``text``: a ``.txt`` file (one text per non-empty line; ids 0, 1, ...) or a ``.csv``/``.tsv``
    with a text column and an id column. ``array``: a ``.npy`` array (ids 0, 1, ...) or a ``.npz``
    with ``stimuli`` and an id array.

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "s.txt")
    >>> _ = open(path, "w").write("a cat\\n\\na dog\\n")
    >>> load_stimuli({"type": "text", "path": path})
    (['a cat', 'a dog'], array([0, 1]))
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


def get_activations(
    model_cfg: Mapping[str, Any], stimuli: Any, ids: np.ndarray, cache: str | None, allow_code: bool = False
) -> xr.DataArray:
    """Activations of one configured model for one dataset's stimuli (cached when ``cache`` is set).

    ``path_from``, ``factory`` and ``preprocess`` are imported and called only with ``allow_code``.
    """
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

        path = model_cfg["path"] or import_object(model_cfg["path_from"], f"{where}.path_from", allow_code=allow_code)()
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

    if not model_cfg["layers"]:
        raise ConfigError(f"{where}.layers: a torch model needs the names of the layers to record.")
    factory = import_object(model_cfg["factory"], f"{where}.factory", allow_code=allow_code)
    collate = (
        import_object(model_cfg["preprocess"], f"{where}.preprocess", allow_code=allow_code)
        if model_cfg["preprocess"]
        else None
    )
    model = factory(**model_cfg["factory_options"])
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


def _load_rdms(dataset_cfg: Mapping[str, Any], ids: np.ndarray) -> xr.DataArray:
    from . import data

    spec = dataset_cfg["rdms"]
    labels: dict[str, Any] = {}
    if Path(spec["path"]).suffix.lower() != ".nc":  # a .nc file carries its own labels
        labels = {k: spec[k] for k in ("subject", "region", "metric") if spec[k] is not None}
        labels["stimulus_id"] = list(ids)
    try:
        return data.load_rdms(spec["path"], spec["variable"], field=spec["field"], **labels)
    except (ValueError, TypeError) as err:
        raise ConfigError(f"datasets[{dataset_cfg['name']}].rdms: {err}") from err


def get_recording(
    dataset_cfg: Mapping[str, Any], simulate_from: xr.DataArray | None, ids: np.ndarray | None = None
) -> xr.DataArray:
    """The dataset's recording: read from disk (responses or brain RDMs), or simulated from activations.

    ``ids`` (the dataset's stimulus ids) label the rows of brain RDMs read from ``.npy``/``.mat``.
    """
    from . import data, simulate
    from .io.arrays import load

    if dataset_cfg["rdms"] is not None:
        return _load_rdms(dataset_cfg, ids)
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
