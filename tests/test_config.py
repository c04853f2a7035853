import pytest
import yaml

from brainalign.config import ConfigError, load_config, schema_reference, validate_config


def _cfg(**overrides):
    cfg = {
        "models": [{"name": "m", "type": "activations", "path": "acts.nc"}],
        "datasets": [{"name": "d", "stimuli": {"type": "text", "path": "s.txt"}, "recording": "rec.nc"}],
        "methods": ["rsa"],
    }
    cfg.update(overrides)
    return cfg


def test_defaults_and_paths(tmp_path):
    cfg = validate_config(_cfg(), base=tmp_path)
    assert cfg["output"] == str(tmp_path / "results")
    assert cfg["methods"] == [
        {"name": "rsa", "label": "rsa", "options": {}, "cv": 5, "delays": None, "hrf_model": None}
    ]
    assert cfg["statistics"] == {"ceiling": True, "n_boot": 0, "n_perm": 0, "random_state": 0}
    assert cfg["datasets"][0]["recording"] == str(tmp_path / "rec.nc")
    assert cfg["models"][0]["batch_size"] == 32


@pytest.mark.parametrize(
    "change, message",
    [
        ({"modls": []}, r"modls: unknown key\. Did you mean 'models'\?"),
        (
            {"models": [{"name": "m", "type": "activations", "path": "a.nc", "layer": ["x"]}]},
            r"models\[0\]\.layer: unknown key\. Did you mean 'layers'\?",
        ),
        (
            {"models": [{"name": "m", "type": "activations", "path": "a.nc", "layers": "x"}]},
            r"models\[0\]\.layers: expected a list of strings, got str",
        ),
        ({"models": [{"name": "m", "type": "keras"}]}, r"models\[0\]\.type: 'keras' is not one of"),
        ({"models": [{"name": "m", "type": "torch"}]}, r"models\[0\]\.factory: required"),
        ({"models": [{"name": "m", "type": "huggingface"}]}, r"exactly one of path / path_from"),
        ({"models": [{"name": "a b", "type": "activations", "path": "a.nc"}]}, r"models\[0\]\.name: 'a b' must start"),
        ({"methods": ["rsa", "rsa"]}, r"methods\[1\]\.label: 'rsa' is used twice"),
        ({"methods": ["rsaa"]}, r"methods\[0\]\.name: 'rsaa' is not a registered method\. Registered: .*rsa"),
        ({"methods": [{"name": "rsa", "options": []}]}, r"methods\[0\]\.options: expected a mapping, got list"),
        ({"methods": []}, r"methods: the list is empty"),
        ({"statistics": {"n_perm": -1}}, r"statistics\.n_perm: must be 0 or more"),
        ({"statistics": {"n_boot": True}}, r"statistics\.n_boot: expected an integer, got bool"),
        ({"datasets": [{"name": "d", "stimuli": {"type": "text", "path": "s.txt"}}]}, r"exactly one of recording"),
        (
            {
                "datasets": [
                    {
                        "name": "d",
                        "stimuli": {"type": "text", "path": "s.txt"},
                        "simulate": {"model": "z", "regions": {}},
                    }
                ]
            },
            r"simulate\.model: 'z' is not one of the models",
        ),
    ],
)
def test_errors_name_the_key(change, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        validate_config(_cfg(**change), base=tmp_path)


def test_load_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("models: [\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    (tmp_path / "empty.yaml").write_text("")
    with pytest.raises(ConfigError, match="empty"):
        load_config(tmp_path / "empty.yaml")
    good = tmp_path / "good.yaml"
    good.write_text(yaml.safe_dump(_cfg()))
    assert load_config(good)["models"][0]["path"] == str(tmp_path / "acts.nc")


def test_plugin_by_import_path(tmp_path):
    cfg = validate_config(_cfg(methods=["brainalign.metrics.rsa:RSA"]), base=tmp_path)
    assert cfg["methods"][0]["label"] == "RSA"
    with pytest.raises(ConfigError, match="cannot import"):
        validate_config(_cfg(methods=["brainalign.metrics.rsa:Nope"]), base=tmp_path)


def test_schema_reference_lists_every_key():
    text = schema_reference()
    for key in ("`models[].layers`", "`datasets[].simulate.snr`", "`statistics.n_perm`", "`methods[].options`"):
        assert key in text
