"""The machinery shared by the metric classes: precision, stimulus matching, shared kernels."""

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from brainalign import data, registry
from brainalign.backend import get_backend
from brainalign.methods import method_info
from brainalign.metrics import _arrays, _base, knn, rsa, shape

from .conftest import TORCH_BACKENDS

#: Every representation-level method of the registry (with a variant where options change the path).
METHODS = [
    ("rsa", {}),
    ("rsa", {"metric": "euclidean", "compare": "kendall_tau_a"}),
    ("rsa", {"compare": "whitened_pearson"}),
    ("trsa", {}),
    ("trsa", {"geodesic": True, "upper": 0.8}),
    ("cka", {}),
    ("cka", {"kernel": "rbf", "debiased": True}),
    ("mutual_knn", {"k": 4}),
    ("mutual_knn", {"k": 4, "metric": "euclidean"}),
    ("anc", {}),
    ("best_match", {}),
    ("shape", {}),
    ("shape", {"alpha": 0.5, "method": "euclidean"}),
    ("stochastic_shape", {}),
]
IDS = [f"{name}-{'-'.join(map(str, options.values())) or 'default'}" for name, options in METHODS]
#: Scores with one side computed in float32 agree with float64 to float32 precision.
F32_ATOL = 1e-4


@pytest.fixture
def XY(rng):
    X = rng.normal(size=(20, 6))
    return X, X @ rng.normal(size=(6, 6)) + 0.5 * rng.normal(size=(20, 6))


@pytest.mark.parametrize("backend", TORCH_BACKENDS)
@pytest.mark.parametrize("name, options", METHODS, ids=IDS)
def test_float32_with_float64_on_torch(XY, backend, name, options):
    # A float32 layer against a float64 recording used to fail in torch's matmul ("expected m1 and
    # m2 to have the same dtype"): both sides are now promoted to one precision.
    torch = pytest.importorskip("torch")
    X, Y = XY
    ref = registry.get(name, **options)(X, Y)
    method = registry.get(name, backend=backend, **options)
    device = "cuda" if backend == "torch_cuda" else "cpu"
    for a, b in ((X.astype(np.float32), Y), (X, Y.astype(np.float32))):
        assert method(a, b) == pytest.approx(ref, abs=F32_ATOL)
        # Tensors stay on their device (backend=None follows them).
        tensors = registry.get(name, **options)(torch.as_tensor(a, device=device), torch.as_tensor(b, device=device))
        assert tensors == pytest.approx(ref, abs=F32_ATOL)
    if method_info(method).kernels in ("represent", "rdm"):
        # Batched: a stack of float32 layers against a float64 region, as alignment_map calls it.
        X32 = X.astype(np.float32)
        X32b = X32[:, [5, 4, 3, 2, 1, 0]]
        reps = [method.represent(X32), method.represent(X32b)]
        scores = np.asarray(method.compare_represented(reps, method.represent(Y)))[:, 0]
        np.testing.assert_allclose(scores, [method(X32, Y), method(X32b, Y)], atol=1e-10)


@pytest.mark.parametrize("name, options", METHODS, ids=IDS)
def test_call_refuses_different_stimulus_counts(rng, name, options):
    # Plain arrays used to reach the kernels unchecked (a raw numpy matmul error).
    method = registry.get(name, **options)
    with pytest.raises(ValueError, match=r"has 10 stimuli and \w+ has 11; rows must be the same stimuli"):
        method(rng.normal(size=(10, 4)), rng.normal(size=(11, 4)))
    with pytest.raises(ValueError, match=r"has 11 stimuli and \w+ has 10"):
        method(rng.normal(size=(11, 4)), rng.normal(size=(10, 4)))


def test_call_matches_labelled_inputs_by_stimulus_id(rng, XY):
    X, Y = XY
    order = rng.permutation(20)
    a = data.activations({"l": X}, stimulus_id=np.arange(20))
    r = data.recording(Y[order], stimulus_id=order, subject="S1", region="V1")
    for name, options in METHODS[:-1]:
        method = registry.get(name, **options)
        assert method(a, r) == pytest.approx(method(X, Y), abs=1e-12)


