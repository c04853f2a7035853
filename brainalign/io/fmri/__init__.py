"""fMRI adapters: NIfTI / GIfTI / FreeSurfer surface runs and BIDS folders into recordings.

Reading goes through nibabel, masking, parcel averaging and signal cleaning (confound regression,
detrending, filtering, standardising) through nilearn's maskers, one run at a time: the output
array is allocated once and each run is read, cleaned and written into it before the next run is
opened, so peak memory is the result plus one run (``benchmarks/bench_fmri_memory.py``).

- :func:`load_fmri`: 4-D runs → continuous recording ``(time, neuroid)``; 3-D beta/contrast maps
  (or one 4-D image of them) with ``stimulus_id`` → condition-based recording
  ``(presentation, neuroid)``; surface data (GIfTI, ``.mgz``, on fsaverage or any mesh) → one
  neuroid per vertex with its coordinates and hemisphere.
- :func:`load_bids_events`: a BIDS ``events.tsv`` → onsets, durations and stimulus ids.
- :func:`events_from_labels`: one label per volume (and run) → block events.
- :func:`condition_betas`: nilearn's first-level GLM per run → condition-based recording of betas.
- :func:`from_bids`: runs and their events found by BIDS entities (subject, session, task, run,
  space, desc) in a BIDS dataset or a derivatives folder (fMRIPrep layout).

HRF convolution of continuous designs lives in :func:`brainalign.data.align`
(``hrf_model="glover"`` or ``"spm"``), next to its Lanczos resampling and FIR delays.
"""

from ._design import condition_betas, events_from_labels
from ._events import load_bids_events
from ._from_bids import from_bids
from ._load import load_fmri

__all__ = ["condition_betas", "events_from_labels", "from_bids", "load_bids_events", "load_fmri"]
