"""Brain RDMs without the responses behind them (DESIGN.md §1, "brain RDMs"): build and check them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..utils import check_bool
from ._common import as_numpy, check_labels, per_item

__all__ = ["RDM_DIMS", "rdms", "validate_rdms"]

#: The dims of a brain-RDM object: one RDM per (subject, region[, session]) along ``rdm``, each a
#: square stimulus × stimulus matrix, like :func:`brainalign.metrics.rsa.rdm`'s output.
RDM_DIMS = ("rdm", "stimulus_id", "stimulus_id_2")
#: Relative tolerance of the symmetry and zero-diagonal checks (times the largest |dissimilarity|).
RDM_TOL = 1e-6


def rdms(
    values: Any,
    *,
    stimulus_id: Sequence[Any],
    subject: Any,
    region: Any,
    session: Any = None,
    metric: str | None = None,
    signed: bool = False,
    tol: float = RDM_TOL,
    rdm_coords: Mapping[str, Any] | None = None,
    attrs: Mapping[str, Any] | None = None,
    name: str = "rdms",
) -> xr.DataArray:
    """Build brain RDMs (representational dissimilarity matrices) from plain arrays.

    For data sets that publish RDMs rather than responses (e.g. Kriegeskorte et al. 2008). The
    result has dims ``(rdm, stimulus_id, stimulus_id_2)``: one RDM per subject × region (× session)
    along ``rdm``, each a square matrix whose rows and columns are both labelled by the stimulus
    ids — the layout of :func:`brainalign.metrics.rsa.rdm`'s output, so both go straight into
    :func:`brainalign.metrics.rsa.compare`. Square storage (not condensed) keeps ``.sel`` by
    stimulus on both axes; the condensed vector is ``R.values[..., *np.triu_indices(n, 1)]``.

    Parameters
    ----------
    values : array-like
        Square ``(n, n)`` or ``(k, n, n)``, or condensed ``(n·(n−1)/2,)`` or ``(k, n·(n−1)/2)``
        (the upper triangle row by row: :func:`scipy.spatial.distance.squareform`'s and MATLAB's
        ``pdist`` order), with ``n = len(stimulus_id)``. A square input must be symmetric with a
        zero diagonal up to ``tol`` × its largest absolute value; it is then made exactly so
        (``(R + Rᵀ) / 2``, diagonal set to 0).
    stimulus_id : sequence
        The ``n`` stimuli, in the order of the rows; unique, one type (not ``[1, "1"]``).
    subject, region : scalar or sequence
        The subject and region of each RDM (one value for all, or ``k`` values).
    session : scalar or sequence, optional
        The session (or run) of each RDM, when a subject × region has several: kept as separate
        RDMs with a ``session`` coordinate (average them with ``R.groupby("subject").mean()`` or
        select one with ``R.where(R.session == 1, drop=True)``).
    metric : str, optional
        The dissimilarity (e.g. ``"correlation"`` for 1 − Pearson r), stored in ``attrs``.
    signed : bool
        The dissimilarities may be negative (crossvalidated distances, e.g. crossnobis). By
        default a negative value is an error. Stored in ``attrs["signed"]``.
    tol : float
        Relative tolerance of the symmetry and zero-diagonal checks.
    rdm_coords : mapping, optional
        Further coordinates on ``rdm`` (one value per RDM, or one for all).
    attrs : mapping, optional
        Metadata kept in ``attrs``.
    name : str
        Name of the DataArray.

    Returns
    -------
    xarray.DataArray
        Dims ``(rdm, stimulus_id, stimulus_id_2)``; ``subject``, ``region`` (and ``session``) on
        ``rdm``, whose own labels are ``"<subject>_<region>[_<session>]"``.

    Raises
    ------
    ValueError
        Naming the argument: shapes that do not match ``stimulus_id``, fewer than 3 stimuli,
        repeated ids, a matrix that is not symmetric or has a non-zero diagonal, NaN/inf,
        negative values without ``signed``, two RDMs for the same subject × region (× session).
    TypeError
        Complex or non-numeric values; ids that mix strings and numbers.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.spatial.distance import pdist
    >>> from brainalign import data
    >>> X = np.random.default_rng(0).normal(size=(2, 5, 10))  # 2 subjects, 5 stimuli
    >>> R = data.rdms(np.stack([pdist(x, "correlation") for x in X]), stimulus_id=list("abcde"),
    ...               subject=["S1", "S2"], region="IT", metric="correlation")
    >>> R.dims, R.sizes["rdm"], R["rdm"].values.tolist()
    (('rdm', 'stimulus_id', 'stimulus_id_2'), 2, ['S1_IT', 'S2_IT'])
    >>> data.validate(R)
    'rdms'
    """
    signed = check_bool("signed", signed)
    if isinstance(tol, (bool, np.bool_)) or not isinstance(tol, (int, float, np.floating)) or not 0 <= tol < 1:
        raise ValueError(f"tol must be a number in [0, 1) (relative tolerance), got {tol!r}.")
    if metric is not None and not isinstance(metric, str):
        raise TypeError(f"metric must be a string (e.g. 'correlation') or None, got {metric!r}.")
    if stimulus_id is None or np.ndim(stimulus_id) != 1:
        raise ValueError("stimulus_id is required: one id per row (and column) of the RDMs.")
    ids = check_labels(stimulus_id, "stimulus_id")
    n = len(ids)
    arr = as_numpy(values, "values")
    if not np.issubdtype(arr.dtype, np.floating):
        arr = arr.astype(np.float64)
    m = n * (n - 1) // 2
    if arr.ndim == 3 or (arr.ndim == 2 and arr.shape == (n, n)):
        square = arr if arr.ndim == 3 else arr[None]
        if square.shape[1:] != (n, n):
            raise ValueError(f"values must be ({n}, {n}) matrices for {n} stimulus ids, got shape {arr.shape}.")
    elif arr.ndim in (1, 2) and arr.shape[-1] == m and m > 0:
        condensed = arr.reshape(-1, m)
        square = np.zeros((condensed.shape[0], n, n), dtype=arr.dtype)
        iu = np.triu_indices(n, 1)
        square[:, iu[0], iu[1]] = condensed
        square[:, iu[1], iu[0]] = condensed
    else:
        raise ValueError(
            f"values of shape {arr.shape} is neither square ({n}, {n}) / (k, {n}, {n}) nor condensed ({m},) / "
            f"(k, {m}) for {n} stimulus ids (n·(n−1)/2 = {m}). Check stimulus_id, or the RDMs' shape."
        )
    k = square.shape[0]
    coords: dict[str, Any] = {
        "subject": ("rdm", per_item(subject, k, "subject", "rdm")),
        "region": ("rdm", per_item(region, k, "region", "rdm")),
    }
    if session is not None:
        coords["session"] = ("rdm", per_item(session, k, "session", "rdm"))
    for key, value in (rdm_coords or {}).items():
        coords[key] = ("rdm", per_item(value, k, f"rdm_coords[{key!r}]", "rdm"))
    names = [c for c in ("subject", "region", "session") if c in coords]
    keys = [coords[c][1] for c in names]
    frame = pd.DataFrame(dict(zip(names, keys, strict=True)))
    if frame.duplicated().any():
        first = frame[frame.duplicated()].iloc[0].to_dict()
        raise ValueError(
            f"values holds two RDMs for {first}; give one RDM per {' × '.join(names)} (pass session=... to keep "
            "several sessions apart, or average them first)."
        )
    labels = np.array(["_".join(str(part) for part in parts) for parts in zip(*keys, strict=True)], dtype=object)
    coords["rdm"] = ("rdm", labels)
    coords["stimulus_id"] = ("stimulus_id", ids)
    coords["stimulus_id_2"] = ("stimulus_id_2", ids)
    out_attrs = dict(attrs or {})
    if metric is not None:
        out_attrs["metric"] = metric
    out_attrs["signed"] = signed
    R = xr.DataArray(square, dims=RDM_DIMS, coords=coords, name=name, attrs=out_attrs)
    validate_rdms(R, "values", tol=tol)
    sym = (R.values + np.swapaxes(R.values, 1, 2)) / 2
    sym[:, np.arange(n), np.arange(n)] = 0.0
    return R.copy(data=sym)


def validate_rdms(obj: xr.DataArray, label: str, *, check_values: bool = True, tol: float = RDM_TOL) -> None:
    """Check a brain-RDM object (dims, coordinates, ids; with ``check_values``, the matrices).

    Raises ``ValueError`` (or ``TypeError`` for non-real values) whose message starts with
    ``label``. Negative dissimilarities are allowed only when ``attrs["signed"]`` is true.

    Examples
    --------
    >>> import numpy as np, xarray as xr
    >>> R = xr.DataArray(np.zeros((1, 3, 3)), dims=RDM_DIMS, coords={"subject": ("rdm", ["S1"]),
    ...     "region": ("rdm", ["IT"]), "stimulus_id": [1, 2, 3], "stimulus_id_2": [1, 2, 3]})
    >>> validate_rdms(R, "R")
    """
    if not isinstance(obj, xr.DataArray):
        raise TypeError(f"{label} must be an xarray.DataArray of RDMs, got {type(obj).__name__}.")
    if tuple(obj.dims) != RDM_DIMS:
        raise ValueError(
            f"{label} must have dims {RDM_DIMS} (one square RDM per subject × region), got {tuple(obj.dims)}. "
            "Build it with brainalign.data.rdms(values, stimulus_id=..., subject=..., region=...)."
        )
    for coord, dim in (
        ("subject", "rdm"),
        ("region", "rdm"),
        ("stimulus_id", "stimulus_id"),
        ("stimulus_id_2", "stimulus_id_2"),
    ):
        if coord not in obj.coords or obj[coord].dims != (dim,):
            raise ValueError(
                f"{label} needs the coordinate {coord!r} on dim {dim!r}. Build it with brainalign.data.rdms(...)."
            )
        if np.any(np.asarray(pd.isna(obj[coord].values), dtype=bool)):
            raise ValueError(f"{label}: the coordinate {coord!r} has missing values.")
    ids = pd.Index(obj["stimulus_id"].values)
    if not ids.is_unique:
        raise ValueError(f"{label}: stimulus_id has repeated ids, e.g. {ids[ids.duplicated()].unique()[:5].tolist()}.")
    if not ids.equals(pd.Index(obj["stimulus_id_2"].values)):
        raise ValueError(f"{label}: stimulus_id and stimulus_id_2 must hold the same ids in the same order.")
    if len(ids) < 3:
        raise ValueError(f"{label} has {len(ids)} stimuli; an RDM needs at least 3 to be compared.")
    if obj.sizes["rdm"] == 0:
        raise ValueError(f"{label} holds no RDM; it needs at least one along 'rdm'.")
    # An RDM's identity is its label on 'rdm' when it has one (data.rdms builds it from subject, region
    # and session), else its subject × region (× session).
    if "rdm" in obj.coords:
        keys, frame = ["rdm"], pd.DataFrame({"rdm": obj["rdm"].values})
    else:
        keys = [c for c in ("subject", "region", "session") if c in obj.coords and obj[c].dims == ("rdm",)]
        frame = pd.DataFrame({c: obj[c].values for c in keys})
    if frame.duplicated().any():
        first = frame[frame.duplicated()].iloc[0].to_dict()
        raise ValueError(
            f"{label} has two RDMs for {first}; each needs its own {' × '.join(keys)} (build the RDMs with "
            "brainalign.data.rdms(..., session=...) to keep several sessions apart)."
        )
    if np.issubdtype(obj.dtype, np.complexfloating) or not np.issubdtype(obj.dtype, np.number):
        raise TypeError(f"{label} must hold real numbers, got dtype {obj.dtype}.")
    if not check_values:
        return
    _check_matrices(np.asarray(obj.values, dtype=float), obj, label, tol)


def _check_matrices(R: np.ndarray, obj: xr.DataArray, label: str, tol: float) -> None:
    def where(k: int) -> str:
        return f"RDM {k} (subject {obj['subject'].values[k]!r}, region {obj['region'].values[k]!r})"

    bad = ~np.isfinite(R)
    if bad.any():
        k = int(np.argwhere(bad)[0][0])
        raise ValueError(
            f"{label}: {where(k)} has {int(bad[k].sum())} NaN or infinite value(s); an RDM must be finite."
        )
    scale = np.maximum(np.abs(R).max(axis=(1, 2)), np.finfo(float).tiny)
    asym = np.abs(R - np.swapaxes(R, 1, 2)).max(axis=(1, 2)) / scale
    if np.any(asym > tol):
        k = int(np.argmax(asym))
        raise ValueError(
            f"{label}: {where(k)} is not symmetric (max |R − Rᵀ| = {asym[k]:.3g} × its largest value, tolerance "
            f"{tol:g}). An RDM holds one dissimilarity per pair of stimuli; check the input, or symmetrise it."
        )
    diag = np.abs(np.diagonal(R, axis1=1, axis2=2)).max(axis=1) / scale
    if np.any(diag > tol):
        k = int(np.argmax(diag))
        raise ValueError(
            f"{label}: {where(k)} has a non-zero diagonal (max |R_ii| = {diag[k]:.3g} × its largest value, "
            f"tolerance {tol:g}); a stimulus' dissimilarity to itself is 0. Is it a similarity matrix? Use 1 − r."
        )
    if not obj.attrs.get("signed", False) and (R < 0).any():
        k = int(np.argwhere(R < 0)[0][0])
        raise ValueError(
            f"{label}: {where(k)} has negative dissimilarities (min {R[k].min():.3g}). Distances are >= 0; for "
            "crossvalidated distances (crossnobis) that may be negative, pass signed=True."
        )
