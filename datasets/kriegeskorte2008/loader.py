"""Kriegeskorte et al. (2008): 92 object images, human IT (fMRI) and monkey IT (cells) RDMs.

``load()`` returns a dict with

- ``"stimuli"``: the 92 images, ``(presentation, height, width, channel)`` uint8 with
  ``stimulus_id`` (``"img01"`` … ``"img92"``), ``category`` and the ``human``/``face``/
  ``animal``/``natural`` flags on ``presentation``;
- ``"rdms"``: every brain RDM on the 92 images, dims ``(rdm, stimulus_id, stimulus_id_2)``,
  with ``species``, ``region``, ``subject``, ``session`` and ``measurement`` on ``rdm``: the
  figure-1 RDMs of monkey IT (674 cells) and human IT (316 voxels) and the 4 subjects × 2
  sessions of human IT — ready for :func:`brainalign.metrics.rsa.compare`;
- ``"model_rdms"``: the 8 model RDMs of the rsatoolbox demo (animacy, EVA, HMAX, V1, ...);
- ``"categories"``: the 92 × 12 category indicator table;
- ``"simulated"``: the 92 × 100 simulated response patterns of the rsatoolbox demo as a
  condition-based recording (region ``"simulated"``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from brainalign.data import recording
from brainalign.utils import soft_import

from .._fetch import fetch_files, resolve_files

__all__ = ["BASE_URL", "FILES", "fetch", "load"]

#: Where the files are downloaded from: rsatoolbox's demo data (MIT licence) at the commit the
#: checksums were taken from (the files are unchanged since rsatoolbox's first commit of them).
BASE_URL = (
    "https://raw.githubusercontent.com/rsagroup/rsatoolbox/44ac7ca0416c7b723b101a7f3a0be4e0c3f74042/demos/92imageData"
)
FILES = (
    "Kriegeskorte_Neuron2008_supplementalData.mat",
    "92_brainRDMs.mat",
    "92_modelRDMs.mat",
    "simTruePatterns.mat",
)


def fetch(data_dir: str | os.PathLike | None = None) -> Path:
    """Download the files (about 4 MB) into ``<data_dir>/kriegeskorte2008`` and return that folder."""
    paths = fetch_files("kriegeskorte2008", FILES, base_url=BASE_URL, data_dir=data_dir)
    return next(iter(paths.values())).parent


def load(
    path: str | os.PathLike | None = None,
    *,
    data_dir: str | os.PathLike | None = None,
    verify: bool = True,
) -> dict[str, Any]:
    """Load the 92-image data set into brainalign objects.

    Parameters
    ----------
    path : path, optional
        A local copy (a folder holding the .mat files). Default: the cache, downloading what is
        missing.
    data_dir : path, optional
        Cache folder (default ``$BRAINALIGN_DATA`` or ``~/brainalign_data``).
    verify : bool
        Check the local files against the checksum list (about 5 MB to hash).

    Returns
    -------
    dict
        ``stimuli``, ``rdms``, ``model_rdms``, ``categories``, ``simulated`` (see the module doc).

    Examples
    --------
    >>> from brainalign.datasets import kriegeskorte2008
    >>> data = kriegeskorte2008.load("../shared/data/kriegeskorte2008")  # doctest: +SKIP
    >>> data["rdms"].sel(rdm="mIT").shape  # doctest: +SKIP
    (92, 92)

    References
    ----------
    Kriegeskorte N., Mur M., Ruff D.A., Kiani R., Bodurka J., Esteky H., Tanaka K., Bandettini
    P.A. (2008). Matching categorical object representations in inferior temporal cortex of man
    and monkey. Neuron 60(6):1126-1141.
    """
    files = resolve_files("kriegeskorte2008", FILES, path=path, base_url=BASE_URL, data_dir=data_dir, verify=verify)
    sio = soft_import("scipy.io")
    distance = soft_import("scipy.spatial.distance")
    supp = sio.loadmat(files[FILES[0]], simplify_cells=True)
    stim = supp["stimuli_92objs"]
    ids = np.array([f"img{i + 1:02d}" for i in range(len(stim))], dtype=object)
    flags = {k: np.array([int(s[k]) for s in stim]) for k in ("human", "face", "animal", "natural")}
    stimuli = xr.DataArray(
        np.stack([np.asarray(s["image"], dtype=np.uint8) for s in stim]),
        dims=("presentation", "height", "width", "channel"),
        coords={
            "stimulus_id": ("presentation", ids),
            "category": ("presentation", np.array([s["category"] for s in stim], dtype=object)),
            **{k: ("presentation", v) for k, v in flags.items()},
        },
        name="stimuli",
        attrs={"description": "Kriegeskorte et al. 2008 object images, 175 x 175 RGB"},
    )
    categories = pd.DataFrame(
        np.asarray(supp["categoryVectors"], dtype=int),
        index=pd.Index(ids, name="stimulus_id"),
        columns=[str(c) for c in supp["categoryLabels"]],
    )

    mats, rows = [], []
    for entry in supp["RDMs_mIT_hIT_fig1"]:
        name = str(entry["name"])
        monkey = name.startswith("mIT")
        mats.append(distance.squareform(np.asarray(entry["RDM"], dtype=float), checks=False))
        rows.append(("mIT" if monkey else "hIT", "monkey" if monkey else "human", "IT", "group", 0, name))
    brain = sio.loadmat(files["92_brainRDMs.mat"], squeeze_me=True, struct_as_record=False)["RDMs"]
    for entry in np.ravel(brain, order="C"):
        parts = [p.strip() for p in str(entry.name).split("|")]
        subject, session = parts[1], int(parts[2].split(":")[1])
        mats.append(np.asarray(entry.RDM, dtype=float))
        rows.append((f"hIT_{subject}_{session}", "human", "IT", subject, session, str(entry.name)))
    meta = pd.DataFrame(rows, columns=["rdm", "species", "region", "subject", "session", "measurement"])
    rdms = _rdm_array(np.stack(mats), ids, "rdm", meta)
    models = sio.loadmat(files["92_modelRDMs.mat"], simplify_cells=True)["Models"]
    model_rdms = _rdm_array(
        np.stack([np.asarray(m["RDM"], dtype=float) for m in models]),
        ids,
        "model",
        pd.DataFrame({"model": [str(m["name"]) for m in models]}),
    )
    sim = sio.loadmat(files["simTruePatterns.mat"], simplify_cells=True)["simTruePatterns"]
    simulated = recording(
        np.asarray(sim, dtype=float),
        stimulus_id=ids,
        subject="simulated",
        region="simulated",
        attrs={"description": "rsatoolbox demo: simulated true response patterns (92 x 100)"},
        name="simulated",
    )
    return {
        "stimuli": stimuli,
        "rdms": rdms,
        "model_rdms": model_rdms,
        "categories": categories,
        "simulated": simulated,
    }


def _rdm_array(mats: np.ndarray, ids: np.ndarray, dim: str, meta: pd.DataFrame) -> xr.DataArray:
    if mats.shape[1:] != (len(ids), len(ids)):
        raise ValueError(f"Expected {len(ids)} x {len(ids)} RDMs, got {mats.shape[1:]}.")
    coords = {dim: meta[dim].to_numpy(dtype=object), "stimulus_id": ids, "stimulus_id_2": ids}
    coords.update({c: (dim, meta[c].to_numpy()) for c in meta.columns if c != dim})
    return xr.DataArray(
        mats, dims=(dim, "stimulus_id", "stimulus_id_2"), coords=coords, name="rdm", attrs={"metric": "1 - Pearson r"}
    )