def test_stack_pair_promotes_to_one_precision():
    be = get_backend("numpy")
    a32, b64 = np.ones((2, 3), np.float32), np.ones(3)
    SA, SB = _arrays.stack_pair(be, a32, b64, 1)
    assert SA.dtype == SB.dtype == np.float64 and SA.shape == (2, 3) and SB.shape == (1, 3)
    SA, SB = _arrays.stack_pair(be, [a32[0], a32[1]], a32, 1)
    assert SA.dtype == SB.dtype == np.float32
    assert _arrays.promoted_dtype(a32, b64) == "float64" and _arrays.promoted_dtype(a32) == "float32"
    assert [x.dtype for x in _arrays.common_dtype(be, a32, b64)] == [np.float64, np.float64]


@pytest.mark.parametrize("backend", ["numpy", *TORCH_BACKENDS])
def test_shared_kernels(rng, backend):
    if backend != "numpy":
        pytest.importorskip("torch")
    be = get_backend(backend)
    A, B = rng.normal(size=(7, 4)), rng.normal(size=(5, 4))
    np.testing.assert_allclose(
        be.to_numpy(_arrays.squared_distances(be, be.asarray(A), be.asarray(B))), cdist(A, B, "sqeuclidean"), atol=1e-12
    )
    D = be.to_numpy(_arrays.squared_distances(be, be.asarray(A)))
    np.testing.assert_allclose(D, cdist(A, A, "sqeuclidean"), atol=1e-12)
    assert (D >= 0).all()
    # A stack of sets: (k, n, p) with (k, m, p) → (k, n, m).
    S = be.to_numpy(_arrays.squared_distances(be, be.asarray(np.stack([A, A])), be.asarray(np.stack([B, 2 * B]))))
    np.testing.assert_allclose(S[1], cdist(A, 2 * B, "sqeuclidean"), atol=1e-12)
    U = be.to_numpy(_arrays.unit_rows(be, be.asarray(A), "row {row}"))
    np.testing.assert_allclose(U, A / np.linalg.norm(A, axis=1, keepdims=True), atol=1e-15)
    with pytest.raises(ValueError, match=r"^row 2$"):
        _arrays.unit_rows(be, be.asarray(np.vstack([A[:2], np.zeros(4), A])), "row {row}")


def test_match_ids():
    assert _base.match_ids(np.array([1, 2, 3]), np.array([1, 2, 3]), 3, 3) is None
    assert _base.match_ids(None, np.array([3, 1, 2]), 3, 3) is None  # a plain side: by position
    np.testing.assert_array_equal(_base.match_ids(np.array([1, 2, 3]), np.array([3, 1, 2]), 3, 3), [1, 2, 0])
    with pytest.raises(ValueError, match="a has 3 stimuli and b has 4"):
        _base.match_ids(None, None, 3, 4, ("a", "b"))
    with pytest.raises(ValueError, match="different stimuli"):
        _base.match_ids(np.array([1, 2, 3]), np.array([1, 2, 4]), 3, 3)


def test_min_stimuli_is_derived_not_stored():
    method = registry.get("cka", debiased=True)
    assert method._min_stimuli == 4
    method.debiased = False
    assert method._min_stimuli == 3
    assert "_min_stimuli" not in vars(method)
    for name in ("rsa", "trsa", "mutual_knn", "anc", "shape"):
        method = registry.get(name)
        method._check()
        assert method._min_stimuli == 3 and "_min_stimuli" not in vars(method)


def test_score_groups_puts_each_input_on_the_backend_once(rng, monkeypatch):
    acts = data.activations({f"l{i}": rng.normal(size=(15, 3)) for i in range(4)}, stimulus_id=np.arange(15))
    rec = data.recording(
        rng.normal(size=(15, 6)), stimulus_id=rng.permutation(15), subject="S1", region=["A"] * 3 + ["B"] * 3
    )
    calls = []
    original = _base.to_backend

    def counting(be, x, dtype=None):
        calls.append(x.shape)
        return original(be, x, dtype)

    monkeypatch.setattr(_base, "to_backend", counting)
    scores = _base.score_groups(registry.get("cka"), acts, rec)
    assert scores.dims == ("layer", "region")
    assert calls == [(15, 12), (15, 6)]  # the whole inputs, once each; groups are column slices
    monkeypatch.undo()
    np.testing.assert_allclose(scores.values, _base.score_groups(registry.get("cka"), acts, rec).values)


