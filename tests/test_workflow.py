"""End to end: the whole Snakemake workflow on a tiny config, in a temporary directory."""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import DATASETS, REPO, snakemake, tiny_params, train_spec
from mlflow.tracking import MlflowClient

from avdf.contracts import layout
from avdf.contracts.specs import Runtime


def runtime(workflow: Path, processes: int = 1) -> Runtime:
    """How the tests' own jobs run: into the tiny workflow's MLflow store."""
    return Runtime(1, processes, 0, f"sqlite:///{workflow}/mlflow.db", "avdf", "synthetic (test)", [])


METRICS = ("acc", "auc", "eer", "ap")


def _stats(dataset):
    return [f"{dataset}_{m}{s}" for m in METRICS for s in ("", "_std", "_ci_lo", "_ci_hi")]


@pytest.mark.slow
def test_table1_rows_cells_and_paper_columns(workflow):
    table = pd.read_csv(workflow / "results/table1.csv").set_index("row")
    ours = table[table["source"] == "avdf"]
    assert list(ours["method"]) == ["aasist", "mcl", "macbdf"]
    assert (ours["data"] == "synthetic (avdf embedded); split: paper").all()
    cells = [c for d in DATASETS for c in _stats(d)]
    assert ours[cells].notna().all().all()
    for method in ours["method"]:  # each cell is the mean over seeds of the runs' own metrics
        for d in DATASETS:
            runs = [
                json.loads((workflow / layout.eval_json(d, method, "default", s, d)).read_text())
                for s in (0, 1)
            ]
            for m in METRICS:
                assert ours.set_index("method").loc[method, f"{d}_{m}"] == round(
                    np.mean([r[m] for r in runs]), 2
                )
    for d in DATASETS:
        assert (ours[f"{d}_seeds"] == 2).all()
        for m in METRICS:
            assert (ours[f"{d}_{m}_ci_lo"] <= ours[f"{d}_{m}_ci_hi"]).all()
    # the paper's numbers sit in *_paper columns only, on the row of the method they belong to
    assert table.loc["MACB-DF", "synth_dfdc_acc_paper"] == 97.9
    assert table.loc["AASIST", "synth_defakeavmit_auc_paper"] == 69.8
    reported = table[table["source"] == "reported"]
    assert {"AVoiD-DF", "SLADD", "Multiple-Attention"} <= set(reported.index)
    assert reported[cells].isna().all().all() and (reported["reason"].str.len() > 10).all()


@pytest.mark.slow
def test_study_tables_and_figures(workflow):
    table2 = pd.read_csv(workflow / "results/table2.csv")
    assert list(table2["variant"]) == ["no_contrastive", "default"]
    assert list(table2["ablation"]) == ["w/o L_C", "none"]
    assert list(table2["synth_dfdc_acc_paper"]) == [93.2, 97.9]
    assert table2["synth_dfdc_auc_vs_full"].iloc[-1] == "full model"
    assert table2["synth_dfdc_acc_vs_full"].iloc[0] in ("higher", "lower", "not resolved")
    table3 = pd.read_csv(workflow / "results/table3.csv")
    ours = table3[table3["source"] == "avdf"]
    assert set(ours["train_dataset"]) == {"synth_dfdc"} and "synth_defakeavmit_auc" in table3
    contrastive = pd.read_csv(workflow / "results/table_contrastive.csv")
    assert list(contrastive["objective"]) == ["macl", "siglip"]
    depth = pd.read_csv(workflow / "results/fig5_depth.csv")
    assert list(depth["depth"]) == [0, 2]
    curves = pd.read_csv(workflow / "results/fig67_ompareto.csv")
    assert set(curves["om_pareto"]) == {"on", "off"} and list(curves["epoch"].unique()) == [1, 2]
    latent = pd.read_csv(workflow / "results/fig4_latent.csv")
    assert list(latent["panel"]) == ["default", "no_contrastive"]
    for png in ("fig4_latent", "fig5_depth", "fig6_ompareto_loss", "fig7_ompareto_auc"):
        assert (workflow / f"results/{png}.png").read_bytes()[:4] == b"\x89PNG"


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
    from avdf.reporting import studies

    params = tiny_params()
    client = MlflowClient(f"sqlite:///{workflow}/mlflow.db")
    exp = client.get_experiment_by_name("avdf")
    runs = client.search_runs([exp.experiment_id], "tags.stage = 'train'", max_results=1000)
    assert len(runs) == len(studies.runs(params))
    evals = client.search_runs([exp.experiment_id], "tags.stage = 'evaluate'", max_results=1000)
    in_dataset = {studies.Eval(*run, run[0]) for run in studies.runs(params)}  # written by training
    needed = {e for t in studies.STUDIES if t not in ("fig4", "fig67") for e in studies.evals(params, t)}
    assert len(evals) == len(in_dataset | needed)
    required = {"table", "dataset", "train_dataset", "method", "ablation", "objective", "seed"}
    for run in runs + evals:
        assert required <= set(run.data.tags), run.info.run_name
    assert {"eval_dataset"} <= set(evals[0].data.tags)
    assert len(client.get_metric_history(runs[0].info.run_id, "loss")) == 2  # one value per epoch


