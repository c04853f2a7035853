"""Repeated trials of a recording: pivot them onto a ``repetition`` dim, or lay them out one per row."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from ..utils import check_count, check_option
from ._schema import validate

__all__ = ["trials"]


def trials(
    recording: xr.DataArray,
    *,
    layout: Literal["repetition", "rows"] = "repetition",
    min_trials: int = 2,
    if_fewer: Literal["raise", "none"] = "raise",
) -> xr.DataArray | None:
    """The repeated trials of a condition-based or time-resolved recording, in one of two layouts.

    A recording holds repeated trials either as presentations that repeat a ``stimulus_id``, or
    on a ``repetition`` dim (NaN-filled where a stimulus has fewer trials). This helper turns
    either form into either layout:

    - ``layout="repetition"``: ``(presentation, neuroid[, latency], repetition)``, one
      presentation per stimulus (in order of first appearance), NaN where a stimulus has fewer
      trials than the most repeated one. Trial ``k`` of a stimulus is its ``k``-th presentation,
      or, when the presentations carry a ``repetition`` coordinate (unique within each
      stimulus), the trial with the ``k``-th smallest ``repetition`` label (so that e.g. the
      sessions of all stimuli line up). Presentation coordinates that are constant within each
      stimulus are kept; those that differ between its trials (``run``, ``onset``) are dropped.
      ``n_repetitions`` (on ``presentation``) counts each stimulus' trials. A recording that
      already has a ``repetition`` dim is returned with its dims in that order.
    - ``layout="rows"``: one presentation per trial, ``(presentation, neuroid[, latency])``,
      with each trial's ``repetition`` as a coordinate on ``presentation``. From a
      ``repetition`` dim the rows are repetition-major (all stimuli of repetition 0, then of
      repetition 1, ...), the coordinates of ``repetition`` move onto ``presentation``, and
      the missing trials (entirely NaN) are left out. A recording that already has one row per
      trial is returned as is, with a ``repetition`` coordinate (the trial's rank within its
      stimulus) added when it has none.

    The output keeps NaN padding in the ``repetition`` layout, so validate it with
    ``data.validate(..., check_values=False)``.

    Parameters
    ----------
    recording : xarray.DataArray
        A condition-based or time-resolved recording (see :func:`brainalign.data.recording`).
    layout : {"repetition", "rows"}
        The layout of the result (above).
    min_trials : int
        The most repeated stimulus must have at least this many trials (default 2: repeated
        trials exist at all). ``1`` accepts any recording.
    if_fewer : {"raise", "none"}
        When no stimulus has ``min_trials`` trials: raise a ``ValueError`` (default), or return
        ``None``.

    Returns
    -------
    xarray.DataArray or None
        The trials in the requested layout (``None`` only with ``if_fewer="none"``).

    Raises
    ------
    ValueError
        On a continuous recording, too few trials (with ``if_fewer="raise"``), a trial with some
        but not all values missing, or both a ``repetition`` dim and repeated ``stimulus_id``.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data
    >>> rec = data.recording(np.arange(6.0)[:, None], stimulus_id=["a", "b", "a", "b", "a", "c"],
    ...                      subject="S1", region="IT")
    >>> t = data.trials(rec)
    >>> t.dims, t["stimulus_id"].values.tolist(), t["n_repetitions"].values.tolist()
    (('presentation', 'neuroid', 'repetition'), ['a', 'b', 'c'], [3, 2, 1])
    >>> t.sel(neuroid=0).values.tolist()
    [[0.0, 2.0, 4.0], [1.0, 3.0, nan], [5.0, nan, nan]]
    >>> rows = data.trials(t, layout="rows")
    >>> rows["stimulus_id"].values.tolist(), rows["repetition"].values.tolist()
    (['a', 'b', 'c', 'a', 'b', 'a'], [0, 0, 0, 1, 1, 2])
    >>> data.trials(data.recording(np.ones((2, 1)), stimulus_id=["a", "b"], subject="S1", region="IT"),
    ...             if_fewer="none") is None
    True
    """
    check_option("layout", layout, ("repetition", "rows"))
    check_option("if_fewer", if_fewer, ("raise", "none"))
    min_trials = check_count("min_trials", min_trials, 1)
    kind = validate(recording, "recording", name="recording", check_values=False)
    if kind == "continuous":
        raise ValueError(
            "recording is continuous (time × neuroid): it has no trials. Cut it into trials first with "
            "brainalign.data.epochs(recording, events, tmin=..., tmax=...)."
        )
    ids = pd.Index(np.asarray(recording["stimulus_id"].values))
    has_dim = "repetition" in recording.dims
    if has_dim and ids.has_duplicates:
        raise ValueError(
            "recording has a 'repetition' dim and also repeats stimulus_id along 'presentation'; keep trials in one "
            "place (average the duplicates, or give every stimulus one presentation)."
        )
    if has_dim:
        present = _present_trials(recording)
        counts = present.sum(axis=1)
    else:
        present = None
        counts = ids.value_counts().to_numpy()
    if counts.max() < min_trials:
        if if_fewer == "none":
            return None
        raise ValueError(
            f"recording has at most {int(counts.max())} trial(s) per stimulus; {min_trials} are needed. Repeated "
            "trials are presentations that repeat a stimulus_id, or a 'repetition' dim."
        )
    order = [d for d in ("presentation", "neuroid", "latency") if d in recording.dims]
    if layout == "repetition":
        if has_dim:
            return recording.transpose(*order, "repetition")
        return _pivot(recording.transpose(*order), ids)
    if has_dim:
        return _unstack(recording.transpose("repetition", *order), present)
    if "repetition" in recording.coords:
        return recording
    rank = pd.Series(ids).groupby(ids, sort=False).cumcount().to_numpy()
    return recording.assign_coords(repetition=("presentation", rank))


def _present_trials(recording: xr.DataArray) -> np.ndarray:
    """(presentation × repetition) mask of the trials that are there (not entirely NaN)."""
    stacked = recording.transpose("presentation", "repetition", ...).values
    finite = np.isfinite(stacked).reshape(*stacked.shape[:2], -1)
    present = finite.all(axis=2)
    partial = finite.any(axis=2) & ~present
    if partial.any():
        p, r = np.argwhere(partial)[0]
        raise ValueError(
            f"recording: {int(partial.sum())} trial(s) have some but not all values missing (e.g. presentation "
            f"{int(p)}, repetition {int(r)}); a missing trial is NaN throughout. Impute or drop those values first."
        )
    return present


def _pivot(recording: xr.DataArray, ids: pd.Index) -> xr.DataArray:
    codes, uniques = pd.factorize(ids)
    labels = None
    if "repetition" in recording.coords and recording["repetition"].dims == ("presentation",):
        rep = pd.Series(np.asarray(recording["repetition"].values))
        if not pd.DataFrame({"s": codes, "r": rep}).duplicated().any():
            slot, labels = pd.factorize(rep, sort=True)
    if labels is None:
        slot = pd.Series(codes).groupby(codes).cumcount().to_numpy()
    n_rep = int(slot.max()) + 1
    values = recording.values
    out = np.full((len(uniques), *values.shape[1:], n_rep), np.nan, dtype=np.result_type(values.dtype, np.float32))
    out[codes, ..., slot] = values
    coords = {k: v for k, v in recording.coords.items() if "presentation" not in v.dims}
    coords["stimulus_id"] = ("presentation", np.asarray(uniques))
    for name, coord in recording.coords.items():
        if coord.dims == ("presentation",) and name not in ("stimulus_id", "repetition"):
            col = pd.Series(np.asarray(coord.values))
            if (col.groupby(codes).nunique(dropna=False) <= 1).all():
                coords[name] = ("presentation", col.groupby(codes).first().to_numpy())
    coords["n_repetitions"] = ("presentation", np.bincount(codes))
    coords["repetition"] = ("repetition", np.asarray(labels) if labels is not None else np.arange(n_rep))
    return xr.DataArray(
        out, dims=(*recording.dims, "repetition"), coords=coords, attrs=recording.attrs, name=recording.name
    )


def _unstack(stacked: xr.DataArray, present: np.ndarray) -> xr.DataArray:
    """(repetition, presentation, ...) → one row per present trial, repetition-major."""
    values = stacked.values
    n_rep, n_pres = values.shape[:2]
    keep = present.T.reshape(-1)
    flat = values.reshape(n_rep * n_pres, *values.shape[2:])[keep]
    rep = stacked["repetition"].values if "repetition" in stacked.coords else np.arange(n_rep)
    coords = {"repetition": ("presentation", np.repeat(rep, n_pres)[keep])}
    for name, coord in stacked.coords.items():
        if name == "repetition":
            continue
        if coord.dims == ("presentation",):
            coords[name] = ("presentation", np.tile(coord.values, n_rep)[keep])
        elif coord.dims == ("repetition",):
            coords[name] = ("presentation", np.repeat(coord.values, n_pres)[keep])
        elif not {"presentation", "repetition"} & set(coord.dims):
            coords[name] = coord
    return xr.DataArray(
        flat, dims=("presentation", *stacked.dims[2:]), coords=coords, attrs=stacked.attrs, name=stacked.name
    )
