"""BIDS file names and metadata inheritance, shared by the fMRI and iEEG adapters (private).

- :func:`parse_name`: ``sub-01_task-x_run-1_bold.nii.gz`` → ``{"sub": "01", "task": "x",
  "run": "1", "suffix": "bold"}`` (every part before the suffix must be ``key-value``).
- :class:`Sidecars`: the metadata files (``.json``, ``events.tsv``, ``channels.tsv``, ...) that
  apply to a data file by the BIDS inheritance principle: same suffix and extension, entities a
  subset of the data file's, found in the data file's folder and its parents up to the dataset
  root (``sub-<label>/``, ``ses-<label>/``, the root itself). JSON files are merged from the
  dataset level down, the most specific last; for tables the most specific file wins. Each
  folder is listed once per finder.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = [
    "DERIVATIVE_ENTITIES",
    "Sidecars",
    "applies",
    "merge_json",
    "norm_run",
    "parse_name",
    "raw_entities",
    "run_sort_key",
    "strip_prefix",
]

_ENTITY = re.compile(r"([a-zA-Z0-9]+)-([a-zA-Z0-9]+)")
_SUFFIX = re.compile(r"[a-zA-Z0-9]+")
#: Entities that derivatives (fMRIPrep...) add to a raw file's name: dropped to find the raw
#: run's events, confounds and duplicates.
DERIVATIVE_ENTITIES = ("space", "desc", "res", "den", "hemi")


def parse_name(filename: str | os.PathLike) -> dict[str, str] | None:
    """Entities and ``suffix`` of a BIDS file name, or None when it is not one.

    Examples
    --------
    >>> parse_name("sub-01_ses-2_task-rest_run-01_bold.nii.gz")
    {'sub': '01', 'ses': '2', 'task': 'rest', 'run': '01', 'suffix': 'bold'}
    >>> parse_name("notes_v1-final.txt") is None
    True
    """
    stem = Path(filename).name.split(".")[0]
    parts = stem.split("_")
    ents: dict[str, str] = {}
    for part in parts[:-1]:
        m = _ENTITY.fullmatch(part)
        if m is None:
            return None
        ents[m.group(1)] = m.group(2)
    if _SUFFIX.fullmatch(parts[-1]) is None:
        return None
    ents["suffix"] = parts[-1]
    return ents


def raw_entities(ents: Mapping[str, str]) -> dict[str, str]:
    """The entities of the raw run behind a (derivative) file: no suffix, space, desc, res..."""
    return {k: v for k, v in ents.items() if k != "suffix" and k not in DERIVATIVE_ENTITIES}


def strip_prefix(value: Any, key: str) -> str:
    """``"sub-01"`` → ``"01"`` for ``key="sub"``; other values as strings, unchanged."""
    value = str(value)
    return value[len(key) + 1 :] if value.startswith(key + "-") else value


def norm_run(value: Any) -> str:
    """A run label without prefix and leading zeros (``"run-01"`` → ``"1"``)."""
    value = strip_prefix(value, "run")
    return str(int(value)) if value.isdigit() else value


def run_sort_key(value: str) -> tuple[int, int, str]:
    return (0, int(value), "") if value.isdigit() else (1, 0, value)


def _same(key: str, a: str, b: str) -> bool:
    return a == b or (key == "run" and norm_run(a) == norm_run(b))


def applies(meta: Mapping[str, str], data: Mapping[str, str]) -> bool:
    """Whether a metadata file with entities ``meta`` applies to a data file with ``data``:
    each of its entities is one of the data file's, with the same value (suffixes ignored)."""
    return all(k in data and _same(k, v, data[k]) for k, v in meta.items() if k != "suffix")


def merge_json(paths: Sequence[Path]) -> dict[str, Any]:
    """The metadata of JSON sidecars listed least specific first (later keys override)."""
    out: dict[str, Any] = {}
    for path in paths:
        try:
            value = json.loads(Path(path).read_text(encoding="utf-8-sig"))
        except ValueError as err:
            raise ValueError(f"Cannot read the JSON sidecar {str(path)!r}: {err}") from err
        if not isinstance(value, dict):
            raise ValueError(f"The JSON sidecar {str(path)!r} must hold an object ({{key: value}}).")
        out.update(value)
    return out


