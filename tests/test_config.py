"""params.yaml is validated against workflow/schemas/params.schema.yaml, naming the bad key."""

import copy

import pytest
import yaml

from avdf.config import REPO_ROOT, ParamsError, load_params, validate_params


def test_shipped_params_are_valid():
    load_params(REPO_ROOT / "params.yaml")


def test_unknown_key_is_named(params):
    bad = copy.deepcopy(params)
    bad["train"]["epochz"] = 3
    with pytest.raises(ParamsError, match=r"key 'train\.epochz'"):
        validate_params(bad)


def test_wrong_type_is_named(params):
    bad = copy.deepcopy(params)
    bad["train"]["epochs"] = "many"
    with pytest.raises(ParamsError, match=r"key 'train\.epochs'.*not of type 'integer'"):
        validate_params(bad)


def test_unknown_method_is_named(params):
    bad = copy.deepcopy(params)
    bad["train"]["methods"] = ["audio_only", "magic"]
    with pytest.raises(ParamsError, match=r"key 'train\.methods\.1'"):
        validate_params(bad)


def test_the_paper_profile_is_valid_and_switches_the_datasets():
    from snakemake.utils import update_config

    from avdf import studies

    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    update_config(params, yaml.safe_load((REPO_ROOT / "workflow/profiles/paper/params.yaml").read_text()))
    validate_params(params, source="paper profile")
    assert studies.dataset_named(params, "FakeAVCeleb") == "fakeavceleb"
    assert studies.dataset_named(params, "DFDC") == "dfdc"  # the real one, not the synthetic stand-in
    assert studies.dataset_named(params, "LAV-DF") == "lavdf"
    assert not any(
        spec.get("enabled", True) for name, spec in params["datasets"].items() if name.startswith("synth")
    )
    assert params["input"]["frames"] == 16 and params["faces"]["crop_size"] == 224
