"""data.rdms / data.load_rdms: brain RDMs without responses, built, checked, read and saved."""

import numpy as np
import pytest
import scipy.io as sio
from scipy.spatial.distance import pdist, squareform

from brainalign import data
from brainalign.io import arrays
from brainalign.metrics import rsa

IDS = [f"s{i}" for i in range(6)]


@pytest.fixture
def patterns(rng):
    return rng.normal(size=(3, 6, 20))  # 3 subjects, 6 stimuli, 20 voxels


def test_condensed_and_square_agree_with_scipy_and_rsa(patterns):
    condensed = np.stack([pdist(x, "correlation") for x in patterns])
    R = data.rdms(condensed, stimulus_id=IDS, subject=["S1", "S2", "S3"], region="IT", metric="correlation")
    assert R.dims == ("rdm", "stimulus_id", "stimulus_id_2")
    assert data.detect_kind(R) == "rdms" and data.validate(R) == "rdms" and data.validate(R, "rdms") == "rdms"
    for k, x in enumerate(patterns):
        np.testing.assert_allclose(R.values[k], squareform(pdist(x, "correlation")), rtol=0, atol=1e-12)
        # The same layout as brainalign's own RDMs: the difference is 0 on the same labels.
        mine = rsa.rdm(data.recording(x, stimulus_id=IDS, subject="S", region="IT"), by=None)
        assert mine.dims == R.dims[1:]
        np.testing.assert_allclose(R.isel(rdm=k).values, mine.values, rtol=0, atol=1e-10)
    square = data.rdms(np.stack([squareform(c) for c in condensed]), stimulus_id=IDS, subject=["S1", "S2", "S3"],
                       region="IT")  # fmt: skip
    np.testing.assert_array_equal(square.values, R.values)
    single = data.rdms(condensed[0], stimulus_id=IDS, subject="S1", region="IT")
    assert single.sizes["rdm"] == 1 and single["rdm"].values.tolist() == ["S1_IT"]
    # rsa.compare takes them as they are (one score per pair of RDMs).
    scores = rsa.compare(R, R, method="spearman")
    np.testing.assert_allclose(np.diagonal(scores.values), 1.0, atol=1e-12)


