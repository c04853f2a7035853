"""Atlas label tables and atlas look-ups shared by the fMRI and iEEG adapters (private)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..utils import soft_import

__all__ = ["describe", "load_image", "lookup_regions", "read_labels", "region_names"]

_INDEX_COLUMNS = ("index", "value", "id", "label_id", "key")
_NAME_COLUMNS = ("name", "label", "region", "label_name", "abbreviation")


def describe(obj: Any) -> str:
    """A short name for an image or file, for error messages."""
    if isinstance(obj, (str, os.PathLike)):
        return repr(str(obj))
    fname = getattr(obj, "get_filename", lambda: None)()
    return repr(str(fname)) if fname else f"the in-memory {type(obj).__name__}"


def load_image(img: Any, what: str):
    """A nibabel image from a path or an image; clear errors naming the file."""
    nib = soft_import("nibabel", "reading MRI images")
    if isinstance(img, (str, os.PathLike)):
        path = Path(img)
        if not path.exists():
            raise FileNotFoundError(f"{what}: the file {str(path)!r} does not exist.")
        try:
            return nib.load(path)
        except Exception as err:
            raise ValueError(
                f"{what}: cannot read {str(path)!r} as an image ({type(err).__name__}: {err}). "
                "Give a NIfTI (.nii/.nii.gz), GIfTI (.gii) or FreeSurfer (.mgz) file."
            ) from err
    if hasattr(img, "affine") and hasattr(img, "shape"):
        return img
    raise TypeError(f"{what} must be a path or a nibabel image, got {type(img).__name__}.")


def read_labels(labels: Any, what: str = "labels") -> dict[int, str] | None:
    """A label table ``{value: name}`` from a mapping, a sequence, a DataFrame or a file.

    Accepted: ``{value: name}``; a sequence of names (``names[i]`` is the name of value ``i``,
    nilearn's convention, so ``names[0]`` is the background); a DataFrame or a .tsv/.csv file
    with an index column (``index``, ``value`` or ``id``) and a name column (``name``, ``label``
    or ``region``), as BIDS ``dseg.tsv`` and nilearn look-up tables have; a text file with one
    name per line (line ``i`` names value ``i``).
    """
    if labels is None:
        return None
    if isinstance(labels, (str, os.PathLike)):
        path = Path(labels)
        if not path.exists():
            raise FileNotFoundError(f"{what}: the label table {str(path)!r} does not exist.")
        if path.suffix.lower() in (".tsv", ".csv"):
            frame = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",")
            return _labels_from_frame(frame, f"{what} ({str(path)!r})")
        names = [line.strip() for line in path.read_text().splitlines()]
        while names and not names[-1]:
            names.pop()
        return {i: name for i, name in enumerate(names)}
    if isinstance(labels, pd.DataFrame):
        return _labels_from_frame(labels, what)
    if isinstance(labels, Mapping):
        try:
            return {int(k): str(v) for k, v in labels.items()}
        except (TypeError, ValueError) as err:
            raise TypeError(
                f"{what}: a mapping must go from integer atlas values to names; got {labels!r:.80}"
            ) from err
    if isinstance(labels, Sequence) and not isinstance(labels, (str, bytes)):
        return {i: str(name) for i, name in enumerate(labels)}
    raise TypeError(
        f"{what} must be a mapping {{value: name}}, a sequence of names, a DataFrame or a .tsv/.csv/.txt "
        f"file, got {type(labels).__name__}."
    )


def _labels_from_frame(frame: pd.DataFrame, what: str) -> dict[int, str]:
    lower = {str(c).lower(): c for c in frame.columns}
    index_col = next((lower[c] for c in _INDEX_COLUMNS if c in lower), None)
    name_col = next((lower[c] for c in _NAME_COLUMNS if c in lower), None)
    if name_col is None:
        raise ValueError(
            f"{what}: the label table needs a name column (one of {_NAME_COLUMNS}); it has {list(frame.columns)}."
        )
    if index_col is None:
        return {i: str(n) for i, n in enumerate(frame[name_col])}
    try:
        values = frame[index_col].astype(int)
    except (TypeError, ValueError) as err:
        raise ValueError(f"{what}: the column {index_col!r} must hold integer atlas values.") from err
    return {int(v): str(n) for v, n in zip(values, frame[name_col], strict=True)}


def integer_labels(data: np.ndarray, what: str) -> np.ndarray:
    """Check that an atlas holds integer labels and return them as int64."""
    data = np.asarray(data)
    if data.dtype.kind == "f":
        if not np.all(np.isfinite(data)) or not np.array_equal(data, np.round(data)):
            raise ValueError(
                f"{what} must be a label image (one integer per voxel); it holds non-integer values, so it "
                "looks like a probabilistic atlas. Threshold it into a label image first."
            )
    elif data.dtype.kind not in "iub":
        raise ValueError(f"{what} must hold integer labels, got dtype {data.dtype}.")
    return data.astype(np.int64)


def region_names(values: np.ndarray, table: dict[int, str] | None, what: str, background: int = 0) -> np.ndarray:
    """Names of the atlas ``values``; unknown values (absent from ``table``) raise ValueError."""
    values = np.asarray(values, dtype=np.int64)
    if table is None:
        return np.array([str(v) for v in values], dtype=object)
    present = set(np.unique(values).tolist()) - {background}
    unknown = sorted(v for v in present if v not in table)
    if unknown:
        raise ValueError(
            f"{what} has label value(s) {unknown[:10]} that the label table does not name (it names "
            f"{sorted(table)[:10]}{'...' if len(table) > 10 else ''}). Give a label table that covers every "
            "value of the atlas, or pick the matching table."
        )
    return np.array([table.get(int(v), "background") for v in values], dtype=object)


def lookup_regions(
    xyz_mm: np.ndarray,
    atlas: Any,
    labels: Any,
    *,
    names: Sequence[str],
    what: str = "atlas",
    background: int = 0,
    outside: str = "unknown",
) -> np.ndarray:
    """Atlas label at each ``(x, y, z)`` position in mm (nearest voxel).

    Positions must be finite; positions that fall outside the atlas grid get ``outside``.
    """
    xyz_mm = np.asarray(xyz_mm, dtype=float)
    bad = ~np.all(np.isfinite(xyz_mm), axis=1)
    if bad.any():
        missing = [names[i] for i in np.flatnonzero(bad)]
        raise ValueError(
            f"Cannot look up regions in the {what}: {len(missing)} channel(s) have no position, e.g. "
            f"{missing[:5]}. Set a montage with positions for every channel (raw.set_montage(...)), give "
            "an electrodes.tsv, or drop those channels (picks=...)."
        )
    img = load_image(atlas, what)
    nib_affines = soft_import("nibabel.affines")
    data = integer_labels(np.asanyarray(img.dataobj), what)
    if data.ndim != 3:
        raise ValueError(f"{what} {describe(atlas)} must be a 3-D label image, got shape {data.shape}.")
    ijk = np.rint(nib_affines.apply_affine(np.linalg.inv(img.affine), xyz_mm)).astype(int)
    inside = np.all((ijk >= 0) & (ijk < np.array(data.shape)), axis=1)
    values = np.full(len(xyz_mm), background, dtype=np.int64)
    values[inside] = data[tuple(ijk[inside].T)]
    table = read_labels(labels, f"labels of the {what}")
    out = region_names(values, table, f"The {what} {describe(atlas)}", background)
    out[~inside] = outside
    out[inside & (values == background)] = outside
    return out
