"""Sphinx configuration for brainalign's documentation (built offline, warnings as errors)."""

import os
import sys

sys.path.insert(0, os.path.abspath(".."))
sys.path.insert(0, os.path.abspath("_ext"))
os.environ.setdefault("BRAINALIGN_PROGRESS", "0")  # inherited by the notebooks' kernels too
os.environ.setdefault("HF_HUB_OFFLINE", "1")  # models come from installed packages, never downloaded

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
    "myst_nb",  # loads myst_parser for the .md pages
    "notebook_gallery",
]
# myst_nb registers .md (MyST pages) and .ipynb (notebooks) itself.
exclude_patterns = ["_build", "generated/*.examples", "**.ipynb_checkpoints"]

# The example gallery: notebooks/*.ipynb (committed without outputs) are copied into examples/
# (git-ignored) and executed at every build, in a temporary folder, with a per-cell timeout; an
# error fails the build. BRAINALIGN_DOCS_EXECUTE=off renders them without outputs (quick drafts).
# Notebooks that need ../shared/data (or $BRAINALIGN_SHARED_DATA) skip those cells without it,
# and their page says so.
notebook_gallery_source = "../notebooks"
notebook_gallery_target = "examples"
nb_execution_mode = os.environ.get("BRAINALIGN_DOCS_EXECUTE", "force")
nb_execution_in_temp = True
nb_execution_timeout = 600  # per cell; the identifiability study is the slowest
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True
nb_output_stderr = "remove"  # progress bars and library chatter; what a notebook shows, it prints
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
html_static_path = ["_static"]
html_css_files = ["gallery.css"]
