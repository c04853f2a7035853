"""Designs the paths of a paper take: events from per-volume labels, and condition betas from
nilearn's first-level GLM as a condition-based recording."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from ...utils import check_bool, check_number, check_option, check_sequence, check_text, progress, soft_import
from .._atlas import load_image
from ._load import load_fmri


def events_from_labels(
    labels: Sequence[Any],
    *,
    tr: float,
    run: Sequence[Any] | None = None,
    exclude: Sequence[Any] = (),
) -> pd.DataFrame:
    """Block events (BIDS-like) from one label per volume, e.g. PyMVPA's ``attributes.txt``.

    Consecutive volumes of one run with the same label form a block: its onset is the time of
    its first volume from the start of its run, its duration the block's volumes × ``tr``.

    Parameters
    ----------
    labels : sequence
        One condition label per volume (all runs concatenated, in time order).
    tr : float
        Repetition time in seconds.
    run : sequence, optional
        Run label of each volume (default: one run). Onsets restart at 0 in each run.
    exclude : sequence
        Labels that are baseline, not events (e.g. ``["rest"]``).

    Returns
    -------
    pandas.DataFrame
        ``onset``, ``duration`` (s), ``trial_type`` (the label) and ``run``, one row per block.

    Examples
    --------
    >>> from brainalign.io.fmri import events_from_labels
    >>> labels = ["rest", "face", "face", "rest", "house", "house", "face"]
    >>> ev = events_from_labels(labels, tr=2.5, run=[0, 0, 0, 0, 1, 1, 1], exclude=["rest"])
    >>> ev.values.tolist()
    [[2.5, 5.0, 'face', 0], [0.0, 5.0, 'house', 1], [5.0, 2.5, 'face', 1]]
    """
    labels = check_sequence("labels", labels)
    tr = check_number("tr", tr, unit="seconds")
    if not labels:
        raise ValueError("labels is empty; give one label per volume.")
    runs = [0] * len(labels) if run is None else check_sequence("run", run)
    if len(runs) != len(labels):
        raise ValueError(f"run must give one label per volume ({len(labels)}), got {len(runs)}.")
    excluded = set(check_sequence("exclude", list(exclude)))
    frame = pd.DataFrame({"label": labels, "run": runs})
    new_run = frame["run"].ne(frame["run"].shift())
    if frame.loc[new_run, "run"].duplicated().any():
        raise ValueError("run: the volumes of each run must be contiguous (a run label reappears later).")
    frame["index"] = frame.groupby((new_run).cumsum()).cumcount()
    block = (new_run | frame["label"].ne(frame["label"].shift())).cumsum()
    blocks = frame.groupby(block, sort=False).agg(
        label=("label", "first"), run=("run", "first"), start=("index", "first"), n=("index", "size")
    )
    blocks = blocks[~blocks["label"].isin(excluded)]
    return pd.DataFrame(
        {
            "onset": blocks["start"].to_numpy(float) * tr,
            "duration": blocks["n"].to_numpy(float) * tr,
            "trial_type": blocks["label"].to_numpy(),
            "run": blocks["run"].to_numpy(),
        }
    ).reset_index(drop=True)


def condition_betas(
    imgs: Any,
    events: pd.DataFrame,
    *,
    tr: float,
    run: Sequence[Any] | None = None,
    mask: Any = None,
    hrf_model: str = "glover",
    drift_model: str | None = "cosine",
    high_pass: float = 0.01,
    per_run: bool = True,
    subject: str = "sub-01",
    region: str = "all",
    dtype: Any = np.float64,
) -> xr.DataArray:
    """Condition betas of nilearn's ``FirstLevelModel``, as a condition-based recording.

    One GLM per run (that run's volumes and events; HRF-convolved regressors, drifts), and the
    effect size of each condition (``compute_contrast(condition, output_type="effect_size")``).
    Runs are read one at a time, so memory holds one run and the betas.

    Parameters
    ----------
    imgs : path, image or sequence of those
        One 4-D run per item, or a single 4-D image holding every run with ``run=``.
    events : DataFrame
        ``onset``, ``duration``, ``trial_type`` and, for several runs, ``run`` (e.g. from
        :func:`events_from_labels` or :func:`load_bids_events` with a ``run`` column).
    tr : float
        Repetition time in seconds.
    run : sequence, optional
        With a single 4-D image: the run label of each volume. With a list of runs: the label
        of each run (default ``0, 1, ...``).
    mask : path or image, optional
        Voxels to keep (default: nilearn's background mask of the first run).
    hrf_model : {"glover", "spm", "glover + derivative", "spm + derivative", "fir"}
        nilearn's HRF model.
    drift_model : {"cosine", "polynomial"} or None
        Slow drifts in the design (``high_pass`` Hz for the cosine basis).
    high_pass : float
        Cut-off of the cosine drift basis in Hz.
    per_run : bool
        True: one presentation per condition and run (``repetition`` = the run's index, so
        split-half ceilings and crossnobis see independent estimates). False: the betas
        averaged over runs, one presentation per condition.
    subject, region : str
        Stored on every neuroid.
    dtype : numpy dtype
        Dtype of the betas.

    Returns
    -------
    xarray.DataArray
        ``(presentation, neuroid)`` with ``stimulus_id`` = condition (and ``run``,
        ``repetition`` with ``per_run``); neuroids as in :func:`load_fmri`.

    Examples
    --------
    >>> import numpy as np, nibabel as nib
    >>> from brainalign.io.fmri import condition_betas, events_from_labels
    >>> labels = (["rest"] * 4 + ["a"] * 4 + ["rest"] * 4 + ["b"] * 4) * 2
    >>> rng = np.random.default_rng(0)
    >>> img = nib.Nifti1Image(rng.normal(100, 1, size=(2, 2, 1, 32)).astype("float32"), np.eye(4))
    >>> ev = events_from_labels(labels, tr=2.0, run=[0] * 16 + [1] * 16, exclude=["rest"])
    >>> mask = nib.Nifti1Image(np.ones((2, 2, 1), "int8"), np.eye(4))
    >>> rec = condition_betas(img, ev, tr=2.0, run=[0] * 16 + [1] * 16, mask=mask)
    >>> rec.dims, rec["stimulus_id"].values.tolist(), rec["repetition"].values.tolist()
    (('presentation', 'neuroid'), ['a', 'b', 'a', 'b'], [0, 0, 1, 1])

    References
    ----------
    Abraham A. et al. (2014). Machine learning for neuroimaging with scikit-learn. Front.
    Neuroinform. 8:14 (nilearn).
    """
    glm = soft_import("nilearn.glm.first_level", "condition betas")
    image = soft_import("nilearn.image", "condition betas")
    tr = check_number("tr", tr, unit="seconds")
    high_pass = check_number("high_pass", high_pass, unit="Hz")
    check_option("hrf_model", hrf_model, ("glover", "spm", "glover + derivative", "spm + derivative", "fir"))
    check_option("drift_model", drift_model, ("cosine", "polynomial", None))
    per_run = check_bool("per_run", per_run)
    subject, region = check_text("subject", subject), check_text("region", region)
    if not isinstance(events, pd.DataFrame):
        raise TypeError(
            f"events must be a DataFrame (onset, duration, trial_type[, run]), got {type(events).__name__}."
        )
    missing = [c for c in ("onset", "duration", "trial_type") if c not in events.columns]
    if missing:
        raise ValueError(f"events has no column(s) {missing}; it has {list(events.columns)}.")
    runs = _run_images(imgs, run, image)
    if len(runs) > 1 and "run" not in events.columns:
        raise ValueError(f"events needs a 'run' column to split them over the {len(runs)} runs.")
    mask_img = load_image(mask, "mask") if mask is not None else None
    conditions = sorted(events["trial_type"].unique().tolist(), key=str)
    maps, ids, run_labels, reps = [], [], [], []
    for k, (label, take) in enumerate(progress(runs, desc="GLM runs", unit="run")):
        ev = events if "run" not in events.columns else events[events["run"] == label]
        if ev.empty:
            raise ValueError(f"events: no event in run {label!r}.")
        run_img = take()
        model = glm.FirstLevelModel(
            t_r=tr,
            hrf_model=hrf_model,
            drift_model=drift_model,
            high_pass=high_pass,
            mask_img=mask_img,
            minimize_memory=True,
        )
        model.fit(run_img, events=ev[["onset", "duration", "trial_type"]])
        if mask_img is None:
            mask_img = model.masker_.mask_img_  # one voxel set for every run
        for cond in conditions:
            if not (ev["trial_type"] == cond).any():
                raise ValueError(
                    f"Condition {cond!r} has no event in run {label!r}; per-run betas need it in every run."
                )
            maps.append(model.compute_contrast(str(cond), output_type="effect_size"))
            ids.append(cond)
            run_labels.append(label)
            reps.append(k)
        del run_img, model
    rec = load_fmri(maps, stimulus_id=ids, mask=mask_img, subject=subject, region=region, dtype=dtype, name="beta")
    rec.attrs.update(glm="nilearn FirstLevelModel", hrf_model=hrf_model, drift_model=str(drift_model), tr=tr)
    if per_run:
        return rec.assign_coords(run=("presentation", run_labels), repetition=("presentation", reps))
    n_cond = len(conditions)
    mean = rec.values.reshape(len(runs), n_cond, -1).mean(axis=0)  # run-major order
    return rec.isel(presentation=slice(0, n_cond)).copy(data=mean.astype(rec.dtype, copy=False))


def _run_images(imgs: Any, run: Sequence[Any] | None, image: Any) -> list[tuple[Any, Any]]:
    """(label, loader) per run; a loader opens (or cuts out) that run's 4-D image when called."""
    items = list(imgs) if isinstance(imgs, (list, tuple)) else [imgs]
    if len(items) > 1:
        labels = list(range(len(items))) if run is None else check_sequence("run", run)
        if len(labels) != len(items):
            raise ValueError(f"run must give one label per run ({len(items)}), got {len(labels)}.")
        return [(lab, lambda it=it: load_image(it, "run")) for lab, it in zip(labels, items, strict=True)]
    img = load_image(items[0], "imgs")
    if run is None:
        return [(0, lambda: img)]
    labels = np.asarray(check_sequence("run", run), dtype=object)
    n = img.shape[3] if len(img.shape) == 4 else 1
    if labels.shape[0] != n:
        raise ValueError(f"run must give one label per volume ({n} in the image), got {labels.shape[0]}.")
    order = list(dict.fromkeys(labels.tolist()))
    return [(lab, lambda lab=lab: image.index_img(img, np.flatnonzero(labels == lab))) for lab in order]