@pytest.mark.slow
def test_every_run_records_commit_data_versions_and_params(workflow):
    import json
    from importlib import metadata

    import torch

    from avdf.contracts import provenance

    client = MlflowClient(f"sqlite:///{workflow}/mlflow.db")
    exp = client.get_experiment_by_name("avdf")
    runs = [
        run
        for stage in ("train", "evaluate")
        for run in client.search_runs([exp.experiment_id], f"tags.stage = '{stage}'", max_results=1000)
    ]
    commit, _ = provenance.git_state()
    for run in runs:
        tags = run.data.tags
        assert tags["mlflow.source.git.commit"] == commit and len(commit) == 40
        assert (
            tags["version.torch"] == metadata.version("torch")
            and tags["version.torch_build"] == torch.__version__
        )
        manifest = f"data.data/manifests/{tags['dataset']}.csv"
        assert tags[manifest] == provenance.file_hash(workflow / manifest.removeprefix("data."))
    train = next(
        r
        for r in runs
        if r.data.tags["stage"] == "train"
        and r.data.tags["method"] == "macbdf"
        and r.data.tags["variant"] == "default"
    )
    local = Path(client.download_artifacts(train.info.run_id, "provenance"))
    spec = json.loads((local / "params.json").read_text())  # the run's TrainSpec
    assert spec["optim"]["epochs"] == tiny_params()["train"]["epochs"]
    assert spec["method"] == tiny_params()["macbdf"] and spec["run"][1:3] == ["macbdf", "default"]
    assert spec["run"][0] == train.data.tags["dataset"] and spec["run"][3] == int(train.data.tags["seed"])
    assert f"torch=={metadata.version('torch')}" in (local / "environment.txt").read_text()


