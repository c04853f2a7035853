"""Methods by name: built-ins, register(), import paths, and the brainalign.methods entry points."""

import numpy as np
import pytest

from brainalign import alignment_map, data, registry, simulate
from brainalign.config import validate_config

PLUGIN = '''
import numpy as np
from brainalign.methods import MethodInfo

class MeanPatternCorrelation:
    """A toy similarity: correlation of the mean response of each stimulus."""
    def __init__(self, absolute=False):
        self.absolute = absolute
    def __brainalign_info__(self):
        return MethodInfo(family="similarity", kernels="call", score="correlation of the mean responses")
    def get_params(self):
        return {"absolute": self.absolute}
    def __call__(self, X, Y):
        r = float(np.corrcoef(np.asarray(X).mean(1), np.asarray(Y).mean(1))[0, 1])
        return abs(r) if self.absolute else r
'''


@pytest.fixture
def plugin_package(tmp_path, monkeypatch):
    """An installed distribution that declares a method in the brainalign.methods group."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "toy_plugin.py").write_text(PLUGIN)
    dist = site / "toy_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[brainalign.methods]\nmean_corr = toy_plugin:MeanPatternCorrelation\n")
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setattr(registry, "_ENTRY_POINTS_LOADED", False)
    monkeypatch.setattr(registry, "_REGISTRY", dict(registry._BUILTIN))
    return site


def _pair():
    rng = np.random.default_rng(0)
    acts = data.activations({"a": rng.normal(size=(30, 6)), "b": rng.normal(size=(30, 6))}, stimulus_id=np.arange(30))
    return acts, simulate.linear_recording(acts, {"V1": "b"}, n_neuroids=10, random_state=0)


def test_entry_point_plugin_works_like_a_builtin(plugin_package, tmp_path):
    assert "mean_corr" in registry.list_methods()
    method = registry.get("mean_corr", absolute=True)
    assert method.get_params() == {"absolute": True}
    acts, rec = _pair()
    amap = alignment_map(acts, rec, "mean_corr", method_options={"absolute": True})
    assert amap.attrs["method"] == "mean_corr" and amap.attrs["method_params"] == {"absolute": True}
    assert np.isfinite(amap["score"].values).all()
    cfg = validate_config(
        {
            "models": [{"name": "m", "type": "activations", "path": "a.nc"}],
            "datasets": [{"name": "d", "stimuli": {"type": "text", "path": "s.txt"}, "recording": "r.nc"}],
            "methods": ["mean_corr"],
        },
        base=tmp_path,
    )
    assert cfg["methods"][0]["name"] == "mean_corr"


def test_import_path_plugin(plugin_package):
    acts, rec = _pair()
    amap = alignment_map(acts, rec, registry.get("toy_plugin:MeanPatternCorrelation"))
    assert amap["score"].sizes == {"layer": 2, "region": 1}
    with pytest.raises(ValueError, match="Cannot import the method"):
        registry.get("toy_plugin:Missing")
