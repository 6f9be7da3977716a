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


def test_make_run_trains_one_seed_and_make_all_reuses_it_among_three():
    """make run (params.yaml) trains Table 1 on seed 0; make all (profile full) on seeds 0-2 with
    every other study on train.study_seeds; the seed-0 runs are the same runs in both, so make all
    does not train them again."""
    from avdf import studies
    from avdf.config import profile_params
    from avdf.specs import to_json

    quick, full = profile_params(), profile_params("full")
    assert {e.seed for e in studies.evals(quick, "table1")} == {0}
    assert {e.seed for e in studies.evals(full, "table1")} == {0, 1, 2}
    for target in ("table2", "fig5", "fig67", "contrastive", "frame_level"):
        assert {e.seed for e in studies.evals(full, target)} == set(full["train"]["study_seeds"])
    specs_full = {run: to_json(spec) for run, spec in studies.train_specs(full).items()}
    assert all(specs_full[run] == to_json(spec) for run, spec in studies.train_specs(quick).items())
    without = copy.deepcopy(full)
    del without["train"]["study_seeds"]
    assert {e.seed for e in studies.evals(without, "table2")} == {0, 1, 2}
