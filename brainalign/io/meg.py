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

import numpy as np
import xarray as xr

from . import _mne

__all__ = ["from_mne", "load_meg"]


def from_mne(
    inst: Any,
    *,
    subject: str = "sub-01",
    region: Any = None,
    picks: Any = None,
    stimulus_id: Any = None,
    run: Any = 0,
    window: tuple[float, float] | None = None,
    dtype: Any = np.float32,
    modality: str | None = None,
    name: str | None = None,
) -> xr.DataArray:
    """Turn an MNE ``Raw``, ``Epochs``, ``Evoked`` or list of ``Evoked`` into a recording.

    Parameters
    ----------
    inst : mne.io.Raw | mne.Epochs | mne.Evoked | list of mne.Evoked
        The data. A Raw that is not preloaded is read once, for the picked channels only.
    subject : str
        Stored on every neuroid.
    region : None, str, mapping or sequence
        Region of each channel: ``None`` → its channel type (``"mag"``, ``"grad"``, ``"eeg"``,
        ...); one name for all; ``{channel: region}`` covering every picked channel; or one value
        per picked channel. (For atlas look-ups and electrodes.tsv labels see
        :func:`brainalign.io.ieeg.load_ieeg`.)
    picks : None, str or list
        Channels to keep: ``None``/``"data"`` (all good brain channels: MEG, EEG, sEEG, ECoG,
        DBS, fNIRS; bad channels left out), ``"all"``, a channel type, or names/types.
    stimulus_id : None, str or sequence
        Epochs: ``None`` → the metadata's ``stimulus_id`` column if any, else the event name of
        each epoch (``epochs.event_id`` inverted); a metadata column name; or one id per epoch.
        Evoked: default the ``comment`` of each Evoked. Repeated ids get a ``repetition``
        coordinate, so :func:`brainalign.data.align` averages them.
    run : scalar or sequence
        Run label (continuous: of every sample; epochs: of every epoch).
    window : (float, float), optional
        Epochs/Evoked: average the samples in ``[tmin, tmax]`` s → condition-based recording.
    dtype : numpy dtype
        Dtype of the values (float32 by default; MNE computes in float64).
    modality : str, optional
        ``attrs["modality"]``; default from the channel types (``"meg"``, ``"eeg"``, ``"ieeg"``).
    name : str, optional
        Name of the DataArray (default: the modality).

    Returns
    -------
    xarray.DataArray
        Continuous (``time`` from the Raw's first sample, ``sfreq`` in attrs), time-resolved
        (``latency`` = epoch times) or condition-based. Values in SI units as MNE returns them.

    Examples
    --------
    >>> import numpy as np, mne
    >>> from brainalign.io.meg import from_mne
    >>> info = mne.create_info(["Cz", "Pz"], 100.0, "eeg")
    >>> raw = mne.io.RawArray(np.zeros((2, 300)), info, verbose="error")
    >>> rec = from_mne(raw, region="scalp")
    >>> rec.dims, rec.attrs["sfreq"]
    (('time', 'neuroid'), 100.0)

    References
    ----------
    Gramfort A. et al. (2013). MEG and EEG data analysis with MNE-Python. Front. Neurosci. 7:267.
    """
    return _mne.from_mne(
        inst,
        subject=subject,
        region=region,
        picks=picks,
        stimulus_id=stimulus_id,
        run=run,
        window=window,
        dtype=dtype,
        modality=modality,
        name=name,
    )


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
    inst = _mne.read_mne(path, what="MEG/EEG")
    return from_mne(inst, **kwargs)
