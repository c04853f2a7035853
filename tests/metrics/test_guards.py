"""Metrics never give silent wrong answers: magnitudes, complex input, constant representations."""

from __future__ import annotations

import numpy as np
import pytest

from brainalign import methods, registry
from brainalign.metrics import cka, knn, neuronwise, rsa, shape, trsa

G = np.random.default_rng(0)
X = G.standard_normal((20, 8))
Y = G.standard_normal((20, 5))

SCALE_FREE = {
    "cka": lambda a, b: cka.cka(a, b),
    "cka_rbf": lambda a, b: cka.cka(a, b, kernel="rbf"),
    "cka_debiased": lambda a, b: cka.cka(a, b, debiased=True),
    "rsa": lambda a, b: rsa.RSA()(a, b),
    "rsa_euclidean_pearson": lambda a, b: rsa.RSA(metric="euclidean", compare="pearson")(a, b),
    "trsa": lambda a, b: trsa.TRSA()(a, b),
    "knn": lambda a, b: knn.mutual_knn(a, b, k=3),
    "anc": lambda a, b: neuronwise.anc(a[:, :5], b),
    "best_match": lambda a, b: neuronwise.best_match(a, b),
    "shape": lambda a, b: shape.distance(a, b),
}


@pytest.mark.parametrize("name", sorted(SCALE_FREE))
@pytest.mark.parametrize("scale", [1e300, 1e154, 1e100, 1e-160, 1e-300])
def test_scale_invariant_metrics_do_not_depend_on_the_units(name, scale):
    # cka(X * 1e154, Y) was NaN and cka(X * 1e100, Y) was 0.0 (true 0.2909): products overflowed.
    fn = SCALE_FREE[name]
    expected = fn(X, Y)
    assert np.isfinite(expected)
    assert fn(X * scale, Y) == pytest.approx(expected, rel=1e-12, abs=1e-12)
    assert fn(X, Y * scale) == pytest.approx(expected, rel=1e-12, abs=1e-12)


def test_euclidean_rdm_is_scaled_back_or_refused():
    D = rsa.rdm(X, "euclidean").values
    np.testing.assert_allclose(rsa.rdm(X * 1e300, "euclidean").values, D * 1e300, rtol=1e-13)
    np.testing.assert_allclose(rsa.rdm(X * 1e-300, "euclidean").values, D * 1e-300, rtol=1e-13)
    with pytest.raises(ValueError, match=r"X: its sqeuclidean distances overflow"):
        rsa.rdm(X * 1e300, "sqeuclidean")
    with pytest.raises(ValueError, match=r"X: its sqeuclidean distances underflow"):
        rsa.rdm(X * 1e-300, "sqeuclidean")


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: shape.distance(a, b, alpha=0.5),
        lambda a, b: shape.distance(a, b, method="euclidean"),
        lambda a, b: trsa.TRSA(metric="euclidean", thresholds="absolute", lower=0.1, upper=5.0)(a, b),
    ],
)
def test_scale_dependent_metrics_refuse_overflowing_magnitudes(fn):
    assert np.isfinite(fn(X, Y))
    with pytest.raises(ValueError, match=r"X has values of magnitude up to .* not scale-invariant.*overflow"):
        fn(X * 1e300, Y)
    with pytest.raises(ValueError, match=r"Y has values of magnitude up to .*underflow"):
        fn(X, Y * 1e-300)


@pytest.mark.parametrize("name", sorted(SCALE_FREE))
def test_complex_input_is_refused(name):
    with pytest.raises(TypeError, match="X must hold real numbers: Complex data not supported"):
        SCALE_FREE[name](X + 1j, Y)
    with pytest.raises(TypeError, match="Y must hold real numbers: Complex data not supported"):
        SCALE_FREE[name](X, Y.astype(complex))


def test_complex_rdm_input_is_refused():
    with pytest.raises(TypeError, match="X must hold real numbers"):
        rsa.rdm(X + 1j)


@pytest.mark.parametrize("name", sorted(SCALE_FREE))
@pytest.mark.parametrize("value", [0.0, 3.0])
def test_constant_representations_are_refused_with_one_message(name, value):
    # mutual_knn(np.ones(...), Y) was 0.15; every metric now refuses the same way.
    with pytest.raises(ValueError, match=r"^X has no variance across stimuli \(every feature is constant\)"):
        SCALE_FREE[name](np.full((20, 8), value), Y)
    with pytest.raises(ValueError, match=r"^Y has no variance across stimuli"):
        SCALE_FREE[name](X, np.full((20, 5), value))


def test_every_registered_similarity_declares_scale_invariance():
    declared = {n: methods.method_info(registry.get(n)).scale_invariant for n in registry.list_methods()}
    assert declared["cka"] and declared["rsa"] and declared["mutual_knn"] and declared["shape"]
    assert not declared["stochastic_shape"] and not declared["ridge"]
    assert not methods.method_info(trsa.TRSA(metric="euclidean", thresholds="absolute")).scale_invariant
