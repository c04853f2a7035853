"""MEG / EEG adapters: MNE-Python objects and any file MNE reads into recordings.

- :func:`from_mne`: ``Raw`` → continuous recording ``(time, neuroid)``; ``Epochs`` →
  time-resolved recording ``(presentation, neuroid, latency)`` with ``stimulus_id`` from the
  event names or the metadata; a list of ``Evoked`` → one presentation per condition. With
  ``window=(tmin, tmax)`` epochs/evoked are averaged over that window into a condition-based
  recording ``(presentation, neuroid)``.
- :func:`load_meg`: a file path (FIF raw/epochs/evoked, EDF/BDF, BrainVision, EEGLAB, CTF, ...)
  read by MNE, then :func:`from_mne`.

Channels become neuroids with ``channel``, ``channel_type``, ``x``/``y``/``z`` in **millimetres**
(MNE stores metres; the conversion is recorded in ``attrs["coordinate_note"]``), ``hemisphere``
(the sign of x) and ``region``. ``attrs["space"]`` is the montage's coordinate frame.
"""

from __future__ import annotations

import os
from typing import Any

import xarray as xr

from ._from_mne import from_mne
from ._mne import read_mne

__all__ = ["from_mne", "load_meg"]


def load_meg(path: str | os.PathLike, **kwargs: Any) -> xr.DataArray:
    """Read a MEG/EEG file with MNE and turn it into a recording (see :func:`from_mne`).

    Parameters
    ----------
    path : path
        Any file :func:`mne.io.read_raw` reads (FIF, EDF/BDF, BrainVision ``.vhdr``, EEGLAB
        ``.set``, CTF ``.ds``, ...), a FIF epochs file (``-epo.fif``) or a FIF evoked file
        (``-ave.fif``, one presentation per condition).
    **kwargs
        Passed to :func:`from_mne` (``picks``, ``region``, ``stimulus_id``, ``window``, ...).

    Raises
    ------
    FileNotFoundError
        The file does not exist.
    ValueError
        MNE cannot read it (the message names the file and MNE's reason).

    Examples
    --------
    >>> rec = load_meg("sub-01_task-words_meg.fif", picks="mag")  # doctest: +SKIP
    """
    inst = read_mne(path, what="MEG/EEG")
    return from_mne(inst, **kwargs)
