"""Band envelopes (high gamma) of MNE objects and recordings, and their downsampling."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ...data import recording, validate
from ...data._align import run_blocks
from ...utils import soft_import
from .._checks import check_number
from .._mne import IEEG_TYPES, import_mne


def high_gamma(
    data: Any,
    band: tuple[float, float] = (70.0, 150.0),
    *,
    sfreq: float | None = None,
) -> Any:
    """Band-limited amplitude envelope (default high gamma, 70–150 Hz).

    Band-pass with MNE's zero-phase FIR filter, then the magnitude of the analytic signal
    (Hilbert transform); optionally downsample (MNE's anti-aliased resampling).

    Parameters
    ----------
    data : mne.io.Raw | mne.Epochs | xarray.DataArray
        An MNE object (a filtered copy is returned, same type), or a continuous or time-resolved
        recording (``sfreq`` in attrs); continuous recordings are filtered run by run.
    band : (float, float)
        Lower and upper edges in Hz; the upper must be below Nyquist.
    sfreq : float, optional
        Downsample the envelope to this rate.

    Returns
    -------
    Same type as ``data``, holding the envelope (non-negative).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data
    >>> t = np.arange(2000) / 1000.0
    >>> rec = data.recording((1 + t)[:, None] * np.sin(2 * np.pi * 100 * t)[:, None], sfreq=1000.0,
    ...                      subject="S1", region="STG")
    >>> env = high_gamma(rec)
    >>> round(float(env.isel(time=1000, neuroid=0)), 1)  # the 1 + t envelope at t = 1 s
    2.0

    References
    ----------
    Crone N.E. et al. (2006). High-frequency gamma oscillations and human brain mapping with
    electrocorticography. Prog. Brain Res. 159:275-295.
    """
    mne = import_mne()
    lo, hi = check_band(band)
    sfreq = check_number("sfreq", sfreq, optional=True, unit="Hz")
    if isinstance(data, (mne.io.BaseRaw, mne.BaseEpochs)):
        check_nyquist(hi, data.info["sfreq"])
        out = data.copy()
        if isinstance(out, mne.io.BaseRaw):
            out.load_data(verbose="error")
        types = set(out.get_channel_types())
        picks = [t for t in (*IEEG_TYPES, "eeg", "mag", "grad") if t in types] or "all"
        out.filter(lo, hi, picks=picks, verbose="error")
        out.apply_hilbert(picks=picks, envelope=True, verbose="error")
        if sfreq is not None:
            out.resample(sfreq, verbose="error")
        return out
    if not isinstance(data, xr.DataArray):
        raise TypeError(f"high_gamma takes an MNE Raw/Epochs or a brainalign recording, got {type(data).__name__}.")
    kind = validate(data, "recording", name="data")
    if kind == "condition":
        raise ValueError("high_gamma needs samples in time: a continuous or time-resolved recording.")
    if "sfreq" not in data.attrs:
        raise ValueError("The recording has no 'sfreq' in attrs; the envelope needs the sampling rate.")
    fs = float(data.attrs["sfreq"])
    check_nyquist(hi, fs)
    signal = soft_import("scipy.signal")
    time_axis = "time" if kind == "continuous" else "latency"
    arr = data.transpose(..., time_axis).values.astype(np.float64)
    if kind == "continuous":
        env = np.empty_like(arr)
        for block in run_blocks(data["run"].values):
            env[..., block] = envelope(arr[..., block], fs, lo, hi, signal)
    else:
        env = envelope(arr, fs, lo, hi, signal)
    out = data.transpose(..., time_axis).copy(data=env.astype(data.dtype))
    out = out.transpose(*data.dims)
    out.attrs.update(band=[lo, hi], envelope="hilbert")
    if sfreq is not None:
        out = resample_recording(out, kind, fs, float(sfreq))
    return out


# -------------------------------------------------------------------------------- internals
def check_band(band: Any) -> tuple[float, float]:
    try:
        lo, hi = (float(b) for b in band)
    except (TypeError, ValueError) as err:
        raise TypeError(f"band must be (low, high) in Hz, got {band!r}.") from err
    if not (0 < lo < hi):
        raise ValueError(f"band must satisfy 0 < low < high, got {band!r}.")
    return lo, hi


def check_nyquist(hi: float, fs: float) -> None:
    if hi >= fs / 2:
        raise ValueError(
            f"The band's upper edge ({hi:g} Hz) must be below the Nyquist frequency ({fs / 2:g} Hz) of data "
            f"sampled at {fs:g} Hz; lower the band or use the data before downsampling."
        )


def envelope(arr: np.ndarray, fs: float, lo: float, hi: float, signal: Any) -> np.ndarray:
    mne = import_mne()
    filtered = mne.filter.filter_data(arr, fs, lo, hi, verbose="error")
    n = filtered.shape[-1]
    n_fft = int(2 ** np.ceil(np.log2(n)))
    return np.abs(signal.hilbert(filtered, N=n_fft, axis=-1)[..., :n])


def resample_recording(rec: xr.DataArray, kind: str, fs: float, new: float) -> xr.DataArray:
    mne = import_mne()
    axis = "time" if kind == "continuous" else "latency"
    ratio = new / fs
    if kind == "continuous":
        runs = np.asarray(rec["run"].values)
        times = np.asarray(rec["time"].values, dtype=float)
        parts, run_labels, new_times = [], [], []
        vals = rec.transpose("neuroid", "time").values.astype(np.float64)
        for block in run_blocks(runs):
            res = mne.filter.resample(vals[:, block], up=ratio, down=1.0, verbose="error")
            parts.append(res)
            run_labels.append(np.repeat(runs[block][:1], res.shape[1]))
            new_times.append(times[block.start] + np.arange(res.shape[1]) / new)  # each run keeps its start
        values = np.concatenate(parts, axis=1).T
        neuroid_coords = {
            k: c.values for k, c in rec.coords.items() if c.dims == ("neuroid",) and k not in ("subject", "region")
        }
        attrs = {k: v for k, v in rec.attrs.items() if k != "sfreq"}
        return recording(
            values.astype(rec.dtype),
            sfreq=new,
            time=np.concatenate(new_times),
            run=np.concatenate(run_labels),
            subject=rec["subject"].values,
            region=rec["region"].values,
            neuroid_coords=neuroid_coords,
            attrs=attrs,
            name=rec.name,
        )
    vals = rec.transpose(..., axis).values.astype(np.float64)
    res = mne.filter.resample(vals, up=ratio, down=1.0, axis=-1, verbose="error")
    lat = rec["latency"].values
    new_lat = lat[0] + np.arange(res.shape[-1]) / new
    out = xr.DataArray(
        res.astype(rec.dtype),
        dims=rec.transpose(..., axis).dims,
        coords={k: c for k, c in rec.coords.items() if axis not in c.dims},
        attrs=dict(rec.attrs, sfreq=new),
        name=rec.name,
    ).assign_coords(latency=new_lat)
    return out.transpose(*rec.dims)
