"""Alignment methods by name: brainalign's own, yours, and other packages' (entry points).

A method is a class whose instances declare what they are in a
:class:`brainalign.methods.MethodInfo` (``__brainalign_info__()``) and provide the kernels that
declaration names: an encoder (``fit``/``predict``, scikit-learn style) or a similarity
(``method(X, Y) -> float`` plus the batched ``represent``/``compare_represented``). See
:mod:`brainalign.methods` and the docs page "Writing a method". A plug-in is checked against its
declaration when it is registered (and when it is built with options).

Other packages add methods through the entry-point group ``brainalign.methods``::

    [project.entry-points."brainalign.methods"]
    my_metric = "my_package.metrics:MyMetric"
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

from .utils import close_matches, logger

__all__ = ["get", "list_methods", "register", "unregister"]

ENTRY_POINT_GROUP = "brainalign.methods"

# Built-in methods as "module:attribute" so that listing them imports nothing heavy.
_BUILTIN: dict[str, str] = {
    "rsa": "brainalign.metrics.rsa:RSA",
    "trsa": "brainalign.metrics.trsa:TRSA",
    "cka": "brainalign.metrics.cka:CKA",
    "mutual_knn": "brainalign.metrics.knn:MutualKNN",
    "anc": "brainalign.metrics.neuronwise:ANC",
    "best_match": "brainalign.metrics.neuronwise:BestMatch",
    "shape": "brainalign.metrics.shape:Shape",
    "stochastic_shape": "brainalign.metrics.shape:StochasticShape",
    "ridge": "brainalign.encoders:RidgeEncoder",
    "banded_ridge": "brainalign.encoders:BandedRidgeEncoder",
    "attention_readout": "brainalign.encoders:AttentionReadout",
}
_REGISTRY: dict[str, Callable[..., Any] | str] = dict(_BUILTIN)
_ENTRY_POINTS_LOADED = False


def _load_entry_points() -> None:
    global _ENTRY_POINTS_LOADED
    if _ENTRY_POINTS_LOADED:
        return
    _ENTRY_POINTS_LOADED = True
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name in _REGISTRY:
            logger.warning("registry: entry point %r (%s) ignored: the name is taken.", ep.name, ep.value)
            continue
        _REGISTRY[ep.name] = ep.value


def register(name: str, factory: Callable[..., Any] | None = None, *, overwrite: bool = False) -> Any:
    """Register a method under ``name``; usable as a decorator.

    Examples
    --------
    >>> from brainalign import registry
    >>> from brainalign.methods import MethodInfo
    >>> @registry.register("my_dot")
    ... class Dot:
    ...     def __brainalign_info__(self):
    ...         return MethodInfo(family="similarity", kernels="call", score="mean product")
    ...     def get_params(self):
    ...         return {}
    ...     def __call__(self, X, Y):
    ...         return float((X * Y).mean())
    >>> "my_dot" in registry.list_methods()
    True
    >>> _ = registry.unregister("my_dot")
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}.")

    def add(obj: Callable[..., Any]) -> Callable[..., Any]:
        _load_entry_points()
        if name in _REGISTRY and not overwrite:
            raise ValueError(f"A method is already registered as {name!r}; pass overwrite=True to replace it.")
        if not callable(obj):
            raise TypeError(f"The method registered as {name!r} must be a class or factory, got {obj!r}.")
        _check_plugin(name, obj)
        _REGISTRY[name] = obj
        return obj

    return add(factory) if factory is not None else add


def _check_plugin(name: str, factory: Callable[..., Any]) -> None:
    """Validate a plug-in against the method contract, on an instance with default options.

    A factory that needs options cannot be built here; it is checked when :func:`get` builds it.
    """
    from .methods import validate_method

    try:
        instance = factory()
    except TypeError:
        return
    validate_method(instance, name)


def unregister(name: str) -> Callable[..., Any] | str:
    """Remove a method registered with :func:`register` (built-in methods stay).

    Examples
    --------
    >>> from brainalign import registry
    >>> registry.unregister("rsa")
    Traceback (most recent call last):
    ...
    ValueError: 'rsa' is a built-in method and cannot be removed.
    """
    if name in _BUILTIN:
        raise ValueError(f"{name!r} is a built-in method and cannot be removed.")
    if name not in _REGISTRY:
        raise ValueError(f"No method is registered as {name!r}.")
    return _REGISTRY.pop(name)


def list_methods() -> list[str]:
    """Names of all registered methods (built-in, registered, and from entry points).

    Examples
    --------
    >>> from brainalign import registry
    >>> "rsa" in registry.list_methods()
    True
    """
    _load_entry_points()
    return sorted(_REGISTRY)


def get(name: str, *, allow_import: bool = True, **options: Any) -> Any:
    """An instance of the method registered as ``name``, built with ``options``.

    ``name`` may also be an import path ``"package.module:Class"`` (a plug-in used without
    registering it), unless ``allow_import`` is false: callers that take names from data (a
    config file) refuse import paths unless the user allowed code.

    Examples
    --------
    >>> from brainalign import registry
    >>> registry.get("rsa", metric="euclidean").metric
    'euclidean'
    >>> registry.get("os:system", allow_import=False)
    Traceback (most recent call last):
    ...
    ValueError: 'os:system' is an import path, refused here (allow_import=False): only registered methods are allowed.
    """
    _load_entry_points()
    if name not in _REGISTRY and isinstance(name, str) and ":" in name:
        if not allow_import:
            raise ValueError(
                f"{name!r} is an import path, refused here (allow_import=False): only registered methods are allowed."
            )
        # A plug-in given by its import path, e.g. "my_package.metrics:MyMetric".
        module, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as err:
            raise ValueError(f"Cannot import the method {name!r}: {err}") from err
        return _build(name, factory, options)
    if name not in _REGISTRY:
        raise ValueError(
            f"Unknown method {name!r}.{close_matches(str(name), list(_REGISTRY))} "
            f"Registered methods: {', '.join(sorted(_REGISTRY))}."
        )
    factory = _REGISTRY[name]
    if isinstance(factory, str):
        module, _, attr = factory.partition(":")
        try:
            factory = getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as err:
            raise ImportError(f"Cannot load the method {name!r} from {_REGISTRY[name]!r}: {err}") from err
        _REGISTRY[name] = factory
    return _build(name, factory, options)


def _build(name: str, factory: Callable[..., Any], options: dict[str, Any]) -> Any:
    from .methods import validate_method

    try:
        obj = factory(**options)
    except TypeError as err:
        raise TypeError(f"Invalid options for method {name!r}: {err}") from err
    validate_method(obj, name)
    return obj
