"""Evaluating a trained detector on the test split of a dataset (its own or another one)."""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from avdf.contracts import atomic, layout, specs
from avdf.contracts.checkpoint import Checkpoint
from avdf.contracts.specs import Runtime
from avdf.data import clips
from avdf.evaluation import boundaries, frame_level
from avdf.learning import metrics, placement, scoring, tracking
from avdf.learning.models import load_model

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class EvalJob:
    """One evaluation: which checkpoint scores which dataset's test split, with what ACC threshold,
    under which MLflow ``table`` tag, and where its files go."""

    checkpoint: str
    train_dataset: str
    eval_dataset: str
    seed: int
    caches: dict  # the eval dataset's caches (avdf.contracts.layout.caches)
    threshold: float
    table: str
    out_json: str
    scores_csv: str

    @property
    def table_tag(self) -> str:
        """A cross-dataset evaluation belongs to Table 3 whatever study trained the model."""
        return self.table if self.train_dataset == self.eval_dataset else "table3"


def evaluate(job: EvalJob, runtime: Runtime) -> dict:
    """Evaluate a saved checkpoint (cross-dataset runs; a training job scores its own test split)."""
    started = time.time()
    torch.set_num_threads(runtime.threads)
    model, ckpt = load_model(job.checkpoint)
    model = placement.place(model, placement.device("auto"))  # as training's train.device: auto
    return evaluate_model(model, ckpt, job, runtime, started)


def evaluate_model(
    model: torch.nn.Module, ckpt: Checkpoint, job: EvalJob, runtime: Runtime, started: float
) -> dict:
    """Score the test split of ``job.eval_dataset`` with a trained model, write the metrics JSON and
    the per-clip scores, and log an MLflow run."""
    model.eval()
    table, data = clips.scoring_clipset(job.caches, ckpt.input, ckpt.mel_norm, "test", job.seed, ckpt.reads)
    out, probs = scoring.score(
        model, data, ckpt.input, runtime.scoring_batch
    )  # clip and frame scores, one pass
    result = {"train_dataset": job.train_dataset, "eval_dataset": job.eval_dataset, **ckpt.describes()}
    result |= {"seed": job.seed, **metrics_of(table, probs, job.threshold, ckpt.val_threshold)}
    if frame_level.has_segments(table):  # LAV-DF: fake segments are known, localise them
        result |= localised(model, out, data, table, ckpt.input)
    columns = {c: table[c] for c in ("clip_id", "category", "label")}
    atomic.write_csv(job.scores_csv, pd.DataFrame(columns | {"prob_fake": probs}))
    log.info(
        "eval %s -> %s %s seed%d: ACC %.1f (at validation threshold %.1f) AUC %.1f EER %.1f",
        *(job.train_dataset, job.eval_dataset, ckpt.method, job.seed),
        *(result[k] for k in ("acc", "acc_val", "auc", "eer")),
    )
    result["mlflow_run_id"] = log_evaluation(ckpt, job, runtime, result, started, len(table))
    atomic.write_json(job.out_json, result)
    return result


def localised(model: torch.nn.Module, out: dict, data, table: pd.DataFrame, spec) -> dict:
    """Each test clip's timeline for localisation: a localiser's own proposals, or a frame-head
    model's frame probabilities (and its frame-level AUC)."""
    decoding = boundaries.decoding_of(model)
    if decoding:
        return {"timelines": boundaries.timelines(out, data, table, spec, decoding)}
    return {
        "frame_level": frame_level.frame_auc(out, data, table, spec),
        "timelines": frame_level.timelines(out, data, table, spec),
    }


def metrics_of(table: pd.DataFrame, probs: np.ndarray, threshold: float, val_threshold: float) -> dict:
    """ACC at ``threshold`` and at the validation threshold, AUC, EER and the AUC per category."""
    labels = table["label"].to_numpy()
    return {
        **metrics.binary_metrics(labels, probs, threshold),
        "val_threshold": val_threshold,
        "acc_val": metrics.accuracy(labels, probs, val_threshold),
        "auc_by_category": metrics.auc_by_category(table["category"].to_numpy(), probs),
    }


def log_evaluation(
    ckpt: Checkpoint, job: EvalJob, runtime: Runtime, result: dict, started: float, n: int
) -> str:
    fields = {"train_dataset": job.train_dataset, "eval_dataset": job.eval_dataset, **ckpt.describes()}
    return tracking.log_run(
        runtime,
        f"eval {job.train_dataset}->{job.eval_dataset} {ckpt.method} {ckpt.variant} seed{job.seed}",
        tags=tracking.run_tags(
            "evaluate",
            job.table_tag,
            runtime.data_label,
            dataset=job.eval_dataset,
            **fields,
            seed=job.seed,
            checkpoint=str(Path(job.checkpoint)),
        ),
        params={
            "checkpoint": job.checkpoint,
            "threshold": job.threshold,
            "val_threshold": ckpt.val_threshold,
            "n_test": n,
        },
        metrics={k: [(0, result[k])] for k in metrics.METRICS}
        | {f"auc_{c}": [(0, v["auc"])] for c, v in result["auc_by_category"].items()},
        started=started,
        config={
            "threshold": job.threshold,
            "table": job.table,
            "checkpoint_input": specs.to_dict(ckpt.input),
        },
        data_files=[job.checkpoint, *(job.caches[k] for k in layout.CACHE_INPUTS)],
    )
