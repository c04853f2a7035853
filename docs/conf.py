"""Sphinx configuration for brainalign's documentation (built offline, warnings as errors)."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
os.environ.setdefault("BRAINALIGN_PROGRESS", "0")

import brainalign

project = "brainalign"
author = "brainalign developers"
copyright = "2026, brainalign developers"
version = release = brainalign.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_parser",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "generated/*.examples"]
myst_heading_anchors = 3
autosummary_generate = True
autodoc_typehints = "none"  # numpydoc renders the documented types
autodoc_member_order = "bysource"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks: set[str] = set()
html_theme = "pydata_sphinx_theme"
html_title = f"brainalign {version}"
html_theme_options = {"navigation_with_keys": False, "show_toc_level": 2}
html_static_path: list[str] = []
