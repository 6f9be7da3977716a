"""The workflow on a live SLURM cluster, logging to an MLflow tracking server.

`make test-cluster` starts a single-node cluster on 127.0.0.1 (tests/cluster/start.sh), runs this
module, and stops it. The tiny workflow's Tables 1 and 2 go through workflow/profiles/slurm: every
job that is not a local rule is an `sbatch` submission by snakemake-executor-plugin-slurm, the
preprocessing stages run as two shard jobs per dataset, and two training jobs are cancelled with
`scancel` part-way (one in its second epoch, one after it had logged its MLflow run) and come back
through the profile's `retries`. What must hold: the tables are the local run's, byte for byte;
the cancelled runs resumed from their checkpoints; the MLflow server holds exactly the runs and
registered model versions the local run records, none lost or duplicated.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import yaml
from conftest import REPO, mlflow_server, snakemake, tiny_params
from mlflow.tracking import MlflowClient

from avdf import layout

pytestmark = pytest.mark.cluster

TABLES = ("results/table1.csv", "results/table2.csv")
SHARDS = 2
# (dataset, method, variant, seed) of the two training jobs cancelled, and when
CANCEL_IN_EPOCH_2 = ("synth_dfdc", "macbdf", "default", 0)  # once epoch 1's checkpoint is on disk
CANCEL_AFTER_LOGGING = ("synth_dfdc", "mcl", "default", 1)  # once its MLflow train run exists
SUBMITTED = re.compile(r"Job \d+ has been submitted with SLURM jobid (\d+) \(log: (\S+)\)")


def _cluster_is_up() -> None:
    up = subprocess.run(["sinfo", "-h", "-o", "%t"], capture_output=True, text=True)
    assert up.returncode == 0 and {"idle", "mix", "alloc"} & set(up.stdout.split()), (
        "no SLURM cluster answers: start one with `bash tests/cluster/start.sh` (make test-cluster does)\n"
        + up.stderr
    )


def _overlay(params: dict) -> dict:
    """What this 2-CPU node can give each job, over workflow/profiles/slurm/params.yaml; the tiny
    run's own training settings, so that both runs compute the same thing."""
    small = {"mem_mb": 2000, "runtime_min": 30}
    return {
        "resources": {
            "preprocess_shards": SHARDS,
            "preprocess": small,
            "train": {**small, "gpus": 0, "gpu_model": ""},
            "evaluate": small,
        },
        "train": {k: params["train"][k] for k in ("device", "threads", "loader_workers", "processes")},
    }


def _model_versions(client: MlflowClient) -> dict[str, int]:
    return {
        m.name: len(client.search_model_versions(f"name = '{m.name}'"))
        for m in client.search_registered_models()
    }


@pytest.fixture(scope="module")
def local(tmp_path_factory) -> Path:
    """Tables 1 and 2 of the tiny workflow, run on this machine (one shard per stage, SQLite store)."""
    workdir = tmp_path_factory.mktemp("local")
    (workdir / "params.yaml").write_text(yaml.safe_dump(tiny_params()))
    run = snakemake(workdir, "--cores", "2", *TABLES)
    assert run.returncode == 0, run.stderr[-3000:]
    return workdir


class Canceller(threading.Thread):
    """Watches the cluster run and cancels the two training jobs, each at its moment; records what
    it did (the SLURM job id, and the job's log as it stood when the job had died)."""

    def __init__(self, workdir: Path, server: str):
        super().__init__(daemon=True)
        self.workdir, self.client = workdir, MlflowClient(server)
        self.done: dict[tuple, dict] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set() and len(self.done) < 2:
            for run, due in ((CANCEL_IN_EPOCH_2, self._checkpointed), (CANCEL_AFTER_LOGGING, self._logged)):
                if run not in self.done and due(run):
                    self.done[run] = self._cancel(run)
            time.sleep(0.02)

    def _checkpointed(self, run) -> bool:
        return (self.workdir / layout.run_dir(*run) / "progress.pt").exists()

    def _logged(self, run) -> bool:
        if not self._checkpointed(run):
            return False
        dataset, method, variant, seed = run
        found = self.client.search_runs(
            [self.client.get_experiment_by_name("avdf").experiment_id],
            f"tags.stage = 'train' and tags.dataset = '{dataset}' and tags.method = '{method}'"
            f" and tags.variant = '{variant}' and tags.seed = '{seed}'",
        )
        return bool(found)

    def _cancel(self, run) -> dict:
        comment = "rule_train_wildcards_" + "_".join(map(str, run))
        queue = subprocess.run(["squeue", "-h", "-o", "%i %k"], capture_output=True, text=True).stdout
        job = next(line.split()[0] for line in queue.splitlines() if line.split()[1] == comment)
        subprocess.run(["scancel", job], check=True)
        while (
            job in subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split()
        ):
            time.sleep(0.1)
        log = self.workdir / "logs/train/{}/{}/{}/seed{}.log".format(*run)
        return {"job": job, "log": log.read_text() if log.exists() else ""}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> dict:
    """The same tables through workflow/profiles/slurm, logging to an MLflow server, with two
    training jobs cancelled part-way."""
    _cluster_is_up()
    workdir = tmp_path_factory.mktemp("cluster")
    params = tiny_params()
    with mlflow_server(workdir / "server.db", workdir / "server-artifacts") as url:
        params["mlflow"]["tracking_uri"] = url
        (workdir / "params.yaml").write_text(yaml.safe_dump(params))
        (workdir / "cluster.yaml").write_text(yaml.safe_dump(_overlay(params)))
        profile = REPO / "workflow/profiles/slurm"
        cancel = Canceller(workdir, url)
        cancel.start()
        started = time.monotonic()
        run = snakemake(
            workdir,
            *TABLES,
            "--profile",
            str(profile),
            "--configfile",  # read from the caller's folder, not --directory
            str(workdir / "params.yaml"),
            str(profile / "params.yaml"),
            str(workdir / "cluster.yaml"),
            "--slurm-status-command",
            "squeue",  # no accounting database here
            "--slurm-no-account",
            "--slurm-keep-successful-logs",
            "--slurm-init-seconds-before-status-checks",
            "1",
        )
        seconds = time.monotonic() - started
        cancel.stop.set()
        assert run.returncode == 0, run.stderr[-5000:]
        store = MlflowClient(url)
        runs = store.search_runs([store.get_experiment_by_name("avdf").experiment_id], max_results=5000)
        versions = _model_versions(store)
    submitted = SUBMITTED.findall(run.stdout + run.stderr)
    print(f"\ncluster run: {seconds:.0f} s, {len(submitted)} sbatch submissions, {len(runs)} MLflow runs")
    for what, done in cancel.done.items():
        last = [line for line in done["log"].splitlines() if "epoch" in line][-1:]
        print(f"cancelled SLURM job {done['job']} ({'/'.join(map(str, what))}); its log then: {last}")
    return {
        "dir": workdir,
        "log": run.stdout + run.stderr,
        "cancelled": cancel.done,
        "runs": runs,
        "versions": versions,
    }


