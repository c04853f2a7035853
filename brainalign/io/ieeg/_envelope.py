"""Band envelopes (high gamma) of MNE objects and recordings, and their downsampling."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from ...data import recording, validate
from ...data._align import run_blocks
from ...utils import check_number, soft_import
from .._checks import check_finite_values
from .._mne import IEEG_TYPES, import_mne

#: Width of the Gaussian kernel that smooths the envelope before it is sampled at a new rate,
#: in periods of the new rate: its gain is 1/2 at the new Nyquist frequency and 1/16 at the new rate.
ENVELOPE_SIGMA = 0.375


def high_gamma(
    data: Any,
    band: tuple[float, float] = (70.0, 150.0),
    *,
    sfreq: float | None = None,
) -> Any:
    """Band-limited amplitude envelope (default high gamma, 70–150 Hz), non-negative.

    Band-pass with MNE's zero-phase FIR filter, then the magnitude of the analytic signal
    (Hilbert transform). With ``sfreq`` the envelope is then smoothed by a Gaussian kernel
    (standard deviation ``0.375 / sfreq`` s: gain 1/2 at the new Nyquist frequency, 1/16 at
    ``sfreq``) and sampled at the new rate by linear interpolation. Both steps average with
    non-negative weights, so the envelope stays non-negative by construction, as an amplitude
    must; an FFT or FIR resampler (``mne.filter.resample``) rings below zero after sharp bursts
    (min −1.68 on the grip-force ECoG data).

    Parameters
    ----------
    data : mne.io.Raw | mne.Epochs | xarray.DataArray
        An MNE object (a filtered copy is returned, same type), or a continuous or time-resolved
        recording (``sfreq`` in attrs); continuous recordings are filtered run by run.
    band : (float, float)
        Lower and upper edges in Hz; the upper must be below Nyquist.
    sfreq : float, optional
        Sample the envelope at this rate (Hz).

    Returns
    -------
    Same type as ``data``, holding the envelope (non-negative). Recordings record the band in
    ``attrs``: ``band``, ``highpass`` and ``lowpass`` (the band-pass applied before the
    envelope), ``envelope="hilbert"`` and, when resampled, ``envelope_smoothing_sigma`` (s).

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
    >>> slow = high_gamma(rec, sfreq=100.0)
    >>> slow.sizes["time"], round(float(slow.isel(time=100, neuroid=0)), 1), bool(slow.min() >= 0)
    (200, 2.0, True)
    >>> slow.attrs["band"], slow.attrs["highpass"], slow.attrs["lowpass"]
    ([70.0, 150.0], 70.0, 150.0)

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
            out = resample_mne(out, sfreq)
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
    arr = data.transpose(..., time_axis).values
    check_finite_values(arr.reshape(-1, arr.shape[-1]).T, "high_gamma: data", "Interpolate or drop the bad samples.")
    arr = arr.astype(np.float64)
    if kind == "continuous":
        env = np.empty_like(arr)
        for block in run_blocks(data["run"].values):
            env[..., block] = envelope(arr[..., block], fs, lo, hi, signal)
    else:
        env = envelope(arr, fs, lo, hi, signal)
    out = data.transpose(..., time_axis).copy(data=env.astype(data.dtype))
    out = out.transpose(*data.dims)
    out.attrs.update(band=[lo, hi], highpass=lo, lowpass=hi, envelope="hilbert")
    if sfreq is not None:
        out = resample_recording(out, kind, fs, float(sfreq))
        out.attrs["envelope_smoothing_sigma"] = ENVELOPE_SIGMA / float(sfreq)
    return out


def resample_envelope(values: np.ndarray, fs: float, new: float) -> np.ndarray:
    """``values`` (..., time) sampled at ``fs`` → (..., round(n · new / fs)) at ``new``: a Gaussian
    smoothing (non-negative kernel, ``ENVELOPE_SIGMA / new`` s) then linear interpolation at the
    new sample times (the first one on the first sample). Non-negative input stays non-negative."""
    ndimage = soft_import("scipy.ndimage")
    n = values.shape[-1]
    sigma = ENVELOPE_SIGMA / new * fs  # in input samples
    smooth = ndimage.gaussian_filter1d(values, sigma, axis=-1, mode="nearest", truncate=4.0) if sigma > 0.1 else values
    n_new = max(round(n * new / fs), 1)
    pos = np.arange(n_new) * (fs / new)
    left = np.minimum(np.floor(pos).astype(int), n - 1)
    right = np.minimum(left + 1, n - 1)
    w = pos - left
    return smooth[..., left] * (1.0 - w) + smooth[..., right] * w


def resample_mne(inst: Any, new: float) -> Any:
    """A Raw or Epochs holding the envelope sampled at ``new`` Hz (:func:`resample_envelope`),
    with the same channels, positions, bads, events and metadata."""
    mne = import_mne()
    fs = float(inst.info["sfreq"])
    values = resample_envelope(inst.get_data(), fs, new)
    info = mne.create_info(inst.ch_names, new, inst.get_channel_types())
    info["bads"] = list(inst.info["bads"])
    if isinstance(inst, mne.io.BaseRaw):
        out = mne.io.RawArray(values, info, first_samp=round(inst.first_samp * new / fs), verbose="error")
    else:
        out = mne.EpochsArray(
            values,
            info,
            events=inst.events,
            tmin=float(inst.tmin),
            event_id=inst.event_id,
            metadata=inst.metadata,
            baseline=None,
            verbose="error",
        )
    montage = inst.get_montage()
    if montage is not None:
        out.set_montage(montage, on_missing="ignore", verbose="error")
    return out


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
    axis = "time" if kind == "continuous" else "latency"
    if kind == "continuous":
        runs = np.asarray(rec["run"].values)
        times = np.asarray(rec["time"].values, dtype=float)
        parts, run_labels, new_times = [], [], []
        vals = rec.transpose("neuroid", "time").values.astype(np.float64)
        for block in run_blocks(runs):
            res = resample_envelope(vals[:, block], fs, new)
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
    res = resample_envelope(vals, fs, new)
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
