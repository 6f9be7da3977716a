"""Evaluating a trained detector on the test split of a dataset (its own or another one)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from avdf.contracts import atomic, layout, methods, specs
from avdf.contracts.specs import Runtime
from avdf.data import clips
from avdf.evaluation import frame_level
from avdf.learning import metrics, placement, tracking
from avdf.learning.distributed import to_device
from avdf.learning.models import load_model

log = logging.getLogger(__name__)


@torch.inference_mode()
def outputs(
    model: torch.nn.Module, data: clips.ClipSet, batch_size: int = specs.SCORING_BATCH
) -> dict[str, torch.Tensor]:
    """The model's outputs for every window of every clip, in order (logits, and frame logits where
    it has them); ``data.owner`` says whose window each row is."""
    model.eval()
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False)
    outs = [{k: v.float().cpu() for k, v in model(to_device(b, device)).items()} for b in loader]
    return {k: torch.cat([o[k] for o in outs]) for k in outs[0] if outs[0][k].dim() >= 1}


def score(
    model: torch.nn.Module, data: clips.ClipSet, spec: specs.InputSpec, batch_size: int = specs.SCORING_BATCH
) -> tuple[dict, np.ndarray]:
    """The windows' outputs and one fake probability per clip (avdf.data.clips.clip_probs): what
    evaluation, the validation threshold and the in-training test metrics all read. ``batch_size``
    windows at a time (memory only: the model is in eval mode, each window scored apart)."""
    out = outputs(model, data, batch_size)
    return out, clips.clip_probs(out["logit"], data.owner, len(data.clips), spec.aggregate)


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
    model = placement.place(model, placement.device("auto"))  # as training's train.device: auto
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
    waveform = methods.needs_waveform(ckpt["method"], ckpt["method_cfg"])
    table, data = clips.scoring_clipset(
        caches, ckpt["input"], tuple(ckpt["mel_norm"]), "test", seed, waveform
    )
    # one pass: clip scores and frame-level scores
    out, probs = score(model, data, ckpt["input"], runtime.scoring_batch)
    threshold, val_threshold = job["threshold"], ckpt["val_threshold"]
    result = {
        "train_dataset": train_dataset,
        "eval_dataset": eval_dataset,
        "method": ckpt["method"],
        "variant": ckpt["variant"],
        "ablation": ckpt["ablation"],
        "objective": ckpt["objective"],
        "seed": seed,
        **metrics.binary_metrics(table["label"].to_numpy(), probs, threshold),
        "val_threshold": val_threshold,
        "acc_val": metrics.accuracy(table["label"].to_numpy(), probs, val_threshold),
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
        "eval %s -> %s %s seed%d: ACC %.1f (at validation threshold %.1f) AUC %.1f EER %.1f",
        train_dataset,
        eval_dataset,
        ckpt["method"],
        seed,
        result["acc"],
        result["acc_val"],
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
        params={
            "checkpoint": checkpoint,
            "threshold": threshold,
            "val_threshold": val_threshold,
            "n_test": len(table),
        },
        metrics={k: [(0, result[k])] for k in metrics.METRICS}
        | {f"auc_{c}": [(0, v["auc"])] for c, v in result["auc_by_category"].items()},
        started=started,
        config=job | {"checkpoint_input": specs.to_dict(ckpt["input"])},
        data_files=[checkpoint, *(caches[k] for k in layout.CACHE_INPUTS)],
    )
    atomic.write_json(out_json, result)
    return result
