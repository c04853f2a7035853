"""The method contract: what every alignment method declares, and the one place that reads it.

Every method — brainalign's own and plug-ins — is a class whose instances declare what they are
and what they need in one frozen :class:`MethodInfo`, returned by ``__brainalign_info__()``
(scikit-learn's ``__sklearn_tags__`` idiom: an instance method, so a declaration may depend on the
parameters, e.g. RSA with crossnobis distances needs trials). The map engine, ``encode``, the
identifiability study and the runner read the declaration; nothing in the library probes a
method with ``hasattr``/``isinstance`` outside this module.

Two families, two protocols:

- an **encoder** (:class:`Encoder`) is a scikit-learn style regressor, fitted per layer and
  outer fold (:class:`brainalign.Encoding` holds the outer protocol: folds, delays, HRF);
- a **similarity** (:class:`Similarity`) compares two representations of the same stimuli.
  Its batched kernels are ``represent(X)`` (what the method compares, computed once per layer
  and once per cell) and ``compare_represented(A, B)`` (all pairs at once, ``(len(A), len(B))``).
  RDM methods (``kernels="rdm"``) also give ``rdm_matrix(X)`` and the name of their RDM
  comparison (``comparison``), which the RDM statistics resample.

Examples
--------
>>> from brainalign import methods, registry
>>> info = methods.method_info(registry.get("rsa"))
>>> info.family, info.higher_is_better, info.ceiling
('similarity', True, 'split_half_spearman_brown')
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

__all__ = [
    "CEILINGS",
    "FAMILIES",
    "KERNELS",
    "Encoder",
    "MethodInfo",
    "Similarity",
    "describe",
    "fit_accepts_groups",
    "fitted_alphas",
    "method_info",
    "method_params",
    "resolve",
    "validate_method",
]

FAMILIES = ("encoder", "similarity")
#: How a method is computed: ``fit`` (an encoder), ``represent`` (represent + compare_represented),
#: ``rdm`` (``represent`` kernels plus ``rdm_matrix`` and an RDM comparison), ``call`` (``__call__``
#: on two blocks only, no batching).
KERNELS = ("fit", "represent", "rdm", "call")
#: Noise-ceiling rules: none; the method's own score between two halves of the trials; the same,
#: Spearman–Brown corrected to all trials with the ceiling ``√ρ`` (scores that are correlations);
#: per-neuroid split-half reliability ``ρ`` (encoders: ceiling ``√ρ`` of the held-out r).
CEILINGS = ("none", "split_half", "split_half_spearman_brown", "reliability")
#: The RDM metrics an RDM method may declare (``MethodInfo.rdm_metric``); those of
#: :func:`brainalign.metrics.rsa.rdm`.
RDM_METRICS = ("correlation", "cosine", "euclidean", "sqeuclidean", "crossnobis")

_REQUIRED = {
    "fit": ("fit", "predict", "get_params"),
    "represent": ("represent", "compare_represented", "get_params", "__call__"),
    "rdm": ("represent", "compare_represented", "get_params", "__call__", "rdm_matrix", "comparison"),
    "call": ("__call__", "get_params"),
}


@dataclass(frozen=True)
class MethodInfo:
    """What a method is and needs: read by the map engine, ``encode``, stats and the CLI.

    Parameters
    ----------
    family : {"encoder", "similarity"}
        Encoders are fitted (per layer and outer fold); similarities compare representations.
    kernels : {"fit", "represent", "rdm", "call"}
        Which batched kernels the method gives (see :data:`KERNELS`).
    higher_is_better : bool
        False for distances (shape metrics): best layers are minima, no test against 0.
    needs_trials : bool
        The recording must keep its trials (a ``repetition`` dim); the method sees
        ``(repetition, presentation, neuroid)`` blocks (an RDM method: in ``represent`` and
        ``rdm_matrix``, whose model side stays ``(presentation, unit)``).
    needs_tokens : bool
        Token-level features ``(presentation, token, unit)`` (the attention readout).
    needs_unit_correspondence : bool
        Unit ``i`` of one side is compared with unit ``i`` of the other (same feature space).
    ceiling : str
        The noise-ceiling rule (see :data:`CEILINGS`).
    accepts_rdms : bool
        The method can take brain RDMs (``data.rdms``) in place of a recording (it then has
        ``kernels="rdm"`` and a ``prepare_rdm(R)`` method: a given RDM as it compares it).
    resampling : bool
        Bootstrap CIs and permutation p-values are defined for it.
    multi_layer : bool
        One fit over all layers at once, scored per band (banded ridge): the map's ``layer``
        dim holds bands.
    score : str
        What the score is, in words (the map's ``score`` attr).
    score_range : tuple of float
        The range every score must lie in (checked by the property-based tests).
    rdm_metric : str
        RDM methods whose brain-side RDM is :func:`brainalign.metrics.rsa.rdm` of the block with
        this metric, compared as it is (one of :data:`RDM_METRICS`; ``""``: none, e.g. an RDM
        transformed before its comparison). The map engine then computes the RDMs of many cells
        (searchlights) in batches (:func:`brainalign.searchlight.cell_rdms`).
    scale_invariant : bool
        Multiplying either representation by a positive number leaves every score unchanged.
        Such methods see each block rescaled by a power of two (exact) to a max-abs in
        [0.5, 1), so that no magnitude overflows; the others refuse magnitudes whose products
        would overflow or underflow (see ``docs/reliability.md``).
    """

    family: str
    kernels: str
    higher_is_better: bool = True
    needs_trials: bool = False
    needs_tokens: bool = False
    needs_unit_correspondence: bool = False
    ceiling: str = "none"
    accepts_rdms: bool = False
    resampling: bool = True
    multi_layer: bool = False
    score: str = ""
    score_range: tuple[float, float] = field(default=(-1.0, 1.0))
    rdm_metric: str = ""
    scale_invariant: bool = False

    def __post_init__(self) -> None:
        for name, value, allowed in (
            ("family", self.family, FAMILIES),
            ("kernels", self.kernels, KERNELS),
            ("ceiling", self.ceiling, CEILINGS),
        ):
            if value not in allowed:
                raise ValueError(f"MethodInfo.{name} must be one of {allowed}, got {value!r}.")
        if (self.family == "encoder") != (self.kernels == "fit"):
            raise ValueError("MethodInfo: encoders have kernels='fit', and only encoders do.")
        if self.ceiling == "reliability" and self.family != "encoder":
            raise ValueError("MethodInfo: ceiling='reliability' is the encoders' rule.")
        for name in ("higher_is_better", "needs_trials", "needs_tokens", "needs_unit_correspondence",
                     "accepts_rdms", "resampling", "multi_layer", "scale_invariant"):  # fmt: skip
            if not isinstance(getattr(self, name), bool):
                raise TypeError(f"MethodInfo.{name} must be a bool, got {getattr(self, name)!r}.")
        if self.rdm_metric not in ("", *RDM_METRICS) or (self.rdm_metric and self.kernels != "rdm"):
            raise ValueError(
                f"MethodInfo.rdm_metric must be '' or one of {RDM_METRICS} (kernels='rdm' only), "
                f"got {self.rdm_metric!r}."
            )
        lo, hi = self.score_range
        if not lo < hi:
            raise ValueError(f"MethodInfo.score_range must be (low, high) with low < high, got {self.score_range}.")

    def as_dict(self) -> dict[str, Any]:
        """The declaration as plain values (for attrs, ``brainalign info`` and JSON)."""
        out = asdict(self)
        out["score_range"] = list(self.score_range)
        return out


@runtime_checkable
class Encoder(Protocol):
    """An encoder: scikit-learn style (``__init__`` stores options; ``fit`` returns ``self``)."""

    def fit(self, X: Any, Y: Any, groups: Any = None) -> Encoder: ...

    def predict(self, X: Any) -> Any: ...

    def get_params(self, deep: bool = True) -> dict[str, Any]: ...


@runtime_checkable
class Similarity(Protocol):
    """A similarity: ``method(X, Y)`` and its batched kernels."""

    def __call__(self, X: Any, Y: Any) -> float: ...

    def represent(self, X: Any) -> Any: ...

    def compare_represented(self, A: Any, B: Any) -> np.ndarray: ...

    def get_params(self) -> dict[str, Any]: ...


#: What a scikit-learn regressor without a declaration is taken to be (``encode`` accepts any).
_SKLEARN_REGRESSOR = MethodInfo(
    family="encoder",
    kernels="fit",
    ceiling="reliability",
    score="mean held-out Pearson r of the cell's neuroids",
)


def method_info(method: Any) -> MethodInfo:
    """The declaration of a method instance.

    Parameters
    ----------
    method : object
        An instance of a registered method, a plug-in, or a scikit-learn regressor (taken as an
        encoder with the default declaration).

    Returns
    -------
    MethodInfo

    Raises
    ------
    TypeError
        When ``method`` declares nothing and is no scikit-learn regressor.

    Examples
    --------
    >>> from brainalign import methods
    >>> from brainalign.encoders import RidgeEncoder
    >>> methods.method_info(RidgeEncoder()).family
    'encoder'
    """
    declare = getattr(type(method), "__brainalign_info__", None)
    if declare is not None:
        info = declare(method)
        if not isinstance(info, MethodInfo):
            raise TypeError(
                f"{type(method).__name__}.__brainalign_info__() must return a brainalign.methods.MethodInfo, "
                f"got {type(info).__name__}."
            )
        return info
    if _is_sklearn_regressor(method):
        return _SKLEARN_REGRESSOR
    raise TypeError(
        f"{type(method).__name__} is not a brainalign method: it must declare what it is with "
        "`def __brainalign_info__(self) -> brainalign.methods.MethodInfo` (see the docs page 'Writing a "
        "method'), or be a scikit-learn regressor."
    )


def _is_sklearn_regressor(obj: Any) -> bool:
    if isinstance(obj, type):
        return False
    try:
        from sklearn.base import BaseEstimator, is_regressor
    except ImportError:  # pragma: no cover - scikit-learn is a core dependency of encoders
        return False
    return isinstance(obj, BaseEstimator) and bool(is_regressor(obj))


def validate_method(method: Any, name: str | None = None) -> MethodInfo:
    """Check that an instance keeps its declaration's contract; return the declaration.

    The registry calls this when a method is registered (on an instance built with default
    options) and when one is used.

    Examples
    --------
    >>> from brainalign import methods
    >>> class Dot:
    ...     def __call__(self, X, Y):
    ...         return 0.0
    >>> methods.validate_method(Dot())
    Traceback (most recent call last):
    ...
    TypeError: Dot is not a brainalign method: it must declare what it is with ...
    """
    info = method_info(method)
    label = name or type(method).__name__
    missing = [attr for attr in _REQUIRED[info.kernels] if not hasattr(method, attr)]
    if missing:
        raise TypeError(
            f"method {label!r} declares kernels={info.kernels!r} but lacks {missing}; a {info.kernels!r} method "
            f"provides {list(_REQUIRED[info.kernels])}."
        )
    if info.accepts_rdms and (info.kernels != "rdm" or not hasattr(method, "prepare_rdm")):
        raise TypeError(
            f"method {label!r} declares accepts_rdms=True, which needs kernels='rdm' and a prepare_rdm(R) method "
            "(a given square RDM as the method compares it)."
        )
    return info


def resolve(
    method: Any,
    options: dict[str, Any] | None = None,
    *,
    family: str | None = None,
    wrap_encoders: bool = True,
) -> tuple[Any, str, MethodInfo]:
    """The one method lookup: a name or an instance → ``(instance, name, declaration)``.

    Parameters
    ----------
    method : str or method object
        A registered name (options build it), a ``"module:Class"`` path (see
        :func:`brainalign.registry.get`), an instance, or a :class:`brainalign.Encoding`.
    options : dict, optional
        Options of a method given by name.
    family : {"encoder", "similarity"}, optional
        Refuse a method of the other family (naming where it belongs).
    wrap_encoders : bool
        Return encoders inside a :class:`brainalign.Encoding` (default outer protocol unless
        one was given): what a map runs.

    Examples
    --------
    >>> from brainalign import methods
    >>> obj, name, info = methods.resolve("cka", {"kernel": "rbf"})
    >>> name, obj.kernel, info.family
    ('cka', 'rbf', 'similarity')
    >>> methods.resolve("ridge")[0]
    Encoding('ridge', cv=5, delays=None, hrf_model=None)
    """
    from . import registry
    from .encoding import Encoding

    options = dict(options or {})
    if isinstance(method, Encoding):
        if options:
            raise ValueError("method_options apply to a method given by name; give encoder_options to the Encoding.")
        if not wrap_encoders:
            raise TypeError("An Encoding cannot wrap another Encoding; give it the encoder itself.")
        _, name, info = method.resolved()
        return method, name, info
    if isinstance(method, str):
        try:
            obj, name = registry.get(method, **options), method
        except ValueError as err:  # an unknown name: say which argument held it
            raise ValueError(f"{family or 'method'}: {err}") from err
    else:
        if options:
            what = "encoder_options apply to an encoder" if family == "encoder" else "method_options apply to a method"
            raise ValueError(
                f"{what} given by name; configure the object instead "
                f"(got a {type(method).__name__} and options {sorted(options)})."
            )
        if isinstance(method, type):
            raise TypeError(f"method must be a registered name or a method instance, got the class {method.__name__}.")
        obj, name = method, type(method).__name__
    info = validate_method(obj, name)
    if family is not None and info.family != family:
        where = "brainalign.encode or alignment_map" if info.family == "encoder" else "brainalign.alignment_map"
        raise TypeError(
            f"{family} must be an {family} method, but {name!r} is a {info.family} method; use it through {where}."
        )
    if info.family == "encoder" and wrap_encoders:
        obj = Encoding(name if isinstance(method, str) else obj, encoder_options=options or None)
    return obj, name, info


def fit_accepts_groups(encoder: Any) -> bool:
    """Whether an encoder's ``fit`` takes ``groups`` (brainalign's do; scikit-learn's regressors do not),
    so that its inner cross-validation can respect runs."""
    import inspect

    try:
        return "groups" in inspect.signature(encoder.fit).parameters
    except (TypeError, ValueError):  # a fit without an inspectable signature
        return False


def fitted_alphas(encoder: Any) -> np.ndarray | None:
    """The per-target regularisation a fitted encoder chose (``best_alphas_``), or None when it has none."""
    alphas = getattr(encoder, "best_alphas_", None)
    return None if alphas is None else np.asarray(alphas, dtype=float).reshape(-1)


def method_params(method: Any) -> dict[str, Any]:
    """The method's parameters as plain JSON values (arrays as lists, anything else as text).

    Examples
    --------
    >>> from brainalign import methods, registry
    >>> methods.method_params(registry.get("rsa"))["compare"]
    'spearman'
    """
    params = method.get_params()

    def plain(v: Any) -> Any:
        if isinstance(v, np.ndarray | np.generic):
            return v.tolist()
        return str(v)

    return json.loads(json.dumps(params, default=plain))


def describe(method: Any) -> dict[str, Any]:
    """Declaration and parameters of a method, for ``brainalign info`` and reports.

    Examples
    --------
    >>> from brainalign import methods, registry
    >>> methods.describe(registry.get("shape"))["higher_is_better"]
    False
    """
    return {**method_info(method).as_dict(), "params": method_params(method)}
