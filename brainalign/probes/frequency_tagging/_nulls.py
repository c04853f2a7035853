"""The null distributions at the tagged bins (shuffle, circular), neighbouring-bin statistics, ITPC."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ...utils import progress
from ._common import TIE_RTOL
from ._inputs import RateBins

# Bytes of the largest intermediate array of the shuffle null (one chunk of units).
_CHUNK_BYTES = 2**27


def _shuffle_exponentials(perms: np.ndarray, bins: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Real matrix (T, columns): a series times it gives the DFT of its S shuffles at B bins.

    The shuffled series ``y_s[n] = x[perm_s[n]]`` has DFT coefficient
    ``Y_s(k) = Σ_m x[m] exp(-2πi k inv_s[m] / T)`` with ``inv_s`` the inverse permutation, so one
    matrix product gives every shuffle of every unit. Columns: the real parts of every bin, then
    the imaginary parts of the bins that have one (the Nyquist bin is real), each ordered (b, s).
    Also returns the mask of bins with an imaginary part.
    """
    n_times = perms.shape[1]
    inv = np.argsort(perms, axis=1)
    phase = (inv[:, :, None] * bins[None, None, :]) % n_times  # exact integer phase, (S, T, B)
    angle = (2.0 * np.pi / n_times) * phase.transpose(1, 2, 0)  # (T, B, S)
    complex_bins = 2 * bins != n_times
    real = np.cos(angle).reshape(n_times, -1)
    imag = -np.sin(angle[:, complex_bins]).reshape(n_times, -1)
    return np.concatenate([real, imag], axis=1), complex_bins


class ShuffleNull:
    """HFTP's null: the samples of each unit's trial-averaged series permuted (one set for all units)."""

    def __init__(self, avg: np.ndarray, perms: np.ndarray, bins: np.ndarray, be: Any) -> None:
        self.avg, self.be = avg, be
        self.n_shuffles, self.n_bins = perms.shape[0], len(bins)
        E, self.complex_bins = _shuffle_exponentials(perms, bins)
        self.E = be.asarray(E, dtype="float64")

    def __call__(self, start: int, stop: int) -> Any:
        """Null power ``|Y_s(k)|²`` of units ``start:stop``: (units, bins, shuffles)."""
        xp = self.be.xp
        M = self.be.asarray(self.avg[start:stop], dtype="float64") @ self.E
        if self.be.is_torch:
            M = M * M
        else:
            np.multiply(M, M, out=M)
        n, S, B = stop - start, self.n_shuffles, self.n_bins
        power = xp.reshape(M[:, : B * S], (n, B, S))  # views of M, updated in place
        imag = xp.reshape(M[:, B * S :], (n, -1, S))
        for j, b in enumerate(np.flatnonzero(self.complex_bins)):
            power[:, int(b)] += imag[:, j]
        return power


class CircularNull:
    """Each trial circularly shifted by its own random lag before averaging (phase-locking null).

    ``np.roll(x, lag)`` multiplies the trial's DFT at bin k by ``exp(-2πi k lag / T)``, so the
    null amplitudes are ``|Σ_j X_j(k) exp(-2πi k lag_sj / T)| / J``: per bin, one complex matrix
    product (units × trials @ trials × shuffles) of the per-trial spectra at the tagged bins.
    """

    def __init__(self, values: np.ndarray, lags: np.ndarray, bins: np.ndarray, be: Any) -> None:
        n_trials, _, n_times = values.shape
        self.be, self.bins, self.n_trials = be, bins, n_trials
        self.n_shuffles, self.n_bins = lags.shape[0], len(bins)
        self.values = values
        phase = (lags.T[None, :, :] * bins[:, None, None]) % n_times  # (B, J, S), exact integers
        angle = (-2.0 * np.pi / n_times) * phase
        self.cos = be.asarray(np.cos(angle), dtype="float64")
        self.sin = be.asarray(np.sin(angle), dtype="float64")

    def __call__(self, start: int, stop: int) -> Any:
        """Null power of units ``start:stop``: (units, bins, shuffles)."""
        xp = self.be.xp
        spec = np.fft.rfft(self.values[:, start:stop].astype(np.float64, copy=False), axis=-1)[..., self.bins]
        spec = spec / self.n_trials
        parts = []
        for b in range(self.n_bins):
            re = self.be.asarray(np.ascontiguousarray(spec[:, :, b].real.T), dtype="float64")
            im = self.be.asarray(np.ascontiguousarray(spec[:, :, b].imag.T), dtype="float64")
            out_re = re @ self.cos[b] - im @ self.sin[b]
            out_im = re @ self.sin[b] + im @ self.cos[b]
            parts.append(out_re * out_re + out_im * out_im)
        return xp.stack(parts, axis=1)


