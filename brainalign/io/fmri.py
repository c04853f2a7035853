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
- :func:`from_bids`: runs and their events found by BIDS entities (subject, session, task, run,
  space, desc) in a BIDS dataset or a derivatives folder (fMRIPrep layout).

HRF convolution of continuous designs lives in :func:`brainalign.data.align`
(``hrf_model="glover"`` or ``"spm"``), next to its Lanczos resampling and FIR delays.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ..data import recording as _recording
from ..utils import logger, progress, soft_import
from ._atlas import describe, integer_labels, load_image, read_labels, region_names
from ._bids import Sidecars, norm_run, parse_name, raw_entities, run_sort_key, strip_prefix

__all__ = ["from_bids", "load_bids_events", "load_fmri"]

_HEMI_ALIASES = {"left": "left", "lh": "left", "l": "left", "right": "right", "rh": "right", "r": "right"}


# ------------------------------------------------------------------------------------- public
def load_fmri(
    imgs: Any,
    *,
    mask: Any = None,
    atlas: Any = None,
    labels: Any = None,
    parcellate: bool = False,
    stimulus_id: Sequence[Any] | None = None,
    events: Any = None,
    tr: float | None = None,
    confounds: Any = None,
    detrend: bool = False,
    standardize: bool = False,
    high_pass: float | None = None,
    low_pass: float | None = None,
    smoothing_fwhm: float | None = None,
    mesh: Any = None,
    subject: str = "sub-01",
    run: Sequence[Any] | None = None,
    region: str = "all",
    space: str | None = None,
    dtype: Any = np.float32,
    name: str = "bold",
) -> xr.DataArray:
    """Load fMRI runs (or beta maps) into a recording, cleaned and masked by nilearn.

    Parameters
    ----------
    imgs : path, nibabel image, mapping or sequence of those
        One run or a list of runs. Volumes: 4-D NIfTI files or images (one per run).
        Surfaces: a :class:`nilearn.surface.SurfaceImage`, or a mapping ``{"left": path,
        "right": path}`` of GIfTI/``.mgz`` files with ``mesh``. With ``stimulus_id``: 3-D
        beta/contrast maps, one per stimulus, or a single 4-D image with one volume per stimulus.
    mask : path or image, optional
        Voxels (or vertices) to keep. Default: the voxels labelled by ``atlas``, or nilearn's
        background mask computed from the first run.
    atlas : path or image, optional
        Label image on the same grid as the runs (integer per voxel, 0 = background), or for
        surfaces a SurfaceImage / ``{"left": path, "right": path}`` of vertex labels. Gives each
        neuroid its ``region``.
    labels : mapping, sequence, DataFrame or path, optional
        The atlas' label table: ``{value: name}``, a list of names indexed by value, a table with
        ``index`` and ``name`` columns (BIDS ``dseg.tsv``, nilearn LUT), or a text file with one
        name per line. Every value of the atlas must be named.
    parcellate : bool
        With ``atlas``: average the voxels of each parcel (``NiftiLabelsMasker`` /
        ``SurfaceLabelsMasker``), one neuroid per parcel at its centroid. Default: one neuroid
        per voxel.
    stimulus_id : sequence, optional
        One id per beta map: the result is a condition-based recording.
    events : DataFrame, path or sequence of those (one per run), optional
        Events of each run (``onset``, ``duration`` and an id column, e.g. a BIDS
        ``events.tsv``). They are checked against the run's duration (an event outside the run
        is an error) and kept in ``attrs["events"]`` (a dict of columns, with ``run``):
        ``pandas.DataFrame(rec.attrs["events"])``.
    tr : float, optional
        Repetition time in seconds. Default: the NIfTI header's. Required for surface data.
    confounds : array, DataFrame, path or sequence of those (one per run), optional
        Nuisance regressors (time × n_confounds) regressed out of each run by nilearn.
    detrend, standardize : bool
        Remove linear trends / z-score each neuroid, per run (per map set for betas).
    high_pass, low_pass : float, optional
        Butterworth filter cut-offs in Hz, per run.
    smoothing_fwhm : float, optional
        Spatial smoothing in mm (volumes).
    mesh : str, PolyMesh or mapping, optional
        Surface mesh giving vertex coordinates: a name known to
        :func:`nilearn.datasets.load_fsaverage` (``"fsaverage5"`` ships with nilearn), a nilearn
        ``PolyMesh``, or ``{"left": path, "right": path}`` of GIfTI/FreeSurfer surfaces.
    subject : str
        Stored on every neuroid.
    run : sequence, optional
        Label of each run (default ``0, 1, ...``).
    region : str
        Region name of every neuroid when no ``atlas`` is given.
    space : str, optional
        Name of the coordinate space (e.g. ``"MNI152NLin2009cAsym"``), kept in ``attrs``.
        Default: ``"native"`` for volumes, the mesh name for surfaces.
    dtype : numpy dtype
        Dtype of the result (float32 halves memory).
    name : str
        Name of the DataArray.

    Returns
    -------
    xarray.DataArray
        Continuous ``(time, neuroid)`` with ``time`` (s from each run's start) and ``run``, or
        condition-based ``(presentation, neuroid)``. Neuroids carry ``subject``, ``region``,
        ``x``, ``y``, ``z`` (mm; voxel centres from the image affine, parcel centroids, or mesh
        vertices) and, for volumes, ``voxel_i/j/k``; for surfaces ``hemisphere`` and ``vertex``.
        ``attrs``: ``tr``, ``space``, ``modality="fmri"``, ``coordinate_unit="mm"``, the cleaning
        options, and ``source_files``.

    Raises
    ------
    FileNotFoundError, ValueError
        Naming the file and the problem: unreadable images, runs on different voxel grids, an
        atlas or mask whose affine/shape differs from the runs', atlas values missing from the
        label table, events outside their run, confounds of the wrong length.

    Examples
    --------
    >>> import numpy as np, nibabel as nib
    >>> from brainalign.io.fmri import load_fmri
    >>> img = nib.Nifti1Image(np.random.default_rng(0).normal(size=(4, 4, 3, 20)).astype("float32"), np.eye(4))
    >>> rec = load_fmri(img, tr=2.0, mask=nib.Nifti1Image(np.ones((4, 4, 3), "int8"), np.eye(4)))
    >>> rec.dims, rec.sizes["neuroid"], rec.attrs["tr"]
    (('time', 'neuroid'), 48, 2.0)

    References
    ----------
    Abraham A. et al. (2014). Machine learning for neuroimaging with scikit-learn. Front.
    Neuroinform. 8:14 (nilearn).
    """
    if stimulus_id is not None and (confounds is not None or high_pass or low_pass or detrend):
        raise ValueError(
            "confounds, detrend, high_pass and low_pass apply to time series (continuous runs); with "
            "stimulus_id the images are beta/contrast maps. Clean the runs before estimating the betas."
        )
    if stimulus_id is not None and events is not None:
        raise ValueError("events apply to continuous runs; with stimulus_id the images are beta/contrast maps.")
    source = _Source.from_input(imgs, mesh=mesh, conditions=stimulus_id is not None)
    if source.surface:
        reader = _SurfaceReader(source, mask=mask, atlas=atlas, labels=labels, parcellate=parcellate)
    else:
        reader = _VolumeReader(source, mask=mask, atlas=atlas, labels=labels, parcellate=parcellate)
    if stimulus_id is not None:
        return _load_conditions(
            reader, source, stimulus_id, standardize, smoothing_fwhm, subject, region, space, dtype, name
        )
    return _load_runs(
        reader,
        source,
        events=events,
        tr=tr,
        confounds=confounds,
        detrend=detrend,
        standardize=standardize,
        high_pass=high_pass,
        low_pass=low_pass,
        smoothing_fwhm=smoothing_fwhm,
        subject=subject,
        run=run,
        region=region,
        space=space,
        dtype=dtype,
        name=name,
    )


