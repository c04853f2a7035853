"""``brainalign identify``: an identifiability study from a config file (models, methods, conditions)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import xarray as xr

from .runner_inputs import get_activations, load_stimuli
from .utils import check_writable_dir


def identify(
    config: str | os.PathLike | Mapping[str, Any],
    *,
    scheduler: str | None = None,
    overwrite: bool = False,
    allow_code: bool = False,
) -> tuple[xr.Dataset, list[Path]]:
    """Run an identifiability study from a config (``brainalign identify config.yaml``).

    Writes ``identifiability.nc`` (the result of :func:`brainalign.identifiability`) and the
    accuracy figure (PNG and PDF) into the config's ``output`` folder. An existing result is
    replaced only with ``overwrite``. ``allow_code`` lets the config import the code it names
    (see :func:`brainalign.config.validate_config`).

    Returns
    -------
    (xarray.Dataset, list of Path)
        The result and the files written.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from brainalign import data
    >>> from brainalign.io import arrays
    >>> folder, rng = tempfile.mkdtemp(), np.random.default_rng(0)
    >>> x, layers = rng.normal(size=(40, 8)), {}
    >>> for k in range(3):
    ...     x = np.tanh(x @ rng.normal(size=(8, 8)) / 2)
    ...     layers[f"l{k}"] = x
    >>> _ = arrays.save(data.activations(layers, stimulus_id=range(40)), os.path.join(folder, "acts.nc"))
    >>> _ = open(os.path.join(folder, "s.txt"), "w").write("\\n".join(f"s{i}" for i in range(40)))
    >>> cfg = {"output": os.path.join(folder, "out"),
    ...        "models": [{"name": "m", "type": "activations", "path": os.path.join(folder, "acts.nc")}],
    ...        "stimuli": {"type": "text", "path": os.path.join(folder, "s.txt")},
    ...        "methods": ["rsa", {"name": "ridge", "options": {"backend": "numpy"}, "cv": 4}],
    ...        "conditions": {"snr": [10.0], "n_neuroids": [20], "n_repeats": 2}}
    >>> result, files = identify(cfg)
    >>> result.attrs["cv"], [f.name for f in files]
    ({'ridge': 4}, ['identifiability.nc', 'identifiability.png', 'identifiability.pdf'])
    """
    from .config import load_identify_config, validate_identify_config
    from .io.arrays import save
    from .plot import identifiability as identifiability_figure
    from .plot import save_figure
    from .recovery import identifiability

    if isinstance(config, (str, os.PathLike)):
        cfg = load_identify_config(config, allow_code=allow_code)
    else:
        cfg = validate_identify_config(config, allow_code=allow_code)
    output = check_writable_dir("output", cfg["output"])
    target = output / "identifiability.nc"
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists. Pass --overwrite to replace it, or choose another output folder.")
    stimuli, ids = load_stimuli(cfg["stimuli"])
    acts = {
        m["name"]: get_activations(m, stimuli, ids, cfg["cache"], allow_code=cfg["allow_code"]) for m in cfg["models"]
    }
    from .methods import resolve

    methods = {}
    for m in cfg["methods"]:  # each encoder with its own folds (cv=None below keeps them)
        obj, _, info = resolve(m["name"], m["options"])
        methods[m["label"]] = obj.replace(cv=m["cv"]) if info.family == "encoder" else obj
    cond = cfg["conditions"]
    result = identifiability(
        acts if len(acts) > 1 else next(iter(acts.values())),
        methods,
        snr=cond["snr"],
        n_stimuli=cond["n_stimuli"],
        n_neuroids=cond["n_neuroids"],
        n_repeats=cond["n_repeats"],
        truth=cond["truth"],
        level=cond["level"],
        readout=cond["readout"],
        cv=None,
        scheduler=scheduler,
        random_state=cond["random_state"],
    )
    result.attrs["name"] = cfg["name"]
    import matplotlib.pyplot as plt

    fig = identifiability_figure(result, title=cfg["name"])
    try:
        files = [
            save_figure(fig, output / "identifiability.png", dpi=150, overwrite=True),
            save_figure(fig, output / "identifiability.pdf", overwrite=True),
        ]
    finally:
        plt.close(fig)
    files.insert(0, save(result, target, overwrite=overwrite))
    return result, files