def null_test(null: Any, observed: np.ndarray, q: float, be: Any, n_units: int) -> tuple[np.ndarray, np.ndarray]:
    """Upper ``q`` quantile of the null amplitudes and the count of null values ≥ observed.

    ``null(start, stop)`` gives the (units, bins, shuffles) null *power* (squared amplitude) of a
    chunk of units on the backend — order statistics and comparisons need no square root, only
    the two values the percentile interpolates between do. ``observed``: (U, B) amplitudes.
    Returns two (U, B) arrays.
    """
    xp = be.xp
    n_shuffles, n_bins = null.n_shuffles, null.n_bins
    chunk = max(1, min(n_units, _CHUNK_BYTES // (2 * n_shuffles * n_bins * 8)))
    pos = q * (n_shuffles - 1)  # numpy's "linear" percentile
    lo = math.floor(pos)
    hi = min(lo + 1, n_shuffles - 1)
    frac = pos - lo
    thresholds = np.empty((n_units, n_bins))
    counts = np.empty((n_units, n_bins), dtype=np.int64)
    starts = range(0, n_units, chunk)
    for start in progress(starts, desc="frequency tagging: null", total=len(starts), unit="chunk"):
        stop = min(start + chunk, n_units)
        power = null(start, stop)
        ties = (observed[start:stop] * (1.0 - TIE_RTOL)) ** 2
        if be.is_torch:
            above = power >= be.asarray(ties, dtype="float64")[..., None]
            counts[start:stop] = be.to_numpy(xp.sum(xp.astype(above, xp.int64), axis=-1))
            # The n_shuffles - lo largest values, descending: the last two are order statistics lo, lo + 1.
            top = power.topk(n_shuffles - lo, dim=-1, largest=True, sorted=True).values
            a, b = be.to_numpy(top[..., -1]), be.to_numpy(top[..., -1 - (hi - lo)])
        else:
            counts[start:stop] = np.count_nonzero(power >= ties[..., None], axis=-1)
            # One selection, then the next order statistic is the smallest value above it (numpy's
            # partition with two kth values is several times slower).
            power.partition(lo, axis=-1)
            a = power[..., lo]
            b = power[..., hi:].min(axis=-1) if hi > lo else a
        a, b = np.sqrt(a), np.sqrt(b)
        thresholds[start:stop] = a + (b - a) * frac
        del power
    return thresholds, counts


def neighbour_stats(amplitude: np.ndarray, spec: RateBins) -> tuple[np.ndarray, np.ndarray]:
    """z-score and SNR of each bin's amplitude against its ±n neighbours (DC and the bin excluded)."""
    z = np.empty((amplitude.shape[0], len(spec.bins)))
    snr = np.empty_like(z)
    for j, (b, nb) in enumerate(zip(spec.bins, spec.neighbours, strict=True)):
        ref = amplitude[:, nb]
        mean, std = ref.mean(axis=1), ref.std(axis=1)
        peak = amplitude[:, b]
        with np.errstate(divide="ignore", invalid="ignore"):
            z[:, j] = np.where(std > 0, (peak - mean) / std, np.nan)
            snr[:, j] = np.where(mean > 0, peak / mean, np.nan)
    return z, snr


def itpc_spectrum(values: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Inter-trial phase coherence |mean over trials of X/|X||, per unit and frequency (DC = 0)."""
    _, n_units, n_times = values.shape
    out = np.empty((n_units, n_times // 2 + 1))
    for start in range(0, n_units, chunk):
        spec = np.fft.rfft(values[:, start : start + chunk].astype(np.float64, copy=False), axis=-1)
        mag = np.abs(spec)
        unit = np.divide(spec, mag, out=np.zeros_like(spec), where=mag > 0)
        out[start : start + chunk] = np.abs(unit.mean(axis=0))
    out[:, 0] = 0.0
    return out
