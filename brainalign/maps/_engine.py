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
from ..stats import CI_METHODS, fdr_correction
from ..utils import check_bool, check_option, check_random_state, logger
from ._encoder_cells import encoder_map
from ._explain import explain_nan_statistics
from ._rdm_input import is_rdms, rdm_map
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
    ci_method: str = "percentile",
    alpha: float = 0.05,
    correction: str = "fdr",
    random_state: int | np.random.Generator | None = 0,
    keep_samples: bool = False,
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
        ``"attention_readout"``). Against brain RDMs, model RDMs may stand in for them: dims
        ``(layer, stimulus_id, stimulus_id_2)`` (:func:`brainalign.metrics.rsa.rdm` of the
        activations) or ``(rdm, stimulus_id, stimulus_id_2)`` with a ``layer`` coordinate on ``rdm``.
    recording : xarray.DataArray
        A condition-based, time-resolved or (encoders only) continuous recording; or brain RDMs
        (:func:`brainalign.data.rdms`, :func:`brainalign.data.load_rdms`) for methods that compare
        RDMs (``"rsa"``, ``"trsa"``: declared ``accepts_rdms``), see Notes.
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
        values across the whole map, ``p_fwe`` the family-wise error p-values of the max
        statistic over the whole map (see Notes), and ``significant`` the cells whose corrected
        p-value is below ``alpha``.
    ci : float
        Coverage of the bootstrap intervals ``ci_low``/``ci_high``.
    ci_method : {"percentile", "basic", "bca"}
        How the bootstrap samples become an interval (:func:`brainalign.stats.bootstrap_interval`):
        ``"percentile"`` (default) takes their ``(1 ± ci)/2`` quantiles; ``"basic"`` reflects
        them around the score (``2·score − q``); ``"bca"`` shifts the quantiles by the bias of
        the samples and an acceleration from a delete-one jackknife over stimuli (one extra
        score per stimulus; encoders: per held-out sample; not for continuous recordings).
        Percentile intervals mislead where the score's bootstrap distribution is skewed or
        biased — near a bound (a correlation near 1, a variance share near 0) or for a biased
        score (plain CKA on few stimuli) the interval can sit beside the score, even exclude it;
        use ``"bca"`` there.
    alpha : float
        False discovery rate (or family-wise error rate) for ``significant``.
    correction : {"fdr", "fwe"}
        Which corrected p-value ``significant`` reads: ``p_fdr`` (default) or ``p_fwe`` (strong
        control of false positives anywhere in the map: searchlights, where a planted effect
        must not leak into its surround).
    random_state : int or numpy Generator, optional
        Seed of the bootstrap, the permutations and the split halves.
    keep_samples : bool
        Keep the bootstrap's resampled scores as ``boot`` (``sample × layer × cell…``; needs
        ``n_boot``), for :func:`brainalign.stats.pairwise`. Similarity methods and RDM input: one
        set of resamples for all layers and cells, drawn from ``random_state`` over the recording's
        stimuli in its order — so maps of several models against the same recording with the same
        ``random_state`` share them too (concatenate them along ``model``).
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
        statistics, the cross-validation (encoders) and the library version. Brain RDMs add
        ``ceiling_low``/``ceiling_high`` (see Notes); ``keep_samples`` adds ``boot``.

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

    **Brain RDMs** (a recording of kind ``"rdms"``): each layer's RDM (the method's distance on
    the activations, over the RDMs' stimuli) is compared with every subject's RDM of every region
    (several sessions of a subject are averaged), as rsatoolbox's ``compare``. The noise ceiling
    of a region is rsatoolbox's ``boot_noise_ceiling`` across its subjects: ``ceiling_low``, each
    subject against the mean of the others, and ``ceiling_high``, against the mean of all
    (Nili et al. 2014); ``ceiling`` is the lower bound (the score a model should reach) and
    ``normalized = score / ceiling_low``. The bootstrap resamples stimuli
    (:func:`brainalign.stats.bootstrap_stimuli`), the permutation test permutes the labels of the
    brain RDMs (:func:`brainalign.stats.permutation_test`).

    **Searchlights** (``regions=`` a :mod:`brainalign.searchlight`): RDM methods that declare their
    RDM metric (``rsa``) compute every centre's RDM in memory-budgeted chunks and compare all
    layers with a chunk in one product (:meth:`brainalign.maps.scoring.Scorer.scores_cells`;
    equal to the per-cell path to 1e-10); their statistics run over chunks of centres with the
    same draws. ``rsa`` with ``metric="crossnobis"`` needs trials (a ``repetition`` dim, each
    repetition a fold) and compares the crossnobis RDM of every cell with the layers' squared
    Euclidean RDMs. Its ceiling splits whole repetitions into two halves (at least 2 each, so at
    least 4 repetitions; fewer give a NaN ceiling with the reason logged) and compares the two
    halves' crossnobis RDMs, Spearman–Brown corrected like the other RSA ceilings.

    **Family-wise error** (``p_fwe``): every cell is permuted with the same permutations (per
    layer for encoders); for each permutation the largest null score over the whole map (all
    layers, cells, subjects and latencies) is kept, and a cell's ``p_fwe`` is the fraction of
    permutations whose maximum reaches its score (Nichols & Holmes 2002). ``p_fwe < alpha``
    anywhere under the null happens with probability ≤ ``alpha``.

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
    check_option("correction", correction, ("fdr", "fwe"))
    check_bool("ceiling", ceiling)
    for label, value in (("n_boot", n_boot), ("n_perm", n_perm)):
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{label} must be a non-negative integer (0: none), got {value!r}.")
    if n_boot == 1:
        raise ValueError("n_boot=1 gives no interval (its low and high are one resample); use 0 or at least 2.")
    for label, value in (("ci", ci), ("alpha", alpha)):
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) or not 0 < value < 1:
            raise ValueError(f"{label} must be in (0, 1), got {value!r}.")
    check_option("ci_method", ci_method, CI_METHODS)
    if method_options is not None and not isinstance(method_options, dict):
        raise TypeError(f"method_options must be a dict of the method's options or None, got {method_options!r:.60}.")
    if not isinstance(regions, str) and (isinstance(regions, (bool, int, float, np.number)) or regions is None):
        raise TypeError(f"regions must be a neuroid coordinate name or searchlight neighbourhoods, got {regions!r}.")
    if memory_budget is not None:
        planning.resolve_budget(memory_budget)  # a bad budget is refused here, not skipped by the planner
    if repetitions is not None:
        check_option("repetitions", repetitions, ("average", "keep"))
    method_obj, name, info = resolve(method, method_options)
    method_obj = _with_encoding_keywords(method_obj, name, info, deprecated)
    keep_samples = _check_keep_samples(keep_samples, n_boot, info)
    plan = planning.plan_map(
        activations, recording, method_obj, regions=regions, n_boot=n_boot, n_perm=n_perm, budget=memory_budget
    )
    if plan is not None:
        logger.debug("alignment_map plan: %s", plan.summary())
    rng = check_random_state(random_state)
    stats = dict(
        ceiling=bool(ceiling), n_boot=int(n_boot), n_perm=int(n_perm), ci=float(ci), ci_method=ci_method, rng=rng
    )
    if is_rdms(recording) or is_rdms(activations):
        if not is_rdms(recording):
            raise ValueError(
                "activations holds model RDMs: compare them with brain RDMs (recording=data.rdms(...)); against a "
                "recording, pass the activations themselves."
            )
        if regions != "region" or repetitions is not None:
            raise ValueError("regions and repetitions do not apply to brain RDMs (one RDM per region and subject).")
        out = rdm_map(activations, recording, method_obj, name, info, keep_samples=keep_samples, **stats)
    else:
        cells = dict(regions=regions, repetitions=repetitions, on_missing=on_missing, **stats)
        if info.family == "encoder":
            out = encoder_map(activations, recording, method_obj, name, info, **cells)
        else:
            out = similarity_map(
                activations,
                recording,
                method_obj,
                name,
                info,
                on_error=on_error,
                keep_samples=keep_samples,
                workers=plan.batch["workers"] if plan else 1,
                **cells,
            )
    out.attrs["ci_method"] = ci_method
    return _finish(out, name, method_obj, n_boot, n_perm, ci, alpha, random_state, correction)


