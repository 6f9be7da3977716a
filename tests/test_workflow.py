"""End to end: the whole Snakemake workflow on a tiny config, in a temporary directory."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from mlflow.tracking import MlflowClient

REPO = Path(__file__).resolve().parents[1]
DATASETS = ["synth_defakeavmit", "synth_dfdc"]


def snakemake(workdir: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-s",
            str(REPO / "Snakefile"),
            "--directory",
            str(workdir),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env,
    )


def tiny_params() -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["datasets"] = {d: params["datasets"][d] for d in DATASETS}
    params["synth"].update(identities=3, clips_per_category=3, faulty_clips=3, duration_s=1.0)
    params["train"].update(epochs=2, batch_size=4)
    params["model"].update(dim=32, depth=1)
    return params


@pytest.fixture(scope="module")
def workflow(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflow")
    (workdir / "params.yaml").write_text(yaml.safe_dump(tiny_params()))
    run = snakemake(workdir, "--cores", "2", "results/table1.csv")
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir


@pytest.mark.slow
def test_table1_has_a_row_per_method_and_values_in_range(workflow):
    table = pd.read_csv(workflow / "results/table1.csv")
    assert list(table["method"]) == ["audio_only", "visual_only", "av_concat", "macbdf"]
    assert list(table["modality"]) == ["audio", "visual", "audio-visual", "audio-visual"]
    assert (table["data"] == "synthetic (avdf embedded)").all()
    metric_cols = [f"{d}_{m}" for d in DATASETS for m in ("acc", "auc")] + ["avg_acc", "avg_auc"]
    assert list(table.columns) == ["method", "modality", "data", "seeds", *metric_cols]
    values = table[metric_cols].to_numpy()
    assert ((values >= 0) & (values <= 100)).all()


@pytest.mark.slow
def test_bad_clips_are_named_in_rejects(workflow):
    rejects = pd.read_csv(workflow / "results/rejects.csv")
    for dataset in DATASETS:
        mine = rejects[rejects["dataset"] == dataset]
        mine = mine.set_index(mine["path"].str[-9:])
        assert mine.loc["90000.mp4", "reason"] == "no audio stream"
        assert mine.loc["90001.mp4", "reason"].startswith("no detectable face")
        assert mine.loc["90002.mp4", "reason"].startswith("corrupt or unreadable container")
    by_category = pd.read_csv(workflow / "results/table1_by_category.csv")
    assert set(by_category["dataset"]) == set(DATASETS)


@pytest.mark.slow
def test_split_is_a_file_and_stratified(workflow):
    split = pd.read_csv(workflow / "data/splits/synth_dfdc/paper.csv")
    counts = pd.crosstab(split["category"], split["split"])
    assert (counts["test"] == 1).all()  # round(0.2 * 3) per category (RVRA also has the 3 faulty clips)


@pytest.mark.slow
def test_every_run_is_in_mlflow_with_tags(workflow):
    client = MlflowClient(f"sqlite:///{workflow}/mlflow.db")
    exp = client.get_experiment_by_name("avdf")
    runs = client.search_runs([exp.experiment_id], max_results=100)
    stages = sorted(r.data.tags["stage"] for r in runs)
    assert stages == ["evaluate"] * 8 + ["train"] * 8
    train = [r for r in runs if r.data.tags["stage"] == "train"][0]
    assert {"dataset", "method", "ablation", "seed", "table"} <= set(train.data.tags)
    assert len(client.get_metric_history(train.info.run_id, "loss")) == 2  # one value per epoch


@pytest.mark.slow
def test_macbdf_logs_its_loss_components(workflow):
    client = MlflowClient(f"sqlite:///{workflow}/mlflow.db")
    exp = client.get_experiment_by_name("avdf")
    run = client.search_runs([exp.experiment_id], "tags.stage = 'train' and tags.method = 'macbdf'")[0]
    expected = {
        "L_C",
        "L_av",
        "L_va",
        "L_vv",
        "L_aa",
        "tau",
        "w_v",
        "w_a",
        "om_alpha_m_audio",
        "om_cos_theta_audio",
        "om_alpha_m_video",
        "om_cos_theta_video",
        "loss",
    }
    assert expected <= set(run.data.metrics)
    assert len(client.get_metric_history(run.info.run_id, "tau")) == 2  # per epoch


@pytest.mark.slow
def test_second_run_is_a_no_op(workflow):
    again = snakemake(workflow, "--cores", "2", "-n", "results/table1.csv")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


def test_a_wrong_key_stops_the_workflow_naming_it(tmp_path):
    params = tiny_params()
    params["faces"]["keyframe_interal"] = 5
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    run = snakemake(tmp_path, "-n", "results/table1.csv")
    assert run.returncode != 0
    assert "faces.keyframe_interal" in run.stdout + run.stderr
