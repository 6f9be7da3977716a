"""Training one detector: one dataset, one method, one seed.

Writes the checkpoint and a per-run JSON (per-epoch loss and accuracy) that later stages read,
and logs the run to MLflow. Deterministic on CPU for a fixed seed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from avdf import atomic, clips, distributed, layout, metrics, models, steps, studies, tracking
from avdf.losses import contrastive
from avdf.losses.macbdf_objective import MACBDFObjective
from avdf.optim.om_pareto import OMParetoConfig

log = logging.getLogger(__name__)


def seed_everything(seed: int, threads: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def input_spec(params: dict) -> dict:
    """What the model sees, stored in the checkpoint so that evaluation, and ``avdf predict`` on
    any video, prepare clips the same way (face tracking and crops, log-Mel, frame sampling)."""
    lm = params["log_mel"]
    return {
        "frames": params["train"]["frames"],
        "clip_seconds": params["synth"]["duration_s"],
        "fps": params["media"]["fps"],
        "sample_rate": params["media"]["sample_rate"],
        "mel_frames_per_second": params["media"]["sample_rate"] / lm["hop_length"],
        "n_mels": lm["n_mels"],
        "log_mel": lm,
        "faces": params["faces"],
    }


def make_step(
    method: str,
    model: torch.nn.Module,
    params: dict,
    ctx: distributed.Context = distributed.ALONE,
    autocast=contextlib.nullcontext,
):
    """The optimisation step of a method, and the parameters it trains."""
    if method != "macbdf":
        step = steps.BaselineStep(model, ctx, autocast)
        return step, step.parameters()
    m = params["macbdf"]
    contrast = None
    if m["contrastive"]:
        contrast = contrastive.build(
            m["objective"], params["model"]["dim"], m, params["contrastive"], params["train"]["batch_size"]
        )
    om = OMParetoConfig(m["om_lambda0"], m["om_kappa"], m["om_pgd_steps"]) if m["om_pareto"] else None
    step = steps.MACBDFStep(model, MACBDFObjective(contrast, m["lambda_c"]), om, ctx, autocast)
    return step, step.parameters()


def accelerator(cfg: dict, ctx: distributed.Context):
    """bf16 autocast on GPU when ``train.bf16``; on CPU none (results stay bit-reproducible)."""
    if ctx.device.type == "cuda" and cfg.get("bf16", False):
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def to_device(batch: dict, device: torch.device) -> dict:
    if device.type == "cpu":
        return batch
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


def ablation_tag(method: str, params: dict) -> str:
    """Which parts of MACB-DF are switched off ("none" for the full model and the baselines)."""
    if method != "macbdf":
        return "none"
    m = params["macbdf"]
    off = [
        name
        for name, on in (
            ("L_C", m["contrastive"]),
            ("L_intra", m["intra"]),
            ("L_cross", m["cross"]),
            ("w", m["fusion_weights"]),
            ("om_pareto", m["om_pareto"]),
        )
        if not on
    ]
    return "w/o " + ",".join(off) if off else "none"


def make_optimizer(trainable: list, lr: float, weight_decay: float) -> torch.optim.Optimizer:
    """AdamW, fused: one kernel for all parameters instead of a Python loop over them
    (on a CPU, 2 ms instead of 12 ms per step for MACB-DF; the update rule is the same)."""
    return torch.optim.AdamW(trainable, lr=lr, weight_decay=weight_decay, fused=True)


@torch.inference_mode()
def branch_metrics(model: torch.nn.Module, data: clips.ClipSet, threshold: float) -> dict:
    """ACC and AUC on ``data`` of the fused score and, for MACB-DF, of the audio and video branches
    (the mean frame logit of each modality against that modality's own fake label)."""
    model.eval()
    device = next(model.parameters()).device
    outs = [
        {k: v.float().cpu() for k, v in model(to_device(b, device)).items()}
        | {k: b[k] for k in ("label", "audio_fake", "video_fake")}
        for b in torch.utils.data.DataLoader(data, batch_size=32)
    ]
    cat = {k: torch.cat([o[k] for o in outs]) for k in outs[0] if outs[0][k].dim() >= 1}
    scores = {"": (cat["logit"], cat["label"])}
    if "frame_audio" in cat:
        scores["_audio"] = (cat["frame_audio"].mean(1), cat["audio_fake"])
        scores["_video"] = (cat["frame_video"].mean(1), cat["video_fake"])
    result = {}
    for suffix, (logit, label) in scores.items():
        m = metrics.binary_metrics(label.numpy(), torch.sigmoid(logit).numpy(), threshold)
        result[f"test_acc{suffix}"], result[f"test_auc{suffix}"] = m["acc"], m["auc"]
    return result


def _buffers(step) -> dict[str, torch.Tensor]:
    """Every buffer of the model and the objective, non-persistent ones too (MACL's and SupCon's
    negative queues, the adaptive temperature's state), which a resumed run needs back."""
    parts = {"model": step.model, "objective": getattr(step, "objective", None)}
    return {f"{p}.{n}": b.clone() for p, m in parts.items() if m is not None for n, b in m.named_buffers()}


def _restore_buffers(step, saved: dict[str, torch.Tensor]) -> None:
    for path, value in saved.items():
        owner = step.model if path.startswith("model.") else step.objective
        *inner, leaf = path.split(".")[1:]
        for name in inner:
            owner = getattr(owner, name)
        setattr(owner, leaf, value)


def save_progress(path: Path, epoch: int, fingerprint: str, step, opt, sched, history, gen, data) -> None:
    """Everything the next epoch depends on, so that a killed run resumes to the same result."""
    state = {
        "fingerprint": fingerprint,
        "epoch": epoch,
        "model": step.model.state_dict(),
        "objective": step.objective.state_dict() if hasattr(step, "objective") else None,
        "buffers": _buffers(step),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "history": dict(history),
        "rng": {
            "torch": torch.get_rng_state(),
            "numpy": np.random.get_state(),
            "loader": gen.get_state(),
        },
    }
    with atomic.atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_progress(path: Path, fingerprint: str, step, opt, sched, gen, data) -> tuple[int, dict]:
    """The epoch to start from and the history so far (0 and empty when there is nothing to resume)."""
    if not path.exists():
        return 0, defaultdict(list)
    state = torch.load(path, map_location="cpu", weights_only=False)  # written by save_progress above
    if state["fingerprint"] != fingerprint:
        log.info("%s: made with other parameters, starting over", path)
        return 0, defaultdict(list)
    step.model.load_state_dict(state["model"])
    if state["objective"] is not None:
        step.objective.load_state_dict(state["objective"])
    _restore_buffers(step, state["buffers"])
    opt.load_state_dict(state["optimizer"])
    sched.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"]["torch"])
    np.random.set_state(state["rng"]["numpy"])
    gen.set_state(state["rng"]["loader"])
    log.info("%s: resuming after epoch %d", path, state["epoch"] + 1)
    return state["epoch"] + 1, defaultdict(list, state["history"])


def train(
    dataset: str,
    method: str,
    variant: str,
    seed: int,
    caches: dict,
    params: dict,
    out_dir: str,
    eval_json: str | None = None,
    eval_scores: str | None = None,
) -> dict:
    """Train ``method`` on ``dataset`` with ``params`` (the variant's changes already applied).

    ``params["run"]`` says what the studies want of this run: its MLflow ``table`` tag, and whether
    to score the test split after every epoch (overall and per branch; MACB-DF runs of Figs. 6-7).
    Nothing is selected on that score: the checkpoint is the last epoch's. After every epoch the
    whole training state goes to ``<out_dir>/progress.pt``; a run killed part-way resumes from it
    (when made with the same parameters) and ends with the same model as an uninterrupted run.
    With ``eval_json`` and
    ``eval_scores``, the finished model then scores its own test split exactly as ``avdf evaluate``
    would from the checkpoint, in the same process (one job per run instead of two).
    """
    cfg = params["train"]
    wall_start = time.time()
    ctx = distributed.setup(cfg.get("device", "cpu"))
    gen = seed_everything(seed, cfg["threads"])
    spec = input_spec(params)
    table = clips.usable_clips(caches["manifest"], caches["crops_index"], caches["log_mel_index"], "train")
    if table["label"].nunique() < 2:
        raise ValueError(
            f"{dataset}: the training split needs real and fake clips, found labels "
            f"{sorted(table['label'].unique())}"
        )
    data = clips.make_clipset(table, caches, spec, train=True, seed=seed)
    # log-Mel normalisation from the training clips; stored in the checkpoint for evaluation
    spec["mel_mean"], spec["mel_std"] = clips.mel_stats(data)
    data.mel_mean, data.mel_std = spec["mel_mean"], spec["mel_std"]
    # the batches of one process (what DataLoader(shuffle=True) draws), each cut into one slice per process
    batches = torch.utils.data.BatchSampler(
        torch.utils.data.RandomSampler(data, generator=gen),
        cfg["batch_size"],
        drop_last=len(data) > cfg["batch_size"] or ctx.active,
    )
    loader = torch.utils.data.DataLoader(
        data,
        batch_sampler=distributed.RankSlices(batches, ctx) if ctx.active else batches,
        num_workers=cfg.get("loader_workers", 0),
        pin_memory=ctx.device.type == "cuda",
        persistent_workers=cfg.get("loader_workers", 0) > 0,
    )
    test_data = None
    if params["run"]["test_every_epoch"]:
        _, test_data = clips.scoring_clipset(caches, spec, "test", seed)
    model = models.build(method, spec["n_mels"], params["model"], models.method_cfg(method, params))
    if ctx.active:  # BatchNorm over the global batch, where a process sees only its slice
        for part in model.encoders().values() if method == "macbdf" else [model]:
            distributed.sync_batchnorm(part, ctx.device)
    model = model.to(ctx.device)
    if ctx.device.type == "cuda" and cfg.get("channels_last", False):
        model = model.to(memory_format=torch.channels_last)
    step, trainable = make_step(method, model, params, ctx, accelerator(cfg, ctx))
    if hasattr(step, "objective"):
        step.objective.to(ctx.device)
    opt = make_optimizer(trainable, cfg["lr"], cfg["weight_decay"])
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=cfg["lr"], total_steps=cfg["epochs"] * len(loader), pct_start=0.2
    )
    out = Path(out_dir)
    progress = out / "progress.pt"
    fingerprint = json.dumps(
        [dataset, method, variant, seed, {k: v for k, v in params.items() if k != "run"}],
        sort_keys=True,
        default=str,
    )
    first, history = load_progress(progress, fingerprint, step, opt, sched, gen, data)
    started = time.monotonic() - (history["seconds"][-1] if history["seconds"] else 0.0)
    for epoch in range(first, cfg["epochs"]):
        model.train()
        step.start_epoch(epoch)
        data.set_epoch(epoch)
        total, correct, seen, step_stats = 0.0, 0, 0, []
        for batch in loader:
            batch = to_device(batch, ctx.device)
            logit, loss, stats = step(batch, opt)  # the global batch's logits and loss
            sched.step()
            labels = distributed.gather(batch["label"])
            total += loss * len(logit)
            correct += int(((logit > 0).float() == labels).sum())
            seen += len(logit)
            step_stats.append(stats)
        for k, v in steps.mean_stats(step_stats).items():  # L_C terms, tau, fusion weights, OM-Pareto
            history[k].append(v)
        history["loss"].append(total / seen)
        history["train_acc"].append(100 * correct / seen)
        if test_data is not None and ctx.main:
            for k, v in branch_metrics(model, test_data, params["evaluate"]["threshold"]).items():
                history[k].append(v)
        history["seconds"].append(time.monotonic() - started)
        eta = history["seconds"][-1] / (epoch + 1) * (cfg["epochs"] - epoch - 1)
        log.info(
            "train %s/%s/%s/seed%d: epoch %d/%d loss %.4f acc %.1f%% (%.1f s, ETA %.0f s)",
            dataset,
            method,
            variant,
            seed,
            epoch + 1,
            cfg["epochs"],
            history["loss"][-1],
            history["train_acc"][-1],
            history["seconds"][-1],
            eta,
            extra={"progress": True},
        )
        if epoch + 1 < cfg["epochs"] and ctx.main:
            save_progress(progress, epoch, fingerprint, step, opt, sched, history, gen, data)
    if not ctx.main:  # the other processes only helped train; process 0 writes everything
        distributed.teardown(ctx)
        return {}
    model = model.cpu()

    ckpt = {
        "method": method,
        "model_cfg": params["model"],
        "macbdf": params.get("macbdf"),
        "method_cfg": models.method_cfg(method, params),
        "variant": variant,
        "ablation": ablation_tag(method, params),
        "objective": studies.objective_of(params, method),
        "input": spec,
        "state_dict": model.state_dict(),
    }
    with atomic.atomic_path(out / "model.pt") as tmp:
        torch.save(ckpt, tmp)
    summary = {
        "dataset": dataset,
        "method": method,
        "variant": variant,
        "ablation": ablation_tag(method, params),
        "objective": studies.objective_of(params, method),
        "ms_depth": params["macbdf"]["ms_depth"] if method == "macbdf" else None,
        "seed": seed,
        "n_train": len(data),
        "epochs": cfg["epochs"],
        "resumed_after_epoch": first or None,
        "history": dict(history),
        "input": spec,
    }
    mlf = params["mlflow"]
    summary["mlflow_run_id"] = tracking.log_run(
        mlf["tracking_uri"],
        mlf["experiment"],
        f"train {dataset} {method} {variant} seed{seed}",
        tags={
            "stage": "train",
            "table": params["run"]["table"],
            "dataset": dataset,
            "train_dataset": dataset,
            "method": method,
            "variant": variant,
            "ablation": summary["ablation"],
            "objective": summary["objective"],
            "seed": seed,
            "data": params["data_label"],
        },
        params={
            **tracking.flatten("train", cfg),
            **tracking.flatten("model", params["model"]),
            **tracking.flatten(method, models.method_cfg(method, params)),
            **(tracking.flatten("contrastive", params["contrastive"]) if method == "macbdf" else {}),
            "method": method,
            "seed": seed,
            "n_train": len(data),
        },
        metrics={k: list(enumerate(v)) for k, v in history.items()},
        started=wall_start,
        config=params,
        data_files=[caches[k] for k in layout.CACHE_INPUTS],
    )
    if eval_json is not None:
        from avdf import evaluate  # evaluation imports the clip helpers, not training

        evaluate.evaluate_model(
            model,
            ckpt,
            str(out / "model.pt"),
            dataset,
            dataset,
            seed,
            caches,
            params | {"table": params["run"]["table"]},
            eval_json,
            eval_scores,
            time.time(),
        )
    # last: the file Snakemake and the tables treat as the sign of a finished run
    atomic.write_json(out / "train.json", summary)
    progress.unlink(missing_ok=True)
    distributed.teardown(ctx)
    return summary
