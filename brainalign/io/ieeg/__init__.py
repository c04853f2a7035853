"""Intracranial EEG (sEEG, ECoG, DBS) adapters: files, electrodes and high-gamma envelopes.

- :func:`load_ieeg`: any file MNE reads (BIDS iEEG BrainVision/EDF/NWB..., FIF) → recording,
  with electrode positions and anatomical labels from the BIDS sidecars (``_electrodes.tsv``,
  ``_coordsystem.json``, ``_channels.tsv``), a montage, or an atlas look-up of the coordinates;
  optional common-average or bipolar re-referencing, high-gamma envelope and downsampling, all
  through MNE.
- :func:`high_gamma`: the 70–150 Hz envelope (MNE band-pass FIR filter, then the magnitude of
  the analytic signal from MNE's Hilbert transform) of MNE objects or brainalign recordings.
"""

from ._envelope import high_gamma
from ._load import load_ieeg

__all__ = ["high_gamma", "load_ieeg"]