def load_bids_events(
    path: str | os.PathLike | pd.DataFrame,
    *,
    stimulus_column: str | None = None,
) -> pd.DataFrame:
    """Read a BIDS ``events.tsv`` into onsets, durations and stimulus ids.

    Parameters
    ----------
    path : path or DataFrame
        The ``*_events.tsv`` file (tab-separated, ``n/a`` for missing values), or a DataFrame of
        its columns.
    stimulus_column : str, optional
        Column holding the stimulus ids. Default: the first of ``stimulus_id``, ``stim_file``,
        ``trial_type``, ``value`` that the file has.

    Returns
    -------
    pandas.DataFrame
        Sorted by onset, with ``onset`` and ``duration`` (float seconds; missing durations are
        0), ``stimulus_id``, and every other column of the file.

    Examples
    --------
    >>> import pandas as pd
    >>> ev = load_bids_events(pd.DataFrame({"onset": [2.0, 0.5], "duration": [1, 1], "trial_type": ["b", "a"]}))
    >>> ev[["onset", "stimulus_id"]].values.tolist()
    [[0.5, 'a'], [2.0, 'b']]
    """
    if isinstance(path, pd.DataFrame):
        frame, label = path.copy(), "events"
    else:
        path = Path(path)
        label = repr(str(path))
        if not path.exists():
            raise FileNotFoundError(f"The events file {label} does not exist.")
        try:
            frame = pd.read_csv(path, sep="\t", na_values=["n/a", "N/A", ""], keep_default_na=True)
        except Exception as err:
            raise ValueError(f"Cannot read the events file {label} as a tab-separated table: {err}") from err
    frame.columns = [str(c).strip() for c in frame.columns]
    for col in ("onset", "duration"):
        if col not in frame.columns:
            raise ValueError(
                f"The events file {label} has no {col!r} column (it has {list(frame.columns)}); BIDS events "
                "need 'onset' and 'duration' in seconds."
            )
    try:
        frame["onset"] = pd.to_numeric(frame["onset"]).astype(float)
        frame["duration"] = pd.to_numeric(frame["duration"]).astype(float).fillna(0.0)
    except (TypeError, ValueError) as err:
        raise ValueError(f"The events file {label}: 'onset' and 'duration' must be numbers ({err}).") from err
    if frame["onset"].isna().any():
        row = int(np.flatnonzero(frame["onset"].isna())[0])
        raise ValueError(f"The events file {label} has a missing onset at row {row}; every event needs one.")
    if (frame["duration"] < 0).any():
        raise ValueError(f"The events file {label} has negative durations; durations are seconds >= 0.")
    if stimulus_column is None:
        stimulus_column = next(
            (c for c in ("stimulus_id", "stim_file", "trial_type", "value") if c in frame.columns), None
        )
        if stimulus_column is None:
            raise ValueError(
                f"The events file {label} has no stimulus id column (stimulus_id, stim_file, trial_type or "
                f"value); it has {list(frame.columns)}. Name one with stimulus_column=..."
            )
    elif stimulus_column not in frame.columns:
        raise ValueError(
            f"stimulus_column={stimulus_column!r} is not a column of the events file {label}; it has "
            f"{list(frame.columns)}."
        )
    ids = frame[stimulus_column]
    if ids.isna().any():
        row = int(np.flatnonzero(ids.isna())[0])
        raise ValueError(
            f"The events file {label} has a missing {stimulus_column!r} at row {row}; drop that event or "
            "fill in its id."
        )
    if stimulus_column != "stimulus_id":
        frame["stimulus_id"] = ids.to_numpy()
    return frame.sort_values("onset", kind="stable").reset_index(drop=True)


