"""The schema of benchmark configs (``brainalign run``, ``brainalign identify``): keys, types, defaults.

:mod:`brainalign.config` validates a config against these tables; :func:`schema_reference`
renders them for the docs.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SCHEMA", "ConfigError", "Field", "schema_reference", "validate_mapping"]


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

MODEL = {
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
STIMULI = {
    "type": Field(_STR, True, choices=("text", "array"), help="text: one text per stimulus; array: numeric stimuli"),
    "path": Field(_STR, True, help="text: .txt (one per line) or .csv/.tsv; array: .npy or .npz"),
    "text_column": Field(_STR, default="text", help="csv/tsv column holding the text"),
    "id_column": Field(_STR, default="stimulus_id", help="csv/tsv or npz column holding the ids"),
}
SIMULATE = {
    "model": Field(_STR, True, help="the model whose layers drive the simulated regions"),
    "regions": Field((dict,), True, help="region name -> layer name"),
    "n_neuroids": Field(_INT, default=100, help="neuroids per region"),
    "snr": Field(_FLOAT, default=2.0, help="signal-to-noise variance ratio"),
    "readout": Field(_STR, default="linear", choices=("linear", "sample", "nonlinear"), help="how regions read layers"),
    "n_repetitions": Field(_INT, default=1, help="trials per stimulus (ceilings; stochastic_shape needs 2 or more)"),
    "shuffle": Field(_BOOL, default=True, help="list the stimuli in a shuffled order, as a real recording would"),
    "random_state": Field(_INT, default=0, help="seed"),
}
RDMS = {
    "path": Field(_STR, True, help="brain RDMs: .npy, .mat or .nc (brainalign.data.load_rdms)"),
    "variable": Field(_STR, help="the variable of a .mat file or of a .nc Dataset"),
    "subject": Field((str, int), help=".npy/.mat: the subject of the RDMs (required there)"),
    "region": Field((str, int), help=".npy/.mat: the region of the RDMs (required there)"),
    "field": Field(_STR, default="RDM", help=".mat struct arrays: the field holding each RDM"),
    "metric": Field(_STR, help="the dissimilarity the RDMs hold (e.g. correlation), recorded in results"),
}
SEARCHLIGHT = {
    "radius": Field(_FLOAT, True, help="sphere radius in mm (brainalign.searchlight.spheres)"),
    "min_neuroids": Field(_INT, default=1, help="fewest neuroids in a kept sphere (its centre included)"),
    "min_fraction": Field(_FLOAT, help="volumes: smallest fraction of the full sphere that is recorded"),
}
DATASET = {
    "name": Field(_STR, True, help="label of the dataset in results"),
    "stimuli": Field((dict,), True, item=STIMULI, help="the stimuli the models are run on (ids: the rows of RDMs)"),
    "recording": Field(_STR, help="a saved recording (.nc or .zarr); exactly one of recording / simulate / rdms"),
    "simulate": Field((dict,), item=SIMULATE, help="a simulated recording with planted layers"),
    "rdms": Field((dict,), item=RDMS, help="brain RDMs from a file, for methods that accept RDMs (rsa)"),
    "searchlight": Field((dict,), item=SEARCHLIGHT, help="score spheres around every neuroid instead of regions"),
    "repetitions": Field(_STR, choices=("average", "keep"), help="repeated presentations: average or keep"),
}
METHOD = {
    "name": Field(_STR, True, help="a registered method (brainalign info lists them) or 'module:Class'"),
    "label": Field(_STR, help="label in results (default: the name); must be unique"),
    "options": Field((dict,), default={}, help="the method's options"),
    "cv": Field((int, str), default=5, help="encoders: outer folds (an integer, or 'runs')"),
    "delays": Field("list[int]", help="encoders, continuous recordings: FIR delays in samples"),
    "hrf_model": Field(_STR, choices=("glover", "spm"), help="encoders, continuous recordings: HRF instead of delays"),
}
STATISTICS = {
    "ceiling": Field(_BOOL, default=True, help="estimate noise ceilings where the recording allows"),
    "n_boot": Field(_INT, default=0, help="bootstrap resamples for confidence intervals (0: none)"),
    "n_perm": Field(_INT, default=0, help="permutations for p-values (0: none)"),
    "random_state": Field(_INT, default=0, help="seed of the bootstrap and permutations"),
}
CONDITIONS = {
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
    "conditions": Field((dict,), default={}, item=CONDITIONS, help="the simulated designs"),
    "allow_code": Field(_BOOL, default=False, help="let the config import and run the code it names"),
}

SCHEMA: dict[str, Field] = {
    "name": Field(_STR, default="benchmark", help="name of the benchmark (report title)"),
    "output": Field(_STR, default="results", help="folder for maps, figures and the report"),
    "cache": Field(_STR, help="folder to cache model activations in (none if absent)"),
    "models": Field("list", True, item=MODEL, help="the models"),
    "datasets": Field("list", True, item=DATASET, help="the datasets"),
    "methods": Field("list", True, item=METHOD, help="the methods: names, or mappings"),
    "statistics": Field((dict,), default={}, item=STATISTICS, help="statistics of every map"),
    "allow_code": Field(
        _BOOL, default=False, help="let the config import and run the code it names ('module:callable'; see below)"
    ),
}

LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def type_name(types: Any) -> str:
    """How a key's type reads in messages and docs ("a list of strings")."""
    if isinstance(types, str):
        return {
            "list": "a list",
            "list[str]": "a list of strings",
            "list[int]": "a list of integers",
            "list[number]": "a list of numbers",
        }[types]
    names = {str: "a string", int: "an integer", float: "a number", bool: "true/false", dict: "a mapping"}
    return " or ".join(names[t] for t in types)


