"""One contract per stage: a job reruns exactly when the spec it reads or the code it imports changes.

The rerun tests dry-run the finished tiny workflow (conftest: ``workflow``) with one change and read
which jobs Snakemake plans; the code-edit tests do so from a copy of the workflow and the package
with one module edited.
"""

from __future__ import annotations

import ast
import copy
import inspect
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import REPO, snakemake, tiny_params

from avdf.contracts import fingerprints, numerics, specs
from avdf.media.faces import FaceTracker
from avdf.reporting import studies

PREPROCESS = {
    "synth",
    "ingest",
    "demux_shard",
    "demux",
    "faces_shard",
    "faces",
    "face_crops_shard",
    "face_crops",
}
PREPROCESS |= {"log_mel_shard", "log_mel"}
# the report's jobs: tables, figures, and the error analysis drawn from Table 1 (it rereads it)
TABLES = {"table", "fig5_depth", "fig67_om_pareto", "fig4_latent", "metrics_json", "rejects", "errors"}


def planned(
    workdir: Path, params: dict | None = None, snakefile: Path | None = None
) -> list[tuple[str, dict]]:
    """The jobs ``snakemake -n all`` plans in ``workdir``: (rule, wildcards) each."""
    args = ["-n", "all", "results/metrics.json"]
    if params is not None:
        (workdir / "changed.yaml").write_text(yaml.safe_dump(params))
        args += ["--configfile", str(workdir / "changed.yaml")]
    if snakefile is not None:
        args += ["-s", str(snakefile)]
    run = snakemake(workdir, *args)
    assert run.returncode == 0, run.stderr[-3000:]
    jobs, rule = [], None
    for line in (run.stdout + run.stderr).splitlines():
        if m := re.match(r"^(?:local)?rule (\w+):$", line):
            rule = m.group(1)
            if rule != "all":  # the target rule itself, not a job that computes anything
                jobs.append((rule, {}))
        elif rule not in (None, "all") and (m := re.match(r"^\s+wildcards: (.*)$", line)):
            jobs[-1] = (rule, dict(kv.split("=", 1) for kv in m.group(1).split(", ")))
    return jobs


def rules_of(jobs) -> set[str]:
    return {rule for rule, _ in jobs}


@pytest.mark.slow
def test_the_finished_workflow_plans_nothing(workflow):
    assert planned(workflow) == []


@pytest.mark.slow
def test_adding_a_seed_plans_only_that_seed_and_the_tables(workflow):
    params = tiny_params()
    params["train"]["seeds"] = [0, 1, 2]
    jobs = planned(workflow, params)
    new_runs = set(studies.runs(params)) - set(studies.runs(tiny_params()))
    trained = [w for rule, w in jobs if rule == "train"]
    assert {(w["dataset"], w["method"], w["variant"], int(w["seed"])) for w in trained} == new_runs
    assert all(w["seed"] == "2" for rule, w in jobs if rule in ("train", "evaluate"))
    assert rules_of(jobs) <= {"train", "evaluate"} | TABLES and not rules_of(jobs) & PREPROCESS


@pytest.mark.slow
def test_adding_a_method_plans_only_that_method_and_the_tables(workflow):
    params = tiny_params()
    params["train"]["methods"] = [*params["train"]["methods"], "visual_only"]
    jobs = planned(workflow, params)
    new_runs = set(studies.runs(params)) - set(studies.runs(tiny_params()))
    trained = [w for rule, w in jobs if rule == "train"]
    assert {(w["dataset"], w["method"], w["variant"], int(w["seed"])) for w in trained} == new_runs
    assert len(new_runs) == 2 * 2  # Table 1's two stand-ins in the tiny configuration, two seeds
    assert {w["method"] for rule, w in jobs if rule in ("train", "evaluate")} == {"visual_only"}
    assert not rules_of(jobs) & PREPROCESS


@pytest.mark.slow
def test_a_face_setting_reruns_face_tracks_and_what_follows_only(workflow):
    params = tiny_params()
    params["faces"]["keyframe_interval"] = 5
    done = rules_of(planned(workflow, params))
    assert {"faces_shard", "faces", "face_crops_shard", "face_crops", "train", "table"} <= done
    assert not done & {"synth", "ingest", "demux_shard", "demux", "log_mel_shard", "log_mel"}


