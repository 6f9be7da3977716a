"""MLflow tracking on a local SQLite store (``mlflow.db`` by default), or on a tracking server
(``mlflow.tracking_uri: http://host:5000``: the one setting to change on a cluster).

The store and the experiment are created once, by :func:`init_store`, before parallel jobs start
(the Snakemake rule ``mlflow_store``); creating them from several processes at once is what makes
SQLite report "database is locked". Runs are then logged in one batch each, at the end of a job,
with retries, so two jobs writing at the same moment wait for each other instead of failing.

Logging is idempotent: each run carries a ``job_key`` tag, a hash of what identifies the job's work
(its name, tags, parameters, code commit and input hashes), and logging a run first deletes any
earlier run with the same key. A job retried after a kill (a cancelled cluster job, a node failure,
a "database is locked" retry that had half-written) therefore leaves one run, not two; a job rerun
on other code or other data keeps its earlier runs beside the new one.
Tables are never built from MLflow: they come from the per-run JSON files that Snakemake tracks.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import random
import time
from pathlib import Path

from avdf.contracts import methods
from avdf.contracts.specs import Runtime

log = logging.getLogger(__name__)
RETRIES = 8


@functools.cache
def _client(uri: str):
    """One client per store and process (a training job logs its run and its evaluation)."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _retry(fn, what: str):
    for attempt in range(RETRIES):
        try:
            return fn()
        except Exception as e:  # sqlite3/SQLAlchemy OperationalError arrive wrapped in MlflowException
            if "locked" not in str(e).lower() or attempt == RETRIES - 1:
                raise
            wait = 0.5 * 2**attempt * (1 + random.random())
            log.warning("%s: MLflow store busy (%s); retrying in %.1f s", what, e.__class__.__name__, wait)
            time.sleep(wait)


def init_store(uri: str, experiment: str, artifact_root: str = "mlartifacts") -> str:
    """Create the store (schema migrations included) and the experiment; return the experiment id."""
    client = _client(uri)
    found = client.get_experiment_by_name(experiment)
    # a tracking server (http[s]://) keeps artifacts where it was told to (--artifacts-destination)
    local = None if uri.startswith(("http://", "https://")) else Path(artifact_root).resolve().as_uri()
    exp_id = found.experiment_id if found is not None else client.create_experiment(experiment, local)
    # open the UI on the runs table (model training), not MLflow 3's GenAI overview
    client.set_experiment_tag(exp_id, "mlflow.experimentKind", "custom_model_development")
    return exp_id


def log_run(
    runtime: Runtime,
    run_name: str,
    tags: dict,
    params: dict,
    metrics: dict[str, list[tuple[int, float]]],
    started: float | None = None,
    config: dict | None = None,
    data_files: list[str] = (),
) -> str:
    """Log one finished run: tags, params and metric histories ``{name: [(step, value), ...]}``;
    ``started`` (time.time() when the job began) gives the run its real duration in the UI.

    Every run also records its provenance (avdf.contracts.provenance): the git commit, package versions,
    the DVC hashes of ``dvc.lock`` and the hashes of ``data_files`` (the inputs it read) as tags,
    and the exact ``config`` it ran with, the installed packages and dvc.lock as artifacts."""
    from mlflow.entities import Metric, Param

    from avdf.contracts import provenance

    client = _client(runtime.tracking_uri)
    tags = {k: str(v) for k, v in (provenance.tags(data_files) | tags).items()}
    tags["job_key"] = job_key(run_name, tags, params)
    tags |= provenance.place()  # not part of the key: a retry runs elsewhere, as another SLURM job
    texts = provenance.files(config if config is not None else params)

    def write():
        exp_id = _experiment_id(runtime)
        _delete_runs(client, exp_id, f"tags.job_key = '{tags['job_key']}'")
        run = client.create_run(
            exp_id,
            run_name=run_name,
            tags=tags,
            start_time=int(started * 1000) if started else None,
        )
        now = int(time.time() * 1000)
        ms = [Metric(k, float(v), now, int(step)) for k, hist in metrics.items() for step, v in hist]
        ps = [Param(k, str(v)[:6000]) for k, v in params.items()]
        for i in range(0, max(len(ms), 1), 900):  # MLflow caps a batch at 1000 entries
            client.log_batch(run.info.run_id, metrics=ms[i : i + 900], params=ps if i == 0 else [])
        for name, text in texts.items():
            client.log_text(run.info.run_id, text, f"provenance/{name}")
        client.set_terminated(run.info.run_id)
        return run.info.run_id

    return _retry(write, f"logging run {run_name}")


def run_tags(stage: str, table: str, data_label: str, **fields) -> dict:
    """The tags of every avdf run in MLflow, built here only: its stage (train, evaluate, table), the
    study it belongs to (``table``), what it is (dataset, method, variant, seed, ...) and its data
    label; the UI filters and compares runs by these."""
    return {"stage": stage, "table": table, **fields, "data": data_label}


