"""Offline, every loader fails with one clear line naming path= (tests never touch the network)."""

from __future__ import annotations

import pytest
import requests

from brainalign import datasets

#: A URL on this machine where nothing listens: the connection is refused at once, no network used.
UNREACHABLE = "http://127.0.0.1:9/brainalign-offline-test"

LOADS = {
    "hftp": lambda mod, d: mod.load("syntactic", data_dir=d),
    "kriegeskorte2008": lambda mod, d: mod.load(data_dir=d),
    "lebel2023": lambda mod, d: mod.load("UTS03", stories=[mod.stories("UTS03")[0]], data_dir=d),
    "things_meg": lambda mod, d: mod.load(1, data_dir=d),
}


def _check_one_line(err: pytest.ExceptionInfo, name: str) -> None:
    message = str(err.value)
    assert "\n" not in message
    assert "path=" in message and f"brainalign.datasets.{name}.load" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__  # no chained requests traceback


@pytest.mark.parametrize("name", datasets.list_datasets())
def test_unreachable_url_gives_one_line(name, tmp_path, monkeypatch):
    mod = getattr(datasets, name)
    monkeypatch.setattr(mod.loader, "BASE_URL", UNREACHABLE)
    with pytest.raises(ConnectionError, match="Cannot download") as err:
        LOADS[name](mod, tmp_path)
    _check_one_line(err, name)
    with pytest.raises(ConnectionError, match="path="):
        mod.fetch(data_dir=tmp_path)


@pytest.mark.parametrize("name", datasets.list_datasets())
def test_http_connection_error_gives_one_line(name, tmp_path, monkeypatch):
    # The HTTP call itself fails as it does without network (DNS failure → requests' ConnectionError).
    def offline(*args, **kwargs):
        raise requests.exceptions.ConnectionError("Failed to resolve 's3.amazonaws.com'")

    monkeypatch.setattr(requests, "get", offline)
    monkeypatch.setattr(requests.Session, "request", offline)
    mod = getattr(datasets, name)
    with pytest.raises(ConnectionError, match="Cannot download") as err:
        LOADS[name](mod, tmp_path)
    _check_one_line(err, name)
