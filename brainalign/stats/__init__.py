"""Inference for alignment scores: permutation tests, bootstrap confidence intervals, FDR.

- :func:`permutation_test`: the null distribution of an RDM comparison, by permuting the
  stimulus labels of one RDM (rows and columns together). Vectorised: the permuted RDMs are
  gathered for thousands of permutations at once and compared with every RDM of the other side
  in one matrix product (Spearman, Pearson and cosine are invariant to the reordering of the
  values, so their normalisation is computed once).
- :func:`bootstrap_stimuli`: confidence intervals by resampling stimuli with replacement; pairs
  of copies of the same stimulus (zero-distance "duplicates") are left out of each comparison.
- :func:`jackknife_stimuli`: the scores with each stimulus left out (its RDM row and column), all
  stimuli in a few batched products; the jackknife variance of a layer difference
  (:func:`jackknife_variance`; :func:`crossed_variance` with several subjects, stimuli × subjects
  crossed) drives :func:`pairwise`'s default test.
- :func:`fold_bootstrap`, :func:`fold_permutation`: the bootstrap and the permutation null of
  cross-validated encoding scores (the fold-averaged r of held-out predictions).
- :func:`bootstrap_subjects`: confidence intervals of a mean score over subjects;
  :func:`sign_flip_test`: the random-effects test of that mean against 0.
- :func:`pairwise`: every pair of layers (or models) of a map: differences, intervals and tests
  from the map's jackknife of stimuli (× subjects), its bootstrap samples (two-factor over stimuli
  and subjects) or a sign-flip test.
- :func:`p_value`, :func:`percentile_interval`: the p-value and interval rules every test shares;
  :func:`bootstrap_interval`: percentile, basic or BCa intervals from bootstrap samples;
  :func:`fdr_correction`: Benjamini–Hochberg false discovery rate across a map.

How each RDM comparison is permuted and resampled is declared by its entry of
:data:`brainalign.metrics.comparisons.COMPARISONS`.

References
----------
Nili, H. et al. (2014). A toolbox for representational similarity analysis. PLoS Comput. Biol.
10, e1003553.
Schütt, H. H. et al. (2023). Statistical inference on representational geometries. eLife 12,
e82566.
Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. J. R. Stat. Soc. B 57.
"""

from ._crossed import crossed_variance, jackknife_variance
from ._folds import fold_bootstrap, fold_jackknife, fold_permutation, weighted_r
from ._group import SignFlipTest, bootstrap_subjects, sign_flip_test
from ._intervals import CI_METHODS, bootstrap_interval, jackknife_acceleration
from ._jackknife import jackknife_stimuli, leave_one_out_counts
from ._pairwise import PAIRWISE_TESTS, pairwise
from ._pvalues import ALTERNATIVES, fdr_correction, p_value, percentile_interval
from ._rdms import BOOTSTRAP_METHODS, bootstrap_stimuli, permutation_test

__all__ = [
    "ALTERNATIVES",
    "BOOTSTRAP_METHODS",
    "CI_METHODS",
    "PAIRWISE_TESTS",
    "SignFlipTest",
    "bootstrap_interval",
    "bootstrap_stimuli",
    "bootstrap_subjects",
    "crossed_variance",
    "fdr_correction",
    "fold_bootstrap",
    "fold_jackknife",
    "fold_permutation",
    "jackknife_acceleration",
    "jackknife_stimuli",
    "jackknife_variance",
    "leave_one_out_counts",
    "p_value",
    "pairwise",
    "percentile_interval",
    "permutation_test",
    "sign_flip_test",
    "weighted_r",
]
