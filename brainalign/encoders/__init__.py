"""Encoding models: predict every neuroid from a layer's features, scored on held-out data.

- :class:`RidgeEncoder`: ridge with one cross-validated alpha per target (fast eigendecomposition
  path on numpy, torch or CUDA; himalaya's ``RidgeCV``/``KernelRidgeCV`` as reference).
- :class:`BandedRidgeEncoder`: several feature spaces, one penalty per space (himalaya's banded
  and multiple-kernel ridge), with the variance partition of held-out predictions.
- :class:`AttentionReadout`: learned queries attend over token features, then a linear readout.
- :func:`time_folds`: cross-validation folds that respect time (blocks, or whole runs).

All are scikit-learn estimators (``get_params``/``set_params``/``clone``; ``fit`` returns self).
torch and himalaya are imported only when a fit needs them.
"""

from ._attention import AttentionReadout
from ._banded import BandedRidgeEncoder, r2_split
from ._base import DEFAULT_ALPHAS
from ._cv import check_groups, time_folds
from ._ridge import RidgeEncoder

__all__ = [
    "DEFAULT_ALPHAS",
    "AttentionReadout",
    "BandedRidgeEncoder",
    "RidgeEncoder",
    "check_groups",
    "r2_split",
    "time_folds",
]
