"""The hierarchical frequency-tagging probe, for model units and brain channels.

Words are presented at a fixed rate (4 Hz), grouped into two-word phrases and four-word sentences
([adj noun][verb noun]), sentences concatenated in random order. A unit (or channel) that tracks
phrases shows a spectral peak at the phrase rate (2 Hz), one that tracks sentences at the sentence
rate (1 Hz) — Ding et al. (2016) for the brain, An et al. (2025, "HFTP") for language models.

The pipeline:

1. :func:`make_trials` builds the word streams from a corpus of fixed-length sentences, plus control
   streams (words shuffled across positions, or within each sentence);
2. :func:`model_responses` records every unit of every chosen layer of a Hugging Face model at every
   word: a time series at the word rate per trial (``presentation × unit × latency``); a brain
   recording epoched by trial (``presentation × neuroid × latency``) goes to the next step as is;
3. :func:`probe` finds the tagged units in two stages: a shuffle null per unit on the amplitude
   spectrum of the trial average, then (HFTP's rule, given the responses to control trials) the
   experiment-minus-control amplitude z-scored across units, or else a z-score against neighbouring
   frequency bins; with inter-trial phase coherence and a label per unit (``"sentence"``,
   ``"phrase"``, ``"shared"``, ``"none"``);
4. :func:`profile` counts the labels per layer (or per region); :func:`model_brain_rsa` compares the
   tagged units of each layer with the channels of each region by RSA.

Examples
--------
>>> import numpy as np
>>> from brainalign.probes import frequency_tagging as ft
>>> t = np.arange(48) / 4.0                                   # 12 s of words at 4 Hz
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(10, 3, 48))                          # trial × unit × time
>>> x[:, 0] += np.cos(2 * np.pi * 1.0 * t)                    # unit 0 follows sentences
>>> x[:, 1] += np.cos(2 * np.pi * 2.0 * t)                    # unit 1 follows phrases
>>> ft.probe(x, n_shuffles=200)["label"].values.tolist()
['sentence', 'phrase', 'none']
"""

from __future__ import annotations

from ._common import DEFAULT_RATES
from ._probe import probe
from ._responses import model_responses
from ._stimuli import make_trials, natural_rates, read_corpus
from ._summaries import model_brain_rsa, profile

__all__ = [
    "DEFAULT_RATES",
    "make_trials",
    "model_brain_rsa",
    "model_responses",
    "natural_rates",
    "probe",
    "profile",
    "read_corpus",
]
