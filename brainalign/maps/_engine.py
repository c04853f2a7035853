"""The map engine's entry point: every method over layers × cells (× subject, latency).

:func:`alignment_map` reads the method's declaration (:mod:`brainalign.methods`) once and hands
the work to the encoder cells (:mod:`._encoder_cells`: one fit per layer over all neuroids) or the
similarity cells (:mod:`._similarity_cells`: each layer represented once, compared with every
cell); both return arrays over cells that :class:`._cells.Cells` turns into the map Dataset.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import xarray as xr

from .. import data, planning
from .._version import __version__
from ..methods import method_params, resolve
from ..stats import fdr_correction
from ..utils import check_option, check_random_state, logger
from ._encoder_cells import encoder_map
from ._similarity_cells import similarity_map

#: alignment_map keywords that belong to the encoding protocol (deprecated there).
ENCODING_KEYWORDS = ("cv", "delays", "hrf_model", "block")


def alignment_map(
    activations: xr.DataArray,
    recording: xr.DataArray,
    method: str | Any = "ridge",
    *,
    method_options: dict[str, Any] | None = None,
    regions: str | Any = "region",
    ceiling: bool = True,
    n_boot: int = 0,
    n_perm: int = 0,
    ci: float = 0.95,
    alpha: float = 0.05,
    random_state: int | np.random.Generator | None = 0,
    repetitions: str | None = None,
    on_missing: str = "raise",
    on_error: str = "raise",
    memory_budget: float | int | str | None = None,
    **deprecated: Any,
) -> xr.Dataset:
    """Score every layer against every region with one method: the alignment map.

    Parameters
    ----------
    activations : xarray.DataArray
        Activations of one model, all layers (``(presentation, unit)``; ``(time, unit)`` at event
        times for continuous recordings; ``(presentation, token, unit)`` for
        ``"attention_readout"``).
    recording : xarray.DataArray
        A condition-based, time-resolved or (encoders only) continuous recording.
    method : str or method object
        A registered name (:func:`brainalign.registry.list_methods`: ``"ridge"``,
        ``"banded_ridge"``, ``"attention_readout"``, ``"rsa"``, ``"trsa"``, ``"cka"``,
        ``"mutual_knn"``, ``"anc"``, ``"best_match"``, ``"shape"``, ``"stochastic_shape"``,
        plug-ins), an instance, or a :class:`brainalign.Encoding` (an encoder with its outer
        cross-validation, delays or HRF).
    method_options : dict, optional
        Options of a method given by name (e.g. ``{"metric": "euclidean"}``).
    regions : str or searchlight
        The cells of the map: a neuroid coordinate whose values are the regions (default
        ``"region"``), or searchlight neighbourhoods (:mod:`brainalign.searchlight`; the map's
        cell dim is then ``center``).
    ceiling : bool
        Estimate noise ceilings when the recording has repeated trials (see Notes) and add
        ``ceiling`` and ``normalized = score / ceiling``.
    n_boot : int
        Bootstrap resamples of the stimuli for ``ci_low``/``ci_high`` (0: none). Continuous
        recordings are resampled in blocks of the encoding's ``block`` samples.
    n_perm : int
        Permutations for ``p_value`` (0: none); ``p_fdr`` holds the Benjamini–Hochberg adjusted
        values across the whole map and ``significant`` the cells with ``p_fdr < alpha``.
    ci : float
        Coverage of the percentile intervals.
    alpha : float
        False discovery rate for ``significant``.
    random_state : int or numpy Generator, optional
        Seed of the bootstrap, the permutations and the split halves.
    repetitions, on_missing
        Passed to :func:`brainalign.data.align`.
    on_error : {"raise", "nan"}
        What to do when a similarity method cannot score a region (e.g. its RDM is constant):
        raise, naming the region (default), or record NaN for it and log a warning (for
        simulation studies where degenerate draws are expected).
    memory_budget : float, int or str, optional
        RAM (and GPU memory) the map may use: bytes, a size such as ``"8GB"``, or a fraction of
        the available RAM; default 80 % of it. The map is planned first
        (:func:`brainalign.planning.estimate`) and refused, naming what to change, when it cannot fit.
    **deprecated
        ``cv``, ``delays``, ``hrf_model`` and ``block`` (encoders only) still work for one release,
        with a ``FutureWarning``: write ``method=brainalign.Encoding("ridge", cv=..., delays=...)``.

    Returns
    -------
    xarray.Dataset
        ``score`` over ``(layer, region)``, plus ``subject`` when the recording holds several
        subjects (scored apart; see :func:`group_map`) and ``latency`` for time-resolved
        recordings; with the options above ``ceiling``, ``normalized``, ``ci_low``, ``ci_high``,
        ``p_value``, ``p_fdr``, ``significant``. Layers keep the model's order, regions the
        recording's. ``attrs`` record the method and its parameters, ``higher_is_better``, the
        statistics, the cross-validation (encoders) and the library version.

    Notes
    -----
    **Encoders** are fitted once per layer (and outer fold) on all neuroids at once; a region's
    score is the mean held-out Pearson r of its neuroids. Their ceiling is the mean of
    ``√ρ`` over the region's neuroids, ``ρ`` the split-half (Spearman–Brown) reliability of the
    trial average (of a single trial with ``repetitions="keep"``, whose folds keep the trials of
    a stimulus together). The bootstrap resamples the held-out stimuli of every fold; the permutation
    test shuffles held-out predictions against the data within each fold (continuous data:
    circular shifts, which keep the autocorrelation).

    **Similarity methods** compute each layer's representation once and compare it with every
    region's. Their ceiling compares the two halves of the trials with the method itself
    (Spearman–Brown corrected for RSA/tRSA, whose scores are correlations). RDM-based methods
    (``rsa``, ``trsa``) use the vectorised RDM statistics of :mod:`brainalign.stats` (stimulus
    labels of the region's RDM permuted; bootstrap without zero-distance duplicate pairs), except
    the whitened-Pearson comparison, whose bootstrap recomputes the RDMs on resampled stimuli;
    other methods recompute their representations on resampled or permuted stimuli.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign import data, alignment_map
    >>> rng = np.random.default_rng(0)
    >>> acts = data.activations({"l1": rng.normal(size=(20, 8)), "l2": rng.normal(size=(20, 8))},
    ...                         stimulus_id=np.arange(20))
    >>> rec = data.recording(acts.values[:, 8:] @ rng.normal(size=(8, 6)), stimulus_id=np.arange(20),
    ...                      subject="S1", region="V4")
    >>> m = alignment_map(acts, rec, "rsa")
    >>> str(m["score"].idxmax("layer").item())
    'l2'
    """
    check_option("on_error", on_error, ("raise", "nan"))
    if not isinstance(ceiling, (bool, np.bool_)):
        raise TypeError(f"ceiling must be True or False, got {ceiling!r}.")
    for label, value in (("n_boot", n_boot), ("n_perm", n_perm)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{label} must be a non-negative integer (0: none), got {value!r}.")
    if n_boot == 1:
        raise ValueError("n_boot=1 gives no interval (its low and high are one resample); use 0 or at least 2.")
    for label, value in (("ci", ci), ("alpha", alpha)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 < value < 1:
            raise ValueError(f"{label} must be in (0, 1), got {value!r}.")
    if repetitions is not None:
        check_option("repetitions", repetitions, ("average", "keep"))
    method_obj, name, info = resolve(method, method_options)
    method_obj = _with_encoding_keywords(method_obj, name, info, deprecated)
    plan = planning.plan_map(
        activations, recording, method_obj, regions=regions, n_boot=n_boot, n_perm=n_perm, budget=memory_budget
    )
    if plan is not None:
        logger.info("alignment_map plan: %s", plan.summary())
    rng = check_random_state(random_state)
    common = dict(
        regions=regions,
        ceiling=bool(ceiling),
        n_boot=int(n_boot),
        n_perm=int(n_perm),
        ci=float(ci),
        rng=rng,
        repetitions=repetitions,
        on_missing=on_missing,
    )
    if info.family == "encoder":
        out = encoder_map(activations, recording, method_obj, name, info, **common)
    else:
        out = similarity_map(
            activations,
            recording,
            method_obj,
            name,
            info,
            on_error=on_error,
            workers=plan.batch["workers"] if plan else 1,
            **common,
        )
    if "p_value" in out:
        significant, q = fdr_correction(out["p_value"], alpha)
        out["p_fdr"] = q
        out["significant"] = significant
    out.attrs.update(
        method=name,
        method_params=method_params(method_obj),
        n_boot=int(n_boot),
        n_perm=int(n_perm),
        ci=float(ci),
        alpha=float(alpha),
        random_state=random_state if isinstance(random_state, (int, type(None))) else "generator",
        brainalign_version=__version__,
    )
    data.validate(out, "map")
    cell_dim = "center" if "center" in out.dims else "region"
    logger.info("alignment_map: %s over %d layers × %d %ss", name, out.sizes["layer"], out.sizes[cell_dim], cell_dim)
    return out


def _with_encoding_keywords(method_obj: Any, name: str, info: Any, deprecated: dict[str, Any]) -> Any:
    """The deprecated encoder keywords of alignment_map moved onto the method's Encoding."""
    unknown = sorted(set(deprecated) - set(ENCODING_KEYWORDS))
    if unknown:
        raise TypeError(f"alignment_map() got unexpected keyword argument(s) {unknown}.")
    given = {k: v for k, v in deprecated.items() if v is not None}
    if not given:
        return method_obj
    if info.family != "encoder":
        raise ValueError(
            f"delays / hrf_model apply to encoders (as do cv and block); {name!r} compares representations "
            f"(got {sorted(given)})."
        )
    options = ", ".join(f"{k}={v!r}" for k, v in given.items())
    extra = f", encoder_options={method_obj.encoder_options!r}" if method_obj.encoder_options else ""
    warnings.warn(
        f"alignment_map({options}) is deprecated and will be removed in the next release: the options of the "
        f"encoding protocol travel with the method. Write method=brainalign.Encoding({name!r}, {options}{extra}).",
        FutureWarning,
        stacklevel=3,
    )
    return method_obj.replace(**given)
