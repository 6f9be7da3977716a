"""params.yaml is validated against workflow/schemas/params.schema.yaml, naming the bad key."""

import copy

import pytest

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