def job_key(run_name: str, tags: dict, params: dict) -> str:
    """What identifies a job's work, hashed: the same job retried gets the same key."""
    text = json.dumps({"name": run_name, "tags": tags, "params": params}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _delete_runs(client, exp_id: str, filter_string: str) -> None:
    for run in client.search_runs([exp_id], filter_string, max_results=5000):
        client.delete_run(run.info.run_id)


def _experiment_id(runtime: Runtime) -> str:
    """The experiment's id; created here when the store is new (mlflow.tracking_uri changed after
    the mlflow_store rule ran: that rule creates it up front only to spare SQLite concurrent creation)."""
    found = _client(runtime.tracking_uri).get_experiment_by_name(runtime.experiment)
    return found.experiment_id if found is not None else init_store(runtime.tracking_uri, runtime.experiment)


def flatten(prefix: str, cfg: dict) -> dict:
    out = {}
    for k, v in cfg.items():
        key = f"{prefix}.{k}" if prefix else k
        out.update(flatten(key, v) if isinstance(v, dict) else {key: v})
    return out


def log_table(runtime: Runtime, table: str, csv: str, figures: list[str], datasets: list[str]) -> str:
    """A parent run for one table (its CSV and figures as artifacts) and a child run per row, so that
    the filter ``tags.table = '<table>'`` in the MLflow UI shows the whole table. A table logged
    again replaces its earlier parent and children."""
    import math

    import pandas as pd
    from mlflow.entities import Metric

    client = _client(runtime.tracking_uri)
    data_label = runtime.data_label
    rows = pd.read_csv(csv)
    in_columns = ",".join(d for d in datasets if any(c.startswith(f"{d}_") for c in rows.columns))

    def write():
        exp_id = _experiment_id(runtime)
        _delete_runs(client, exp_id, f"tags.stage = 'table' and tags.table = '{table}'")
        parent = client.create_run(exp_id, run_name=table, tags=run_tags("table", table, data_label))
        for path in [csv, *figures]:
            client.log_artifact(parent.info.run_id, path)
        now = int(time.time() * 1000)
        for i, row in rows.iterrows():
            text = {k: str(v) for k, v in row.items() if isinstance(v, str)}
            numbers = {
                k: float(v) for k, v in row.items() if not isinstance(v, str) and not math.isnan(float(v))
            }
            tags = run_tags(
                "table",
                table,
                text.get("data", data_label),
                **{"mlflow.parentRunId": parent.info.run_id},
                dataset=text.get("dataset", in_columns),
                train_dataset=text.get("train_dataset", text.get("dataset", in_columns)),
                eval_dataset=text.get("dataset", in_columns),
                method=text.get("method", methods.studied() if "variant" in text else ""),
                ablation=text.get("ablation", "none"),
                objective=text.get("objective", ""),
                seed="mean over seeds",
                **{f"row.{k}": v for k, v in text.items()},
            )
            child = client.create_run(exp_id, run_name=f"{table}: {text.get('row', i)}", tags=tags)
            ms = [Metric(k, v, now, 0) for k, v in numbers.items()]
            for j in range(0, len(ms), 900):
                client.log_batch(child.info.run_id, metrics=ms[j : j + 900])
            client.set_terminated(child.info.run_id)
        client.set_terminated(parent.info.run_id)
        return parent.info.run_id

    return _retry(write, f"logging table {table}")


def log_best_model(runtime: Runtime, run_id: str, checkpoint: str, name: str, tags: dict) -> str:
    """Log a trained detector with ``mlflow.pytorch.log_model`` into the table's run and register it
    as ``name``, so that ``avdf predict --model-uri models:/<name>/<version>`` scores videos with it.

    The model's files hold the avdf checkpoint too (``extra_files``): its input spec (frames, crop
    size, log-Mel settings) is what ``avdf predict`` needs to prepare a video. Returns the version.
    """
    import mlflow
    import mlflow.pytorch
    import torch

    from avdf.learning.models import load_model

    uri = runtime.tracking_uri
    model, _ = load_model(checkpoint)
    client = _client(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)

    def write():
        with mlflow.start_run(run_id=run_id):
            info = mlflow.pytorch.log_model(
                model,
                name="model",
                extra_files=[checkpoint],
                serialization_format="pickle",  # the model takes a dict of tensors; pt2 would trace it
                pip_requirements=[f"torch=={torch.__version__.split('+')[0]}", "avdf"],
                registered_model_name=name,
            )
        version = str(info.registered_model_version)
        for k, v in tags.items():
            client.set_model_version_tag(name, version, k, str(v))
        client.update_model_version(name, version, description=tags.get("description", ""))
        return version

    return _retry(write, f"registering {name}")
