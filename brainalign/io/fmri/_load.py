"""The public entry point :func:`load_fmri`: option checks, then a reader and the loading of runs or maps."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from ...utils import check_bool, check_float_dtype, check_number, check_sequence, check_text
from ._runs import load_conditions, load_runs
from ._source import Source
from ._surface import SurfaceReader
from ._volume import VolumeReader


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
    parcellate = check_bool("parcellate", parcellate)
    detrend = check_bool("detrend", detrend)
    standardize = check_bool("standardize", standardize)
    tr = check_number("tr", tr, optional=True, unit="seconds")
    high_pass = check_number("high_pass", high_pass, optional=True, unit="Hz")
    low_pass = check_number("low_pass", low_pass, optional=True, unit="Hz")
    if high_pass is not None and low_pass is not None and not high_pass < low_pass:
        raise ValueError(f"high_pass ({high_pass:g} Hz) must be below low_pass ({low_pass:g} Hz): the band is empty.")
    smoothing_fwhm = check_number("smoothing_fwhm", smoothing_fwhm, optional=True, unit="mm")
    subject = check_text("subject", subject)
    region = check_text("region", region)
    space = check_text("space", space, optional=True)
    name = check_text("name", name)
    dtype = check_float_dtype("dtype", dtype)
    stimulus_id = check_sequence("stimulus_id", stimulus_id, optional=True)
    run = check_sequence("run", run, optional=True)
    if stimulus_id is not None and (confounds is not None or high_pass or low_pass or detrend):
        raise ValueError(
            "confounds, detrend, high_pass and low_pass apply to time series (continuous runs); with "
            "stimulus_id the images are beta/contrast maps. Clean the runs before estimating the betas."
        )
    if stimulus_id is not None and events is not None:
        raise ValueError("events apply to continuous runs; with stimulus_id the images are beta/contrast maps.")
    source = Source.from_input(imgs, mesh=mesh, conditions=stimulus_id is not None)
    if source.surface:
        reader = SurfaceReader(source, mask=mask, atlas=atlas, labels=labels, parcellate=parcellate)
    else:
        reader = VolumeReader(source, mask=mask, atlas=atlas, labels=labels, parcellate=parcellate)
    if stimulus_id is not None:
        return load_conditions(
            reader, source, stimulus_id, standardize, smoothing_fwhm, subject, region, space, dtype, name
        )
    return load_runs(
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
