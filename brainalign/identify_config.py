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
    >>> result, files = identify("identify.yaml")  # doctest: +SKIP
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

    resolved = {m["label"]: resolve(m["name"], m["options"]) for m in cfg["methods"]}
    methods = {label: obj for label, (obj, _, _) in resolved.items()}
    encoder_cv = [m["cv"] for m in cfg["methods"] if resolved[m["label"]][2].family == "encoder"]
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
        cv=encoder_cv[0] if encoder_cv else 5,
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
