"""Package layout that pyproject.toml cannot express on its own.

The top-level ``datasets/`` folder (dataset cards, loaders, checksum lists) installs as the
subpackage ``brainalign.datasets``; everything else is found under ``brainalign/``. Metadata and
dependencies live in pyproject.toml.
"""

from setuptools import find_packages, setup

_datasets = ["brainalign.datasets"] + [f"brainalign.datasets.{p}" for p in find_packages("datasets")]

setup(
    packages=find_packages(include=["brainalign", "brainalign.*"]) + _datasets,
    package_dir={"brainalign.datasets": "datasets"},
    package_data={
        "brainalign": ["_resources/*", "report/*.html"],
        **{pkg: ["*.md", "checksums.txt"] for pkg in _datasets},
    },
)