@pytest.mark.slow
def test_settings_that_cannot_change_a_result_rerun_nothing(workflow):
    params = tiny_params()
    params["train"].update(threads=2, processes=1, loader_workers=2)
    params["mlflow"].update(
        tracking_uri=f"sqlite:///{workflow}/elsewhere.db", experiment="other", register_best=[]
    )
    params["resources"]["train"]["mem_mb"] = 64000
    assert planned(workflow, params) == []


@pytest.mark.slow
def test_pinning_the_instruction_sets_reruns_what_computes_with_pytorch(workflow):
    params = tiny_params()
    params["numerics"]["cpu_isa"] = "baseline"
    done = rules_of(planned(workflow, params))
    assert {"faces_shard", "log_mel_shard", "train", "table"} <= done
    assert not done & {"synth", "ingest", "demux_shard", "demux"}


@pytest.mark.slow
def test_the_baseline_instruction_sets_reach_a_job():
    """What the rules put before a job's command makes PyTorch use its portable kernels."""
    prefix = numerics.shell_prefix("baseline")
    code = "import torch; print(torch.backends.cpu.get_cpu_capability())"
    run = subprocess.run(f"{prefix} {sys.executable} -c '{code}'", shell=True, capture_output=True, text=True)
    assert run.stdout.strip() == "DEFAULT", run.stderr[-500:]
    assert numerics.shell_prefix("native") == ""


def _copy_with_edit(tmp_path: Path, module: str) -> Path:
    """The workflow and package copied to ``tmp_path``, with a comment added to ``module``."""
    for part in ("Snakefile", "workflow", "envs", "src"):
        src = REPO / part
        (shutil.copytree if src.is_dir() else shutil.copy)(src, tmp_path / part)
    edited = fingerprints.module_file(module, tmp_path / "src" / "avdf")
    edited.write_text(edited.read_text() + "\n# an edit\n")
    return tmp_path / "Snakefile"


@pytest.mark.slow
def test_editing_the_face_tracker_reruns_face_tracks_and_what_follows(workflow, tmp_path):
    done = rules_of(planned(workflow, snakefile=_copy_with_edit(tmp_path, "avdf.media.faces")))
    assert {"faces_shard", "face_crops_shard", "train", "table"} <= done
    assert not done & {"synth", "ingest", "demux_shard", "log_mel_shard"}


@pytest.mark.slow
def test_editing_a_module_of_the_tables_reruns_only_tables(workflow, tmp_path):
    done = rules_of(planned(workflow, snakefile=_copy_with_edit(tmp_path, "avdf.reporting.paper")))
    assert "table" in done and done <= TABLES


@pytest.mark.slow
def test_editing_the_training_specs_reruns_training_not_preprocessing(workflow, tmp_path):
    """A training field, or a new method, must not rerun hours of face tracking at real scale."""
    done = rules_of(planned(workflow, snakefile=_copy_with_edit(tmp_path, "avdf.contracts.specs")))
    assert {"train", "table"} <= done
    assert not done & {"synth", "ingest", "demux_shard", "faces_shard", "face_crops_shard", "log_mel_shard"}


def test_preprocessing_code_leaves_out_the_model_and_training_specs():
    for stage in ("demux", "face_tracks", "face_crops", "log_mel"):
        closure = set(fingerprints.closure([f"avdf.stages.{stage}"]))
        assert "avdf.contracts.input_specs" in closure, stage
        assert not closure & {
            "avdf.contracts.specs",
            "avdf.contracts.methods",
            "avdf.learning.train",
            "avdf.learning.models",
        }, stage


