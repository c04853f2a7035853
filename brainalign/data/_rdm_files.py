"""Read brain RDMs from files (``.npy``, MATLAB ``.mat``, brainalign's own ``.nc``) for scripts and configs."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from ..utils import soft_import
from ._rdms import RDM_TOL, rdms
from ._schema import validate

__all__ = ["RDM_SUFFIXES", "load_rdms"]

#: The file types :func:`load_rdms` reads.
RDM_SUFFIXES = (".npy", ".mat", ".nc")


def load_rdms(
    path: str | os.PathLike,
    variable: str | None = None,
    *,
    stimulus_id: Sequence[Any] | None = None,
    subject: Any = None,
    region: Any = None,
    session: Any = None,
    field: str = "RDM",
    metric: str | None = None,
    signed: bool = False,
    tol: float = RDM_TOL,
    rdm_coords: Mapping[str, Any] | None = None,
) -> xr.DataArray:
    """Read brain RDMs from a file into :func:`brainalign.data.rdms`' layout.

    - ``.npy``: one array, square or condensed as :func:`brainalign.data.rdms` takes it;
    - ``.mat`` (MATLAB up to v7.2, through :func:`scipy.io.loadmat`): the variable ``variable``
      (needed when the file holds several), either a numeric array — ``(k, n, n)``, or MATLAB's
      usual ``(n, n, k)`` stack, recognised when its first two axes match ``stimulus_id`` and its
      third does not — or a struct array whose ``field`` (default ``"RDM"``) holds one RDM per
      element, read in the struct array's C order (for a 1 × 4 subjects × 2 sessions struct:
      subject 1 session 1, subject 1 session 2, ...); a ``name`` field, if any, becomes the
      ``measurement`` coordinate on ``rdm``;
    - ``.nc``: RDMs saved with :func:`brainalign.io.arrays.save` (a DataArray, or the variable
      ``variable`` of a Dataset), which carry their own labels.

    Parameters
    ----------
    path : path
        The file.
    variable : str, optional
        The variable to read from a ``.mat`` file or a ``.nc`` Dataset.
    stimulus_id, subject, region, session, metric, signed, tol, rdm_coords
        As in :func:`brainalign.data.rdms`; required (``stimulus_id``, ``subject``, ``region``) for
        ``.npy`` and ``.mat`` files, not accepted for ``.nc`` files (their labels are in the file).
    field : str
        The struct field holding each RDM (``.mat`` struct arrays).

    Returns
    -------
    xarray.DataArray
        Validated brain RDMs ``(rdm, stimulus_id, stimulus_id_2)``.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from scipy.spatial.distance import pdist
    >>> from brainalign import data
    >>> folder = tempfile.mkdtemp()
    >>> np.save(os.path.join(folder, "it.npy"), pdist(np.random.default_rng(0).normal(size=(4, 8))))
    >>> R = data.load_rdms(os.path.join(folder, "it.npy"), stimulus_id=list("abcd"), subject="S1", region="IT")
    >>> R.sizes["rdm"], R.sizes["stimulus_id"]
    (1, 4)
    """
    path = Path(path).expanduser()
    suffix = path.suffix.lower()
    if suffix not in RDM_SUFFIXES:
        raise ValueError(f"path must be a {', '.join(RDM_SUFFIXES)} file of RDMs, got {str(path)!r}.")
    if not path.is_file():
        raise FileNotFoundError(f"path {str(path)!r} is not a file.")
    if variable is not None and not isinstance(variable, str):
        raise TypeError(f"variable must be a variable name (str) or None, got {variable!r}.")
    if suffix == ".nc":
        given = {"stimulus_id": stimulus_id, "subject": subject, "region": region, "session": session}
        given = [k for k, v in given.items() if v is not None] + (["rdm_coords"] if rdm_coords else [])
        if given:
            raise ValueError(
                f"{str(path)!r} is a brainalign file with its own labels; do not pass {', '.join(given)}. Relabel the "
                "result with .assign_coords(...) instead."
            )
        return _load_nc(path, variable)
    names = None
    if suffix == ".npy":
        if variable is not None:
            raise ValueError(f"variable applies to .mat and .nc files; {str(path)!r} holds one array.")
        values = np.load(path, allow_pickle=False)
    else:
        values, names = _load_mat(path, variable, field)
    if stimulus_id is None or subject is None or region is None:
        missing = [k for k, v in (("stimulus_id", stimulus_id), ("subject", subject), ("region", region)) if v is None]
        raise ValueError(
            f"{str(path)!r} holds bare matrices: pass {', '.join(missing)} (one id per row; the subject and region "
            "of each RDM)."
        )
    n = len(stimulus_id)
    if values.ndim == 3 and values.shape[:2] == (n, n) and values.shape[2] != n:
        values = np.moveaxis(values, 2, 0)  # MATLAB's n × n × k stack
    coords = dict(rdm_coords or {})
    if names is not None and "measurement" not in coords:
        coords["measurement"] = names
    return rdms(
        values,
        stimulus_id=stimulus_id,
        subject=subject,
        region=region,
        session=session,
        metric=metric,
        signed=signed,
        tol=tol,
        rdm_coords=coords,
        attrs={"source": str(path)},
    )


def _load_nc(path: Path, variable: str | None) -> xr.DataArray:
    from ..io import arrays

    obj = arrays.load(path)
    if isinstance(obj, xr.Dataset):
        names = list(obj.data_vars)
        if variable is None and len(names) != 1:
            raise ValueError(f"{str(path)!r} holds the variables {names}; pass variable=... to choose one.")
        variable = variable if variable is not None else names[0]
        if variable not in obj.data_vars:
            raise ValueError(f"variable {variable!r} is not in {str(path)!r}; it holds {names}.")
        obj = obj[variable]
    elif variable is not None and variable != obj.name:
        raise ValueError(f"{str(path)!r} holds one array ({obj.name!r}); variable={variable!r} names none.")
    validate(obj, "rdms", name=f"the RDMs in {str(path)!r}")
    return obj


def _load_mat(path: Path, variable: str | None, field: str) -> tuple[np.ndarray, np.ndarray | None]:
    sio = soft_import("scipy.io", "reading MATLAB files")
    try:
        content = sio.loadmat(path)
    except NotImplementedError as err:  # MATLAB v7.3 files are HDF5
        raise ValueError(
            f"{str(path)!r} is a MATLAB v7.3 (HDF5) file, which scipy cannot read; save it with -v7 in MATLAB, or "
            "convert the RDMs to .npy."
        ) from err
    names = [k for k in content if not k.startswith("__")]
    if variable is None:
        if len(names) != 1:
            raise ValueError(f"{str(path)!r} holds the variables {names}; pass variable=... to choose one.")
        variable = names[0]
    if variable not in content or variable.startswith("__"):
        raise ValueError(f"variable {variable!r} is not in {str(path)!r}; it holds {names}.")
    value = content[variable]
    if value.dtype.names is None:
        return np.asarray(value), None
    if field not in value.dtype.names:
        raise ValueError(
            f"{variable!r} in {str(path)!r} is a struct array without the field {field!r}; its fields are "
            f"{list(value.dtype.names)}. Pass field=... to name the one holding the RDMs."
        )
    cells = value.ravel(order="C")
    mats = np.stack([np.asarray(c[field], dtype=float).squeeze() for c in cells])
    labels = None
    if "name" in value.dtype.names:
        labels = np.array([str(np.asarray(c["name"]).squeeze()) for c in cells], dtype=object)
    return mats, labels
