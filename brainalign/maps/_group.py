"""Group maps over subjects, best layers, and the views that tables and figures read."""

from __future__ import annotations

from typing import Any

import numpy as np
import xarray as xr

from .. import data
from ..stats import bootstrap_subjects, fdr_correction, sign_flip_test
from ..utils import check_option, check_random_state


def group_map(
    amap: xr.Dataset,
    *,
    n_boot: int = 1000,
    n_perm: int = 1000,
    ci: float = 0.95,
    alpha: float = 0.05,
    random_state: int | np.random.Generator | None = 0,
) -> xr.Dataset:
    """The group map of a per-subject map: mean over subjects, with subject-level statistics.

    ``ci_low``/``ci_high`` bootstrap the subjects; ``p_value`` is a sign-flip permutation test of
    the mean over subjects against 0 (random effects: subjects are the unit of inference; exact,
    over all ``2**n_subjects`` sign patterns, when those are no more than ``n_perm`` — so with
    few subjects the smallest possible p-value is ``2**-n_subjects``). Distances (shape metrics)
    have no 0 to test against: they get ``score`` and the CIs only. ``p_fdr`` and ``significant``
    control the false discovery rate across the map. ``ceiling`` and ``normalized`` are the
    subjects' means.

    Parameters
    ----------
    amap : xarray.Dataset
        A map with a ``subject`` dim (:func:`alignment_map` of a recording with several subjects).
    n_boot, n_perm : int
        Bootstrap resamples and sign flips (0: none).
    ci, alpha : float
        Interval coverage and false discovery rate.
    random_state : int or numpy Generator, optional

    Returns
    -------
    xarray.Dataset
        A map over ``layer × region`` (``latency`` kept), with ``n_subjects`` in attrs.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, alignment_map
    >>> rng = np.random.default_rng(0)
    >>> acts = data.activations({"l1": rng.normal(size=(30, 6)), "l2": rng.normal(size=(30, 6))},
    ...                         stimulus_id=np.arange(30))
    >>> signal = acts.values[:, 6:] @ rng.normal(size=(6, 12))
    >>> rec = data.recording(signal + rng.normal(size=(30, 12)), stimulus_id=np.arange(30),
    ...                      subject=np.repeat(["S1", "S2", "S3"], 4), region="IT")
    >>> per_subject_map = alignment_map(acts, rec, "rsa")
    >>> group = group_map(per_subject_map, n_boot=200, n_perm=200)
    >>> group["score"].dims, group.attrs["group_test"]
    (('layer', 'region'), 'sign-flip test of subject scores against 0 (exact)')
    """
    data.validate(amap, "map", name="amap")
    if "subject" not in amap["score"].dims:
        raise ValueError("amap has no 'subject' dim: it is already a single-subject or group map.")
    rng = check_random_state(random_state)
    scores = amap["score"]
    n_subjects = scores.sizes["subject"]
    if n_subjects < 2:
        raise ValueError("A group map needs at least 2 subjects.")
    out = xr.Dataset({"score": scores.mean("subject", skipna=True)})
    for var in ("ceiling", "normalized"):
        if var in amap:
            out[var] = amap[var].mean("subject", skipna=True) if "subject" in amap[var].dims else amap[var]
    if n_boot:
        boot = bootstrap_subjects(scores, dim="subject", n_boot=n_boot, ci=ci, random_state=int(rng.integers(2**31)))
        out["ci_low"], out["ci_high"] = boot["ci_low"], boot["ci_high"]
    higher = bool(amap.attrs.get("higher_is_better", 1))
    exact = False
    if n_perm and higher:
        by_subject = scores.transpose("subject", ...)
        test = sign_flip_test(by_subject.values, n_perm=n_perm, random_state=rng)
        exact = test.exact
        out["p_value"] = xr.DataArray(test.p_value, dims=by_subject.dims[1:])
        significant, q = fdr_correction(out["p_value"], alpha)
        out["p_fdr"], out["significant"] = q, significant
    out.attrs.update({k: v for k, v in amap.attrs.items() if k not in ("n_boot", "n_perm")})
    out.attrs.update(
        level="group",
        n_subjects=int(n_subjects),
        group_n_boot=int(n_boot),
        group_n_perm=int(2**n_subjects if exact else n_perm),
        group_test=("sign-flip test of subject scores against 0" + (" (exact)" if exact else ""))
        if n_perm and higher
        else "none",
    )
    data.validate(out, "map")
    return out