def test_tables_on_the_cluster_are_the_local_ones_byte_for_byte(local, cluster):
    for table in TABLES:
        assert (cluster["dir"] / table).read_bytes() == (local / table).read_bytes(), table


def test_every_job_but_the_local_merges_ran_as_a_slurm_job(cluster):
    submitted = SUBMITTED.findall(cluster["log"])
    by_rule = Counter(re.search(r"slurm_logs/rule_(\w+?)/", log).group(1) for _, log in submitted)
    datasets = 2
    stages = ("demux", "faces", "face_crops", "log_mel")
    want = {"synth": datasets, "ingest": datasets, "mlflow_store": 1, "train": 14 + 2, "table": 2}
    want |= {f"{s}_shard": datasets * SHARDS for s in stages}
    assert dict(by_rule) == want  # the two cancelled training jobs were submitted twice
    for job, log in submitted:  # each job's own SLURM log, named by its id
        assert Path(log).name == f"{job}.log" and Path(log).exists(), log
    ids = {job for job, _ in submitted}
    logged = [r for r in cluster["runs"] if r.data.tags["stage"] in ("train", "evaluate")]
    assert logged and all(r.data.tags.get("slurm_job_id") in ids for r in logged)


def test_sharded_stages_ran_as_separate_jobs_and_merged_as_one_run(local, cluster):
    logs = [log for _, log in SUBMITTED.findall(cluster["log"])]
    for dataset in ("synth_defakeavmit", "synth_dfdc"):
        for stage in ("demux", "faces", "face_crops", "log_mel"):
            jobs = [log for log in logs if f"rule_{stage}_shard/{dataset}_" in log]
            assert len(jobs) == SHARDS, (dataset, stage)
            shard_dir = cluster["dir"] / layout.stage_dir(dataset, stage) / "shards"
            assert sorted(p.name for p in shard_dir.iterdir()) == [
                f"{k}-of-{SHARDS}.csv" for k in range(SHARDS)
            ]
            merged = pd.read_csv(cluster["dir"] / layout.stage_index(dataset, stage))
            pd.testing.assert_frame_equal(merged, pd.read_csv(local / layout.stage_index(dataset, stage)))


def test_cancelled_training_jobs_were_retried_and_resumed_from_their_checkpoints(cluster):
    cancelled = cluster["cancelled"]
    assert set(cancelled) == {CANCEL_IN_EPOCH_2, CANCEL_AFTER_LOGGING}, "a job finished before its cancel"
    in_epoch_2 = cancelled[CANCEL_IN_EPOCH_2]["log"]
    assert "epoch 1/2" in in_epoch_2 and "epoch 2/2" not in in_epoch_2, in_epoch_2[-2000:]
    for run, what in cancelled.items():
        summary = json.loads((cluster["dir"] / layout.train_summary(*run)).read_text())
        assert summary["resumed_after_epoch"] == 1, run
        assert f"SLURM-job '{what['job']}' failed" in cluster["log"], run
        assert not (cluster["dir"] / layout.run_dir(*run) / "progress.pt").exists()


def test_no_mlflow_run_is_lost_or_duplicated(local, cluster):
    here = MlflowClient(f"sqlite:///{local}/mlflow.db")
    local_runs = here.search_runs([here.get_experiment_by_name("avdf").experiment_id], max_results=5000)

    def count(runs):  # a run's identity: stage, dataset, method, variant, seed and name
        tags = ("stage", "dataset", "method", "variant", "seed")
        return Counter((*(r.data.tags.get(t) for t in tags), r.info.run_name) for r in runs)

    assert count(cluster["runs"]) == count(local_runs)
    assert set(count(cluster["runs"]).values()) == {1}
    assert cluster["versions"] == _model_versions(here) == {"avdf-table1": 1}
