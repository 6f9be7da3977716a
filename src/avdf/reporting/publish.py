"""Tables and figures into MLflow: each one a parent run with its files and a child run per row,
and, for the tables named in ``mlflow.register_best``, the table's best detector registered as
``avdf-<table>`` (so that ``avdf predict --model-uri models:/avdf-<table>/latest`` scores with it).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from avdf.contracts.specs import Runtime
from avdf.learning import tracking
from avdf.reporting import tables

log = logging.getLogger(__name__)


def publish(
    runtime: Runtime, csv: str, figures: list[str], datasets: list[str], eval_jsons: list[str] = ()
) -> str:
    """Log a table (or figure) made from ``eval_jsons``; register its best model if asked to."""
    name = Path(csv).stem
    parent = tracking.log_table(runtime, name, csv, figures, datasets)
    if name in runtime.register_best:
        register_best(runtime, parent, name, csv, list(eval_jsons))
    return parent


def register_best(runtime: Runtime, parent: str, name: str, csv: str, eval_jsons: list[str]) -> str:
    best = tables.best_model(eval_jsons, pd.read_csv(csv))
    model_name = f"avdf-{name}"
    best["description"] = (
        f"Best detector of {name}: {best['row']} trained on {best['train_dataset']}"
        f" (seed {best['seed']}, in-dataset AUC {best['auc']:.1f}). Data: {best['data']}."
    )
    version = tracking.log_best_model(runtime, parent, best["checkpoint"], model_name, best)
    log.info("registered models:/%s/%s (%s)", model_name, version, best["checkpoint"])
    return version
