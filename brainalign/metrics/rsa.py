"""Representational similarity analysis: RDMs, their comparison and their noise ceiling.

RDMs are labelled arrays with the stimulus ids on both axes (dims ``stimulus_id`` and
``stimulus_id_2``), stacked along a group dim (``layer`` or ``region``) when several are
computed at once. Comparisons align the two RDMs on ``stimulus_id`` (any order) and refuse
different stimulus sets.

Every kernel runs on numpy or torch (CPU or CUDA) through :func:`brainalign.backend.get_backend`;
``backend=None`` follows the input (a torch tensor stays in torch, on its device).

References
----------
Kriegeskorte, N., Mur, M. & Bandettini, P. (2008). Representational similarity analysis —
connecting the branches of systems neuroscience. Front. Syst. Neurosci. 2, 4.
Walther, A. et al. (2016). Reliability of dissimilarity measures for multi-voxel pattern
analysis. NeuroImage 137, 188–200.
Nili, H. et al. (2014). A toolbox for representational similarity analysis. PLoS Comput. Biol.
10, e1003553.
Diedrichsen, J. et al. (2021). Comparing representational geometries using whitened
unbiased-distance-matrix similarity. Neurons, Behavior, Data analysis and Theory 5(3).
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import xarray as xr

from ..backend import Backend, to_numpy
from ..methods import RDM_METRICS as METHOD_RDM_METRICS
from ..methods import MethodInfo
from ..utils import check_option, fill_doc, validate_type
from ._arrays import float_dtype, resolve_backend, to_backend
from ._base import SimilarityMethod, as_patterns, check_block, columns, times_power_of_two
from ._conditioning import peak_exponent
from ._noise_ceiling import NoiseCeiling, noise_ceiling
from ._ranks import rankdata
from ._rdm import aligned_rdms, condensed_rdm, group_layout, labelled_rdms, rdm_kernel, upper
from .comparisons import COMPARISONS, get_comparison
from .crossnobis import NOISE_METHODS, crossnobis, crossnobis_rdm

#: The noise covariance of a crossnobis RSA's trial blocks (rdm's default).
NOISE = "shrinkage_diag"

__all__ = [
    "COMPARE_METHODS",
    "NOISE_METHODS",
    "RDM_METRICS",
    "RSA",
    "NoiseCeiling",
    "compare",
    "noise_ceiling",
    "rankdata",
    "rdm",
]

RDM_METRICS = METHOD_RDM_METRICS
#: The names of :data:`brainalign.metrics.comparisons.COMPARISONS`.
COMPARE_METHODS = tuple(COMPARISONS)


def rdm(
    X: xr.DataArray | np.ndarray | Any,
    metric: Literal["correlation", "cosine", "euclidean", "sqeuclidean", "crossnobis"] = "correlation",
    *,
    by: str | None = "auto",
    noise: str | np.ndarray | None = "shrinkage_diag",
    cv: str = "auto",
    backend: str | Backend | None = None,
) -> xr.DataArray:
    """Representational dissimilarity matrices of one or many representations.

    Parameters
    ----------
    X : xarray.DataArray or array
        Activations ``(presentation, unit)``, a condition-based recording
        ``(presentation, neuroid)``, or a plain ``(n_stimuli, n_features)`` numpy/torch array.
        For ``"crossnobis"``: a recording whose trials fall in folds — a ``repetition`` dim
        (each repetition a fold), or repeated ``stimulus_id``s with a ``run`` (or
        ``repetition``) coordinate on ``presentation`` — or a plain array
        ``(n_folds, n_stimuli, n_features)``.
    metric : {"correlation", "cosine", "euclidean", "sqeuclidean", "crossnobis"}
        Dissimilarity between two stimulus patterns: 1 − Pearson r, 1 − cosine, Euclidean
        distance, squared Euclidean distance, or the crossvalidated squared Mahalanobis
        distance (Walther et al. 2016): leave one fold out, contrast the mean pattern of the
        other folds with the left-out fold's (whitened by the noise precision), average over
        folds and divide by the number of features (rsatoolbox's convention). It is unbiased:
        pure noise gives distances around 0, some negative.
    by : str or None
        Coordinate along units/neuroids to group by, one RDM per group (``"layer"``,
        ``"region"``). ``"auto"``: ``"layer"`` for activations, ``"region"`` for recordings,
        none for plain arrays.
    noise : {"shrinkage_diag", "shrinkage_eye", "diag", "full"}, array or None
        Crossnobis only: the noise covariance. A name estimates it from the trials' residuals
        around their stimulus means (dof = n_trials − n_stimuli), shrunk towards its diagonal
        (Schäfer & Strimmer 2005) or a multiple of the identity (Ledoit & Wolf 2004); an array
        is the ``(n_features, n_features)`` covariance itself; ``None`` uses the identity
        (crossvalidated squared Euclidean distance).
    cv : str
        Crossnobis only: the presentation coordinate that defines the folds (``"auto"``: the
        ``repetition`` dim, else ``run``, else a ``repetition`` coordinate).
    backend : {"numpy", "torch", "torch_cuda", "auto"}, optional
        Where to compute; ``None`` follows ``X`` (numpy unless it is a torch tensor).
        Float32 input is computed in float32, anything else in float64.

    Returns
    -------
    xarray.DataArray
        Dims ``(stimulus_id, stimulus_id_2)``, with a leading group dim named after ``by``
        when grouping.

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import rsa
    >>> D = rsa.rdm(np.random.default_rng(0).normal(size=(5, 20)))
    >>> D.dims, float(D[0, 0])
    (('stimulus_id', 'stimulus_id_2'), 0.0)
    """
    check_option("metric", metric, RDM_METRICS)
    if isinstance(noise, str):
        check_option("noise", noise, NOISE_METHODS)
    validate_type("cv", cv, str, "a coordinate name or 'auto'")
    if metric == "crossnobis":
        return crossnobis_rdm(X, by, noise, cv, backend)
    p = as_patterns(X, "X", by)
    ids = p.ids if p.ids is not None else np.arange(p.n_stimuli)
    be = resolve_backend(backend, p.values)
    arr = to_backend(be, p.values)
    out = np.empty((len(p.index), arr.shape[0], arr.shape[0]), dtype=float_dtype(arr))
    for k, (idx, name) in enumerate(zip(p.index, p.names, strict=True)):
        # Computed on the block rescaled by a power of two (no overflow whatever the units), then
        # scaled back: distances scale with the data, squared distances with its square.
        block = columns(be, arr, idx)
        label = "X" if name is None else f"X ({p.group_dim} {name!r})"
        own = metric in ("correlation", "cosine")  # rdm_kernel rescales the copy it normalises
        scaled = check_block(be, block, label, scale_invariant=True, what=f"its {metric} RDM", rescale=not own)
        exponent = peak_exponent(be, block)
        D = rdm_kernel(be, scaled, metric, out=out[k])
        if be.is_torch:
            out[k] = be.to_numpy(D)
        power = {"euclidean": 1, "sqeuclidean": 2}.get(metric, 0) * exponent
        if power:
            nonzero = out[k] != 0
            with np.errstate(over="ignore", under="ignore"):
                out[k] = times_power_of_two(out[k], power)
            if not np.isfinite(out[k]).all() or np.any(nonzero & (out[k] == 0)):
                raise ValueError(
                    f"{label}: its {metric} distances {'overflow' if power > 0 else 'underflow'} {out.dtype} "
                    f"(values up to {float(np.max(np.abs(be.to_numpy(block)))):.3g}). Rescale X, or use "
                    "metric='correlation'."
                )
    return labelled_rdms(out, ids, p.group_dim, p.names, {"metric": metric})


@fill_doc
def compare(
    rdm_a: xr.DataArray | np.ndarray | Any,
    rdm_b: xr.DataArray | np.ndarray | Any,
    method: Literal["spearman", "pearson", "kendall_tau_a", "cosine", "whitened_pearson"] = "spearman",
    *,
    backend: str | Backend | None = None,
) -> xr.DataArray | float:
    """Compare RDMs: every RDM of ``rdm_a`` with every RDM of ``rdm_b``.

    The upper triangles (diagonal excluded) are compared. ``rdm_b`` is reordered to ``rdm_a``'s
    stimulus ids; different stimulus sets are an error.

    Parameters
    ----------
    rdm_a, rdm_b : xarray.DataArray or array
        From :func:`rdm` (optionally stacked along a group dim) or square matrices.
    method : {"spearman", "pearson", "kendall_tau_a", "cosine", "whitened_pearson"}
        Rank correlation (ties averaged); linear correlation; Kendall's τa (concordant minus
        discordant pairs over all pairs, ties counting for neither, as advised by Nili et al.
        2014 for models that predict tied dissimilarities; computed on the CPU in
        O(m log m)); cosine similarity (no centring); Pearson correlation after whitening the
        RDMs under i.i.d. pattern noise (Diedrichsen et al. 2021; rsatoolbox's ``corr_cov``):
        the correlation of the double-centred second-moment matrices of the centred RDMs.
    %(backend)s

    Returns
    -------
    float or xarray.DataArray
        A float for two single RDMs; otherwise an array over the group dims of ``rdm_a``
        then ``rdm_b`` (e.g. ``layer × region``).

    Examples
    --------
    >>> import numpy as np
    >>> from brainalign.metrics import rsa
    >>> X = np.random.default_rng(0).normal(size=(6, 10))
    >>> round(rsa.compare(rsa.rdm(X), rsa.rdm(2 * X)), 6)
    1.0
    """
    comparison = get_comparison(method)
    be = resolve_backend(backend, rdm_a, rdm_b)
    A, B = aligned_rdms(rdm_a, rdm_b)
    # Group dims of rdm_b that clash with rdm_a's (e.g. layer × layer) get a "_2" suffix.
    dims, shape, coords, B = group_layout(A, B)
    n = A.sizes["stimulus_id"]
    va = upper(be, be.asarray(A.values.reshape(-1, n, n), dtype="float64"))
    vb = upper(be, be.asarray(B.values.reshape(-1, n, n), dtype="float64"))
    scores = comparison.all_pairs(be, comparison.represent(be, va, "rdm_a"), comparison.represent(be, vb, "rdm_b"))
    if not dims:
        return float(scores[0, 0])
    return xr.DataArray(scores.reshape(shape), dims=dims, coords=coords, attrs={"method": method})


@fill_doc
class RSA(SimilarityMethod):
    """RSA as an alignment method: RDM of each representation, then their comparison.

    Parameters
    ----------
    metric : str
        RDM dissimilarity (see :func:`rdm`). ``"crossnobis"`` needs trials (declared
        ``needs_trials``): the brain side is a trial block ``(repetition, presentation, neuroid)``
        whose crossnobis RDM uses the repetitions as folds and a ``"shrinkage_diag"`` noise
        covariance (:func:`rdm`'s defaults); the model side, one deterministic response per
        stimulus, has the squared Euclidean RDM — what crossnobis estimates without bias, up to the
        noise whitening and the division by the number of features, which no RDM comparison
        here sees through a scale. Their noise ceiling splits the repetitions (folds) into two
        random halves of at least 2 each, compares the two halves' crossnobis RDMs (each
        crossvalidated within its half, with its own residuals' noise covariance) with
        ``compare``, averages over splits and Spearman–Brown corrects, as for the other metrics
        (fewer than 4 repetitions: a NaN ceiling, with the reason logged).
    compare : str
        RDM comparison (see :func:`compare`).
    %(backend)s

    Examples
    --------
    >>> import numpy as np
    >>> X = np.random.default_rng(0).normal(size=(8, 5))
    >>> round(RSA()(X, X @ np.diag([1, 2, 3, 4, 5.0])), 3) < 1
    True
    """

    _param_names = ("metric", "compare")

    def __brainalign_info__(self) -> MethodInfo:
        """Scores are correlations of RDMs: split-half ceilings are Spearman–Brown corrected
        (crossnobis: halves of the repetitions, each crossvalidated within itself)."""
        crossnobis = self.metric == "crossnobis"
        return MethodInfo(
            family="similarity",
            kernels="rdm",
            needs_trials=crossnobis,
            ceiling="split_half_spearman_brown",
            accepts_rdms=True,
            score=f"{self.compare} correlation of the {self.metric} RDMs",
            rdm_metric=self.metric,
            # Every comparison is a correlation/cosine of dissimilarities: the RDM's scale drops out.
            scale_invariant=True,
        )

    @property
    def comparison(self) -> str:
        """The RDM comparison (a name in :mod:`brainalign.metrics.rsa`'s comparison table)."""
        return self.compare

    def __init__(self, metric: str = "correlation", compare: str = "spearman", backend: str | None = None) -> None:
        self.metric = metric
        self.compare = compare
        self.backend = backend

    def _check(self) -> None:
        check_option("metric", self.metric, RDM_METRICS)
        check_option("compare", self.compare, COMPARE_METHODS)

    def _rdms(self, be: Backend, arr: Any) -> Any:
        """The square RDM ``(1, n, n)`` of one block, as the method compares it (a crossnobis RSA's
        model side is squared Euclidean)."""
        metric = "sqeuclidean" if self.metric == "crossnobis" else self.metric
        return self._transform_rdms(be, rdm_kernel(be, arr, metric)[None])

    def _condition(self, be: Backend, arr: Any, name: str) -> Any:
        """Checked as every block; correlation and cosine RDM kernels rescale the copy they
        normalise (exactly, by a power of two), so the block is not also copied here."""
        if self.metric in ("correlation", "cosine"):
            return check_block(be, arr, name, scale_invariant=True, what=type(self).__name__, rescale=False)
        return super()._condition(be, arr, name)

    def _condensed(self, be: Backend, arr: Any) -> Any:
        """The condensed RDM ``(1, m)`` of one ``(n_stimuli, n_features)`` block, as the method
        compares it (RSA: straight from the patterns, with no square; tRSA overrides it)."""
        return condensed_rdm(be, arr, "sqeuclidean" if self.metric == "crossnobis" else self.metric)

    def _transform_rdms(self, be: Backend, D: Any) -> Any:
        """Square RDMs ``(k, n, n)`` as the method compares them (the hook that
        :class:`~brainalign.metrics.trsa.TRSA` overrides with its transform); RSA: unchanged."""
        return D

    def prepare_rdm(self, R: Any) -> np.ndarray:
        """A given square RDM ``(n, n)`` (or stack ``(k, n, n)``) as the method compares it: what
        the map engine applies to brain RDMs and to given model RDMs (RSA: unchanged; tRSA: the
        geo-topological transform). Numpy in, numpy out.

        Examples
        --------
        >>> import numpy as np
        >>> R = rdm(np.random.default_rng(0).normal(size=(5, 3))).values
        >>> bool(np.array_equal(RSA().prepare_rdm(R), R))
        True
        """
        self._check()
        arr = np.asarray(R, dtype=np.float64)
        be = self._be(arr)
        out = be.to_numpy(self._transform_rdms(be, to_backend(be, arr if arr.ndim == 3 else arr[None])))
        return out if arr.ndim == 3 else out[0]

    def _trial_rdm(self, X: Any) -> tuple[Backend, Any]:
        """The crossnobis RDM ``(1, n, n)`` of a trial block ``(repetition, presentation, neuroid)``."""
        arr = np.asarray(to_numpy(X), dtype=float)
        k, n, p = arr.shape
        if k < 2 or n < 3 or p < 1:
            raise ValueError(
                f"RSA(metric='crossnobis') needs trials (repetition, presentation, neuroid) with at least 2 "
                f"repetitions (folds), 3 stimuli and 1 neuroid; got shape {arr.shape}."
            )
        if not np.all(np.isfinite(arr)):
            raise ValueError("RSA(metric='crossnobis'): the trials contain NaN or infinite values.")
        be = self._be(X)
        D = crossnobis(be, arr.reshape(k * n, p), np.repeat(np.arange(k), n), np.tile(np.arange(n), k), n, NOISE)
        return be, self._transform_rdms(be, D[None])

    def _square(self, X: Any) -> tuple[Backend, Any]:
        """The square RDM ``(1, n, n)`` of one block: trials for crossnobis, else ``(n, features)``."""
        self._check()
        if self.metric == "crossnobis" and np.ndim(X) == 3:
            return self._trial_rdm(X)
        be, arr = self._prepare(X)
        return be, self._rdms(be, arr)

    def represent(self, X: Any) -> Any:
        """One block → its RDM, ready for the comparison (crossnobis: a trial block, see the class)."""
        self._check()
        if self.metric == "crossnobis" and np.ndim(X) == 3:
            be, D = self._trial_rdm(X)
            return COMPARISONS[self.compare].represent(be, upper(be, D), "the RDM")[0]
        return self._represent(*self._prepare(X))

    def __call__(self, X: Any, Y: Any) -> float:
        """The score of two blocks (crossnobis: either may be a trial block, matched by position)."""
        if self.metric != "crossnobis":
            return super().__call__(X, Y)
        if 3 not in (np.ndim(X), np.ndim(Y)):
            raise ValueError(
                "RSA(metric='crossnobis') needs trial-resolved data on one side (repetition, presentation, "
                "neuroid): its repetitions are the folds. In alignment_map, keep the recording's trials on a "
                "'repetition' dim; or compute crossvalidated RDMs with rsa.rdm(recording, metric='crossnobis')."
            )
        return float(self.compare_represented([self.represent(X)], [self.represent(Y)])[0, 0])

    def _represent(self, be: Backend, arr: Any) -> Any:
        """One ``(n_stimuli, n_features)`` block → its RDM, ready for the comparison."""
        return COMPARISONS[self.compare].represent(be, self._condensed(be, arr), "the RDM")[0]

    def rdm_matrix(self, X: Any) -> np.ndarray:
        """The square RDM of one representation (numpy), before the comparison's transform.

        What :mod:`brainalign.stats` resamples and permutes for the map's statistics.
        """
        be, D = self._square(X)
        return be.to_numpy(D[0])

    def compare_represented(self, A: Any, B: Any) -> np.ndarray:
        """All pairs of represented RDMs (stacks ``(k, ·)`` and ``(l, ·)``) → ``(k, l)`` scores."""
        be, SA, SB = self._stack_pair(A, B)
        return COMPARISONS[self.compare].all_pairs(be, SA, SB)
