"""Evaluating a trained detector on the test split of a dataset (its own or another one)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pandas as pd
import torch

from avdf import atomic, clips, frame_level, layout, metrics, specs, tracking
from avdf.models import load_model
from avdf.specs import Runtime

log = logging.getLogger(__name__)


@torch.inference_mode()
def outputs(model: torch.nn.Module, data: clips.ClipSet, batch_size: int = 32) -> dict[str, torch.Tensor]:
    """The model's outputs for every clip, in order (logits, and frame logits where it has them)."""
    outs = [model(b) for b in torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False)]
    return {k: torch.cat([o[k] for o in outs]) for k in outs[0] if outs[0][k].dim() >= 1}


def evaluate(
    checkpoint: str,
    train_dataset: str,
    eval_dataset: str,
    seed: int,
    caches: dict,
    job: dict,
    runtime: Runtime,
    out_json: str,
    scores_csv: str,
) -> dict:
    """Evaluate a saved checkpoint (cross-dataset runs; a training job scores its own test split).
    ``job`` is what the rule sends: the ACC ``threshold`` and the run's MLflow ``table`` tag."""
    started = time.time()
    torch.set_num_threads(runtime.threads)
    model, ckpt = load_model(checkpoint)
    return evaluate_model(
        model,
        ckpt,
        checkpoint,
        train_dataset,
        eval_dataset,
        seed,
        caches,
        job,
        runtime,
        out_json,
        scores_csv,
        started,
    )


def evaluate_model(
    model: torch.nn.Module,
    ckpt: dict,
    checkpoint: str,
    train_dataset: str,
    eval_dataset: str,
    seed: int,
    caches: dict,
    job: dict,
    runtime: Runtime,
    out_json: str,
    scores_csv: str,
    started: float,
) -> dict:
    """Score the test split of ``eval_dataset`` with a trained model (``ckpt``: what its checkpoint
    records), write the metrics JSON and the per-clip scores, and log an MLflow run."""
    model.eval()
    table, data = clips.scoring_clipset(caches, ckpt["input"], tuple(ckpt["mel_norm"]), "test", seed)
    out = outputs(model, data)  # one pass serves the clip scores and the frame-level scores
    probs = torch.sigmoid(out["logit"]).numpy()
    threshold = job["threshold"]
    result = {
        "train_dataset": train_dataset,
        "eval_dataset": eval_dataset,
        "method": ckpt["method"],
        "variant": ckpt["variant"],
        "ablation": ckpt["ablation"],
        "objective": ckpt["objective"],
        "seed": seed,
        **metrics.binary_metrics(table["label"].to_numpy(), probs, threshold),
        "auc_by_category": metrics.auc_by_category(table["category"].to_numpy(), probs),
    }
    if frame_level.has_segments(table):  # LAV-DF: fake segments are known, score each frame
        result["frame_level"] = frame_level.frame_auc(out, data, table, ckpt["input"])
        result["timelines"] = frame_level.timelines(out, data, table, ckpt["input"])
    atomic.write_csv(
        scores_csv,
        pd.DataFrame(
            {
                "clip_id": table["clip_id"],
                "category": table["category"],
                "label": table["label"],
                "prob_fake": probs,
            }
        ),
    )
    log.info(
        "eval %s -> %s %s seed%d: ACC %.1f AUC %.1f EER %.1f",
        train_dataset,
        eval_dataset,
        ckpt["method"],
        seed,
        result["acc"],
        result["auc"],
        result["eer"],
    )
    result["mlflow_run_id"] = tracking.log_run(
        runtime,
        f"eval {train_dataset}->{eval_dataset} {ckpt['method']} {ckpt['variant']} seed{seed}",
        tags={
            "stage": "evaluate",
            "table": job["table"] if train_dataset == eval_dataset else "table3",
            "dataset": eval_dataset,
            "train_dataset": train_dataset,
            "eval_dataset": eval_dataset,
            "method": ckpt["method"],
            "variant": ckpt["variant"],
            "ablation": ckpt["ablation"],
            "objective": ckpt["objective"],
            "seed": seed,
            "data": runtime.data_label,
            "checkpoint": str(Path(checkpoint)),
        },
        params={"checkpoint": checkpoint, "threshold": threshold, "n_test": len(table)},
        metrics={k: [(0, result[k])] for k in ("acc", "auc", "eer", "ap")}
        | {f"auc_{c}": [(0, v["auc"])] for c, v in result["auc_by_category"].items()},
        started=started,
        config=job | {"checkpoint_input": specs.to_dict(ckpt["input"])},
        data_files=[checkpoint, *(caches[k] for k in layout.CACHE_INPUTS)],
    )
    atomic.write_json(out_json, result)
    return result