def best_layer(amap: xr.Dataset, variable: str = "score") -> xr.DataArray:
    """The best layer of every region (``idxmax``, or ``idxmin`` for distances).

    Examples
    --------
    >>> import xarray as xr
    >>> score = xr.DataArray([[[0.1, 0.2], [0.5, 0.4]], [[0.3, 0.4], [0.2, 0.1]]], dims=("layer", "region", "subject"),
    ...                      coords={"layer": ["l1", "l2"], "region": ["V1", "IT"], "subject": ["S1", "S2"]})
    >>> per_subject_map = xr.Dataset({"score": score}, attrs={"method": "rsa", "higher_is_better": 1})
    >>> best_layer(per_subject_map).sel(subject="S1").values.tolist()
    ['l2', 'l1']
    """
    check_option("variable", variable, tuple(amap.data_vars))
    values = amap[variable]
    if amap.attrs.get("higher_is_better", 1):
        return values.fillna(-np.inf).idxmax("layer")
    return values.fillna(np.inf).idxmin("layer")


_GROUP = "group_"


def with_group(amap: xr.Dataset, **options: Any) -> xr.Dataset:
    """``amap`` plus its group map (:func:`group_map`) as ``group_*`` variables, when it has subjects.

    One file then holds the per-subject and the group map.

    Examples
    --------
    >>> import xarray as xr
    >>> score = xr.DataArray([[[0.1, 0.2], [0.5, 0.4]], [[0.3, 0.4], [0.2, 0.1]]], dims=("layer", "region", "subject"),
    ...                      coords={"layer": ["l1", "l2"], "region": ["V1", "IT"], "subject": ["S1", "S2"]})
    >>> per_subject_map = xr.Dataset({"score": score}, attrs={"method": "rsa", "higher_is_better": 1})
    >>> both = with_group(per_subject_map, n_boot=200, n_perm=200)
    >>> both["group_score"].dims
    ('layer', 'region')
    """
    if "subject" not in amap["score"].dims or amap.sizes["subject"] < 2:
        return amap
    group = group_map(amap, **options)
    out = amap.copy()
    for var in group.data_vars:
        out[_GROUP + var] = group[var]
    for key in ("group_n_boot", "group_n_perm", "group_test", "n_subjects"):
        out.attrs[key] = group.attrs[key]
    return out


def summary_view(amap: xr.Dataset) -> xr.Dataset:
    """A ``layer × region`` (searchlights: ``layer × center``) view of any map, for tables and figures.

    The group map when the file holds one (:func:`with_group`), else the mean over subjects;
    time-resolved maps are averaged over latency.

    Examples
    --------
    >>> import xarray as xr
    >>> score = xr.DataArray([[[0.1, 0.2], [0.5, 0.4]], [[0.3, 0.4], [0.2, 0.1]]], dims=("layer", "region", "subject"),
    ...                      coords={"layer": ["l1", "l2"], "region": ["V1", "IT"], "subject": ["S1", "S2"]})
    >>> per_subject_map = xr.Dataset({"score": score}, attrs={"method": "rsa", "higher_is_better": 1})
    >>> summary_view(per_subject_map)["score"].dims
    ('layer', 'region')
    """
    if _GROUP + "score" in amap:
        view = xr.Dataset({k[len(_GROUP) :]: v for k, v in amap.data_vars.items() if k.startswith(_GROUP)})
    else:
        view = amap[[v for v in amap.data_vars if not v.startswith(_GROUP)]]
    extra = [d for d in view["score"].dims if d not in ("layer", "region", "center")]
    if extra:
        view = view[["score"] + [v for v in ("ceiling", "normalized") if v in view]].mean(extra, keep_attrs=True)
    view.attrs = dict(amap.attrs)
    return view
