"""The encoders follow the scikit-learn estimator contract."""

import pickle

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("one_thread")

pytest.importorskip("sklearn")
pytest.importorskip("himalaya")

from sklearn.base import clone  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from brainalign.encoders import AttentionReadout, BandedRidgeEncoder, RidgeEncoder  # noqa: E402


@parametrize_with_checks([RidgeEncoder(backend="numpy"), BandedRidgeEncoder(n_iter=5, random_state=0, backend="numpy")])
def test_scikit_learn_checks(estimator, check):
    check(estimator)


def test_attention_readout_estimator_contract():
    # The full scikit-learn suite feeds 2-D features, which an attention readout refuses by
    # design (it needs tokens); the parts of the contract that apply are checked here.
    pytest.importorskip("torch")
    est = AttentionReadout(n_queries=2, key_dim=8, max_epochs=3, backend="torch", random_state=1)
    assert clone(est).get_params() == est.get_params()
    assert est.set_params(lr=0.05) is est and est.lr == 0.05
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(40, 3, 4)), rng.normal(size=(40, 2))
    assert est.fit(X, Y) is est
    assert not hasattr(clone(est), "net_")
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.predict(X), est.predict(X))
    with pytest.raises(ValueError, match=r"shape \(presentation, token, unit\)"):
        clone(est).fit(X[:, 0], Y)