@pytest.mark.slow
def test_one_mlflow_filter_shows_a_whole_table(workflow):
    """What the UI shows for the filter tags.table = 'table2': a parent run with the CSV, a child
    per row, and the training and evaluation runs made for Table 2."""
    client = MlflowClient(f"sqlite:///{workflow}/mlflow.db")
    exp = client.get_experiment_by_name("avdf")
    runs = client.search_runs([exp.experiment_id], "tags.table = 'table2'", max_results=1000)
    parents = [r for r in runs if r.data.tags["stage"] == "table" and "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parents[0].info.run_id]
    assert sorted(r.data.tags["row.variant"] for r in children) == ["default", "no_contrastive"]
    assert "synth_dfdc_auc" in children[0].data.metrics
    assert [a.path for a in client.list_artifacts(parents[0].info.run_id)] == ["table2.csv"]
    made_for_table2 = {r.data.tags["stage"] for r in runs}
    assert {"train", "evaluate"} <= made_for_table2


@pytest.mark.slow
def test_macbdf_logs_its_loss_components(workflow):
    client = MlflowClient(f"sqlite:///{workflow}/mlflow.db")
    exp = client.get_experiment_by_name("avdf")
    run = client.search_runs(
        [exp.experiment_id], "tags.stage = 'train' and tags.method = 'macbdf' and tags.variant = 'default'"
    )[0]
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
def test_training_scores_its_test_split_as_evaluate_would(workflow, tmp_path):
    """The training job writes the in-dataset evaluation itself; the same checkpoint evaluated
    by ``avdf evaluate`` in a separate process gives the same per-clip scores and metrics."""
    import json

    from avdf.contracts import layout
    from avdf.evaluation import evaluate

    run = ("synth_dfdc", "macbdf", "default", 0)
    ckpt, written = layout.checkpoint(*run), layout.eval_json(*run, "synth_dfdc")
    cwd = os.getcwd()
    os.chdir(workflow)
    try:
        threshold = tiny_params()["evaluate"]["threshold"]
        job = evaluate.EvalJob(
            ckpt,
            "synth_dfdc",
            "synth_dfdc",
            0,
            layout.caches("synth_dfdc"),
            threshold,
            "table1",
            str(tmp_path / "e.json"),
            str(tmp_path / "s.csv"),
        )
        again = evaluate.evaluate(job, runtime(workflow))
        first = json.loads(Path(written).read_text())
        scores = pd.read_csv(layout.eval_scores(*run, "synth_dfdc"))
    finally:
        os.chdir(cwd)
    for key in ("acc", "auc", "eer", "ap", "auc_by_category", "method", "variant", "objective"):
        assert first[key] == again[key], key
    pd.testing.assert_series_equal(
        scores["prob_fake"], pd.read_csv(tmp_path / "s.csv")["prob_fake"], rtol=1e-5
    )


@pytest.mark.slow
def test_every_dataset_is_audited_for_shortcuts(workflow):
    for ds in DATASETS:
        audit = pd.read_csv(workflow / f"results/audit_{ds}.csv")
        assert list(audit["predictor"]) == [
            "leading_silence_s",
            "duration_s",
            "file_size_bytes",
            "bitrate_kbps",
        ]
        audit = audit.set_index("predictor")
        # every synthetic clip lasts synth.duration_s: duration cannot separate anything
        assert audit.loc["duration_s", "auc"] == 50.0 and audit.loc["duration_s", "real_median"] == 1.0
        assert np.allclose(audit["separability"], np.maximum(audit["auc"], 100 - audit["auc"]), atol=0.01)
        assert (audit["shortcut"] == (audit["separability"] >= 80.0)).all()  # audit.warn_auc = 0.8
        demuxed = pd.read_csv(workflow / f"data/interim/{ds}/demux/index.csv")
        assert (audit["clips"] == (demuxed["status"] == "ok").sum()).all()
        assert (workflow / f"results/audit_{ds}.png").stat().st_size > 0
        report = yaml.safe_load((workflow / f"data/manifests/{ds}.ingest.json").read_text())
        assert report["protocol"] == "paper" and report["duplicates_dropped"] == 0


@pytest.mark.slow
def test_frame_level_table_scores_frames_against_segments(workflow):
    table = pd.read_csv(workflow / "results/table_frame_level.csv").set_index("dataset")
    row = table.loc["synth_lavdf"]
    assert row["seeds"] == 1 and 0 <= row["frame_auc"] <= 100
    assert 0 < row["frame_auc_fake_frames"] < row["frame_auc_frames"]  # segments: some frames fake, not all
    split = pd.read_csv(workflow / "data/manifests/synth_lavdf.csv")
    assert (split["fake_periods"].fillna("[]") != "[]").sum() == (split["label"] == 1).sum()


@pytest.mark.slow
def test_localisation_table_is_the_benchmark_metrics_of_each_seeds_proposals(workflow, tmp_path):
    """table_localisation: AP@IoU, AR@N and the challenge score of each method's proposals on the
    LAV-DF stand-in, the mean over seeds of what avdf.evaluation.localisation computes from each
    evaluation's timelines, inside its interval: MACB-DF's frame-head rule (the workflow's table,
    one seed, and that seed with a second one made from it, each frame probability squared) and
    the boundary localiser (its own proposals, train.seeds); then the published rows."""
    from avdf.evaluation import localisation
    from avdf.reporting import studies, tables
    from avdf.reporting.tables import _localisation_files

    params = tiny_params()
    (run,) = studies.evals(params, "frame_level")
    first = json.loads((workflow / layout.eval_json(*run)).read_text())
    squared = [t | {"probs": np.square(t["probs"]).tolist()} for t in first["timelines"]]
    paths = []
    for result in (first, first | {"seed": 1, "timelines": squared}):
        paths.append(tmp_path / f"seed{result['seed']}.json")
        paths[-1].write_text(json.dumps(result))
    spec = studies.table_spec(params, "localisation")
    written = pd.read_csv(workflow / "results/table_localisation.csv")
    localisers = [
        workflow / layout.eval_json(*e)
        for e in studies.evals(params, "localisation")
        if e.method == "boundary"
    ]
    for evals, table, method in (
        ([paths[0]], written, "macbdf"),
        (
            paths,
            tables.table_localisation([str(p) for p in paths], spec, str(tmp_path / "two.csv")),
            "macbdf",
        ),
        (localisers, written, "boundary"),
    ):
        row = table.set_index(["dataset", "method"]).loc[("synth_lavdf", method)]
        timelines = [json.loads(p.read_text())["timelines"] for p in evals]
        assert all(("proposals" in t[0]) == (method == "boundary") for t in timelines)
        per_seed = [localisation.scores(_localisation_files(t, params["localisation"])) for t in timelines]
        _check_localisation_row(row, per_seed)
    assert len(localisers) == len(params["train"]["seeds"])
    published = written[written["data"] == "real test set, published"]
    assert (
        set(published["method"]) == {"BA-TFD+", "UMMAFormer", "AuViRe"} and published["ap_0.5"].isna().all()
    )
    assert published.set_index(["dataset", "method"]).loc[("LAV-DF", "BA-TFD+"), "ap_0.5_paper"] == 96.30
    assert written.loc[written["data"] != "real test set, published", "data"].str.contains("synthetic").all()


def _check_localisation_row(row, per_seed):
    assert row["seeds"] == len(per_seed) and row["fake_segments"] > 0
    for key in ("ap_0.5", "ap_0.75", "ap_0.9", "ap_0.95", "ar_50", "ar_30", "ar_20", "ar_10", "ar_5"):
        assert row[key] == pytest.approx(np.mean([s[key] for s in per_seed]), abs=0.006), key
        assert row[f"{key}_ci_lo"] <= row[key] + 0.01 and row[key] <= row[f"{key}_ci_hi"] + 0.01, key
    from avdf.evaluation.localisation import challenge_score

    scores = [challenge_score(s) for s in per_seed]
    assert row["score"] == pytest.approx(np.mean(scores), abs=1e-4)


@pytest.mark.slow
@pytest.mark.parametrize("method", ["macbdf", "mcl"])
def test_a_killed_training_resumes_to_the_same_model(workflow, tmp_path, monkeypatch, method):
    """Killed after its 2nd of 3 epochs, a run resumes from progress.pt and ends bit-identical to
    an uninterrupted run (model weights, and the MACL queues and temperature state with them)."""
    import torch

    from avdf.contracts import layout
    from avdf.learning import progress, train

    params = tiny_params()
    params["train"]["epochs"] = 3
    spec = train_spec(params, method)
    monkeypatch.chdir(workflow)
    caches = layout.caches("synth_dfdc")

    def run(out):
        return train.train(spec, caches, runtime(workflow), str(out))

    run(tmp_path / "whole")
    real_save = progress.save

    def killed_after_second_epoch(path, epoch, *args):
        real_save(path, epoch, *args)
        if epoch == 1:
            raise KeyboardInterrupt("killed")

    monkeypatch.setattr(progress, "save", killed_after_second_epoch)
    with pytest.raises(KeyboardInterrupt):
        run(tmp_path / "killed")
    assert (tmp_path / "killed" / "progress.pt").exists() and not (tmp_path / "killed" / "model.pt").exists()
    monkeypatch.setattr(progress, "save", real_save)
    summary = run(tmp_path / "killed")
    assert summary["resumed_after_epoch"] == 2 and not (tmp_path / "killed" / "progress.pt").exists()
    whole = torch.load(tmp_path / "whole" / "model.pt", weights_only=True)["state_dict"]
    resumed = torch.load(tmp_path / "killed" / "model.pt", weights_only=True)["state_dict"]
    assert whole.keys() == resumed.keys()
    assert all(torch.equal(whole[k], resumed[k]) for k in whole)


@pytest.mark.slow
def test_progress_is_written_at_most_every_checkpoint_every_s(workflow, tmp_path, monkeypatch):
    """checkpoint_every_s 0 writes progress.pt after every epoch but the last; a long interval
    writes none in a short run (the final model.pt is written either way)."""
    import dataclasses

    from avdf.contracts import layout
    from avdf.learning import progress, train

    params = tiny_params()
    params["train"]["epochs"] = 3
    spec = train_spec(params, "mcl")
    monkeypatch.chdir(workflow)
    written = []
    monkeypatch.setattr(progress, "save", lambda path, epoch, *args: written.append(epoch))
    for every, out in ((0.0, "each"), (3600.0, "hourly")):
        written.clear()
        rt = dataclasses.replace(runtime(workflow), checkpoint_every_s=every)
        train.train(spec, layout.caches("synth_dfdc"), rt, str(tmp_path / out))
        assert written == ([0, 1] if every == 0 else []) and (tmp_path / out / "model.pt").exists()


@pytest.mark.slow
def test_an_epoch_reports_its_steps_as_it_goes(workflow, tmp_path, monkeypatch, caplog):
    """At real scale an epoch runs for hours: its steps are logged with an ETA (at most once a
    STEP_LOG_S; here every step), not only its end."""
    from avdf.contracts import layout
    from avdf.learning import train

    params = tiny_params()
    params["train"]["epochs"] = 1
    monkeypatch.chdir(workflow)
    monkeypatch.setattr(train, "STEP_LOG_S", 0.0)
    caplog.set_level("INFO", logger="avdf.learning.train")
    spec, caches = train_spec(params, "mcl"), layout.caches("synth_dfdc")
    train.train(spec, caches, runtime(workflow), str(tmp_path / "run"))
    steps = [r.getMessage() for r in caplog.records if "epoch 1: step" in r.getMessage()]
    assert steps and steps[0].startswith("epoch 1: step 1/") and "epoch ETA" in steps[-1]
    total = int(steps[0].split("/")[1].split(",")[0])
    assert len(steps) == total > 1


@pytest.mark.slow
def test_torchrun_two_processes_train_as_one(workflow, tmp_path):
    """`avdf train` with runtime processes = 2 (it starts itself under torchrun; gloo) against one
    process, same global batch, dropout off: per-epoch loss and train accuracy, and the test
    split's AUC, within 1e-3."""
    import json

    from avdf.contracts import specs

    params = tiny_params()
    params["model"]["dropout"] = 0.0
    params["train"].update(epochs=2, batch_size=4)
    spec = specs.to_json(train_spec(params))
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    results = {}
    for n in (1, 2):
        out = tmp_path / f"procs{n}"
        how = specs.to_json(runtime(workflow, processes=n))
        args = ["train", "--out-dir", str(out), "--spec", spec, "--runtime", how]
        args += ["--eval-json", str(out / "eval.json")]
        args += ["--scores", str(out / "scores.csv")]
        run = subprocess.run(["avdf", *args], capture_output=True, text=True, env=env, cwd=workflow)
        assert run.returncode == 0, run.stderr[-3000:]
        results[n] = json.loads((out / "train.json").read_text()), json.loads((out / "eval.json").read_text())
    (one, one_eval), (two, two_eval) = results[1], results[2]
    for key in ("loss", "train_acc"):
        np.testing.assert_allclose(two["history"][key], one["history"][key], rtol=1e-3, atol=1e-3)
    assert abs(two_eval["auc"] - one_eval["auc"]) < 1e-3


@pytest.mark.slow
def test_predict_scores_a_video_and_names_a_bad_one(workflow, tmp_path, face_clip):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    out = tmp_path / "scores.json"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    ckpt = workflow / "runs/synth_dfdc/macbdf/default/seed0/model.pt"
    run = subprocess.run(
        ["avdf", "predict", str(face_clip), str(bad), "--checkpoint", str(ckpt), "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    good, wrong = yaml.safe_load(out.read_text())
    assert len(good["windows"]) == 1 and good["prob_fake"] == good["windows"][0]["prob_fake"]  # a 1 s clip
    assert good["start_s"] == 0.0 and 0 < good["audio_score"] < 1 and 0 < good["video_score"] < 1
    assert [s["second"] for s in good["per_second"]] == [0] and good["fps"] == 25
    assert "boxes" not in good["face_track"] and good["face_track"]["keyframes"][0] == 0  # --tracks: boxes
    assert wrong["error"].startswith("corrupt or unreadable container") and "prob_fake" not in wrong


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["detection", "localisation"])
def test_predict_writes_the_challenge_submission_formats(workflow, tmp_path, face_clip, kind):
    """The 1M-Deepfakes challenge's formats: detection, `file;score` lines as its evaluator splits
    them; localisation, {file: [[score, start, end], ...]} as its ap_ar_1d reads it (scores
    descending), files named relative to the test folder; an unreadable file has its defined entry
    and is named on stderr."""
    from avdf.evaluation import localisation

    test = tmp_path / "test"
    (test / "id001").mkdir(parents=True)
    shutil.copyfile(face_clip, test / "id001/000.mp4")
    (test / "id001/001.mp4").write_bytes(b"not a video")
    out = tmp_path / f"{kind}.out"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    ckpt = workflow / "runs/synth_dfdc/macbdf/default/seed0/model.pt"
    run = subprocess.run(
        ["avdf", "predict", *map(str, sorted(test.rglob("*.mp4"))), "--checkpoint", str(ckpt)]
        + ["--out", str(out), "--challenge", kind, "--root", str(test), "--segment-threshold", "0"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "001.mp4: not scored or not localised" in run.stderr
    if kind == "detection":
        lines = out.read_text().splitlines()
        assert [line.split(";")[0] for line in lines] == ["id001/000.mp4", "id001/001.mp4"]
        assert 0 <= float(lines[0].split(";")[1]) <= 1 and lines[1].endswith(";0.5")
        return
    submission = json.loads(out.read_text())
    assert list(submission) == ["id001/000.mp4", "id001/001.mp4"]
    assert submission["id001/001.mp4"] == [[0.0, 0.0, 0.0]]
    segments = np.asarray(submission["id001/000.mp4"])
    assert segments.shape[1] == 3 and (np.diff(segments[:, 0]) <= 0).all()  # [score, start, end], best first
    assert (segments[:, 1] < segments[:, 2]).all() and segments[:, 2].max() <= 1.0 + 1e-6  # a 1 s clip
    # threshold 0: every frame is fake, one segment over the whole clip, found by the benchmark's AR
    assert localisation.average_recall({"f": (segments, np.array([[0.0, 1.0]]))}, 5) == 1.0


def localiser_submission(
    workflow: Path, tmp_path: Path, face_clip: Path
) -> tuple[subprocess.CompletedProcess, Path]:
    """``avdf predict --challenge localisation`` with the tiny workflow's boundary localiser (seed
    0) on a 1-s face clip, ``000.mp4``, and a file that is not a video, ``001.mp4``: the run and
    the submission file it wrote."""
    test = tmp_path / "test"
    test.mkdir()
    shutil.copyfile(face_clip, test / "000.mp4")
    (test / "001.mp4").write_bytes(b"not a video")
    out = tmp_path / "submission.json"
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    ckpt = workflow / "runs/synth_lavdf/boundary/default/seed0/model.pt"
    run = subprocess.run(
        ["avdf", "predict", str(test / "000.mp4"), str(test / "001.mp4"), "--checkpoint", str(ckpt)]
        + ["--out", str(out), "--challenge", "localisation", "--root", str(test)],
        capture_output=True,
        text=True,
        env=env,
    )
    return run, out


@pytest.mark.slow
def test_predict_writes_the_localisers_segments_in_the_challenge_format(workflow, tmp_path, face_clip):
    """The boundary localiser's own proposals, over the whole video, in the file the official
    evaluator reads: every video an (n, 3) entry, best first, inside the video."""
    run, out = localiser_submission(workflow, tmp_path, face_clip)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "001.mp4: not scored or not localised" in run.stderr
    submission = json.loads(out.read_text())
    assert list(submission) == ["000.mp4", "001.mp4"] and submission["001.mp4"] == [[0.0, 0.0, 0.0]]
    segments = np.asarray(submission["000.mp4"], np.float32)
    assert segments.ndim == 2 and segments.shape[1] == 3 and len(segments) >= 1
    assert (np.diff(segments[:, 0]) <= 0).all() and (segments[:, 1] < segments[:, 2]).all()
    assert segments[:, 2].max() <= 1.0 + 1e-6  # a 1 s clip
    assert np.allclose(segments[:, 1:] * 25, np.round(segments[:, 1:] * 25), atol=1e-3)  # the frame grid


@pytest.mark.slow
def test_best_model_of_table1_is_registered_and_predicts(workflow, tmp_path, face_clip):
    store = f"sqlite:///{workflow / 'mlflow.db'}"
    versions = MlflowClient(tracking_uri=store, registry_uri=store).search_model_versions(
        "name = 'avdf-table1'"
    )
    assert len(versions) == 1
    tags = versions[0].tags
    table = pd.read_csv(workflow / "results/table1.csv")
    best_row = table[table["source"] == "avdf"].sort_values("avg_auc", ascending=False, kind="stable").iloc[0]
    assert tags["method"] == best_row["method"] and "synthetic" in tags["data"]
    assert Path(workflow / tags["checkpoint"]).exists()
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    outs = {}
    for how, source in {
        "uri": ["--model-uri", "models:/avdf-table1/1", "--tracking-uri", store],
        "file": ["--checkpoint", str(workflow / tags["checkpoint"])],
    }.items():
        outs[how] = tmp_path / f"{how}.json"
        run = subprocess.run(
            ["avdf", "predict", str(face_clip), *source, "--out", str(outs[how])],
            capture_output=True,
            text=True,
            env=env,
            cwd=workflow,
        )
        assert run.returncode == 0, run.stderr[-2000:]
    by_uri, by_file = (yaml.safe_load(outs[k].read_text())[0] for k in ("uri", "file"))
    assert by_uri["prob_fake"] == by_file["prob_fake"]


@pytest.mark.slow
def test_a_second_run_from_clean_gives_a_byte_identical_table(workflow, tmp_path):
    """Table 2 again in an empty folder (new data, caches, runs and MLflow store, MACB-DF and its
    ablation on two seeds): the same bytes. benchmarks/reproducible.py does this for Tables 1 and 2
    on the embedded configuration."""
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(tiny_params()))
    run = snakemake(tmp_path, "--cores", "2", "results/table2.csv")
    assert run.returncode == 0, run.stderr[-3000:]
    for table in ("results/table2.csv",):
        assert (tmp_path / table).read_bytes() == (workflow / table).read_bytes(), table


@pytest.mark.slow
def test_second_run_is_a_no_op(workflow):
    again = snakemake(workflow, "--cores", "2", "-n", "all")
    assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr


@pytest.mark.slow
def test_every_entry_point_builds_the_same_table1(workflow, tmp_path):
    """make run, dvc repro (profile full) and snakemake results/table1.csv mean one Table 1 (issue 31:
    after make all, snakemake rewrote it from seed 0). In a copy of the finished tiny workflow with
    Table 1 removed: make run's targets rebuild it (the table job alone), then dvc repro's command and
    snakemake plan nothing; the one-seed table is a file of its own, already there, and stays so."""
    work = tmp_path / "w"
    shutil.copytree(workflow, work, symlinks=True)
    (work / "results/table1.csv").unlink()
    make_run = snakemake(
        work, "--cores", "2", "results/table1.csv", "results/table1_by_category.csv", "results/rejects.csv"
    )
    assert make_run.returncode == 0, make_run.stderr[-3000:]
    assert re.search(r"^table +1$", make_run.stdout + make_run.stderr, re.M), "only the table job ran"
    full = str(REPO / "workflow/profiles/full")
    for args in (
        ["--profile", full, "--cores", "2", "-n", "all", "results/metrics.json"],  # what dvc repro runs
        ["--cores", "2", "-n", "results/table1.csv"],
        ["--cores", "2", "-n", "results/table1_quick.csv", "results/rejects.csv"],  # make quick
    ):
        again = snakemake(work, *args)
        assert again.returncode == 0 and "Nothing to be done" in again.stdout + again.stderr, args
    assert (work / "results/table1.csv").read_bytes() == (workflow / "results/table1.csv").read_bytes()
    quick = pd.read_csv(work / "results/table1_quick.csv")
    assert (quick.loc[quick["source"] == "avdf", "synth_dfdc_seeds"] == 1).all()


@pytest.mark.slow
def test_a_wrong_key_stops_the_workflow_naming_it(tmp_path):
    params = tiny_params()
    params["faces"]["keyframe_interal"] = 5
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    run = snakemake(tmp_path, "-n", "results/table1.csv")
    assert run.returncode != 0
    assert "faces.keyframe_interal" in run.stdout + run.stderr
