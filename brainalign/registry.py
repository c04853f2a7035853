"""Alignment methods by name: brainalign's own, yours, and other packages' (entry points).

A method is a class (or factory) whose instances either

- compare two representations: ``method(X, Y) -> float`` (a *similarity*), optionally with
  ``represent(X)`` and ``compare_represented(A, B)`` so a map computes each layer's and each
  region's representation once and compares all pairs in one batched call; or
- fit an encoder (``fit``/``predict``/``score``, scikit-learn style).

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

__all__ = ["get", "list_methods", "register"]

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
    >>> @registry.register("my_dot")
    ... class Dot:
    ...     def __call__(self, X, Y):
    ...         return float((X * Y).sum())
    >>> "my_dot" in registry.list_methods()
    True
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"name must be a non-empty string, got {name!r}.")

    def add(obj: Callable[..., Any]) -> Callable[..., Any]:
        _load_entry_points()
        if name in _REGISTRY and not overwrite:
            raise ValueError(f"A method is already registered as {name!r}; pass overwrite=True to replace it.")
        if not callable(obj):
            raise TypeError(f"The method registered as {name!r} must be a class or factory, got {obj!r}.")
        _REGISTRY[name] = obj
        return obj

    return add(factory) if factory is not None else add


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


def get(name: str, **options: Any) -> Any:
    """An instance of the method registered as ``name``, built with ``options``.

    ``name`` may also be an import path ``"package.module:Class"`` (a plug-in used without
    registering it).

    Examples
    --------
    >>> from brainalign import registry
    >>> registry.get("rsa", metric="euclidean").metric
    'euclidean'
    """
    _load_entry_points()
    if name not in _REGISTRY and isinstance(name, str) and ":" in name:
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
    try:
        return factory(**options)
    except TypeError as err:
        raise TypeError(f"Invalid options for method {name!r}: {err}") from err