def from_bids(
    root: str | os.PathLike,
    subject: str,
    task: str,
    *,
    session: str | None = None,
    run: str | int | Sequence[str | int] | None = None,
    space: str | None = None,
    desc: str | None = None,
    derivatives: str | os.PathLike | None = None,
    confounds: Sequence[str] | None = None,
    stimulus_column: str | None = None,
    **kwargs: Any,
) -> xr.DataArray:
    """Load every run of a task from a BIDS dataset, with its events, into a recording.

    The repetition time comes from the runs' JSON sidecars (``RepetitionTime``; BIDS
    inheritance: dataset-, subject-, session- and run-level ``*_bold.json`` merged, the most
    specific last) when present, else from the NIfTI headers. Runs are found by BIDS entities
    in file names:
    ``sub-<subject>[_ses-<session>]_task-<task>[_run-<run>][_space-<space>][_desc-<desc>]_bold.nii[.gz]``
    under ``func/`` folders of ``derivatives`` (e.g. fMRIPrep's output) or, by default, of
    ``root`` (its ``derivatives/`` folder left out). Events come from the matching
    ``*_events.tsv`` in ``root`` (BIDS inheritance: the most specific file wins).

    Parameters
    ----------
    root : path
        The BIDS dataset (raw data and events).
    subject, task : str
        Entities of the runs (with or without the ``sub-``/``task-`` prefix).
    session, run, space, desc : optional
        Further entities to match; ``run`` may be a list. A file matches when it has each given
        entity with that value.
    derivatives : path, optional
        Folder of preprocessed runs (fMRIPrep layout), searched instead of ``root``.
    confounds : sequence of str, optional
        Columns of fMRIPrep's ``*_desc-confounds_timeseries.tsv`` to regress out (missing values
        in the first rows, as fMRIPrep writes for derivatives, are set to 0). Each run's file is
        the one beside it whose entities are exactly the run's (all but ``space``, ``desc``,
        ``res``...); none or several is an error.
    stimulus_column : str, optional
        Events column of the stimulus ids (see :func:`load_bids_events`).
    **kwargs
        Passed to :func:`load_fmri` (``mask``, ``atlas``, ``labels``, ``standardize``, ...).

    Returns
    -------
    xarray.DataArray
        A continuous recording, run labels from the ``run`` entity, events in
        ``attrs["events"]``, ``subject`` on neuroids, BIDS entities in attrs.

    Examples
    --------
    >>> rec = from_bids("ds000001", "01", "balloonanalogrisktask",
    ...                 derivatives="ds000001/derivatives/fmriprep",
    ...                 space="MNI152NLin2009cAsym")  # doctest: +SKIP
    """
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"The BIDS folder {str(root)!r} does not exist.")
    if confounds is not None and (isinstance(confounds, str) or not all(isinstance(c, str) for c in confounds)):
        raise TypeError(f"confounds must be a list of column names of the fMRIPrep confounds file, got {confounds!r}.")
    subject = strip_prefix(subject, "sub")
    task = strip_prefix(task, "task")
    search = Path(derivatives) if derivatives is not None else root
    if not search.is_dir():
        raise FileNotFoundError(f"The derivatives folder {str(search)!r} does not exist.")
    wanted = {"sub": subject, "task": task}
    if session is not None:
        wanted["ses"] = strip_prefix(session, "ses")
    if space is not None:
        wanted["space"] = strip_prefix(space, "space")
    if desc is not None:
        wanted["desc"] = strip_prefix(desc, "desc")
    runs_wanted = None
    if run is not None:
        runs_wanted = {norm_run(r) for r in (run if isinstance(run, (list, tuple)) else [run])}
    # Raw runs only, unless a derivatives folder is named: root/derivatives/... holds preprocessed
    # copies of the same runs.
    candidates = sorted(
        p
        for p in search.glob(f"**/sub-{subject}*_bold.nii*")
        if derivatives is not None or "derivatives" not in p.relative_to(search).parts
    )
    found = []
    for path in candidates:
        ents = parse_name(path.name)
        if ents is None or path.parent.name != "func":
            continue
        if any(ents.get(k) != v for k, v in wanted.items()):
            continue
        if runs_wanted is not None and norm_run(ents.get("run", "")) not in runs_wanted:
            continue
        found.append((path, ents))
    if not found:
        raise FileNotFoundError(
            f"No run of subject {subject!r}, task {task!r} ({', '.join(f'{k}-{v}' for k, v in wanted.items())}"
            f"{', run ' + str(sorted(runs_wanted)) if runs_wanted else ''}) under {str(search)!r}. Files found for "
            f"that subject: {[p.name for p in candidates[:5]]}. Check the entities (space=..., desc=...)."
        )
    keys = [tuple(sorted(raw_entities(ents).items())) for _, ents in found]
    if len(set(keys)) != len(keys):
        dup = [p.name for p, _ in found]
        raise ValueError(
            f"Several files match the same run: {dup[:6]}. Narrow the search with space=... and/or desc=..."
        )
    found.sort(key=lambda pe: (pe[1].get("ses", ""), run_sort_key(pe[1].get("run", ""))))
    # One finder: each folder of the dataset is listed once, whatever the number of runs.
    sidecars = Sidecars()
    json_roots = [root] if derivatives is None else [root, search]
    events, conf, labels, trs = [], [], [], set()
    for path, ents in found:
        # Events belong to the raw run (BIDS inheritance in root, the most specific file wins).
        ev_path = sidecars.nearest(path, "events", ".tsv", ents=raw_entities(ents), roots=[root])
        if ev_path is not None:
            events.append(_ParsedEvents(load_bids_events(ev_path, stimulus_column=stimulus_column), ev_path))
        else:
            events.append(None)
        if confounds is not None:
            conf.append(_fmriprep_confounds(path, ents, confounds, sidecars))
        label = ents.get("run", "1")
        labels.append(f"ses-{ents['ses']}_run-{label}" if "ses" in ents and session is None else label)
        if "tr" not in kwargs:
            tr = sidecars.read_json(path, "bold", ents=ents, roots=json_roots).get("RepetitionTime")
            if tr is not None:
                trs.add(float(tr))
    if "tr" not in kwargs:
        if len(trs) > 1:
            raise ValueError(f"The runs' JSON sidecars give different RepetitionTime values {sorted(trs)}.")
        if trs:
            kwargs["tr"] = trs.pop()
    if all(e is None for e in events):
        events = None
        logger.warning("from_bids: no events.tsv found for subject %s, task %s.", subject, task)
    elif any(e is None for e in events):
        missing = [p.name for (p, _), e in zip(found, events, strict=True) if e is None]
        raise FileNotFoundError(f"No events.tsv for run(s) {missing}; every run needs its events, or none.")
    rec = load_fmri(
        [p for p, _ in found],
        events=events,
        confounds=conf if confounds is not None else None,
        run=labels,
        subject=f"sub-{subject}",
        space=space,
        **kwargs,
    )
    rec.attrs.update(bids_root=str(root), bids_subject=subject, bids_task=task)
    if session is not None:
        rec.attrs["bids_session"] = wanted["ses"]
    return rec


@dataclass(frozen=True)
class _ParsedEvents:
    """Events already read by :func:`load_bids_events` (from_bids), with their file."""

    frame: pd.DataFrame
    path: Path