def test_trsa_is_rsa_with_a_transform(rng):
    from brainalign.metrics import trsa

    X = rng.normal(size=(12, 5))
    method = trsa.TRSA(lower=0.2, upper=0.7)
    assert isinstance(method, rsa.RSA)
    np.testing.assert_allclose(
        method.rdm_matrix(X), trsa.geotopological(rsa.rdm(X), lower=0.2, upper=0.7).values, atol=1e-12
    )
    assert method.get_params() == {
        "lower": 0.2,
        "upper": 0.7,
        "geodesic": False,
        "thresholds": "quantile",
        "metric": "correlation",
        "compare": "spearman",
    }


# ------------------------------------------------------------------ mutual k-NN from neighbour lists
def _knn_by_definition(Z, k):
    """Each stimulus's k nearest (Euclidean) neighbours, ties broken by stimulus order."""
    D = cdist(Z, Z, "sqeuclidean")
    return [set(sorted((j for j in range(len(Z)) if j != i), key=lambda j: (D[i, j], j))[:k]) for i in range(len(Z))]


@pytest.mark.parametrize("k", [1, 3, 8])
def test_mutual_knn_neighbour_lists_with_ties(rng, k):
    # Small integers: exact ties everywhere, which the definition breaks by stimulus order.
    X = rng.integers(0, 3, size=(25, 2)).astype(float)
    Y = rng.integers(0, 3, size=(25, 3)).astype(float)
    method = knn.MutualKNN(k=k, metric="euclidean")
    rep = method.represent(X)
    assert rep.shape == (25, k) and np.issubdtype(rep.dtype, np.integer)
    sets_x, sets_y = _knn_by_definition(X, k), _knn_by_definition(Y, k)
    assert [set(row) for row in rep.tolist()] == sets_x
    # The same count over the same denominator as the n × n masks it replaced: identical scores.
    assert method(X, Y) == sum(len(a & b) for a, b in zip(sets_x, sets_y, strict=True)) / (25 * k)
    # Batched: every pair of a stack of neighbour lists.
    reps = np.stack([rep, method.represent(Y), method.represent(X[::-1])])
    pairs = method.compare_represented(reps, reps[:2])
    for i in range(3):
        for j in range(2):
            shared = sum(len(set(a) & set(b)) for a, b in zip(reps[i].tolist(), reps[j].tolist(), strict=True))
            assert pairs[i, j] == shared / (25 * k)


# ---------------------------------------------------------------------- stochastic shape, pairwise
def test_stochastic_pairwise_reduces_each_item_once(rng, monkeypatch):
    items = [rng.normal(size=(4, 12, 3)) for _ in range(4)]
    expected = [[shape.stochastic_distance(a, b) for b in items] for a in items]
    calls = []
    from brainalign.metrics import _stochastic

    original = _stochastic.reduce_trials
    monkeypatch.setattr(_stochastic, "reduce_trials", lambda be, T: calls.append(1) or original(be, T))
    D = shape.pairwise(items, method="gaussian")
    assert len(calls) == 4  # once per item, not once per pair and side (12)
    np.testing.assert_allclose(D.values, np.where(np.eye(4, dtype=bool), 0.0, expected), atol=1e-12)


def test_stochastic_pairwise_matches_labelled_items_by_stimulus(rng):
    from brainalign import data as bdata

    trials = rng.normal(size=(10, 4, 5))  # presentation × neuroid × repetition
    order = rng.permutation(10)
    a = bdata.recording(trials, stimulus_id=np.arange(10), subject="S1", region="A")
    b = bdata.recording(trials[order] + 0.1, stimulus_id=order, subject="S1", region="A")
    D = shape.pairwise([a, b], method="energy")
    assert float(D[0, 1]) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match=r"list_of_X\[0\] has 10 stimuli and list_of_X\[1\] has 9"):
        shape.pairwise([rng.normal(size=(2, 10, 3)), rng.normal(size=(2, 9, 3))], method="energy")


@pytest.mark.parametrize("method", ["angular", "gaussian"])
def test_pairwise_matches_labelled_items_after_a_plain_one(rng, method):
    # Labelled items are matched on stimulus_id even when a plain array (matched by row) comes first.
    from brainalign import data as bdata

    X = rng.normal(size=(10, 3))
    Q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    order = rng.permutation(10)
    a = bdata.activations({"l": X}, stimulus_id=np.arange(10))
    b = bdata.activations({"l": (X @ Q)[order]}, stimulus_id=order)
    D = shape.pairwise([rng.normal(size=(10, 3)), a, b], method=method)
    assert float(D[1, 2]) == pytest.approx(0.0, abs=1e-6) and float(D[0, 1]) > 0.1
