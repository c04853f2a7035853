"""Cache folder, checksum lists and verified downloads shared by the dataset loaders."""

from __future__ import annotations

import os
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from brainalign.utils import check_writable_dir, get_options, logger, soft_import

__all__ = ["fetch_files", "get_data_dir", "local_files", "network_errors", "read_checksums", "resolve_files"]

ENV_VAR = "BRAINALIGN_DATA"


def get_data_dir(data_dir: str | os.PathLike | None = None) -> Path:
    """The cache folder: ``data_dir``, else ``$BRAINALIGN_DATA``, else ``~/brainalign_data``.

    Examples
    --------
    >>> get_data_dir("/tmp/my_cache").name
    'my_cache'
    """
    if data_dir is not None:
        return Path(data_dir).expanduser()
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path.home() / "brainalign_data"


def read_checksums(dataset: str) -> dict[str, str]:
    """The checksum list of a dataset: ``{relative path: "sha256:<hex>" or "md5:<hex>"}``.

    Examples
    --------
    >>> sums = read_checksums("hftp")
    >>> sums["English_syntactic_corpus.csv"].split(":")[0]
    'sha256'
    """
    text = resources.files(f"brainalign.datasets.{dataset}").joinpath("checksums.txt").read_text()
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        digest, path = line.split(None, 1)
        out[path.strip()] = digest
    return out


def _verify(path: Path, digest: str) -> None:
    pooch = soft_import("pooch", "verifying dataset files against their checksums")
    algorithm, expected = digest.split(":", 1)
    got = pooch.file_hash(str(path), alg=algorithm)
    if got != expected:
        raise ValueError(
            f"The file {str(path)!r} does not match its checksum ({algorithm} {got}, expected {expected}): it is "
            "corrupted, incomplete or a different version. Delete it and download it again."
        )


def local_files(dataset: str, folder: str | os.PathLike, files: Iterable[str], *, verify: bool) -> dict[str, Path]:
    """Paths of ``files`` in a local copy ``folder``; clear errors for missing ones."""
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"The local copy of {dataset} {str(folder)!r} is not a folder.")
    sums = read_checksums(dataset)
    out = {}
    for rel in files:
        path = folder / rel
        if not path.exists() and (folder / Path(rel).name).exists():
            path = folder / Path(rel).name  # a flat copy of the files
        if not path.exists():
            raise FileNotFoundError(
                f"The local copy of {dataset} in {str(folder)!r} lacks {rel!r}. Point path= at the dataset's root "
                "folder, or leave path=None to download it into the cache."
            )
        if verify and rel in sums:
            _verify(path, sums[rel])
        out[rel] = path
    return out


def fetch_files(
    dataset: str,
    files: Iterable[str],
    *,
    base_url: str,
    data_dir: str | os.PathLike | None = None,
    progressbar: bool = True,
) -> dict[str, Path]:
    """Download ``files`` (paths relative to ``base_url``) into ``<data_dir>/<dataset>/``.

    Files already in the cache with the right checksum are not downloaded again; every
    download is checked against the dataset's checksum list (pooch).
    """
    pooch = soft_import("pooch", "downloading datasets")
    sums = read_checksums(dataset)
    folder = check_writable_dir("data_dir", get_data_dir(data_dir) / dataset)
    out = {}
    for rel in files:
        if rel not in sums:
            raise ValueError(f"{rel!r} is not a file of {dataset} (not in its checksum list).")
        logger.info("Fetching %s/%s into %s", dataset, rel, folder)
        target = folder.joinpath(*Path(rel).parent.parts)
        target.mkdir(parents=True, exist_ok=True)
        url = base_url.rstrip("/") + "/" + rel
        try:
            out[rel] = Path(
                pooch.retrieve(
                    url=url,
                    known_hash=sums[rel],
                    fname=Path(rel).name,
                    path=target,
                    progressbar=progressbar and get_options()["progress"],
                )
            )
        except network_errors() as err:
            # One line, no chained traceback: offline is a situation to explain, not a crash.
            raise ConnectionError(
                f"Cannot download {dataset} ({rel!r} from {url}: {type(err).__name__}); no network? Pass the folder "
                f"of a local copy instead: brainalign.datasets.{dataset}.load(..., path='/path/to/{dataset}')."
            ) from None
    return out


def network_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean a download failed on the network (not on disk or a checksum).

    Examples
    --------
    >>> ConnectionError in network_errors()
    True
    """
    import socket
    import urllib.error

    errors: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, socket.gaierror, urllib.error.URLError)
    try:
        import requests  # pooch downloads with requests
    except ImportError:  # pragma: no cover - pooch depends on requests
        return errors
    return (*errors, requests.exceptions.RequestException)


def resolve_files(
    dataset: str,
    files: Iterable[str],
    *,
    path: str | os.PathLike | None,
    base_url: str,
    data_dir: str | os.PathLike | None = None,
    verify: bool = True,
    optional: Iterable[str] = (),
) -> dict[str, Path]:
    """Paths of ``files``: in the local copy ``path`` (checked against the checksum list when
    ``verify``), or, with ``path=None``, in the cache, downloading what is missing.

    ``optional`` files are downloaded too, but a local copy may lack them (they are then left
    out of the result).
    """
    files, optional = list(files), list(optional)
    if path is None:
        return fetch_files(dataset, [*files, *optional], base_url=base_url, data_dir=data_dir)
    folder = Path(path).expanduser()
    present = [f for f in optional if (folder / f).exists() or (folder / Path(f).name).exists()]
    return local_files(dataset, folder, [*files, *present], verify=verify)
