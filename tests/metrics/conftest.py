"""Fixtures of the metric tests: backends to compare, and the real 92-image RDMs."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from brainalign.backend import gpu_available

HAS_TORCH = importlib.util.find_spec("torch") is not None

#: Backends every metric must agree on (float64, within 1e-6); CUDA only where a GPU exists.
TORCH_BACKENDS = [
    pytest.param("torch", marks=pytest.mark.skipif(not HAS_TORCH, reason="torch is not installed")),
    pytest.param(
        "torch_cuda",
        marks=[pytest.mark.gpu, pytest.mark.skipif(not HAS_TORCH or not gpu_available(), reason="needs a CUDA device")],
    ),
]


@pytest.fixture
def kriegeskorte(shared_data):
    """Real RDMs of Kriegeskorte et al. (2008): monkey IT, human IT, and 4 human subjects."""
    folder = shared_data / "kriegeskorte2008"
    if not folder.is_dir():
        pytest.skip(f"real data folder {folder} is absent")
    scipy_io = pytest.importorskip("scipy.io")
    from scipy.spatial.distance import squareform

    mat = scipy_io.loadmat(folder / "Kriegeskorte_Neuron2008_supplementalData.mat")
    monkey, human = (squareform(np.ravel(r["RDM"]).astype(float)) for r in mat["RDMs_mIT_hIT_fig1"][0])
    brain = scipy_io.loadmat(folder / "92_brainRDMs.mat")["RDMs"][0]
    # Each subject's RDM: the mean of their two sessions.
    subjects = np.stack([(brain[s, 0]["RDM"] + brain[s, 1]["RDM"]) / 2 for s in range(brain.shape[0])]).astype(float)
    return {"monkey": monkey, "human": human, "subjects": subjects}
