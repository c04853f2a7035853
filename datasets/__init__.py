"""Public datasets of the field: cards, checksummed downloads and loaders (``brainalign.datasets``).

This folder is installed as the package ``brainalign.datasets`` (see ``pyproject.toml``). Each
subpackage is one dataset with a card (``README.md``: what, citation, licence, size), a
``checksums.txt`` and a loader module offering ``fetch(...)`` (download into a cache folder,
verified) and ``load(...)`` (build brainalign objects; ``path=`` takes a local copy instead).

The cache folder is, in order: the ``data_dir`` argument, the ``BRAINALIGN_DATA`` environment
variable, ``~/brainalign_data``. Nothing is downloaded unless a loader is asked to.

Examples
--------
>>> from brainalign import datasets
>>> datasets.list_datasets()
['hftp', 'kriegeskorte2008', 'lebel2023', 'things_meg']
"""

from __future__ import annotations

import importlib

from ._fetch import get_data_dir, read_checksums

DATASETS = ("hftp", "kriegeskorte2008", "lebel2023", "things_meg")

__all__ = ["DATASETS", "get_data_dir", "list_datasets", "read_checksums", *DATASETS]


def list_datasets() -> list[str]:
    """Names of the datasets brainalign can fetch and load."""
    return list(DATASETS)


def __getattr__(name: str):
    if name in DATASETS:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
