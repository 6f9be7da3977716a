"""The MLflow store: created once, then written by parallel jobs without 'database is locked'."""

import multiprocessing

import pytest
from mlflow.tracking import MlflowClient

from avdf.contracts.specs import Runtime
from avdf.learning import tracking


def _log(args):
    uri, i = args
    return tracking.log_run(
        Runtime(1, 1, 0, uri, "avdf", "synthetic", []),
        f"run{i}",
        tags={"table": "table1", "seed": i, "method": "m"},
        params={"lr": 0.1},
        metrics={"loss": [(e, 1.0 / (e + 1)) for e in range(20)]},
    )


@pytest.mark.slow
def test_parallel_runs_are_all_logged(tmp_path):
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tracking.init_store(uri, "avdf", artifact_root=str(tmp_path / "art"))
    assert tracking.init_store(uri, "avdf") == tracking.init_store(uri, "avdf")  # idempotent
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        ids = pool.map(_log, [(uri, i) for i in range(8)])
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("avdf")
    runs = client.search_runs([exp.experiment_id], filter_string="tags.table = 'table1'", max_results=100)
    assert sorted(r.info.run_id for r in runs) == sorted(ids)
    history = client.get_metric_history(ids[0], "loss")
    assert [m.step for m in history] == list(range(20))


def test_flatten():
    assert tracking.flatten("train", {"lr": 1, "opt": {"b": 2}}) == {"train.lr": 1, "train.opt.b": 2}


@pytest.mark.slow
def test_a_retried_job_replaces_its_run_and_other_work_adds_one(tmp_path):
    """A job killed after logging and run again (a cancelled cluster job's retry) leaves one run;
    the same job with other parameters is other work, kept beside it."""
    uri = f"sqlite:///{tmp_path}/mlflow.db"
    tracking.init_store(uri, "avdf", artifact_root=str(tmp_path / "art"))
    first = _log((uri, 0))
    again = _log((uri, 0))
    other = tracking.log_run(
        Runtime(1, 1, 0, uri, "avdf", "synthetic", []),
        "run0",
        tags={"table": "table1", "seed": 0, "method": "m"},
        params={"lr": 0.2},
        metrics={"loss": [(0, 1.0)]},
    )
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("avdf")
    runs = client.search_runs([exp.experiment_id], "tags.table = 'table1'", max_results=100)
    assert sorted(r.info.run_id for r in runs) == sorted([again, other])
    assert first != again and client.get_run(first).info.lifecycle_stage == "deleted"
