"""Shared hypothesis strategies: what any input may look like (the property-based suite).

Profiles: ``ci`` (the default: few examples, derandomised so CI is reproducible) and ``fuzz``
(10× the examples, random): ``pytest --hypothesis-profile=fuzz tests/test_properties.py``.
"""

from __future__ import annotations

import numpy as np
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

CI_EXAMPLES = 12
_COMMON = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large]}
settings.register_profile("ci", max_examples=CI_EXAMPLES, derandomize=True, **_COMMON)
settings.register_profile("fuzz", max_examples=10 * CI_EXAMPLES, **_COMMON)

#: dtypes any input may come in (complex is refused; float16 and integers are computed in float).
DTYPES = ("float64", "float32", "float16", "int64", "complex128")
#: What is wrong with a block, if anything.
DEFECTS = ("none", "nan", "inf", "-inf", "huge", "tiny", "constant_column", "constant", "zeros")
SCALES = {"huge": 1e300, "tiny": 1e-300}


@st.composite
def blocks(draw, n_stimuli=None, n_features=None, defects=None):
    """A ``(n_stimuli, n_features)`` array with one defect (or none) in one dtype, and its defect's name.

    ``n_stimuli``/``n_features``/``defects``: strategies (default 0–14 stimuli, 0–6 features, any defect).
    """
    n = draw(n_stimuli if n_stimuli is not None else st.integers(0, 14))
    p = draw(n_features if n_features is not None else st.integers(0, 6))
    defects = defects if defects is not None else st.sampled_from(DEFECTS)
    seed = draw(st.integers(0, 2**32 - 1))
    values = np.random.default_rng(seed).standard_normal((n, p)) * draw(st.sampled_from([1.0, 3.0, 1e-3, 1e3]))
    defect = draw(defects)
    if values.size:
        i, j = draw(st.integers(0, n - 1)), draw(st.integers(0, p - 1))
        if defect in ("nan", "inf", "-inf"):
            values[i, j] = float(defect)
        elif defect in SCALES:
            values = values * SCALES[defect]
        elif defect == "constant_column":
            values[:, j] = 2.5
        elif defect == "constant":
            values[:] = values[0]
        elif defect == "zeros":
            values[:] = 0.0
    dtype = draw(st.sampled_from(DTYPES))
    with np.errstate(all="ignore"):
        if dtype == "int64":  # integers hold no NaN/inf and no tiny values: the defect is what is left of it
            values = np.nan_to_num(np.round(values * 10), nan=0, posinf=0, neginf=0).clip(-1e15, 1e15).astype(dtype)
            defect = {"nan": "none", "inf": "none", "-inf": "none", "huge": "none"}.get(defect, defect)
            defect = (
                "zeros" if not values.any() else "constant" if values.size and (values == values[0]).all() else defect
            )
        else:
            values = values.astype(dtype)
    if values.size and dtype != "int64":  # what the cast left of the defect (float16/32 over- and underflow)
        if not np.isfinite(values).all():
            defect = defect if defect in ("nan", "inf", "-inf") else "inf"
        elif not values.any():
            defect = "zeros"
        elif (values == values[0]).all():
            defect = "constant"
    return values, defect, dtype


def stimulus_ids(n: int):
    """Ids for ``n`` stimuli: unique ints or strings, duplicates, or a mix of types."""
    return st.sampled_from(["int", "str", "duplicate", "mixed"]).map(lambda kind: _ids(kind, n))


def _ids(kind: str, n: int) -> list:
    if kind == "int":
        return list(range(n))
    if kind == "str":
        return [f"s{i}" for i in range(n)]
    if kind == "duplicate":
        return [0] * n if n > 1 else list(range(n))
    return [i if i % 2 else f"s{i}" for i in range(n)]