def test_checks_name_the_argument(patterns):
    square = squareform(pdist(patterns[0]))
    kw = {"stimulus_id": IDS, "subject": "S1", "region": "IT"}
    asym = square.copy()
    asym[0, 1] += 0.1
    with pytest.raises(ValueError, match=r"values: RDM 0 .* not symmetric"):
        data.rdms(asym, **kw)
    diag = square + np.eye(6) * 0.5
    with pytest.raises(ValueError, match=r"values: .*non-zero diagonal"):
        data.rdms(diag, **kw)
    nan = square.copy()
    nan[0, 1] = nan[1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        data.rdms(nan, **kw)
    neg = square - np.median(square[square > 0])
    np.fill_diagonal(neg, 0.0)
    with pytest.raises(ValueError, match=r"negative dissimilarities.*signed=True"):
        data.rdms(neg, **kw)
    assert data.rdms(neg, signed=True, **kw).attrs["signed"] is True
    with pytest.raises(ValueError, match="repeated ids"):
        data.rdms(square, stimulus_id=["a", "b", "c", "d", "e", "a"], subject="S1", region="IT")
    with pytest.raises(TypeError, match="stimulus_id mixes strings"):
        data.rdms(square, stimulus_id=[0, 1, 2, 3, 4, "5"], subject="S1", region="IT")
    with pytest.raises(ValueError, match=r"neither square .* nor condensed"):
        data.rdms(square[:5], **kw)
    with pytest.raises(ValueError, match=r"neither square .* nor condensed"):
        data.rdms(pdist(patterns[0])[:-1], **kw)
    with pytest.raises(TypeError, match="complex"):
        data.rdms(square + 0j, **kw)
    with pytest.raises(ValueError, match="at least 3"):
        data.rdms(np.zeros((2, 2)), stimulus_id=["a", "b"], subject="S1", region="IT")
    with pytest.raises(ValueError, match="subject must have one value per rdm"):
        data.rdms(np.stack([square, square]), stimulus_id=IDS, subject=["S1", "S2", "S3"], region="IT")
    with pytest.raises(ValueError, match=r"two RDMs for .*subject.*session="):
        data.rdms(np.stack([square, square]), stimulus_id=IDS, subject="S1", region="IT")
    with pytest.raises(TypeError, match="signed must be True or False"):
        data.rdms(square, signed="no", **kw)
    with pytest.raises(ValueError, match="tol must be"):
        data.rdms(square, tol=-1.0, **kw)
    # Within tolerance: accepted and made exactly symmetric with a zero diagonal.
    near = square + 1e-9 * np.triu(np.ones((6, 6)))
    R = data.rdms(near, **kw)
    np.testing.assert_array_equal(R.values[0], R.values[0].T)
    assert np.all(np.diagonal(R.values[0]) == 0)


def test_validate_refuses_broken_rdms(patterns):
    R = data.rdms(pdist(patterns[0]), stimulus_id=IDS, subject="S1", region="IT")
    broken = R.copy()
    broken.values[0, 0, 1] = 5.0
    with pytest.raises(ValueError, match=r"brain: RDM 0 .* not symmetric"):
        data.validate(broken, "rdms", name="brain")
    with pytest.raises(ValueError, match="needs the coordinate 'subject'"):
        data.validate(R.drop_vars("subject"))
    with pytest.raises(ValueError, match=r"must be .* with dims"):
        data.validate(R, "condition")


def test_save_load_round_trip_and_nc_reader(patterns, tmp_path):
    R = data.rdms(
        np.stack([pdist(x) for x in patterns]),
        stimulus_id=IDS,
        subject=["S1", "S2", "S3"],
        region="IT",
        metric="euclidean",
    )
    arrays.save(R, tmp_path / "rdms.nc")
    back = data.load_rdms(tmp_path / "rdms.nc")
    assert back.identical(R)
    with pytest.raises(ValueError, match="own labels; do not pass subject"):
        data.load_rdms(tmp_path / "rdms.nc", subject="S9")


def test_npy_and_mat_readers(patterns, tmp_path):
    condensed = np.stack([pdist(x) for x in patterns])
    np.save(tmp_path / "r.npy", condensed)
    kw = {"stimulus_id": IDS, "subject": ["S1", "S2", "S3"], "region": "IT"}
    expected = data.rdms(condensed, **kw)
    np.testing.assert_array_equal(data.load_rdms(tmp_path / "r.npy", **kw).values, expected.values)
    # MATLAB's n × n × k stack, and a struct array with an RDM field, as rsatoolbox's MATLAB demos write them.
    stack = np.stack([squareform(c) for c in condensed], axis=-1)
    sio.savemat(tmp_path / "r.mat", {"stack": stack, "other": np.ones(3)})
    np.testing.assert_allclose(data.load_rdms(tmp_path / "r.mat", "stack", **kw).values, expected.values, atol=1e-12)
    with pytest.raises(ValueError, match=r"holds the variables \['stack', 'other'\]; pass variable="):
        data.load_rdms(tmp_path / "r.mat", **kw)
    with pytest.raises(ValueError, match="pass stimulus_id"):
        data.load_rdms(tmp_path / "r.npy", subject="S1", region="IT")
    with pytest.raises(ValueError, match=r"must be a .npy, .mat, .nc file"):
        data.load_rdms(tmp_path / "r.csv", **kw)


def test_real_92_image_human_it(shared_data, tmp_path):
    path = shared_data / "kriegeskorte2008" / "92_brainRDMs.mat"
    if not path.exists():
        pytest.skip("92_brainRDMs.mat is absent")
    raw = sio.loadmat(path)["RDMs"].ravel()
    names = [str(e["name"].squeeze()) for e in raw]  # "hIT | BE | Session: 1"
    subjects = [n.split("|")[1].strip() for n in names]
    sessions = [int(n.split(":")[1]) for n in names]
    ids = [f"img{i + 1:02d}" for i in range(92)]
    R = data.load_rdms(
        path, "RDMs", stimulus_id=ids, subject=subjects, region="hIT", session=sessions, metric="correlation"
    )
    assert R.shape == (8, 92, 92)
    assert sorted(set(R["subject"].values.tolist())) == ["BE", "KO", "SN", "TI"]
    assert R["measurement"].values.tolist() == names
    np.testing.assert_array_equal(R.values[3], np.asarray(raw[3]["RDM"], dtype=float))  # KO, session 2
    # Sessions averaged: one RDM per subject.
    per_subject = R.groupby("subject").mean()
    assert per_subject.sizes["subject"] == 4
    np.testing.assert_allclose(
        per_subject.sel(subject="BE").values,
        (raw[0]["RDM"].astype(float) + raw[1]["RDM"].astype(float)) / 2,
        rtol=0,
        atol=1e-12,
    )
    arrays.save(R, tmp_path / "hit.nc")
    back = arrays.load(tmp_path / "hit.nc")
    assert back.identical(R)
    assert data.validate(back) == "rdms"
    # The two sessions of a subject agree far better than chance (Kriegeskorte et al. 2008: reliable hIT RDMs).
    r = rsa.compare(R.isel(rdm=0), R.isel(rdm=1), method="spearman")
    assert float(r) > 0.1
