import sys

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
    assert cfg["allow_code"] is False
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
    # Import paths are code: allowed by the caller (--allow-code) or by the config itself.
    cfg = validate_config(_cfg(methods=["brainalign.metrics.rsa:RSA"]), base=tmp_path, allow_code=True)
    assert cfg["methods"][0]["label"] == "RSA"
    assert validate_config(_cfg(methods=["brainalign.metrics.rsa:RSA"], allow_code=True), base=tmp_path)["allow_code"]
    with pytest.raises(ConfigError, match=r"methods\[0\]\.name: cannot import"):
        validate_config(_cfg(methods=["brainalign.metrics.rsa:Nope"]), base=tmp_path, allow_code=True)
    with pytest.raises(ConfigError, match=r"methods\[0\]\.name: .* is an import path; .*--allow-code"):
        validate_config(_cfg(methods=["brainalign.metrics.rsa:RSA"]), base=tmp_path)


def test_a_config_imports_and_calls_nothing_unless_allowed(tmp_path):
    sys.modules.pop("this", None)
    with pytest.raises(ConfigError, match=r"methods\[0\]\.name: 'this:s' is an import path"):
        validate_config(_cfg(methods=[{"name": "this:s"}]), base=tmp_path)
    assert "this" not in sys.modules  # refused before any import
    marker = tmp_path / "touched"
    torch_model = {
        "name": "m",
        "type": "torch",
        "factory": "subprocess:run",
        "factory_options": {"args": ["touch", str(marker)]},
        "layers": ["x"],
    }
    for key, extra in (("factory", {}), ("preprocess", {"preprocess": "os:system"})):
        model = dict(torch_model, **extra)
        if key == "preprocess":
            model["factory"] = None
            model["type"] = "activations"
            model["path"] = "acts.nc"
        with pytest.raises(ConfigError, match=rf"models\[0\]\.{key}: .* names code .*allow_code: true"):
            validate_config(_cfg(models=[model]), base=tmp_path)
    with pytest.raises(ConfigError, match=r"models\[0\]\.path_from: .* names code"):
        validate_config(_cfg(models=[{"name": "m", "type": "huggingface", "path_from": "os:getcwd"}]), base=tmp_path)
    assert not marker.exists()


def test_method_options_are_checked_when_the_config_is_read(tmp_path):
    with pytest.raises(ConfigError, match=r"methods\[0\]\.options: .*metrc"):
        validate_config(_cfg(methods=[{"name": "rsa", "options": {"metrc": "euclidean"}}]), base=tmp_path)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"statistics": {"n_perm": 100_000_000_000}}, r"statistics\.n_perm: 100000000000 is above the limit"),
        ({"statistics": {"n_boot": 10**9}}, r"statistics\.n_boot: 1000000000 is above the limit"),
        (
            {
                "datasets": [
                    {
                        "name": "d",
                        "stimuli": {"type": "text", "path": "s.txt"},
                        "simulate": {"model": "m", "regions": {"V1": "l0"}, "n_neuroids": 10**23},
                    }
                ]
            },
            r"datasets\[0\]\.simulate\.n_neuroids: 100000000000000000000000 is above the limit",
        ),
        ({"methods": [{"name": "ridge", "cv": 10**9}]}, r"methods\[0\]\.cv: 1000000000 is above the limit"),
    ],
)
def test_resource_sized_keys_are_bounded(change, message, tmp_path):
    with pytest.raises(ConfigError, match=message):
        validate_config(_cfg(**change), base=tmp_path)


def test_memory_estimate_names_the_key():
    from brainalign.config_limits import check_memory, estimate_cell_bytes

    est = estimate_cell_bytes(n_stimuli=1000, n_layers=10, n_cells=5, n_perm=10**6, n_boot=0)
    assert est["statistics.n_perm"] == 10**6 * (1000 + 50) * 8  # one order + one score per layer × cell
    with pytest.raises(ConfigError, match=r"statistics\.n_perm: cell c would need about 8\.4 GB"):
        check_memory(est, "cell c", memory=8 * 2**30)
    check_memory(est, "cell c", memory=64 * 2**30)  # fits


@pytest.mark.parametrize(
    "dataset, message",
    [
        ({"rdms": {"path": "it.npy"}}, r"datasets\[0\]\.rdms\.subject: required for 'it.npy'"),
        ({"rdms": {"path": "it.nc", "subject": "S1"}}, r"rdms\.subject: not accepted for \.nc files"),
        ({"rdms": {"path": "it.csv", "subject": "S1", "region": "IT"}}, r"rdms\.path: expected one of \.npy"),
        ({"recording": "r.nc", "rdms": {"path": "it.nc"}}, r"exactly one of .*got recording, rdms"),
        ({"recording": "r.nc", "searchlight": {"radius": 0}}, r"searchlight\.radius: must be above 0"),
        ({"recording": "r.nc", "searchlight": {}}, r"searchlight\.radius: required key"),
        ({"rdms": {"path": "it.nc"}, "searchlight": {"radius": 6}}, r"searchlight: needs a recording"),
    ],
)
def test_rdm_and_searchlight_datasets(dataset, message, tmp_path):
    ds = {"name": "d", "stimuli": {"type": "text", "path": "s.txt"}, **dataset}
    with pytest.raises(ConfigError, match=message):
        validate_config(_cfg(datasets=[ds]), base=tmp_path)
    ok = {
        "name": "d",
        "stimuli": {"type": "text", "path": "s.txt"},
        "rdms": {"path": "it.npy", "subject": 1, "region": "IT"},
    }
    assert validate_config(_cfg(datasets=[ok]), base=tmp_path)["datasets"][0]["rdms"]["path"] == str(
        tmp_path / "it.npy"
    )


def test_schema_reference_lists_every_key():
    text = schema_reference()
    for key in ("`models[].layers`", "`datasets[].simulate.snr`", "`statistics.n_perm`", "`methods[].options`"):
        assert key in text
