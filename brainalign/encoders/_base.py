"""What every encoder shares: input checks (numpy, torch, xarray), per-target scores."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import is_dataarray, is_tensor, to_numpy
from ..metrics.columns import r2_columns
from ..utils import check_real

__all__ = ["DEFAULT_ALPHAS", "check_alphas", "check_rows", "score_r2"]

#: The default grid of regularisation strengths: 1e-2 … 1e8, one per decade.
DEFAULT_ALPHAS = tuple(10.0**k for k in range(-2, 9))

#: The dims that index samples (rows) of features and targets.
ROW_DIMS = ("presentation", "time")


def unwrap(
    value: Any, name: str, inner: tuple[str, ...], *, exact: bool = False, hint: str | None = None
) -> tuple[Any, np.ndarray | None]:
    """A DataArray as its values with the row dim first (and ``inner`` dims after); else as is.

    Also returns the ``stimulus_id`` of each row when the DataArray has them. With ``exact``
    the DataArray must have every ``inner`` dim (else a subset will do); ``hint`` replaces the
    advice of the error message.
    """
    if not is_dataarray(value):
        return value, None
    rows = [d for d in value.dims if d in ROW_DIMS]
    others = [d for d in value.dims if d not in ROW_DIMS]
    if len(rows) != 1 or set(others) - set(inner) or (exact and set(others) != set(inner)):
        raise ValueError(
            f"{name} must have dims (presentation or time, {', '.join(inner)}), got {tuple(value.dims)}. "
            + (
                hint
                or "Pass activations (presentation × unit) as features and a recording (presentation × neuroid) "
                "as targets, or plain arrays."
            )
        )
    order = [rows[0], *[d for d in inner if d in value.dims]]
    ids = None
    if "stimulus_id" in value.coords and value["stimulus_id"].dims == (rows[0],):
        ids = np.asarray(value["stimulus_id"].values)
    return value.transpose(*order).values, ids


def check_same_rows(x_ids: np.ndarray | None, y_ids: np.ndarray | None) -> None:
    """Refuse labelled features and targets whose rows are different stimuli."""
    if x_ids is None or y_ids is None or len(x_ids) != len(y_ids):
        return
    if not np.array_equal(x_ids, y_ids):
        first = int(np.flatnonzero(x_ids != y_ids)[0])
        raise ValueError(
            f"X and Y are not aligned: row {first} is stimulus {x_ids[first]!r} in X but {y_ids[first]!r} "
            "in Y. Pair them first with brainalign.data.align(activations, recording)."
        )


def _max_min(values: Any) -> tuple[Any, Any]:
    if is_tensor(values):
        return values.amax(0), values.amin(0)
    return values.max(0), values.min(0)


def check_magnitude(hi: Any, lo: Any, name: str, dtype: Any) -> None:
    """ValueError when the largest magnitude in ``name`` would overflow (or its square underflow) in
    the solvers' products: encoders are not scale-invariant (the alpha grid is absolute)."""
    peak = max(float(np.max(np.abs(to_numpy(hi)))), float(np.max(np.abs(to_numpy(lo)))))
    info = np.finfo(np.float32 if "float32" in str(dtype) else np.float64)
    low, high = float(np.sqrt(info.tiny)) * 1e4, float(np.sqrt(info.max)) / 1e4
    if peak > high or 0 < peak < low:
        raise ValueError(
            f"{name} has values of magnitude up to {peak:.3g}, outside [{low:.1g}, {high:.1g}]: the ridge "
            f"solvers' products {'overflow' if peak > high else 'underflow'} {str(dtype).replace('torch.', '')}. "
            f"Rescale {name} (e.g. standardise it: ({name} - mean) / std)."
        )


def check_finite(values: Any, name: str) -> None:
    """Raise on NaN/inf or on magnitudes the solvers cannot square, naming where (one pass of
    max/min: no full-size temporaries)."""
    if values.shape[0] == 0:
        return
    hi, lo = _max_min(values)
    if is_tensor(values):
        bad_cols = (~(hi.isfinite() & lo.isfinite())).cpu().numpy()
    else:
        bad_cols = ~(np.isfinite(hi) & np.isfinite(lo))
    bad_cols = np.atleast_1d(bad_cols)
    if bad_cols.any():
        col = int(np.flatnonzero(bad_cols)[0])
        raise ValueError(
            f"{name} contains NaN or infinite values in {int(bad_cols.sum())} column(s) (first: column {col}). "
            f"Remove or impute them before fitting (e.g. drop bad neuroids: {name}[:, mask])."
        )
    check_magnitude(hi, lo, name, values.dtype)


def check_constant_targets(Y: Any, name: str = "Y") -> None:
    """Refuse targets with no variance: their scores are undefined."""
    hi, lo = _max_min(Y)
    const = (hi == lo).cpu().numpy() if is_tensor(Y) else np.asarray(hi == lo)
    const = np.atleast_1d(const)
    if const.any():
        cols = np.flatnonzero(const)
        raise ValueError(
            f"{name} has {len(cols)} constant target(s) (e.g. column(s) {cols[:5].tolist()}): they have no "
            "variance to predict and their scores are undefined. Drop them before fitting, e.g. "
            f"{name}[:, {name}.std(0) > 0] (for a recording: rec.isel(neuroid=rec.std('presentation') > 0))."
        )


