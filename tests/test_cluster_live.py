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
import os
import re
import signal
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

from avdf.contracts import layout
from avdf.reporting import studies

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
        "train": {
            k: params["train"][k]
            for k in ("device", "threads", "loader_workers", "processes", "checkpoint_every_s")
        },
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


def _train_pid(run: tuple) -> int | None:
    """The training process of ``run`` (the Python process, not the shell that started it)."""
    for proc in Path("/proc").iterdir():
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"train" in argv and layout.run_dir(*run).encode() in argv and b"python" in argv[0]:
            return int(proc.name)
    return None


class Fault(threading.Thread):
    """One training job to cancel with `scancel` at a moment (``due``). The instant the moment comes
    its training process is frozen (SIGSTOP), so that the cancel lands there and not the few hundred
    milliseconds later it takes SLURM to deliver it (a tiny epoch lasts 0.4 s); then the job is
    cancelled through SLURM. Records the job id and the job's log as it stood."""

    def __init__(self, workdir: Path, run: tuple, due, poll_s: float):
        super().__init__(daemon=True)
        self.workdir, self.run_key, self.due, self.poll_s = workdir, run, due, poll_s
        self.result: dict | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        pid = None
        while not self.stop.is_set():
            pid = pid or _train_pid(self.run_key)
            if pid and self.due(self.run_key):
                os.kill(pid, signal.SIGSTOP)
                self.result = self._cancel()
                return
            time.sleep(self.poll_s if pid else 0.02)

    def _cancel(self) -> dict:
        log = self.workdir / "logs/train/{}/{}/{}/seed{}.log".format(*self.run_key)
        text = log.read_text() if log.exists() else ""
        comment = "rule_train_wildcards_" + "_".join(map(str, self.run_key))
        queue = subprocess.run(["squeue", "-h", "-o", "%i %k"], capture_output=True, text=True).stdout
        job = next(line.split()[0] for line in queue.splitlines() if line.split()[1] == comment)
        subprocess.run(["scancel", job], check=True)
        while (
            job in subprocess.run(["squeue", "-h", "-o", "%i"], capture_output=True, text=True).stdout.split()
        ):
            time.sleep(0.1)
        return {"job": job, "log": text}


class Unrunnable(threading.Thread):
    """Cancels any job SLURM says no node can ever run (it would wait forever) and keeps its
    squeue line, so that the test fails at once, naming the job and the reason."""

    NEVER = ("PartitionConfig", "PartitionNodeLimit", "BadConstraints")

    def __init__(self, poll_s: float = 2.0):
        super().__init__(daemon=True)
        self.poll_s, self.found, self.stop = poll_s, [], threading.Event()

    def run(self) -> None:
        while not self.stop.wait(self.poll_s):
            pending = subprocess.run(
                ["squeue", "-h", "-t", "PD", "-o", "%i %r cpus=%C mem=%m %k"], capture_output=True, text=True
            ).stdout
            for line in pending.splitlines():
                if line.split()[1] in self.NEVER:
                    self.found.append(line)
                    subprocess.run(["scancel", line.split()[0]])


def _faults(workdir: Path, server: str) -> list[Fault]:
    client = MlflowClient(server)

    def checkpointed(run) -> bool:
        return (workdir / layout.run_dir(*run) / "progress.pt").exists()

    def logged(run) -> bool:
        if not checkpointed(run):
            return False
        dataset, method, variant, seed = run
        found = client.search_runs(
            [client.get_experiment_by_name("avdf").experiment_id],
            f"tags.stage = 'train' and tags.dataset = '{dataset}' and tags.method = '{method}'"
            f" and tags.variant = '{variant}' and tags.seed = '{seed}'",
        )
        return bool(found)

    return [
        Fault(workdir, CANCEL_IN_EPOCH_2, checkpointed, 0.005),
        Fault(workdir, CANCEL_AFTER_LOGGING, logged, 0.05),
    ]


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
        faults = _faults(workdir, url)
        unrunnable = Unrunnable()
        for fault in [*faults, unrunnable]:
            fault.start()
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
        for fault in [*faults, unrunnable]:
            fault.stop.set()
        assert not unrunnable.found, f"jobs no node of this cluster can run (cancelled): {unrunnable.found}"
        assert run.returncode == 0, run.stderr[-5000:]
        store = MlflowClient(url)
        runs = store.search_runs([store.get_experiment_by_name("avdf").experiment_id], max_results=5000)
        versions = _model_versions(store)
    submitted = SUBMITTED.findall(run.stdout + run.stderr)
    print(f"\ncluster run: {seconds:.0f} s, {len(submitted)} sbatch submissions, {len(runs)} MLflow runs")
    cancelled = {f.run_key: f.result for f in faults if f.result}
    for what, done in cancelled.items():
        last = [line for line in done["log"].splitlines() if "epoch" in line][-1:]
        print(f"cancelled SLURM job {done['job']} ({'/'.join(map(str, what))}); its log then: {last}")
    return {
        "dir": workdir,
        "log": run.stdout + run.stderr,
        "cancelled": cancelled,
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
    params = tiny_params()
    trained = {
        (e.train_dataset, e.method, e.variant, e.seed)
        for t in ("table1", "table2")
        for e in studies.evals(params, t)
    }
    assert len(trained) == 2 * 3 * 2 + 1  # Table 1 (2 stand-ins, 3 methods, 2 seeds), Table 2's w/o L_C
    want = {"synth": datasets, "ingest": datasets, "mlflow_store": 1, "train": len(trained) + 2, "table": 2}
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


def test_the_cluster_daemons_listen_on_loopback_only():
    """slurmctld and slurmd (TCP) bind 127.0.0.1; munged has a Unix socket only."""
    _cluster_is_up()
    listening = subprocess.run(["ss", "-Hltnp"], capture_output=True, text=True, check=True).stdout
    daemons = [line for line in listening.splitlines() if re.search(r'"(slurmctld|slurmd|munged)"', line)]
    assert {re.search(r'"(\w+)"', line).group(1) for line in daemons} == {"slurmctld", "slurmd"}, listening
    assert {line.split()[3].rsplit(":", 1)[0] for line in daemons} == {"127.0.0.1"}, daemons
