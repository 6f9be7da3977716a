"""params.yaml is validated against workflow/schemas/params.schema.yaml, naming the bad key."""

import copy

import pytest
import yaml

from avdf.contracts.config import REPO_ROOT, ParamsError, load_params, validate_params


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

    from avdf.reporting import studies

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


@pytest.mark.parametrize(
    "profile", sorted(p.parent.name for p in (REPO_ROOT / "workflow/profiles").glob("*/config.yaml"))
)
def test_profiles_merge_as_snakemake_merges_them(profile):
    """avdf's own merge (for places without Snakemake: scoring, the GPU check) gives what Snakemake's
    update_config gives, on every profile's config files."""
    import copy

    from snakemake.utils import update_config

    from avdf.contracts.config import merge

    config = yaml.safe_load((REPO_ROOT / "workflow/profiles" / profile / "config.yaml").read_text())
    files = config.get("configfile", [])
    theirs = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    ours = copy.deepcopy(theirs)
    for path in [files] if isinstance(files, str) else files:
        over = yaml.safe_load((REPO_ROOT / path).read_text())
        update_config(theirs, over)
        merge(ours, over)
    assert ours == theirs


def test_merge_replaces_a_value_by_a_section_and_a_section_by_a_value():
    from avdf.contracts.config import merge

    base = {"a": {"b": 1, "c": 2}, "d": 3, "e": {"f": 4}}
    assert merge(base, {"a": {"b": 5}, "d": {"g": 6}, "e": 7}) == {
        "a": {"b": 5, "c": 2},
        "d": {"g": 6},
        "e": 7,
    }


def test_table1_is_on_the_seeds_of_record_whichever_profile_builds_it():
    """results/table1.csv means one thing (issue 31): make run (params.yaml) and make all (profile
    full, through dvc repro) train Table 1 on the same seeds of record, 0-2, with the same specs; the
    quick table (make quick) is Table 1 on train.quick_seeds, a subset, so it trains nothing new;
    every other study runs on train.study_seeds."""
    from avdf.contracts.config import profile_params
    from avdf.contracts.specs import to_json
    from avdf.reporting import studies

    run, full = profile_params(), profile_params("full")
    assert {e.seed for e in studies.evals(run, "table1")} == {e.seed for e in studies.evals(full, "table1")}
    assert {e.seed for e in studies.evals(full, "table1")} == {0, 1, 2}
    assert {e.seed for e in studies.evals(run, "table1_quick")} == {0}
    assert studies.runs_of(run, "table1_quick") <= studies.runs_of(run, "table1")
    assert studies.table_spec(run, "table1_quick") == studies.table_spec(run, "table1")
    for target in ("table2", "fig5", "fig67", "contrastive", "frame_level"):
        assert {e.seed for e in studies.evals(full, target)} == set(full["train"]["study_seeds"])
    specs_full = {run: to_json(spec) for run, spec in studies.train_specs(full).items()}
    assert specs_full == {r: to_json(spec) for r, spec in studies.train_specs(run).items()}
    without = copy.deepcopy(full)
    del without["train"]["study_seeds"]
    assert {e.seed for e in studies.evals(without, "table2")} == {0, 1, 2}