def check_alphas(alphas: Any) -> np.ndarray:
    try:
        arr = np.asarray(alphas, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"alphas must be a sequence of positive numbers, got {alphas!r:.80}.") from err
    arr = np.atleast_1d(arr)
    if arr.ndim != 1 or arr.size == 0 or not np.all(np.isfinite(arr)) or np.any(arr <= 0):
        raise ValueError(
            f"alphas must be a non-empty 1-D sequence of positive finite numbers, e.g. np.logspace(-2, 8, 11); "
            f"got {alphas!r:.80}."
        )
    if np.unique(arr).size != arr.size:
        raise ValueError(f"alphas has repeated values: {alphas!r:.80}.")
    return arr


def check_targets_y(estimator: Any, Y: Any) -> tuple[Any, bool]:
    """Targets as (n_samples, n_targets) numpy or torch; and whether they were 1-D."""
    from sklearn.utils import check_array

    if Y is None:
        raise ValueError(
            f"{type(estimator).__name__} requires y to be passed, but the target y is None. Give the targets "
            "(samples × neuroids)."
        )
    check_real(Y, "Y", numeric=False)
    if is_tensor(Y):
        if Y.ndim not in (1, 2) or not Y.is_floating_point():
            raise ValueError(f"Y must be a 1-D or 2-D floating-point tensor, got shape {tuple(Y.shape)}, {Y.dtype}.")
    else:
        Y = check_array(Y, ensure_2d=False, dtype=(np.float64, np.float32), ensure_all_finite=False, input_name="Y")
        if Y.ndim not in (1, 2):
            raise ValueError(f"Y must be 1-D (one target) or 2-D (samples × targets), got shape {Y.shape}.")
    ravel = Y.ndim == 1
    return (Y[:, None] if ravel else Y), ravel


def check_features_x(estimator: Any, X: Any, reset: bool) -> Any:
    """Features as (n_samples, n_features) numpy (through scikit-learn's checks) or torch."""
    check_real(X, "X", numeric=False)
    shape = tuple(getattr(X, "shape", ()))
    if len(shape) == 2 and 0 in shape:
        what = "sample(s)" if shape[0] == 0 else "feature(s)"
        raise ValueError(
            f"X: found array with 0 {what} (shape={shape}) while a minimum of 1 is required. An encoder needs "
            "at least one sample and one feature."
        )
    if is_tensor(X):
        if X.ndim != 2 or not X.is_floating_point():
            raise ValueError(f"X must be a 2-D floating-point tensor, got shape {tuple(X.shape)}, {X.dtype}.")
        if reset:
            estimator.n_features_in_ = int(X.shape[1])
        elif X.shape[1] != estimator.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(estimator).__name__} is expecting "
                f"{estimator.n_features_in_} features as input."
            )
        return X
    from sklearn.utils.validation import validate_data

    return validate_data(estimator, X, reset=reset, dtype=(np.float64, np.float32), ensure_all_finite=False)


def check_fit_targets(estimator: Any, Y: Any, X: Any, x_ids: np.ndarray | None, dtype: Any = None) -> tuple[Any, bool]:
    """Targets for fit, given the checked features ``X`` (and their row ids): labelled or plain,
    the same rows as ``X``, finite (after the cast to ``dtype``, which also moves them to numpy).

    Returns (Y as (n_samples, n_targets), Y_was_1d).
    """
    Y, y_ids = unwrap(Y, "Y", ("neuroid",))
    Y, ravel = check_targets_y(estimator, Y)
    if dtype is not None:
        Y = to_numpy(Y).astype(dtype, copy=False)
    check_rows(X, Y, x_ids, y_ids)
    check_finite(Y, "Y")
    return Y, ravel


def check_fit_inputs(estimator: Any, X: Any, Y: Any) -> tuple[Any, Any, bool]:
    """X, Y for fit: labelled or plain, same rows, finite. Returns (X, Y, Y_was_1d)."""
    X, x_ids = unwrap(X, "X", ("unit",))
    X = check_features_x(estimator, X, reset=True)
    Y, ravel = check_fit_targets(estimator, Y, X, x_ids)
    check_finite(X, "X")
    return X, Y, ravel


def check_rows(X: Any, Y: Any, x_ids: np.ndarray | None, y_ids: np.ndarray | None) -> None:
    """Features and targets must have the same rows (count, and stimulus ids when labelled)."""
    if X.shape[0] != Y.shape[0]:
        raise ValueError(
            f"X has {X.shape[0]} samples but Y has {Y.shape[0]}: features and targets need one row per sample, "
            "in the same order. Pair them with brainalign.data.align(activations, recording)."
        )
    check_same_rows(x_ids, y_ids)


def score_r2(pred: np.ndarray, y: Any) -> np.ndarray | float:
    """R² per target of ``pred`` for targets ``y`` (labelled or plain); a float for 1-D targets."""
    Y, _ = unwrap(y, "Y", ("neuroid",))
    Y = to_numpy(Y).astype(pred.dtype, copy=False)
    if pred.ndim == 1:
        return float(r2_columns(Y.reshape(-1, 1), pred[:, None])[0])
    return r2_columns(Y, pred)
