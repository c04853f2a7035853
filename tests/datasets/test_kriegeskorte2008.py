"""Kriegeskorte 2008 92 images: the shared .mat files into labelled arrays."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.io as sio
from brainalign.datasets import kriegeskorte2008
from scipy.spatial.distance import squareform

from brainalign import data
from brainalign.metrics import rsa


@pytest.mark.shared_data
def test_shared_92_image_data(shared_data):
    folder = shared_data / "kriegeskorte2008"
    d = kriegeskorte2008.load(folder)
    stim, rdms = d["stimuli"], d["rdms"]
    assert stim.shape == (92, 175, 175, 3) and stim.dtype == np.uint8
    assert stim["stimulus_id"].values[0] == "img01" and stim["category"].values[0] == "human bodypart"
    assert rdms.dims == ("rdm", "stimulus_id", "stimulus_id_2") and rdms.sizes["rdm"] == 10
    assert data.validate(rdms) == "rdms"  # the brain-RDM schema of data.rdms
    assert rdms.sel(rdm="mIT")["species"].item() == "monkey"
    assert sorted(set(rdms["subject"].values) - {"group"}) == ["BE", "KO", "SN", "TI"]
    # values as in the file (condensed vector → square), symmetric with a zero diagonal
    raw = sio.loadmat(folder / "Kriegeskorte_Neuron2008_supplementalData.mat", simplify_cells=True)
    np.testing.assert_array_equal(rdms.sel(rdm="mIT").values, squareform(raw["RDMs_mIT_hIT_fig1"][0]["RDM"]))
    np.testing.assert_allclose(rdms.values, rdms.values.transpose(0, 2, 1))
    assert np.all(np.diagonal(rdms.values, axis1=1, axis2=2) == 0)
    assert d["model_rdms"].sizes["model"] == 8 and d["categories"].shape == (92, 12)
    assert data.validate(d["simulated"]) == "condition"
    # man and monkey IT agree (the paper's finding): a clearly positive RDM correlation
    r = float(rsa.compare(rdms.sel(rdm="mIT"), rdms.sel(rdm="hIT"), method="spearman"))
    assert 0.2 < r < 0.9
