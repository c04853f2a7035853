"""The ``brainalign`` logger, options, and the one progress-bar helper."""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator
from typing import Any, TypeVar

logger = logging.getLogger("brainalign")
logger.addHandler(logging.NullHandler())

T = TypeVar("T")

_LEVELS = {
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warning": logging.WARNING,
    "error": logging.ERROR,
    "critical": logging.CRITICAL,
}


def _env_flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() not in ("0", "false", "no", "off", "")


# Global options. Read them with get_options(); change them with set_options().
_OPTIONS: dict[str, Any] = {
    "progress": _env_flag("BRAINALIGN_PROGRESS", True),
    "workers": None,
}


def get_options() -> dict[str, Any]:
    """Return a copy of brainalign's global options.

    Examples
    --------
    >>> import brainalign
    >>> "progress" in brainalign.get_options()
    True
    """
    return dict(_OPTIONS)


class set_options(contextlib.ContextDecorator):
    """Set global options, for the rest of the session or inside a ``with`` block.

    Parameters
    ----------
    progress : bool
        Show tqdm progress bars on long work (default True; the environment variable
        ``BRAINALIGN_PROGRESS=0`` turns them off).
    workers : int or None
        Layers a map represents at once in threads (None: the memory planner chooses, up to the
        cores; 1: one layer at a time, the smallest and most predictable peak memory).

    Examples
    --------
    >>> import brainalign
    >>> with brainalign.set_options(progress=False):
    ...     brainalign.get_options()["progress"]
    False
    """

    def __init__(self, **options: Any) -> None:
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ValueError(f"Unknown option(s) {unknown}; valid options are {sorted(_OPTIONS)}.")
        if "progress" in options and not isinstance(options["progress"], bool):
            raise TypeError(f"progress must be a bool, got {options['progress']!r}.")
        workers = options.get("workers")
        if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
            raise ValueError(f"workers must be None or a positive integer, got {workers!r}.")
        self._old = dict(_OPTIONS)
        _OPTIONS.update(options)

    def __enter__(self) -> set_options:
        return self

    def __exit__(self, *exc: object) -> None:
        _OPTIONS.clear()
        _OPTIONS.update(self._old)


def set_log_level(level: str | int | bool | None = "info") -> None:
    """Set the level of the ``brainalign`` logger.

    Parameters
    ----------
    level : str | int | bool | None
        ``"debug"``, ``"info"``, ``"warning"``, ``"error"``, a :mod:`logging` level, ``True``
        (info) or ``False``/``None`` (warning).

    Examples
    --------
    >>> import brainalign
    >>> brainalign.set_log_level("warning")
    """
    logger.setLevel(_as_level(level))


def _as_level(level: str | int | bool | None) -> int:
    if level is None or level is False:
        return logging.WARNING
    if level is True:
        return logging.INFO
    if isinstance(level, int):
        return level
    if isinstance(level, str) and level.lower() in _LEVELS:
        return _LEVELS[level.lower()]
    raise ValueError(f"log level must be one of {sorted(_LEVELS)}, a bool or an int; got {level!r}.")


def progress(
    iterable: Iterable[T],
    *,
    desc: str | None = None,
    total: int | None = None,
    unit: str = "it",
    disable: bool | None = None,
) -> Iterator[T]:
    """Wrap ``iterable`` in a tqdm progress bar unless progress bars are switched off.

    Examples
    --------
    >>> from brainalign.utils import progress
    >>> sum(progress(range(3), disable=True))
    3
    """
    if disable is None:
        disable = not _OPTIONS["progress"]
    if disable:
        return iter(iterable)
    from tqdm.auto import tqdm

    return iter(tqdm(iterable, desc=desc, total=total, unit=unit, leave=False))
