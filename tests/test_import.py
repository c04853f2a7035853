import subprocess
import sys

import pytest

import brainalign

HEAVY = ("torch", "mne", "nilearn", "nibabel", "transformers", "himalaya", "sklearn", "matplotlib", "dask")


@pytest.mark.parametrize(
    "statement",
    [
        "import brainalign",
        "import brainalign.data, brainalign.io.arrays, brainalign.registry; brainalign.registry.list_methods()",
        "import brainalign.io.fmri, brainalign.io.meg, brainalign.io.ieeg, brainalign.datasets.things_meg",
        "from brainalign.probes import frequency_tagging",
    ],
)
def test_import_is_light(statement):
    code = f"{statement}; import sys; print(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"{statement!r} imported {out.stdout.strip()}"


def test_lazy_attributes():
    assert callable(brainalign.alignment_map)
    assert brainalign.data.validate.__module__ == "brainalign.data._schema"
    assert brainalign.stats.p_value.__module__.startswith("brainalign.stats")
    with pytest.raises(AttributeError, match="no attribute"):
        brainalign.not_a_thing  # noqa: B018


def test_options_context_and_errors():
    with brainalign.set_options(progress=False):
        assert brainalign.get_options()["progress"] is False
    with pytest.raises(ValueError, match="Unknown option"):
        brainalign.set_options(colour=True)
    with pytest.raises(TypeError, match="progress must be a bool"):
        brainalign.set_options(progress="no")
    with pytest.raises(ValueError, match="log level"):
        brainalign.set_log_level("loud")