class Sidecars:
    """Find the metadata files that apply to BIDS data files (the inheritance principle).

    Parameters
    ----------
    roots : sequence of path, optional
        Dataset roots searched, least specific first (e.g. the raw dataset, then a derivatives
        folder). Default: the folder above the data file's ``sub-<label>`` folder, else only
        the data file's own folder.
    """

    def __init__(self, roots: Iterable[str | os.PathLike] = ()):
        self.roots = [Path(r) for r in roots]
        self._listing: dict[Path, list[tuple[Path, dict[str, str]]]] = {}

    def files(self, folder: Path, suffix: str, ext: str) -> list[tuple[Path, dict[str, str]]]:
        """BIDS-named files of ``folder`` with that suffix and extension (listed once, cached)."""
        folder = Path(folder)
        if folder not in self._listing:
            entries = []
            if folder.is_dir():
                for path in sorted(folder.iterdir()):
                    ents = parse_name(path.name)
                    if ents is not None and path.is_file():
                        entries.append((path, ents))
            self._listing[folder] = entries
        return [(p, e) for p, e in self._listing[folder] if e["suffix"] == suffix and p.name.endswith(ext)]

    def _levels(self, data_path: Path, ents: Mapping[str, str], roots: list[Path]) -> list[Path]:
        given = bool(roots)
        if not given:
            roots = [r for r in (_guess_root(data_path, ents),) if r is not None]
        levels: list[Path] = []
        for root in roots:
            levels += _chain(root, data_path, ents)
        if not given:
            levels.append(data_path.parent)
        seen, out = set(), []
        for level in levels:
            if level not in seen:
                seen.add(level)
                out.append(level)
        return out

    def find(
        self,
        data_path: str | os.PathLike,
        suffix: str,
        ext: str,
        *,
        ents: Mapping[str, str] | None = None,
        roots: Sequence[str | os.PathLike] | None = None,
    ) -> list[Path]:
        """The applicable ``*_<suffix><ext>`` files, least specific first.

        ``ents``: the data file's entities (default: parsed from its name). ``roots``: the
        dataset roots for this search (default: the finder's). Two applicable files at one
        level with as many entities are ambiguous (BIDS forbids it): ValueError.
        """
        roots = [Path(r) for r in roots] if roots is not None else self.roots
        data_path = Path(data_path)
        if ents is None:
            ents = parse_name(data_path.name) or {}
        data = {k: v for k, v in ents.items() if k != "suffix"}
        found: list[Path] = []
        for level in self._levels(data_path, data, roots):
            hits = [(p, e) for p, e in self.files(level, suffix, ext) if applies(e, data)]
            hits.sort(key=lambda pe: (len(pe[1]), pe[0].name))
            for (p, e), (q, f) in itertools.pairwise(hits):
                if len(e) == len(f):
                    raise ValueError(
                        f"Both {p.name!r} and {q.name!r} in {str(level)!r} apply to {data_path.name!r}; BIDS allows "
                        "one metadata file per level. Remove one or give the entity that tells them apart."
                    )
            found += [p for p, _ in hits]
        return found

    def nearest(self, data_path: str | os.PathLike, suffix: str, ext: str, **kwargs: Any) -> Path | None:
        """The most specific applicable file, or None (options as :meth:`find`)."""
        found = self.find(data_path, suffix, ext, **kwargs)
        return found[-1] if found else None

    def read_json(self, data_path: str | os.PathLike, suffix: str, **kwargs: Any) -> dict[str, Any]:
        """The merged JSON metadata of a data file, ``{}`` when it has none (options as :meth:`find`)."""
        return merge_json(self.find(data_path, suffix, ".json", **kwargs))


def _guess_root(data_path: Path, ents: Mapping[str, str]) -> Path | None:
    """The dataset root: the folder holding the data file's ``sub-<label>`` folder."""
    if "sub" not in ents:
        return None
    for parent in data_path.parents:
        if parent.name == f"sub-{ents['sub']}":
            return parent.parent
    return None


def _chain(root: Path, data_path: Path, ents: Mapping[str, str]) -> list[Path]:
    """Folders from ``root`` down to where the data file lies (or would lie) in that dataset."""
    try:
        rel = data_path.parent.relative_to(root)
    except ValueError:
        rel = None
    if rel is not None and "derivatives" not in rel.parts:
        levels = [root]
        for part in rel.parts:
            levels.append(levels[-1] / part)
        return levels
    # The data file lies elsewhere (a derivatives folder): its place in this dataset.
    levels = [root]
    if "sub" in ents:
        levels.append(root / f"sub-{ents['sub']}")
        if "ses" in ents:
            levels.append(levels[-1] / f"ses-{ents['ses']}")
        datatype = data_path.parent.name
        if not datatype.startswith(("sub-", "ses-")):
            levels.append(levels[-1] / datatype)
    return levels
