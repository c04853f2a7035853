"""Space × latency neighbourhoods for time-resolved recordings (M/EEG, iEEG epochs)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import xarray as xr

from ._core import Searchlight, check_recording

__all__ = ["latency_patterns", "with_latency"]


def with_latency(sl: Searchlight, rec: xr.DataArray, window: float) -> Searchlight:
    """Extend spatial neighbourhoods over a latency window (mne-rsa's spatio-temporal searchlight).

    Each spatial centre ``c`` is paired with each latency ``t`` of ``rec`` whose whole window
    ``[t − window, t + window]`` lies inside the recorded latencies (as mne-rsa, which skips the
    edges). The neighbourhood of ``(c, t)`` is every pair ``(n, l)`` with ``n`` a spatial
    neighbour of ``c`` and ``|latency[l] − t| ≤ window`` (to 1e-9 s). Pairs are indexed flat:
    ``n * n_latencies + l``, i.e. columns of :func:`latency_patterns` (the recording as
    ``(presentation, neuroid · latency)``). Centres are ordered spatial centre first, then
    latency; the table gains ``latency`` and ``latency_index``.

    Parameters
    ----------
    sl : Searchlight
        Spatial neighbourhoods built on ``rec`` (:func:`spheres` or :func:`surface`).
    rec : xarray.DataArray
        A time-resolved recording with a ``latency`` dim (seconds).
    window : float
        Half-width of the latency window in seconds (``0``: single latencies).

    Returns
    -------
    Searchlight
        With ``latency_window`` and ``n_latencies`` set.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, searchlight
    >>> rec = data.recording(np.zeros((3, 2, 5)), stimulus_id=list("abc"), subject="S1", region="V1",
    ...     latency=[0.0, 0.01, 0.02, 0.03, 0.04], neuroid_coords={"x": [0.0, 1], "y": [0.0, 0], "z": [0.0, 0]})
    >>> st = searchlight.with_latency(searchlight.spheres(rec, radius=2.0), rec, window=0.01)
    >>> len(st), st.table["latency"].tolist()[:3], st.neighbours[0].tolist()
    (6, [0.01, 0.02, 0.03], [0, 1, 2, 5, 6, 7])
    """
    rec = check_recording(rec)
    if "latency" not in rec.dims:
        raise ValueError(f"rec must be time-resolved (a 'latency' dim), got dims {rec.dims}.")
    if sl.n_latencies is not None:
        raise ValueError("sl already spans latencies; pass the spatial searchlight.")
    if sl.n_neuroids != rec.sizes["neuroid"]:
        raise ValueError(f"sl was built on {sl.n_neuroids} neuroids but rec has {rec.sizes['neuroid']}.")
    window = float(window)
    if not np.isfinite(window) or window < 0:
        raise ValueError(f"window must be a latency half-width in seconds >= 0, got {window!r}.")
    lat = np.asarray(rec["latency"].values, dtype=np.float64)
    if np.any(np.diff(lat) <= 0):
        raise ValueError("rec's latencies must increase strictly.")
    n_lat = len(lat)
    tol = 1e-9
    centres_t = np.flatnonzero((lat - window >= lat[0] - tol) & (lat + window <= lat[-1] + tol))
    if centres_t.size == 0:
        raise ValueError(
            f"No latency has its whole window of ±{window} s inside the recorded latencies "
            f"[{lat[0]}, {lat[-1]}]; use a smaller window."
        )
    windows = [np.flatnonzero(np.abs(lat - lat[t]) <= window + tol) for t in centres_t]
    neighbours = tuple((nb[:, None] * n_lat + win[None, :]).reshape(-1) for nb in sl.neighbours for win in windows)
    table = sl.table.loc[np.repeat(np.arange(len(sl)), len(centres_t))].reset_index(drop=True)
    table["latency_index"] = np.tile(centres_t, len(sl))
    table["latency"] = lat[table["latency_index"].to_numpy()]
    table["n_neighbours"] = np.array([len(n) for n in neighbours], dtype=np.int64)
    return Searchlight(
        centers=np.repeat(sl.centers, len(centres_t)),
        neighbours=neighbours,
        table=pd.DataFrame(table),
        kind=sl.kind,
        radius=sl.radius,
        min_neuroids=sl.min_neuroids,
        min_fraction=sl.min_fraction,
        n_neuroids=sl.n_neuroids,
        latency_window=window,
        n_latencies=n_lat,
        extra=dict(sl.extra),
    )


def latency_patterns(rec: xr.DataArray) -> xr.DataArray:
    """A time-resolved recording as ``(presentation, feature)`` with ``feature = neuroid · latency`` (C order).

    The columns that :func:`with_latency`'s neighbours index (a ``repetition`` dim, if any, is
    kept last).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, searchlight
    >>> rec = data.recording(np.arange(12.0).reshape(2, 2, 3), stimulus_id=["a", "b"], subject="S1",
    ...                      region="V1", latency=[0.0, 0.1, 0.2])
    >>> searchlight.latency_patterns(rec).values[0].tolist()
    [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    """
    rec = check_recording(rec)
    if "latency" not in rec.dims:
        raise ValueError(f"rec must be time-resolved (a 'latency' dim), got dims {rec.dims}.")
    rest = [d for d in rec.dims if d not in ("presentation", "neuroid", "latency")]
    R = rec.transpose("presentation", "neuroid", "latency", *rest)
    values = R.values.reshape(R.shape[0], -1, *R.shape[3:])
    coords = {k: v for k, v in R.coords.items() if v.dims == ("presentation",)}
    return xr.DataArray(values, dims=("presentation", "feature", *rest), coords=coords, attrs=dict(rec.attrs))
