"""Sphinx extension: the notebooks of ``notebooks/`` as an executed example gallery.

At build start the notebooks (committed without outputs) are copied into the documentation's
source tree (``notebook_gallery_target``, git-ignored), where myst-nb executes them and renders
their outputs. Notebooks that read the shared data folder get a note at the top when that folder
is absent, since their real-data cells then print "skipped" instead of a figure.

The ``notebook-gallery`` directive lists the pages of its document's toctree as cards, each with
the first figure of its page (known only once every page has been read, so the cards are filled
in when the gallery page is resolved).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from docutils import nodes
from notebook_copies import SHARED_ENV, copy_notebooks, find_shared_data
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective


class gallery_placeholder(nodes.General, nodes.Element):
    """Where the cards go; replaced once every page has been read."""


class NotebookGallery(SphinxDirective):
    """``notebook-gallery``: cards for the pages in this document's toctree."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        return [gallery_placeholder()]


def _on_builder_inited(app: Sphinx) -> None:
    source = Path(app.confdir, app.config.notebook_gallery_source).resolve()
    target = Path(app.srcdir, app.config.notebook_gallery_target)
    shared = find_shared_data(source.parent)
    if shared is not None:  # the kernels run in temporary folders: tell them where the data are
        os.environ.setdefault(SHARED_ENV, str(shared))
    copy_notebooks(source, target, shared is not None)


def _thumbnails(env: Any) -> dict[str, nodes.image]:
    return vars(env).setdefault("notebook_gallery_thumbnails", {})


def _on_doctree_read(app: Sphinx, doctree: nodes.document) -> None:
    # After Sphinx's image collector (priority 500), so the image's uri is known to the environment.
    thumbs = _thumbnails(app.env)
    thumbs.pop(app.env.docname, None)
    if not app.env.docname.startswith(app.config.notebook_gallery_target.rstrip("/") + "/"):
        return
    for image in doctree.findall(nodes.image):
        if "?" not in image.get("candidates", {"?": None}):  # a local file Sphinx copies
            thumbs[app.env.docname] = nodes.image(uri=image["uri"], candidates=dict(image["candidates"]))
            return


def _on_purge_doc(app: Sphinx, env: Any, docname: str) -> None:
    _thumbnails(env).pop(docname, None)


def _on_merge_info(app: Sphinx, env: Any, docnames: Any, other: Any) -> None:
    _thumbnails(env).update({d: t for d, t in _thumbnails(other).items() if d in docnames})


def _on_doctree_resolved(app: Sphinx, doctree: nodes.document, docname: str) -> None:
    env = app.env
    thumbs = _thumbnails(env)
    for placeholder in list(doctree.findall(gallery_placeholder)):
        grid = nodes.container(classes=["notebook-gallery"])
        for page in env.toctree_includes.get(docname, []):
            title = env.titles[page].astext() if page in env.titles else page
            link = nodes.reference("", "", internal=True, refuri=app.builder.get_relative_uri(docname, page))
            if page in thumbs:
                image = thumbs[page].deepcopy()
                image["alt"] = title
                link += image
            else:
                link += nodes.inline("", "(no figure)", classes=["notebook-gallery-empty"])
            link += nodes.inline("", title, classes=["notebook-gallery-title"])
            grid += nodes.container("", nodes.paragraph("", "", link), classes=["notebook-gallery-card"])
        placeholder.replace_self(grid)


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_config_value("notebook_gallery_source", "../notebooks", "env")
    app.add_config_value("notebook_gallery_target", "examples", "env")
    app.add_node(gallery_placeholder)
    app.add_directive("notebook-gallery", NotebookGallery)
    app.connect("builder-inited", _on_builder_inited)
    app.connect("doctree-read", _on_doctree_read, priority=900)
    app.connect("env-purge-doc", _on_purge_doc)
    app.connect("env-merge-info", _on_merge_info)
    app.connect("doctree-resolved", _on_doctree_resolved)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