def _check_keep_samples(keep_samples: Any, n_boot: int, info: Any) -> bool:
    check_bool("keep_samples", keep_samples)
    if keep_samples and not n_boot:
        raise ValueError("keep_samples=True keeps the bootstrap samples: pass n_boot (e.g. 1000) too.")
    if keep_samples and info.family == "encoder":
        raise ValueError(
            "keep_samples applies to similarity methods and brain RDMs; an encoder's bootstrap resamples each "
            "layer's held-out rows separately, so its samples cannot be compared across layers."
        )
    return bool(keep_samples)


def _finish(
    out: xr.Dataset,
    name: str,
    method_obj: Any,
    n_boot: int,
    n_perm: int,
    ci: float,
    alpha: float,
    random_state: Any,
    correction: str,
) -> xr.Dataset:
    """FDR-corrected p-values, the attrs of every map, and the schema check."""
    if correction == "fwe" and "p_value" in out and "p_fwe" not in out:
        raise ValueError("correction='fwe' needs the max-statistic p-values, which this map does not compute.")
    out.attrs["n_nan_statistics"] = explain_nan_statistics(out, name, str(out.attrs.get("ci_method", "percentile")))
    if "p_value" in out:
        significant, q = fdr_correction(out["p_value"], alpha)
        out["p_fdr"] = q
        out["significant"] = significant if correction == "fdr" else (out["p_fwe"] < alpha)
    out.attrs.update(
        method=name,
        method_params=method_params(method_obj),
        n_boot=int(n_boot),
        n_perm=int(n_perm),
        ci=float(ci),
        ci_method=str(out.attrs.get("ci_method", "percentile")),
        alpha=float(alpha),
        correction=correction,
        random_state=random_state if isinstance(random_state, (int, type(None))) else "generator",
        brainalign_version=__version__,
    )
    data.validate(out, "map")
    cell_dim = "center" if "center" in out.dims else "region"
    logger.debug("alignment_map: %s over %d layers × %d %ss", name, out.sizes["layer"], out.sizes[cell_dim], cell_dim)
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