def test_fingerprints_follow_imports_inside_functions_too():
    closure = set(fingerprints.closure(["avdf.learning.train", "avdf.contracts.methods.macbdf"]))
    assert {
        "avdf.learning.scoring",
        "avdf.learning.models.macbdf",  # named by the method's module, "module:Class"
        "avdf.learning.losses.macl",
    } <= closure
    assert "avdf.learning.models.baselines.aasist" not in closure  # another method's model
    assert "avdf.reporting.tables" not in closure and "avdf.media.faces" not in closure
    faces_only = {"avdf.media.faces"}
    assert faces_only <= set(fingerprints.closure(["avdf.stages.face_tracks"]))
    for stage in ("demux", "face_crops", "log_mel"):
        assert not faces_only & set(fingerprints.closure([f"avdf.stages.{stage}"])), stage
    assert "avdf.reporting.paper" not in fingerprints.closure(
        ["avdf.learning.train", "avdf.evaluation.evaluate", "avdf.stages.face_tracks"]
    )


def test_the_package_has_no_import_cycles():
    graph = fingerprints.import_graph()
    state, cycles = {}, []

    def visit(module, path):
        state[module] = "open"
        for other in graph[module]:
            if state.get(other) == "open":
                cycles.append(" -> ".join(path[path.index(other) :] + [other]))
            elif other not in state:
                visit(other, path + [other])
        state[module] = "done"

    for module in graph:
        if module not in state:
            visit(module, [module])
    assert "avdf.evaluation.frame_level" in graph and not cycles


LAYERS = ("contracts", "media", "data", "synthetic", "stages", "learning", "evaluation", "reporting")


def _layer(module: str) -> int:
    """The rank of a module's layer; the command line and ``avdf doctor`` sit on top of them all."""
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else len(LAYERS)


def test_imports_go_down_the_layers_only():
    """contracts < media < data < synthetic < stages < learning < evaluation < reporting < cli:
    a module imports (anywhere in its text) only from its own layer or one below."""
    upward = [
        f"{m} -> {d}"
        for m, deps in fingerprints.import_graph().items()
        for d in deps
        if _layer(d) > _layer(m)
    ]
    assert len(fingerprints.import_graph()) > 80 and not upward


def test_no_module_tests_a_method_name_outside_the_registry():
    """A method's facts live in avdf.contracts.methods; the model factory alone maps names to classes."""
    allowed = {"methods.py", "paper.py", "__init__.py"}
    found = []
    for path in sorted((REPO / "src" / "avdf").rglob("*.py")):
        if path.name in allowed and path.parent.name in ("contracts", "reporting", "models"):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Compare) and any(
                isinstance(c, ast.Constant) and c.value in {"macbdf", "mcl", "ecapa_tdnn", "aasist"}
                for c in [node.left, *node.comparators]
            ):
                found.append(f"{path.name}:{node.lineno}")
    assert not found


def test_a_spec_refuses_unknown_and_missing_fields_by_name():
    data = specs.to_dict(specs.FacesSpec.of(tiny_params()))
    assert specs.from_dict(specs.FacesSpec, data) == specs.FacesSpec.of(tiny_params())
    with pytest.raises(
        specs.SpecError, match=r"unknown fields \['keyframe_intervall'\], missing fields \['keyframe"
    ):
        specs.from_dict(
            specs.FacesSpec,
            {**{k: v for k, v in data.items() if k != "keyframe_interval"}, "keyframe_intervall": 5},
        )


def test_the_window_is_its_own_key_not_the_generators():
    params = tiny_params()
    params["synth"]["duration_s"] = 7.0
    assert specs.InputSpec.of(params) == specs.InputSpec.of(tiny_params())
    params["input"]["window_s"] = 3.0
    assert specs.InputSpec.of(params).video_len == 75


def test_constructors_take_the_spec_without_defaults_of_their_own():
    assert list(inspect.signature(FaceTracker).parameters) == ["spec", "device", "detector"]  # no settings
    from avdf.learning.models.baselines import AASIST, ECAPATDNN, MCL
    from avdf.learning.models.macbdf import MACBDF

    for cls in (MACBDF, MCL, ECAPATDNN, AASIST):
        defaults = [p for p in inspect.signature(cls).parameters.values() if p.default is not p.empty]
        assert not defaults, (cls.__name__, defaults)


