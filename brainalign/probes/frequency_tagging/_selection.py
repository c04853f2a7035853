"""The second stage of the selection: HFTP's contrast with a control condition, and the labels."""

from __future__ import annotations

import numpy as np

from ...utils import logger
from ._inputs import RateBins


def mean_trial_amplitude(values: np.ndarray, bins: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Mean over trials of each trial's ``|rfft|`` at ``bins``: (units, bins).

    The amplitude of each single trial, then averaged (not the amplitude of the trial average),
    as HFTP's contrast uses it.
    """
    n_units = values.shape[1]
    out = np.empty((n_units, len(bins)))
    for start in range(0, n_units, chunk):
        spec = np.fft.rfft(values[:, start : start + chunk].astype(np.float64, copy=False), axis=-1)[..., bins]
        out[start : start + chunk] = np.abs(spec).mean(axis=0)
    return out


def control_contrast(values: np.ndarray, control: np.ndarray, spec: RateBins) -> np.ndarray:
    """Experiment-minus-control amplitude per unit and rate, as HFTP defines it: (units, rates).

    Per bin, the difference of the two conditions' mean single-trial amplitudes. A rate given as
    one frequency takes its bin's (signed) difference; a rate given as a sequence of frequencies
    (HFTP's phrase frequencies) the largest positive difference over them, 0 when none is positive.
    """
    diff = mean_trial_amplitude(values, spec.bins) - mean_trial_amplitude(control, spec.bins)
    out = np.empty((diff.shape[0], len(spec.names)))
    for r, (members, several) in enumerate(zip(spec.members, spec.several, strict=True)):
        if several:
            out[:, r] = np.maximum(diff[:, members].max(axis=1), 0.0)
        else:
            out[:, r] = diff[:, members[0]]
    return out


def contrast_zscores(contrast: np.ndarray, passed: np.ndarray, names: list[str]) -> np.ndarray:
    """HFTP's z: each rate's contrast z-scored across all units, units that failed the null entering as 0.

    Mean and SD (ddof 0) are taken over every unit, the zeros included. A rate whose entries do not
    vary (no unit passed the null, or a single unit) has no z-score: NaN, and nothing is tagged.
    """
    entries = np.where(passed, contrast, 0.0)
    mean, std = entries.mean(axis=0), entries.std(axis=0)
    z = np.full(entries.shape, np.nan)
    for r, name in enumerate(names):
        if std[r] > 0:
            z[:, r] = (entries[:, r] - mean[r]) / std[r]
        else:
            logger.warning(
                "frequency tagging: the control contrast at rate %r does not vary across units (%d passed the null); "
                "its z-score is undefined (NaN) and no unit is tagged at it.",
                name,
                int(passed[:, r].sum()),
            )
    return z


def labels_from_tagged(tagged: np.ndarray, names: list[str]) -> np.ndarray:
    """One label per unit: the single tagged rate's name, ``"shared"`` for several, ``"none"``."""
    n_tagged = tagged.sum(axis=1)
    label = np.full(tagged.shape[0], "none", dtype=object)
    single = n_tagged == 1
    label[single] = np.asarray(names, dtype=object)[np.argmax(tagged[single], axis=1)]
    label[n_tagged > 1] = "shared"
    return label
