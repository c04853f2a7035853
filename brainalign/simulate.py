"""Simulated brains built from real model activations, with known ground truth.

Every region is a noisy linear read-out of a chosen layer, so a method that works should rank
that layer first for that region. The truth is kept in the recording's attrs.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import xarray as xr

from . import data
from .utils import check_random_state

__all__ = ["linear_recording"]


def linear_recording(
    activations: xr.DataArray,
    regions: Mapping[str, str],
    *,
    n_neuroids: int = 50,
    snr: float = 1.0,
    subject: str = "sim-01",
    random_state: int | np.random.Generator | None = None,
) -> xr.DataArray:
    """A condition-based recording whose regions are noisy random linear read-outs of layers.

    For region ``r`` driven by layer ``ℓ``, the layer's activations (``Z``, stimuli × units)
    are mixed by a Gaussian matrix ``W`` (units × neuroids, variance ``1/n_units``): a random
    projection, which keeps the inner products between stimulus patterns and so the layer's
    representational geometry (units are neither centred nor rescaled). Each neuroid then gets
    Gaussian noise whose variance is its signal variance across stimuli divided by ``snr``.

    Parameters
    ----------
    activations : xarray.DataArray
        Activations ``(presentation, unit)``.
    regions : mapping of str to str
        Region name → the layer that drives it.
    n_neuroids : int
        Neuroids per region.
    snr : float
        Signal-to-noise variance ratio per neuroid (``np.inf`` for no noise).
    subject : str
        The subject label.
    random_state : int or numpy Generator, optional
        Seed for reproducible brains.

    Returns
    -------
    xarray.DataArray
        A condition-based recording with ``attrs["simulated"] = True`` and the planted layer
        of each region in ``attrs["truth"]``.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, simulate
    >>> acts = data.activations({"a": np.random.default_rng(0).normal(size=(30, 10))},
    ...                         stimulus_id=np.arange(30))
    >>> rec = simulate.linear_recording(acts, {"V1": "a"}, n_neuroids=5, random_state=0)
    >>> rec.attrs["truth"]
    {'V1': 'a'}
    """
    data.validate(activations, "activations", name="activations")
    if not isinstance(regions, Mapping) or not regions:
        raise ValueError("regions must be a non-empty mapping {region name: layer name}.")
    known = data.layer_names(activations)
    for region, layer in regions.items():
        if layer not in known:
            raise ValueError(f"regions[{region!r}] = {layer!r} is not a layer of the activations; layers: {known}.")
    if not isinstance(n_neuroids, (int, np.integer)) or n_neuroids < 1:
        raise ValueError(f"n_neuroids must be a positive integer, got {n_neuroids!r}.")
    if not (snr > 0):
        raise ValueError(f"snr must be a positive variance ratio (np.inf for no noise), got {snr!r}.")
    rng = check_random_state(random_state)
    X = activations.transpose("presentation", "unit").values.astype(np.float64)
    layer_of = np.asarray(activations["layer"].values)
    blocks, region_col = [], []
    for region, layer in regions.items():
        Z = X[:, layer_of == layer]
        if not np.any(Z.std(axis=0) > 0):
            raise ValueError(f"Layer {layer!r} has no unit that varies across stimuli; it cannot drive {region!r}.")
        W = rng.normal(scale=1.0 / np.sqrt(Z.shape[1]), size=(Z.shape[1], n_neuroids))
        signal = Z @ W
        if np.isfinite(snr):
            noise_sd = signal.std(axis=0) / np.sqrt(snr)
            signal = signal + rng.normal(size=signal.shape) * noise_sd
        blocks.append(signal)
        region_col += [region] * n_neuroids
    return data.recording(
        np.concatenate(blocks, axis=1),
        stimulus_id=activations["stimulus_id"].values,
        subject=subject,
        region=np.array(region_col, dtype=object),
        attrs={"simulated": True, "truth": dict(regions), "snr": float(snr), "n_neuroids_per_region": int(n_neuroids)},
    )