# ----------------------------------------------------------------------------------- sources
class _Source:
    """The runs (or maps) to read, as lazily opened images."""

    def __init__(self, items: list[Any], surface: bool, mesh: Any, mesh_name: str | None, conditions: bool):
        self.items = items
        self.surface = surface
        self.mesh = mesh
        self.mesh_name = mesh_name
        self.conditions = conditions

    @classmethod
    def from_input(cls, imgs: Any, *, mesh: Any, conditions: bool) -> _Source:
        items = list(imgs) if isinstance(imgs, (list, tuple)) else [imgs]
        if not items:
            raise ValueError("imgs is empty; give at least one run (a path or an image).")
        surface = any(_is_surface(it) for it in items)
        if surface and not all(_is_surface(it) for it in items):
            raise ValueError("imgs mixes surface and volume data; load them separately.")
        mesh_obj, mesh_name = (None, None)
        if surface:
            mesh_obj, mesh_name = _resolve_mesh(mesh, items[0])
        elif mesh is not None:
            raise ValueError("mesh applies to surface data (GIfTI / .mgz per hemisphere); imgs are volumes.")
        return cls(items, surface, mesh_obj, mesh_name, conditions)

    def name(self, i: int) -> str:
        item = self.items[i]
        if isinstance(item, Mapping):
            return ", ".join(describe(v) for v in item.values())
        return describe(item)

    def files(self) -> list[str]:
        out = []
        for item in self.items:
            values = item.values() if isinstance(item, Mapping) else [item]
            out.extend(str(v) for v in values if isinstance(v, (str, os.PathLike)))
        return out


def _is_surface(item: Any) -> bool:
    if isinstance(item, Mapping):
        return True
    if type(item).__name__ == "SurfaceImage":
        return True
    if isinstance(item, (str, os.PathLike)):
        return str(item).lower().endswith((".gii", ".gii.gz"))
    return False


def _resolve_mesh(mesh: Any, first: Any):
    if type(first).__name__ == "SurfaceImage":
        return first.mesh, mesh if isinstance(mesh, str) else None
    if mesh is None:
        raise ValueError(
            "Surface data needs a mesh for the vertex coordinates: mesh='fsaverage5' (shipped with nilearn), "
            "a nilearn PolyMesh, or {'left': path, 'right': path} of surface files."
        )
    surface = soft_import("nilearn.surface", "surface fMRI")
    if isinstance(mesh, str):
        datasets = soft_import("nilearn.datasets", "fsaverage meshes")
        try:
            return datasets.load_fsaverage(mesh)["pial"], mesh
        except Exception as err:
            raise ValueError(
                f"mesh={mesh!r}: nilearn cannot load that mesh offline ({err}). nilearn ships 'fsaverage5'; "
                "for others give {'left': path, 'right': path} of GIfTI/FreeSurfer surface files."
            ) from err
    if isinstance(mesh, Mapping):
        parts = {_hemi(k): v for k, v in mesh.items()}
        try:
            return surface.PolyMesh(**parts), None
        except Exception as err:
            raise ValueError(f"Cannot read the mesh files {mesh!r}: {err}") from err
    if type(mesh).__name__ == "PolyMesh":
        return mesh, None
    raise TypeError(f"mesh must be a name, a nilearn PolyMesh or a mapping of paths, got {type(mesh).__name__}.")


def _hemi(key: Any) -> str:
    hemi = _HEMI_ALIASES.get(str(key).lower())
    if hemi is None:
        raise ValueError(f"Unknown hemisphere {key!r}; use 'left' and 'right' (or 'lh'/'rh').")
    return hemi


# ------------------------------------------------------------------------------------ readers
def _xyz_coords(xyz: np.ndarray, **extra: np.ndarray) -> dict[str, np.ndarray]:
    """Neuroid coordinates: x, y, z (mm) plus any extra per-neuroid columns."""
    return {"x": xyz[:, 0], "y": xyz[:, 1], "z": xyz[:, 2], **extra}


def _atlas_options(atlas: Any, labels: Any, parcellate: bool) -> dict[int, str] | None:
    """Check the atlas options together and read the label table."""
    if labels is not None and atlas is None:
        raise ValueError("labels name the values of an atlas; pass atlas=... as well.")
    if parcellate and atlas is None:
        raise ValueError("parcellate=True averages the parcels of an atlas; pass atlas=... (a label image).")
    return read_labels(labels, "labels") if labels is not None else None