def test_a_train_spec_holds_only_what_its_run_reads():
    params = tiny_params()
    run = specs.Run("synth_dfdc", "aasist", "default", 0)
    before = specs.TrainSpec.of(params, run, "table1", False)
    changed = copy.deepcopy(params)
    changed["macbdf"]["lambda_c"] = 0.9  # another method's section
    changed["contrastive"]["svr_tau"] = 0.5  # another objective's setting
    changed["train"]["threads"] = 7
    assert specs.TrainSpec.of(changed, run, "table1", False) == before
    macbdf = specs.Run("synth_dfdc", "macbdf", "default", 0)
    assert specs.TrainSpec.of(changed, macbdf, "t", False) != specs.TrainSpec.of(params, macbdf, "t", False)


def test_a_unimodal_model_learns_its_own_modality_and_an_audio_visual_one_the_clip():
    params = tiny_params()

    def learns(method):
        return specs.TrainSpec.of(params, specs.Run("d", method, "default", 0), "t", False).target

    assert [learns(m) for m in ("ecapa_tdnn", "visual_only", "macbdf", "mcl")] == [
        "audio_fake",
        "video_fake",
        "label",
        "label",
    ]
    params["train"]["unimodal_target"] = "clip"
    assert [learns(m) for m in ("aasist", "visual_only", "macbdf")] == ["label"] * 3


def test_a_checkpoint_round_trips_and_an_older_format_is_named(tmp_path):
    import torch

    from avdf.contracts import checkpoint
    from avdf.contracts.errors import InputError

    spec = specs.InputSpec.of(tiny_params())
    ckpt = checkpoint.Checkpoint(
        "macbdf",
        "synth_dfdc",
        "default",
        "none",
        "macl",
        {"dim": 8},
        {"ms_depth": 2},
        spec,
        (1.5, 2.0),
        0.4,
        {"w": torch.arange(3.0)},
    )
    ckpt.save(tmp_path / "model.pt")
    back = checkpoint.Checkpoint.load(tmp_path / "model.pt")
    assert back.input == spec and back.mel_norm == (1.5, 2.0) and back.format == checkpoint.FORMAT
    assert torch.equal(back.state_dict["w"], ckpt.state_dict["w"]) and back.describes() == ckpt.describes()
    old = {k: v for k, v in torch.load(tmp_path / "model.pt", weights_only=True).items() if k != "format"}
    torch.save(old, tmp_path / "old.pt")  # format 1: the untyped dict, without a format key
    with pytest.raises(InputError, match=r"old\.pt: checkpoint format 1; this avdf reads format 3"):
        checkpoint.Checkpoint.load(tmp_path / "old.pt")


def test_functions_are_short_and_take_few_parameters():
    """No function in src/ runs over 60 lines or takes over 8 parameters (self aside); the CLI's
    declarative argument-parser table is the one exception, and its docstring says so."""
    found = []
    for path in sorted((REPO / "src" / "avdf").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                continue
            a = node.args
            params = [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, (a.vararg, a.kwarg))]
            count = len(params) - (bool(a.args) and a.args[0].arg in ("self", "cls"))
            lines = node.end_lineno - node.lineno + 1
            if (lines > 60 and (path.name, node.name) != ("cli.py", "parser")) or count > 8:
                where = f"{path.relative_to(REPO)}:{node.lineno} {node.name}"
                found.append(f"{where}: {lines} lines, {count} params")
    assert not found


def test_each_method_is_defined_in_the_module_named_after_it():
    """The rules name a run's method module as avdf.contracts.methods.<method> (its code)."""
    import importlib

    from avdf.contracts.methods import METHODS

    for name, method in METHODS.items():
        assert importlib.import_module(f"avdf.contracts.methods.{name}").METHOD is method


def test_the_cli_help_lists_every_registered_source_and_study():
    from avdf.cli import parser
    from avdf.data.sources import SOURCES

    sub = parser()._subparsers._group_actions[0].choices
    assert set(SOURCES) <= set(re.findall(r"\w+", sub["ingest"].format_help()))
    assert {"table1", "table2", "table3", "localisation"} <= set(
        re.findall(r"\w+", sub["table"].format_help())
    )
