"""BandedRidgeEncoder: planted band shares, agreement with himalaya, labelled inputs, bad input."""

import warnings

import numpy as np
import pytest

from brainalign import data, registry
from brainalign.encoders import BandedRidgeEncoder, r2_split, time_folds

pytestmark = pytest.mark.usefixtures("one_thread")

pytest.importorskip("himalaya")
pytest.importorskip("sklearn")


def _bands(n, t, seed=0, noise=0.4):
    """Three bands; targets mix bands a and b with planted variance shares, band c is unused."""
    rng = np.random.default_rng(seed)
    Xs = {name: rng.normal(size=(n, p)) for name, p in (("a", 15), ("b", 25), ("c", 10))}
    share = np.linspace(0.2, 0.8, t)
    S = [Xs[b] @ rng.normal(size=(Xs[b].shape[1], t)) for b in "ab"]
    S = [s / s.std(0) for s in S]
    Y = S[0] * np.sqrt(share) + S[1] * np.sqrt(1 - share) + noise * rng.normal(size=(n, t))
    return Xs, Y, np.stack([share, 1 - share, np.zeros(t)])


def test_recovers_planted_band_shares():
    Xs, Y, planted = _bands(2400, 6)
    train = {k: v[:1400] for k, v in Xs.items()}
    test = {k: v[1400:] for k, v in Xs.items()}
    enc = BandedRidgeEncoder(alphas=np.logspace(-1, 4, 6), n_iter=10, random_state=0, backend="numpy")
    enc.fit(train, Y[:1400])
    assert enc.band_names_ == ["a", "b", "c"] and enc.solver_ == "himalaya_GroupRidgeCV"
    split = enc.score(test, Y[1400:], split=True)
    np.testing.assert_allclose(split.sum(0), enc.score(test, Y[1400:]), atol=0.01)  # the parts add up
    share = split / split.sum(0)
    assert np.abs(share - planted).max() < 0.05
    # The unused band is shrunk: its penalty is far larger than the used bands'.
    assert np.all(enc.band_alphas_[2] > 10 * enc.band_alphas_[:2].max(0))


@pytest.mark.parametrize("solver", ["primal", "kernel"])
def test_matches_himalaya(solver):
    from himalaya.kernel_ridge import MultipleKernelRidgeCV
    from himalaya.ridge import GroupRidgeCV

    Xs, Y, _ = _bands(90, 4, noise=1.0)
    blocks = list(Xs.values())
    folds = time_folds(90, 5)
    params = {"n_iter": 6, "alphas": np.logspace(-1, 4, 6), "progress_bar": False}
    enc = BandedRidgeEncoder(alphas=params["alphas"], n_iter=6, solver=solver, random_state=3, backend="numpy")
    enc.fit(blocks, Y)
    X_new = [b[:20] * 1.5 for b in blocks]
    if solver == "primal":
        ref = GroupRidgeCV(groups="input", solver_params=params, fit_intercept=True, cv=folds, random_state=3)
        pred = ref.fit(blocks, Y).predict(X_new)
    else:
        ref = MultipleKernelRidgeCV(
            kernels="precomputed", solver_params=params, fit_intercept=True, cv=folds, random_state=3
        )
        ref.fit(np.stack([b @ b.T for b in blocks]), Y)
        pred = ref.predict(np.stack([xn @ b.T for xn, b in zip(X_new, blocks, strict=True)]))
    np.testing.assert_allclose(enc.deltas_, ref.deltas_, rtol=1e-10)
    np.testing.assert_allclose(enc.cv_scores_, ref.cv_scores_, rtol=1e-10)
    np.testing.assert_allclose(enc.predict(X_new), pred, rtol=1e-8, atol=1e-10)


def test_split_matches_himalaya_r2_score_split(rng):
    from himalaya.scoring import r2_score_split

    Y = rng.normal(size=(50, 3))
    parts = rng.normal(size=(2, 50, 3)) * 0.3 + Y * 0.4
    Yc, pc = Y - Y.mean(0), parts - parts.mean(1, keepdims=True)
    np.testing.assert_allclose(r2_split(Y, parts), r2_score_split(Yc, pc), rtol=1e-12)
    # The parts add up to the R² of the centred joint prediction.
    joint = 1 - ((Yc - pc.sum(0)) ** 2).sum(0) / (Yc**2).sum(0)
    np.testing.assert_allclose(r2_split(Y, parts).sum(0), joint, rtol=1e-12)
    # A target without variance scores 0; float32 data far from zero gives no warning; inputs are untouched.
    Y[:, 1] = 5.0
    Y32, parts32 = (Y + 1e3).astype(np.float32), parts.astype(np.float32)
    before = parts32.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        split = r2_split(Y32, parts32)
    assert split.dtype == np.float32 and np.all(split[:, 1] == 0)
    np.testing.assert_array_equal(parts32, before)


def test_bands_from_layers_and_labels():
    Xs, Y, _ = _bands(120, 3)
    acts = data.activations(Xs, stimulus_id=np.arange(120))
    by_layer = BandedRidgeEncoder(n_iter=4, random_state=0, backend="numpy").fit(acts, Y)
    labels = np.asarray(acts["layer"].values)
    # Interleaved columns; bands are numbered by first appearance, so keep a, b, c first.
    rest = np.random.default_rng(1).permutation(np.setdiff1d(np.arange(labels.size), [0, 15, 40]))
    order = np.r_[0, 15, 40, rest]
    by_label = BandedRidgeEncoder(bands=labels[order], n_iter=4, random_state=0, backend="numpy")
    by_label.fit(acts.values[:, order], Y)
    assert by_layer.band_names_ == by_label.band_names_ == ["a", "b", "c"]
    np.testing.assert_allclose(by_label.coef_, by_layer.coef_[order], rtol=1e-10)
    parts = by_label.predict(acts.values[:, order], split=True)
    np.testing.assert_allclose(parts.sum(0) + by_label.intercept_, by_label.predict(acts.values[:, order]), rtol=1e-10)
    assert isinstance(registry.get("banded_ridge", n_iter=3), BandedRidgeEncoder)


def test_bad_input():
    Xs, Y, _ = _bands(60, 2)
    enc = BandedRidgeEncoder(n_iter=2, backend="numpy")
    with pytest.raises(ValueError, match="All bands need the same samples"):
        enc.fit([Xs["a"], Xs["b"][:50]], Y)
    with pytest.raises(ValueError, match="one band label per feature column"):
        BandedRidgeEncoder(bands=[0, 1]).fit(Xs["a"], Y)
    with pytest.raises(ValueError, match="X has 60 samples but Y has 59"):
        enc.fit(Xs, Y[:59])
    with pytest.raises(ValueError, match="constant target"):
        enc.fit(Xs, np.column_stack([Y, np.ones(60)]))
    with pytest.raises(ValueError, match="leaks time"):
        enc.fit(Xs, Y, groups=np.tile([0, 1], 30))
    with pytest.raises(ValueError, match="concentration must be positive"):
        BandedRidgeEncoder(concentration=-1.0, backend="numpy").fit(Xs, Y)
    fitted = enc.fit(Xs, Y)
    with pytest.raises(ValueError, match="not laid out as during fit"):
        fitted.predict([Xs["b"], Xs["a"], Xs["c"]])
