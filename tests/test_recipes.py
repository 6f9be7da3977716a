"""The three recipes of docs/contracts.md, each done in a copy of the project: adding a table, a
dataset source and a method takes one new file and one registry line, and the finished tiny
workflow then plans exactly the new jobs (the files added are in tests/recipes/)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO, tiny_params
from test_contracts import TABLES, planned

from avdf.reporting import studies

RECIPES = Path(__file__).parent / "recipes"
REGISTRIES = {  # where each kind of file goes, and the registry that gets its one line
    "table": ("src/avdf/reporting/studies", "src/avdf/reporting/studies/__init__.py"),
    "source": ("src/avdf/data", "src/avdf/data/sources.py"),
    "method": ("src/avdf/contracts/methods", "src/avdf/contracts/methods/__init__.py"),
}


def add(copy: Path, kind: str, recipe: str) -> int:
    """Put ``recipe`` in the copy and its line in the registry; return the lines the registry gained."""
    folder, registry = REGISTRIES[kind]
    shutil.copy(RECIPES / f"{recipe}.py", copy / folder / f"{recipe}.py")
    package = folder.removeprefix("src/").replace("/", ".")
    path = copy / registry
    before = path.read_text()
    path.write_text(
        before.replace("# isort: on\n", f"from {package} import {recipe}  # noqa: E402, F401\n# isort: on\n")
    )
    return len(path.read_text().splitlines()) - len(before.splitlines())


@pytest.fixture
def copy(tmp_path, monkeypatch) -> Path:
    """The project's code and workflow in ``tmp_path``, imported from there by every job."""
    for part in ("Snakefile", "workflow", "envs", "src"):
        (shutil.copytree if (REPO / part).is_dir() else shutil.copy)(REPO / part, tmp_path / part)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "src"))
    return tmp_path


def in_copy(copy: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=copy)


@pytest.mark.slow
def test_a_new_table_is_one_file_and_one_line_and_plans_only_itself(workflow, copy):
    assert add(copy, "table", "table_seed_spread") == 1
    jobs = planned(workflow, snakefile=copy / "Snakefile")
    assert jobs == [("table", {"table": "table_seed_spread"})]
    run = subprocess.run(
        [sys.executable, "-m", "snakemake", "-s", str(copy / "Snakefile"), "--directory", str(workflow)]
        + ["--cores", "1", "results/table_seed_spread.csv"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    table = (workflow / "results/table_seed_spread.csv").read_text().splitlines()
    assert table[0] == "train_dataset,method,mean,std,count,data" and len(table) > 1


@pytest.mark.slow
def test_a_new_source_is_one_file_and_one_line_and_reruns_nothing(workflow, copy, tmp_path_factory):
    assert add(copy, "source", "json_list") == 1
    assert planned(workflow, snakefile=copy / "Snakefile") == []
    code = "from avdf.cli import parser; parser().parse_args(['ingest', '--help'])"
    assert "json_list" in in_copy(copy, "-c", code).stdout  # the CLI help lists every source
    data = tmp_path_factory.mktemp("json_list")
    shutil.copy(next((workflow / "data/raw").rglob("*.mp4")), data / "a.mp4")
    (data / "clips.json").write_text(json.dumps([{"path": "a.mp4", "category": "RVFA"}]))
    script = (
        "from avdf.data import manifest; "
        f"manifest.build('json_list', '{data}', manifest.IngestFiles('{data}/m.csv', '{data}/s.csv'), "
        "{'protocol': 'paper', 'test_fraction': 0.5, 'seed': 0})"
    )
    run = in_copy(copy, "-c", script)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "a.mp4" in (data / "m.csv").read_text()


@pytest.mark.slow
def test_a_new_method_is_one_file_and_one_line_and_trains_only_its_runs(workflow, copy):
    assert add(copy, "method", "mcl_tight") == 1
    assert planned(workflow, snakefile=copy / "Snakefile") == []  # registered, not yet chosen
    params = tiny_params()
    params["train"]["methods"].append("mcl_tight")  # choosing it is configuration
    jobs = planned(workflow, params, snakefile=copy / "Snakefile")
    computed = {(rule, tuple(sorted(wc.items()))) for rule, wc in jobs if rule not in TABLES | {"all"}}
    expected = set()
    for name in ("table1", "table3"):
        for e in studies.evals(tiny_params(), name):
            if e.method != "mcl":
                continue
            run = {"method": "mcl_tight", "variant": e.variant, "seed": str(e.seed)}
            if e.train_dataset == e.eval_dataset:
                expected.add(("train", tuple(sorted((run | {"dataset": e.train_dataset}).items()))))
            else:
                wc = run | {"train_dataset": e.train_dataset, "eval_dataset": e.eval_dataset}
                expected.add(("evaluate", tuple(sorted(wc.items()))))
    assert computed == expected