class _VolumeReader:
    """NIfTI runs through NiftiMasker (voxels) or NiftiLabelsMasker (parcels)."""

    def __init__(self, source: _Source, *, mask: Any, atlas: Any, labels: Any, parcellate: bool):
        self.source = source
        self.nib = soft_import("nibabel", "reading NIfTI images")
        self.first = self.open(0)
        self.affine = self.first.affine
        self.shape3 = tuple(self.first.shape[:3])
        self.mask_img = self._grid_checked(mask, "mask") if mask is not None else None
        self.atlas_img = self._grid_checked(atlas, "atlas") if atlas is not None else None
        self.table = _atlas_options(atlas, labels, parcellate)
        self.parcellate = parcellate
        self.atlas_data = None
        if self.atlas_img is not None:
            self.atlas_data = integer_labels(np.asanyarray(self.atlas_img.dataobj), f"The atlas {describe(atlas)}")
            self.atlas_name = describe(atlas)
            if self.atlas_data.ndim != 3:
                raise ValueError(f"The atlas {describe(atlas)} must be 3-D, got shape {self.atlas_data.shape}.")
            present = np.unique(self.atlas_data)
            region_names(present, self.table, f"The atlas {describe(atlas)}")  # unknown labels raise here

    def open(self, i: int):
        img = load_image(self.source.items[i], f"run {i}")
        if len(img.shape) not in (3, 4):
            raise ValueError(f"The image {self.source.name(i)} must be 3-D or 4-D, got shape {img.shape}.")
        return img

    def _grid_checked(self, obj: Any, what: str):
        img = load_image(obj, what)
        if tuple(img.shape[:3]) != self.shape3 or not np.allclose(img.affine, self.affine, atol=1e-4):
            raise ValueError(
                f"The {what} {describe(obj)} is not on the grid of the runs ({self.source.name(0)}): shape "
                f"{tuple(img.shape[:3])} vs {self.shape3}, affines differ by up to "
                f"{np.abs(img.affine - self.affine).max():.3g}. Resample it onto the runs' grid first, e.g. "
                f"nilearn.image.resample_to_img({what}, run_img, interpolation='nearest')."
            )
        return img

    def check_grid(self, img, i: int) -> None:
        if tuple(img.shape[:3]) != self.shape3 or not np.allclose(img.affine, self.affine, atol=1e-4):
            raise ValueError(
                f"Run {i} ({self.source.name(i)}) is on a different voxel grid from run 0 ({self.source.name(0)}): "
                f"shape {tuple(img.shape[:3])} vs {self.shape3}, affines differ by up to "
                f"{np.abs(img.affine - self.affine).max():.3g}. Resample the runs onto one grid "
                "(nilearn.image.resample_to_img) before loading them together."
            )

    def scan(self, i: int) -> tuple[int, float | None]:
        """Volumes and header TR of run ``i``, from its header (nibabel reads data lazily)."""
        img = self.first if i == 0 else self.open(i)
        self.check_grid(img, i)
        if len(img.shape) == 3:
            raise ValueError(
                f"Run {i} ({self.source.name(i)}) is a 3-D image (one volume); continuous runs are 4-D. For one "
                "beta/contrast map per stimulus pass stimulus_id=..."
            )
        return self.n_frames(img), self.header_tr(img)

    def n_frames(self, img) -> int:
        return 1 if len(img.shape) == 3 else int(img.shape[3])

    def header_tr(self, img) -> float | None:
        if len(img.shape) != 4:
            return None
        zooms = img.header.get_zooms()
        if len(zooms) < 4 or not np.isfinite(zooms[3]) or zooms[3] <= 0:
            return None
        unit = img.header.get_xyzt_units()[1] if hasattr(img.header, "get_xyzt_units") else "unknown"
        scale = {"sec": 1.0, "msec": 1e-3, "usec": 1e-6}.get(unit)
        return None if scale is None else float(zooms[3]) * scale  # no time unit: TR not recorded

    def make_masker(self, options: dict[str, Any]):
        maskers = soft_import("nilearn.maskers", "masking fMRI data")
        if self.parcellate:
            masker = maskers.NiftiLabelsMasker(
                labels_img=self.atlas_img, mask_img=self.mask_img, background_label=0, **options
            )
            masker.fit()
            return masker
        mask_img = self.mask_img
        if self.atlas_img is not None:
            keep = self.atlas_data != 0
            if mask_img is not None:
                keep &= np.asanyarray(mask_img.dataobj) != 0
            mask_img = self.nib.Nifti1Image(keep.astype(np.int8), self.affine)
        masker = maskers.NiftiMasker(mask_img=mask_img, **options)
        if mask_img is None:
            logger.info("load_fmri: no mask given; computing nilearn's background mask from run 0.")
            masker.fit(self.first)
        else:
            masker.fit()
        return masker

    def neuroids(self, masker, region: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
        affines = soft_import("nibabel.affines")
        if self.parcellate:
            ids = _region_ids(masker)
            inside = self.atlas_data != 0
            if masker.mask_img_ is not None:
                inside &= np.asanyarray(masker.mask_img_.dataobj) != 0
            # Mean voxel index of every parcel in one pass, then mm (the affine is linear).
            mean_ijk = _label_means(self.atlas_data[inside], np.argwhere(inside), ids)
            xyz = affines.apply_affine(self.affine, mean_ijk).reshape(-1, 3)
            regions = region_names(np.asarray(ids), self.table, f"The atlas {self.atlas_name}")
            coords = _xyz_coords(xyz, label_value=np.asarray(ids))
            return coords, regions
        mask = np.asanyarray(masker.mask_img_.dataobj) != 0
        ijk = np.argwhere(mask)  # C order, as nilearn's masking
        xyz = affines.apply_affine(self.affine, ijk)
        if self.atlas_data is not None:
            values = self.atlas_data[tuple(ijk.T)]
            regions = region_names(values, self.table, f"The atlas {self.atlas_name}")
        else:
            regions = np.full(len(ijk), region, dtype=object)
        coords = _xyz_coords(xyz, voxel_i=ijk[:, 0], voxel_j=ijk[:, 1], voxel_k=ijk[:, 2])
        return coords, regions

    def default_space(self) -> str:
        return "native"


class _SurfaceReader:
    """Surface runs (GIfTI / .mgz per hemisphere) through SurfaceMasker / SurfaceLabelsMasker."""

    def __init__(self, source: _Source, *, mask: Any, atlas: Any, labels: Any, parcellate: bool):
        self.source = source
        self.surface = soft_import("nilearn.surface", "surface fMRI")
        self.mesh = source.mesh
        self.n_vertices = {h: int(self.mesh.parts[h].n_vertices) for h in self.mesh.parts}
        self.first = self.open(0)
        self.mask_img = self._as_surface(mask, "mask") if mask is not None else None
        self.atlas_img = self._as_surface(atlas, "atlas") if atlas is not None else None
        self.table = _atlas_options(atlas, labels, parcellate)
        self.parcellate = parcellate
        self.atlas_name = describe(atlas) if atlas is not None else None
        self.atlas_data = None
        if self.atlas_img is not None:
            self.atlas_data = {
                h: integer_labels(np.asarray(self.atlas_img.data.parts[h]).reshape(-1), f"The atlas {self.atlas_name}")
                for h in self.atlas_img.data.parts
            }
            allv = np.concatenate(list(self.atlas_data.values()))
            region_names(np.unique(allv), self.table, f"The atlas {self.atlas_name}")

    def _as_surface(self, obj: Any, what: str):
        if type(obj).__name__ == "SurfaceImage":
            img = obj
        elif isinstance(obj, Mapping):
            try:
                img = self.surface.SurfaceImage(
                    self.mesh, {_hemi(k): str(v) if isinstance(v, os.PathLike) else v for k, v in obj.items()}
                )
            except Exception as err:
                raise ValueError(f"Cannot read the {what} {obj!r} on the mesh: {err}") from err
        else:
            raise TypeError(f"For surface data, {what} must be a SurfaceImage or {{'left': ..., 'right': ...}}.")
        for hemi, n in self.n_vertices.items():
            got = np.asarray(img.data.parts[hemi]).shape[0]
            if got != n:
                raise ValueError(
                    f"The {what} {describe(obj)} has {got} vertices in the {hemi} hemisphere; the mesh has {n}."
                )
        return img

    def open(self, i: int):
        item = self.source.items[i]
        if type(item).__name__ == "SurfaceImage":
            return item
        if not isinstance(item, Mapping):
            raise TypeError(
                f"Surface run {i} must be a SurfaceImage or {{'left': path, 'right': path}}, got {type(item).__name__}."
            )
        data = {}
        for key, value in item.items():
            hemi = _hemi(key)
            if isinstance(value, (str, os.PathLike)) and not Path(value).exists():
                raise FileNotFoundError(f"Surface run {i}: the file {str(value)!r} does not exist.")
            try:
                arr = np.asarray(self.surface.load_surf_data(str(value) if isinstance(value, os.PathLike) else value))
            except Exception as err:
                raise ValueError(f"Surface run {i}: cannot read {describe(value)} ({err}).") from err
            data[hemi] = arr.reshape(arr.shape[0], -1) if arr.ndim > 1 else arr
            n = self.n_vertices.get(hemi)
            if n is not None and data[hemi].shape[0] != n:
                raise ValueError(
                    f"Surface run {i}: {describe(value)} has {data[hemi].shape[0]} vertices but the {hemi} "
                    f"hemisphere of the mesh has {n}. Use the mesh the data were sampled on."
                )
        try:
            return self.surface.SurfaceImage(self.mesh, data)
        except Exception as err:
            raise ValueError(f"Surface run {i} ({self.source.name(i)}): {err}") from err

    def check_grid(self, img, i: int) -> None:
        for hemi, n in self.n_vertices.items():
            if hemi in img.data.parts and np.asarray(img.data.parts[hemi]).shape[0] != n:
                raise ValueError(f"Surface run {i} ({self.source.name(i)}) does not match the mesh ({hemi}).")

    def scan(self, i: int) -> tuple[int, float | None]:
        """Volumes of run ``i``, from the file headers where the format allows (GIfTI, .mgz,
        NIfTI), so that pass 1 does not read the data; other inputs are opened."""
        if i == 0:
            return self.n_frames(self.first), None
        item = self.source.items[i]
        counts: dict[str, int] = {}
        if isinstance(item, Mapping):
            for key, value in item.items():
                hemi = _hemi(key)
                shape = None
                if isinstance(value, (str, os.PathLike)):
                    if not Path(value).exists():
                        raise FileNotFoundError(f"Surface run {i}: the file {str(value)!r} does not exist.")
                    shape = _surface_file_shape(value)
                if shape is None:
                    break
                n = self.n_vertices.get(hemi)
                if n is not None and shape[0] != n:
                    raise ValueError(
                        f"Surface run {i}: {describe(value)} has {shape[0]} vertices but the {hemi} hemisphere of "
                        f"the mesh has {n}. Use the mesh the data were sampled on."
                    )
                counts[hemi] = shape[1]
            else:
                if len(set(counts.values())) > 1:
                    raise ValueError(
                        f"Surface run {i} ({self.source.name(i)}): the hemispheres hold different numbers of volumes "
                        f"({counts})."
                    )
                if counts:
                    return next(iter(counts.values())), None
        img = self.open(i)  # in-memory images, or formats whose header does not tell
        self.check_grid(img, i)
        return self.n_frames(img), None

    def n_frames(self, img) -> int:
        part = np.asarray(next(iter(img.data.parts.values())))
        return 1 if part.ndim == 1 else int(part.shape[1])

    def header_tr(self, img) -> float | None:
        return None  # surface headers rarely carry a reliable TR

    def make_masker(self, options: dict[str, Any]):
        maskers = soft_import("nilearn.maskers", "masking surface data")
        if options.pop("smoothing_fwhm", None) is not None:
            raise ValueError("smoothing_fwhm applies to volumes; smooth surface data on the mesh beforehand.")
        if "dtype" not in inspect.signature(maskers.SurfaceMasker).parameters:
            options.pop("dtype", None)  # nilearn < 0.14: the result's dtype is set when it is stored
        if self.parcellate:
            masker = maskers.SurfaceLabelsMasker(labels_img=self.atlas_img, mask_img=self.mask_img, **options)
            masker.fit()
            return masker
        mask_img = self.mask_img
        if self.atlas_img is not None:
            keep = {h: self.atlas_data[h] != 0 for h in self.atlas_data}
            if mask_img is not None:
                keep = {h: keep[h] & (np.asarray(mask_img.data.parts[h]).reshape(-1) != 0) for h in keep}
            mask_img = self.surface.SurfaceImage(self.mesh, {h: k.astype(np.int8) for h, k in keep.items()})
        masker = maskers.SurfaceMasker(mask_img=mask_img, **options)
        masker.fit(self.first if mask_img is None else None)
        return masker

    def neuroids(self, masker, region: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
        if self.parcellate:
            ids = _region_ids(masker)
            hemi_names = list(self.atlas_data)
            values = np.concatenate([self.atlas_data[h] for h in hemi_names])
            points = np.concatenate([np.asarray(self.mesh.parts[h].coordinates, dtype=float) for h in hemi_names])
            xyz = _label_means(values, points, ids).reshape(-1, 3)
            where = np.stack([np.isin(ids, self.atlas_data[h]) for h in hemi_names], axis=1)  # parcel × hemisphere
            hemis = [hemi_names[int(np.argmax(w))] if w.sum() == 1 else "both" for w in where]
            regions = region_names(np.asarray(ids), self.table, f"The atlas {self.atlas_name}")
            return _xyz_coords(xyz, hemisphere=np.asarray(hemis, dtype=object), label_value=np.asarray(ids)), regions
        parts = masker.mask_img_.data.parts if masker.mask_img_ is not None else None
        xyz, hemis, vertex, values = [], [], [], []
        for h in self.mesh.parts:  # nilearn concatenates hemispheres in the mesh's order
            keep = np.asarray(parts[h]).reshape(-1) != 0 if parts is not None else np.ones(self.n_vertices[h], bool)
            idx = np.flatnonzero(keep)
            xyz.append(np.asarray(self.mesh.parts[h].coordinates)[idx])
            hemis.extend([h] * len(idx))
            vertex.append(idx)
            if self.atlas_data is not None:
                values.append(self.atlas_data[h][idx])
        xyz = np.concatenate(xyz).astype(float)
        if self.atlas_data is not None:
            regions = region_names(np.concatenate(values), self.table, f"The atlas {self.atlas_name}")
        else:
            regions = np.full(len(xyz), region, dtype=object)
        return _xyz_coords(xyz, hemisphere=np.asarray(hemis, dtype=object), vertex=np.concatenate(vertex)), regions

    def default_space(self) -> str:
        return self.source.mesh_name or "surface"


def _label_means(values: np.ndarray, points: np.ndarray, ids: Sequence[int]) -> np.ndarray:
    """Mean of ``points`` (n × 3) over the points of each label in ``ids``, in one pass over
    the labels (``np.bincount`` weighted by each coordinate); NaN for a label with no point."""
    ids = np.asarray(ids, dtype=np.int64)
    uniq, inverse = np.unique(np.asarray(values, dtype=np.int64), return_inverse=True)
    counts = np.bincount(inverse, minlength=len(uniq))
    sums = np.stack(
        [np.bincount(inverse, weights=np.asarray(points[:, c], dtype=float), minlength=len(uniq)) for c in range(3)],
        axis=1,
    )
    pos = np.minimum(np.searchsorted(uniq, ids), max(len(uniq) - 1, 0))
    out = np.full((len(ids), 3), np.nan)
    if len(uniq):
        hit = uniq[pos] == ids
        out[hit] = sums[pos[hit]] / counts[pos[hit], None]
    return out


def _surface_file_shape(path: str | os.PathLike) -> tuple[int, int] | None:
    """(vertices, volumes) of a surface data file read from its header, as nilearn's
    ``load_surf_data`` would shape the data; None when the header does not tell."""
    name = str(path).lower()
    try:
        if name.endswith((".mgz", ".nii", ".nii.gz")):
            nib = soft_import("nibabel", "reading surface data")
            dims = [int(d) for d in nib.load(str(path)).shape if int(d) != 1] or [1]  # squeezed, as nilearn
        elif name.endswith((".gii", ".gii.gz")):
            return _gifti_shape(Path(path))
        else:
            return None
    except Exception:  # unreadable header: opening the file gives the error that names it
        return None
    return dims[0], int(np.prod(dims[1:])) if len(dims) > 1 else 1


def _gifti_shape(path: Path) -> tuple[int, int] | None:
    """Vertices and number of data arrays (one per volume) of a GIfTI file, from the XML
    attributes: the encoded data are skipped, not decoded."""
    import gzip
    from xml.etree import ElementTree

    opener = gzip.open if path.name.lower().endswith(".gz") else open
    sizes, n_arrays = set(), 0
    with opener(path, "rb") as f:
        for _, elem in ElementTree.iterparse(f, events=("end",)):
            if elem.tag == "DataArray":
                dims = [int(elem.get(f"Dim{k}", "1")) for k in range(int(elem.get("Dimensionality", "1")))]
                big = [d for d in dims if d != 1]
                if len(big) > 1:  # a 2-D array (vertices × volumes): let nilearn read it
                    return None
                sizes.add(big[0] if big else 1)
                n_arrays += 1
            if elem.tag in ("Data", "DataArray"):
                elem.clear()
    if n_arrays == 0 or len(sizes) != 1:
        return None
    return sizes.pop(), n_arrays


# ------------------------------------------------------------------------------------ loading
def _region_ids(masker) -> list[int]:
    """Atlas values of the masker's output columns, in column order (background left out:
    nilearn >= 0.12.1 names it ``"background"``, 0.12.0 lists it as a region)."""
    ids = masker.region_ids_
    background = getattr(masker, "background_label", 0)
    return [int(ids[k]) for k in sorted(k for k in ids if k != "background") if ids[k] != background]


def _masker_options(**kw: Any) -> dict[str, Any]:
    opts = dict(kw)
    opts["standardize"] = "zscore_sample" if kw.get("standardize") else None
    return opts


def _load_runs(
    reader,
    source: _Source,
    *,
    events,
    tr,
    confounds,
    detrend,
    standardize,
    high_pass,
    low_pass,
    smoothing_fwhm,
    subject,
    run,
    region,
    space,
    dtype,
    name,
) -> xr.DataArray:
    n_runs = len(source.items)
    runs = list(range(n_runs)) if run is None else list(run)
    if len(runs) != n_runs:
        raise ValueError(f"run must give one label per run ({n_runs}), got {len(runs)}.")
    conf = _per_run(confounds, n_runs, "confounds")
    evs = _per_run(events, n_runs, "events")
    # Pass 1: sizes and TRs from headers only (no data read).
    frames, trs = [], []
    for i in range(n_runs):
        n, t = reader.scan(i)
        frames.append(n)
        trs.append(t)
    if tr is None:
        known = [t for t in trs if t is not None]
        if len(known) != n_runs:
            raise ValueError(
                f"The repetition time is not in the header of {source.name(trs.index(None))}; pass tr=... (seconds)."
            )
        if not np.allclose(known, known[0], rtol=1e-3):
            raise ValueError(
                f"The runs have different TRs in their headers ({sorted(set(known))}); load them separately."
            )
        tr = known[0]
    else:
        tr = float(tr)
        for i, t in enumerate(trs):
            if t is not None and not np.isclose(t, tr, rtol=1e-3):
                logger.warning("load_fmri: run %d's header says TR = %g s; using tr=%g s as given.", i, t, tr)
    if not (np.isfinite(tr) and tr > 0):
        raise ValueError(f"tr must be a positive number of seconds, got {tr!r}.")
    options = _masker_options(
        standardize=standardize,
        detrend=detrend,
        high_pass=high_pass,
        low_pass=low_pass,
        t_r=tr,
        smoothing_fwhm=smoothing_fwhm,
        dtype=np.dtype(dtype).name if np.dtype(dtype).kind == "f" else None,
    )
    masker = reader.make_masker(options)
    coords, regions = reader.neuroids(masker, region)
    n_neuroids = len(regions)
    out = np.empty((int(sum(frames)), n_neuroids), dtype=dtype)
    events_table = []
    start = 0
    for i in progress(range(n_runs), desc="fMRI runs", unit="run"):
        img = reader.first if i == 0 else reader.open(i)
        if reader.n_frames(img) != frames[i]:
            raise ValueError(
                f"Run {i} ({source.name(i)}) holds {reader.n_frames(img)} volumes but its header says {frames[i]}; "
                "the file is inconsistent or was changed while loading."
            )
        c = _read_confounds(conf[i], frames[i], i, source) if conf[i] is not None else None
        signals = masker.transform(img, confounds=c)
        signals = np.asarray(signals).reshape(frames[i], -1)
        if signals.shape[1] != n_neuroids:
            raise ValueError(f"Run {i} ({source.name(i)}) gave {signals.shape[1]} neuroids, run 0 gave {n_neuroids}.")
        out[start : start + frames[i]] = signals
        start += frames[i]
        del signals, img
        if evs[i] is not None:
            if isinstance(evs[i], _ParsedEvents):  # from_bids read them already
                ev, given = evs[i].frame, evs[i].path
            else:
                ev, given = load_bids_events(evs[i]), evs[i]
            _check_events_inside(ev, frames[i] * tr, i, source, given)
            events_table.append(ev.assign(run=runs[i]))
    time_runs = np.repeat(np.asarray(runs, dtype=object if any(isinstance(r, str) for r in runs) else None), frames)
    attrs = {
        "modality": "fmri",
        "space": space or reader.default_space(),
        "coordinate_unit": "mm",
        "detrend": bool(detrend),
        "standardize": bool(standardize),
        "high_pass": high_pass,
        "low_pass": low_pass,
        "smoothing_fwhm": smoothing_fwhm,
        "confounds_regressed": confounds is not None,
        "parcellated": bool(reader.parcellate),
        "source_files": source.files(),
    }
    if events_table:
        frame = pd.concat(events_table, ignore_index=True)
        attrs["events"] = {c: _jsonable(frame[c]) for c in frame.columns}
    return _recording(
        out,
        tr=tr,
        run=time_runs,
        subject=subject,
        region=regions,
        neuroid_coords=coords,
        attrs=attrs,
        name=name,
    )


def _load_conditions(reader, source, stimulus_id, standardize, smoothing_fwhm, subject, region, space, dtype, name):
    ids = list(stimulus_id)
    options = _masker_options(standardize=False, smoothing_fwhm=smoothing_fwhm)
    masker = reader.make_masker(options)
    coords, regions = reader.neuroids(masker, region)
    rows = []
    for i in progress(range(len(source.items)), desc="beta maps", unit="map"):
        img = reader.first if i == 0 else reader.open(i)
        reader.check_grid(img, i)
        sig = np.asarray(masker.transform(img), dtype=dtype)
        rows.append(sig.reshape(-1, len(regions)))
    values = np.concatenate(rows, axis=0)
    if values.shape[0] != len(ids):
        raise ValueError(
            f"stimulus_id has {len(ids)} ids but the images hold {values.shape[0]} maps "
            f"({source.name(0)}{', ...' if len(source.items) > 1 else ''}); give one id per map."
        )
    if standardize:
        std = values.std(axis=0, ddof=1, keepdims=True)
        values = (values - values.mean(axis=0, keepdims=True)) / np.where(std > 0, std, 1.0)
    attrs = {
        "modality": "fmri",
        "space": space or reader.default_space(),
        "coordinate_unit": "mm",
        "standardize": bool(standardize),
        "parcellated": bool(reader.parcellate),
        "source_files": source.files(),
    }
    return _recording(
        values.astype(dtype, copy=False),
        stimulus_id=ids,
        subject=subject,
        region=regions,
        neuroid_coords=coords,
        attrs=attrs,
        name=name,
    )


def _per_run(value: Any, n_runs: int, what: str) -> list[Any]:
    if value is None:
        return [None] * n_runs
    if isinstance(value, (list, tuple)) and not (what == "confounds" and _is_number_rows(value)):
        if len(value) != n_runs:
            raise ValueError(f"{what} must give one entry per run ({n_runs}), got {len(value)}.")
        return list(value)
    if n_runs != 1:
        raise ValueError(f"{what}: give a list with one entry per run ({n_runs} runs).")
    return [value]


def _is_number_rows(value: Sequence[Any]) -> bool:
    return (
        len(value) > 0
        and isinstance(value[0], (list, tuple, np.ndarray))
        and np.ndim(value[0]) == 1
        and (len(value[0]) == 0 or np.isscalar(value[0][0]))
    )


def _read_confounds(conf: Any, n_frames: int, i: int, source: _Source) -> np.ndarray:
    label = f"confounds of run {i}"
    if isinstance(conf, (str, os.PathLike)):
        path = Path(conf)
        label = f"the confounds file {str(path)!r} (run {i})"
        if not path.exists():
            raise FileNotFoundError(f"{label} does not exist.")
        if path.suffix.lower() in (".tsv", ".csv"):
            frame = pd.read_csv(path, sep="\t" if path.suffix.lower() == ".tsv" else ",", na_values=["n/a"])
            arr = frame.to_numpy(dtype=float)
        else:
            arr = np.loadtxt(path, ndmin=2)
    elif isinstance(conf, pd.DataFrame):
        arr = conf.to_numpy(dtype=float)
    else:
        arr = np.asarray(conf, dtype=float)
    if arr.ndim == 1:
        arr = arr[:, None]
    if arr.ndim != 2 or arr.shape[0] != n_frames:
        raise ValueError(
            f"{label} has shape {arr.shape} but run {i} ({source.name(i)}) has {n_frames} volumes; give one row "
            "per volume."
        )
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{label} has NaN/inf values; fill them (e.g. the first row of derivatives with 0).")
    return arr


def _check_events_inside(ev: pd.DataFrame, duration: float, i: int, source: _Source, given: Any) -> None:
    onset = ev["onset"].to_numpy(dtype=float)
    bad = (onset < 0) | (onset >= duration)
    if bad.any():
        where = describe(given) if isinstance(given, (str, os.PathLike)) else f"the events of run {i}"
        first = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{where}: {int(bad.sum())} event(s) lie outside run {i} ({source.name(i)}, 0–{duration:g} s), e.g. "
            f"onset {onset[first]:g} s at row {first}. Onsets count seconds from the run's first volume; check "
            "that the events belong to this run."
        )


def _jsonable(col: pd.Series) -> list[Any]:
    out = []
    for v in col.tolist():
        if isinstance(v, float) and not np.isfinite(v):
            out.append(None)
        elif isinstance(v, np.generic):
            out.append(v.item())
        else:
            out.append(v)
    return out


# ------------------------------------------------------------------------------------ BIDS
def _fmriprep_confounds(bold: Path, ents: dict[str, str], columns: Sequence[str], sidecars: Sidecars) -> pd.DataFrame:
    """fMRIPrep's confounds of one run: the ``desc-confounds`` table beside the run whose entities
    are exactly the run's (all but space, desc, res...)."""
    run = raw_entities(ents)
    hits = [
        path
        for suffix in ("timeseries", "regressors")  # fMRIPrep >= 20.0, and older
        for path, e in sidecars.files(bold.parent, suffix, ".tsv")
        if e.get("desc") == "confounds" and {k: v for k, v in e.items() if k not in ("desc", "suffix")} == run
    ]
    expected = "_".join(f"{k}-{v}" for k, v in run.items()) + "_desc-confounds_timeseries.tsv"
    if not hits:
        raise FileNotFoundError(
            f"No fMRIPrep confounds file {expected!r} next to {str(bold)!r}: its entities must be exactly the run's "
            f"({', '.join(f'{k}-{v}' for k, v in run.items())})."
        )
    if len(hits) > 1:
        raise ValueError(
            f"Several fMRIPrep confounds files match {bold.name!r}: {[p.name for p in hits]}. Keep one ({expected!r})."
        )
    frame = pd.read_csv(hits[0], sep="\t", na_values=["n/a"])
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"The confounds file {str(hits[0])!r} has no column(s) {missing}.")
    return frame[list(columns)].fillna(0.0)