def check_value(value: Any, spec: Field, where: str) -> None:
    """Refuse ``value`` unless it has ``spec``'s type and is one of its choices (the message names ``where``)."""
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
        raise ConfigError(f"{where}: expected {type_name(types)}, got {type(value).__name__} ({value!r:.60}).")
    if spec.choices is not None and value not in spec.choices:
        raise ConfigError(f"{where}: {value!r} is not one of {', '.join(map(repr, spec.choices))}.")


def validate_mapping(obj: Any, schema: dict[str, Field], where: str) -> dict[str, Any]:
    """``obj`` checked against ``schema`` (unknown keys, types, required keys), with defaults filled in."""
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
                out[key] = validate_mapping(out[key], spec.item, prefix + key)
            continue
        value = obj[key]
        check_value(value, spec, prefix + key)
        if spec.item is not None and spec.types == "list":
            if not value:
                raise ConfigError(f"{prefix}{key}: the list is empty; give at least one.")
            value = [
                validate_mapping(normalise_item(key, v), spec.item, f"{prefix}{key}[{i}]") for i, v in enumerate(value)
            ]
        elif spec.item is not None:
            value = validate_mapping(value, spec.item, prefix + key)
        out[key] = value
    return out


def normalise_item(key: str, value: Any) -> Any:
    """A method may be given by its name alone."""
    if key == "methods" and isinstance(value, str):
        return {"name": value}
    return value


def schema_reference() -> str:
    """The configuration reference as Markdown (used by the docs)."""
    lines = []

    def walk(schema: dict[str, Field], prefix: str) -> None:
        for key, spec in schema.items():
            req = (
                "required" if spec.required else f"default `{spec.default!r}`" if spec.default not in (None, {}) else ""
            )
            kind = type_name(spec.types)
            choices = f"; one of {', '.join(f'`{c}`' for c in spec.choices)}" if spec.choices else ""
            lines.append(f"| `{prefix}{key}` | {kind}{choices} | {req} | {spec.help} |")
            if spec.item is not None:
                walk(spec.item, f"{prefix}{key}{'[]' if spec.types == 'list' else ''}.")

    lines.append("| key | type | | meaning |")
    lines.append("|---|---|---|---|")
    walk(SCHEMA, "")
    return "\n".join(lines)
