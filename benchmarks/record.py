"""Where the benchmarks keep their numbers: a row appended to ``results/bench_<name>.csv`` and a
run in the MLflow experiment ``avdf-benchmarks``, so a later change can be compared with this one.
``AVDF_BENCH_DIR`` puts both (the CSV and an ``mlflow.db``) in another folder: the tests that run
every benchmark at its smallest setting use it, so that they leave no numbers in results/."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import yaml

from avdf.contracts import atomic
from avdf.contracts.config import REPO_ROOT
from avdf.contracts.specs import Runtime
from avdf.learning import tracking


def record(name: str, result: dict) -> Path:
    folder = Path(os.environ.get("AVDF_BENCH_DIR", REPO_ROOT / "results"))
    out = folder / f"bench_{name}.csv"
    row = pd.DataFrame([result | {"when": time.strftime("%Y-%m-%d %H:%M:%S")}])
    atomic.write_csv(out, pd.concat([pd.read_csv(out), row], ignore_index=True) if out.exists() else row)
    uri = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())["mlflow"]["tracking_uri"]
    store = REPO_ROOT  # a relative store is the repository's, wherever the benchmark was started
    if "AVDF_BENCH_DIR" in os.environ:
        store, uri = folder.resolve(), f"sqlite:///{folder.resolve() / 'mlflow.db'}"
    elif uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        uri = f"sqlite:///{REPO_ROOT / uri.removeprefix('sqlite:///')}"
    try:
        tracking.init_store(uri, "avdf-benchmarks", str(store / "mlartifacts"))
        numbers = {k: [(0, float(v))] for k, v in result.items() if isinstance(v, int | float)}
        runtime = Runtime(1, 1, 0, uri, "avdf-benchmarks", "benchmark", [])
        tracking.log_run(runtime, name, {"benchmark": name}, {}, numbers)
    except Exception as e:  # the CSV has the numbers either way (a GPU node may have no MLflow)
        print(f"recorded in {out}; not logged to MLflow: {e}")
        return out
    print(f"recorded in {out} and MLflow (experiment avdf-benchmarks)")
    return out
