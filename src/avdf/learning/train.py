"""Training one detector: one run (dataset, method, variant, seed), as its :class:`TrainSpec` says.

Writes the checkpoint and a per-run JSON (per-epoch loss and accuracy) that later stages read,
logs the run to MLflow, and scores the dataset's own test split while the model is in memory.
Deterministic on CPU for a fixed seed. The rooms, in the order a run goes through them:
:func:`training_data`, :func:`build_training`, :func:`fit` (with :func:`run_epoch` and the
progress saved after each epoch, avdf.learning.progress), :func:`save_checkpoint`, :func:`log_to_mlflow`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avdf.contracts import atomic, layout, methods, numerics, specs
from avdf.contracts.checkpoint import Checkpoint
from avdf.contracts.specs import Runtime, TrainSpec
from avdf.data import clips
from avdf.learning import distributed, metrics, models, placement, progress, scoring, steps, tracking
from avdf.learning.distributed import to_device
from avdf.learning.losses import contrastive
from avdf.learning.losses.macbdf_objective import MACBDFObjective
from avdf.learning.models import encoders
from avdf.learning.optim.flat import FlatAdamW
from avdf.learning.optim.om_pareto import OMParetoConfig

log = logging.getLogger(__name__)


def seed_everything(seed: int, threads: int) -> torch.Generator:
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    return torch.Generator().manual_seed(seed)


def make_step(
    spec: TrainSpec,
    model: torch.nn.Module,
    ctx: distributed.Context = distributed.ALONE,
    autocast=contextlib.nullcontext,
):
    """The optimisation step of the run's method (avdf.contracts.methods: ``step``), and what it trains,
    its objective on the run's device (``ctx.device``) beside the model."""
    if methods.get(spec.run.method).step == "baseline":
        step = steps.BaselineStep(
            model, ctx, autocast, spec.target, spec.optim.micro_batch, spec.optim.compile
        )
        return step, step.parameters()
    m = spec.method  # a MACBDFSpec
    contrast = None
    if m.contrastive:
        section = specs.to_dict(m)
        contrast = contrastive.build(
            m.objective, spec.model.dim, section, spec.objective, spec.optim.batch_size
        )
    om = OMParetoConfig(m.om_lambda0, m.om_kappa, m.om_pgd_steps) if m.om_pareto else None
    objective = MACBDFObjective(contrast, m.lambda_c).to(ctx.device)
    step = steps.MACBDFStep(model, objective, om, ctx, autocast, spec.optim.micro_batch, spec.optim.compile)
    return step, step.parameters()


def accelerator(optim: specs.OptimSpec, ctx: distributed.Context):
    """bf16 autocast on GPU when ``train.bf16``; on CPU none (results stay bit-reproducible)."""
    if ctx.device.type == "cuda" and optim.bf16:
        return lambda: torch.autocast("cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext


def decay_groups(trainable: list, weight_decay: float) -> list[dict]:
    """Weight decay on weight matrices and kernels only: parameters with fewer than 2 dimensions
    (biases, norm gains, and learned scalars such as SigLIP's t and b, SVR's radius, the multi-scale
    blocks' lambdas, the adaptive temperature's) are not decayed, as open_clip excludes them."""
    decay = [p for p in trainable if p.ndim >= 2]
    rest = [p for p in trainable if p.ndim < 2]
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest, "weight_decay": 0.0}]


def make_optimizer(
    trainable: list, lr: float, weight_decay: float, method: str = ""
) -> torch.optim.Optimizer:
    """AdamW, fused: one kernel for all parameters instead of a Python loop over them (on a CPU,
    2 ms instead of 12 ms per step for MACB-DF; the update rule is the same). For a ``method`` with the
    two-branch step, over one flat buffer per group (optim.flat): whose 758 parameter tensors at the
    paper profile cost 5,300 operators a step otherwise (issue 30). The baselines keep per-tensor
    buffers: the fused kernel rounds a tensor's last few elements otherwise than the rest, so
    flattening moves their results by an ulp a step, and their reference cells with them."""
    groups = decay_groups(trainable, weight_decay)
    if method and methods.get(method).step == "two_branch":
        return FlatAdamW(groups, lr)
    return torch.optim.AdamW(groups, lr=lr, fused=True)


@torch.inference_mode()
def branch_metrics(
    model: torch.nn.Module, data: clips.ClipSet, threshold: float, batch_size: int = specs.SCORING_BATCH
) -> dict:
    """ACC and AUC on ``data`` of the fused score and, for a model with frame heads, of the audio
    and video branches (the mean frame logit of each modality against its own fake label), each
    clip scored from all its windows as evaluation scores it."""
    out, probs = scoring.score(model, data, data.spec, batch_size)
    scores = {"": (probs, data.labels)}
    if "frame_audio" in out:
        n, how = len(data.clips), data.spec.aggregate
        scores["_audio"] = (clips.clip_probs(out["frame_audio"].mean(1), data.owner, n, how), data.audio_fake)
        scores["_video"] = (clips.clip_probs(out["frame_video"].mean(1), data.owner, n, how), data.video_fake)
    result = {}
    for suffix, (p, label) in scores.items():
        m = metrics.binary_metrics(label.numpy(), p, threshold)
        result[f"test_acc{suffix}"], result[f"test_auc{suffix}"] = m["acc"], m["auc"]
    return result


def validation_threshold(
    model: torch.nn.Module,
    spec: TrainSpec,
    caches: dict,
    mel_norm: tuple,
    batch_size: int = specs.SCORING_BATCH,
) -> dict:
    """The decision threshold chosen on the run's validation split: at the EER point of its clips'
    probabilities (scored as the test split will be; :func:`avdf.learning.metrics.decision_threshold`); 0.5
    when there is no validation split with both classes (said in ``val_threshold_from``)."""
    table, data = clips.scoring_clipset(caches, spec.input, mel_norm, "val", spec.run.seed, reads(spec))
    if table["label"].nunique() < 2:
        return {"val_threshold": 0.5, "val_threshold_from": "none: no validation split with both classes"}
    _, probs = scoring.score(model, data, spec.input, batch_size)
    val_eer, threshold = metrics.decision_threshold(table["label"].to_numpy(), probs)
    return {
        "val_threshold": threshold,
        "val_threshold_from": f"EER point of {len(table)} validation clips",
        "val_eer": val_eer,
    }


@dataclass
class Training:
    """What one run trains with: its data, model, step, optimiser and schedule."""

    data: clips.ClipSet
    loader: torch.utils.data.DataLoader
    test_data: clips.ClipSet | None
    model: torch.nn.Module
    step: object
    opt: torch.optim.Optimizer
    sched: torch.optim.lr_scheduler.LRScheduler
    gen: torch.Generator
    ctx: distributed.Context
    scoring_batch: int = specs.SCORING_BATCH


def reads(spec: TrainSpec) -> methods.Reads:
    return methods.reads(spec.run.method, specs.to_dict(spec.method))


def training_data(spec: TrainSpec, caches: dict) -> clips.ClipSet:
    """The training split, normalised with its own log-Mel statistics."""
    table = clips.usable_clips(caches["manifest"], caches["crops_index"], caches["log_mel_index"], "train")
    if table[spec.target].nunique() < 2:
        raise ValueError(
            f"{spec.run.dataset}: {spec.run.method} learns {spec.target!r}; the training split needs "
            f"clips with it 0 and 1, found {sorted(table[spec.target].unique())}"
        )
    data = clips.make_clipset(table, caches, spec.input, True, spec.run.seed, reads(spec))
    data.mel_norm = clips.mel_stats(data)
    return data


def clip_sampler(
    data: clips.ClipSet, balance: bool, gen: torch.Generator, target: str = "label"
) -> torch.utils.data.Sampler:
    """The order clips are drawn in each epoch: a shuffle, or with ``balance`` as many draws as
    clips, with replacement, each class of the label the run learns (``target``) drawn with
    probability 1/2 (clips weighted by the inverse of their class's count), so that a few percent
    of real clips (FakeAVCeleb) weigh as much as the fakes."""
    if not balance:
        return torch.utils.data.RandomSampler(data, generator=gen)
    labels = data.by_target[target].long()
    weights = 1.0 / torch.bincount(labels, minlength=2).clamp_min(1)[labels].double()
    return torch.utils.data.WeightedRandomSampler(weights, len(data), replacement=True, generator=gen)


def one_cycle(opt: torch.optim.Optimizer, lr: float, total_steps: int) -> torch.optim.lr_scheduler.OneCycleLR:
    """The learning-rate schedule: a warm-up over the first 20% of the steps, then cosine annealing.
    A warm-up of exactly one step is made two: PyTorch's OneCycleLR divides by its length minus
    one (1 epoch of 5 batches failed so at the scale rehearsal's N = 250)."""
    warmup = 0.2 if 0.2 * total_steps != 1 else 2 / total_steps
    return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=total_steps, pct_start=warmup)


def make_loader(
    data: clips.ClipSet, batches, workers: int, device: torch.device
) -> torch.utils.data.DataLoader:
    """The training loader, which ``benchmarks/train_throughput.py`` measures: ``workers`` processes,
    each with one intra-op thread (PyTorch's DataLoader sets it in every worker; the benchmark
    reports it and its test checks it), PyTorch's two batches a worker ready ahead, pinned for a GPU.
    A GPU run's batches carry uint8 crops (ClipSet.pixels_on_device): a MACB-DF batch at the paper
    profile is 77 MB so, 308 MB as float32, and 14 workers hold 28 batches ahead."""
    return torch.utils.data.DataLoader(
        data,
        batch_sampler=batches,
        collate_fn=clips.collate,
        num_workers=workers,
        pin_memory=device.type == "cuda",
        persistent_workers=workers > 0,
    )


def build_training(spec: TrainSpec, caches: dict, runtime: Runtime) -> Training:
    """Seeds, data, loader, model (DDP-ready), step, optimiser and schedule, in the order that
    fixes the random draws of a run."""
    ctx = distributed.setup(spec.optim.device)
    gen = seed_everything(spec.run.seed, runtime.threads)
    data = training_data(spec, caches)
    data.keep_in_memory(runtime.memory_cache_mb)
    data.pixels_on_device = ctx.device.type == "cuda"
    # JPEG to the GPU and decoded there where asked; crops read at a fraction of their side stay with
    # the workers' libjpeg, which decodes them so (nvJPEG decodes whole images)
    data.jpeg_on_device = (
        runtime.crop_decode == "device" and ctx.device.type == "cuda" and data.crop_scale == 1
    )
    batch_size = spec.optim.batch_size
    # the batches of one process (what DataLoader(shuffle=True) draws), each cut into one slice per process
    batches = torch.utils.data.BatchSampler(
        clip_sampler(data, spec.optim.balance, gen, spec.target),
        batch_size,
        drop_last=len(data) > batch_size or ctx.active,
    )
    loader = make_loader(
        data,
        distributed.RankSlices(batches, ctx) if ctx.active else batches,
        runtime.loader_workers,
        ctx.device,
    )
    test_data = None
    if spec.test_every_epoch:
        _, test_data = clips.scoring_clipset(
            caches, spec.input, data.mel_norm, "test", spec.run.seed, reads(spec)
        )
    model = models.build(spec.run.method, spec.input.n_mels, spec.model, spec.method)
    if hasattr(model, "video") and spec.model.visual_init:
        log.info("visual_init: %s", encoders.initialise(model.video, spec.model.visual_init))
    if ctx.active:  # BatchNorm over the global batch, where a process sees only its slice
        parts = model.encoders().values() if methods.get(spec.run.method).step == "two_branch" else [model]
        for part in parts:
            distributed.sync_batchnorm(part, ctx.device)
    model = placement.place(model, ctx.device, spec.optim.channels_last)
    step, trainable = make_step(spec, model, ctx, accelerator(spec.optim, ctx))
    opt = make_optimizer(trainable, spec.optim.lr, spec.optim.weight_decay, spec.run.method)
    sched = one_cycle(opt, spec.optim.lr, spec.optim.epochs * len(loader))
    return Training(data, loader, test_data, model, step, opt, sched, gen, ctx, runtime.scoring_batch)


STEP_LOG_S = 60.0  # an epoch at real scale runs for hours: its progress, at most once a minute


def run_epoch(t: Training, epoch: int, target: str) -> dict:
    """One pass over the training data: the epoch's mean loss, accuracy (against ``target``, the
    label the run learns) and step statistics."""
    t.model.train()
    t.step.start_epoch(epoch)
    t.data.set_epoch(epoch)
    total, correct, seen, step_stats = 0.0, 0, 0, []
    started = logged = time.monotonic()
    for n, batch in enumerate(t.loader, 1):
        batch = to_device(batch, t.ctx.device)
        logit, loss, stats = t.step(batch, t.opt)  # the global batch's logits and loss
        t.sched.step()
        labels = distributed.gather(batch[target])
        total += loss * len(logit)
        correct += int(((logit > 0).float() == labels).sum())
        seen += len(logit)
        step_stats.append(stats)
        if t.ctx.main and time.monotonic() - logged >= STEP_LOG_S:
            logged = time.monotonic()
            per_step = (logged - started) / n
            left = per_step * (len(t.loader) - n)
            log.info(
                "epoch %d: step %d/%d, %.1f s a step, loss %.4f, epoch ETA %.0f s",
                epoch + 1,
                n,
                len(t.loader),
                per_step,
                total / seen,
                left,
                extra={"progress": True},
            )
    # L_C terms, tau, fusion weights, OM-Pareto first, as the history has always listed them
    return steps.mean_stats(step_stats) | {"loss": total / seen, "train_acc": 100 * correct / seen}


def fit(t: Training, spec: TrainSpec, out: Path, checkpoint_every_s: float = 0.0) -> tuple[dict, int]:
    """Every epoch, resuming from ``out/progress.pt`` when a killed run left one; the history and the
    epoch it resumed after (0 when it started afresh). progress.pt is written after an epoch once
    ``checkpoint_every_s`` have passed since the last write (0: after every epoch but the last)."""
    path, fingerprint = out / "progress.pt", specs.to_json(spec) + json.dumps(numerics.in_effect())
    first, history = progress.load(path, fingerprint, t.step, t.opt, t.sched, t.gen)
    started = time.monotonic() - (history["seconds"][-1] if history["seconds"] else 0.0)
    saved = time.monotonic()
    epochs = spec.optim.epochs
    for epoch in range(first, epochs):
        for k, v in run_epoch(t, epoch, spec.target).items():
            history[k].append(v)
        if t.test_data is not None and t.ctx.main:
            scoring = time.monotonic()
            for k, v in branch_metrics(t.model, t.test_data, spec.threshold, t.scoring_batch).items():
                history[k].append(v)
            history["test_scoring_seconds"].append(time.monotonic() - scoring)
        history["seconds"].append(time.monotonic() - started)
        eta = history["seconds"][-1] / (epoch + 1) * (epochs - epoch - 1)
        log.info(
            "train %s: epoch %d/%d loss %.4f acc %.1f%% (%.1f s, ETA %.0f s)",
            "/".join(map(str, spec.run)),
            epoch + 1,
            epochs,
            history["loss"][-1],
            history["train_acc"][-1],
            history["seconds"][-1],
            eta,
            extra={"progress": True},
        )
        if epoch + 1 < epochs and t.ctx.main and time.monotonic() - saved >= checkpoint_every_s:
            progress.save(path, epoch, fingerprint, t.step, t.opt, t.sched, history, t.gen)
            saved = time.monotonic()
    return history, first


def save_checkpoint(
    model: torch.nn.Module, spec: TrainSpec, mel_norm: tuple, val: dict, path: Path
) -> Checkpoint:
    run, section = spec.run, specs.to_dict(spec.method)
    ckpt = Checkpoint(
        method=run.method,
        train_dataset=run.dataset,
        variant=run.variant,
        ablation=methods.ablation_of(run.method, section),
        objective=methods.objective_of(run.method, section),
        model=specs.to_dict(spec.model),
        method_cfg=section,
        input=spec.input,
        mel_norm=tuple(mel_norm),
        val_threshold=val["val_threshold"],
        state_dict=model.state_dict(),
    )
    ckpt.save(path)
    return ckpt


def log_to_mlflow(spec: TrainSpec, runtime: Runtime, summary: dict, caches: dict, started: float) -> str:
    run = spec.run
    return tracking.log_run(
        runtime,
        f"train {run.dataset} {run.method} {run.variant} seed{run.seed}",
        tags=tracking.run_tags(
            "train",
            spec.table,
            runtime.data_label,
            dataset=run.dataset,
            train_dataset=run.dataset,
            method=run.method,
            variant=run.variant,
            ablation=summary["ablation"],
            objective=summary["objective"],
            seed=run.seed,
        ),
        params={
            **tracking.flatten("train", specs.to_dict(spec.optim) | {"frames": spec.input.frames}),
            **tracking.flatten("input", {"window_s": spec.input.window_s}),
            **tracking.flatten("model", specs.to_dict(spec.model)),
            **tracking.flatten(run.method, specs.to_dict(spec.method)),
            **tracking.flatten("contrastive", spec.objective),
            "method": run.method,
            "target": spec.target,
            "seed": run.seed,
            "n_train": summary["n_train"],
            "val_threshold": summary["val_threshold"],
        },
        metrics={k: list(enumerate(v)) for k, v in summary["history"].items()},
        started=started,
        config=specs.to_dict(spec),
        data_files=[caches[k] for k in layout.CACHE_INPUTS],
    )


def train(spec: TrainSpec, caches: dict, runtime: Runtime, out_dir: str, then=None) -> dict:
    """Train the run of ``spec`` (its variant already applied) into ``out_dir``.

    Nothing is selected on test scores: the checkpoint is the last epoch's. A run killed part-way
    resumes from ``progress.pt`` (when made for the same spec) and ends with the same model as an
    uninterrupted run. ``then(model, checkpoint)``, when given, runs on the finished model before
    ``train.json`` marks the run finished: ``avdf train --eval-json`` scores the run's own test
    split there, exactly as ``avdf evaluate`` would from the checkpoint, in the same process.
    """
    wall_start = time.time()
    t = build_training(spec, caches, runtime)
    out = Path(out_dir)
    history, first = fit(t, spec, out, runtime.checkpoint_every_s)
    if not t.ctx.main:  # the other processes only helped train; process 0 writes everything
        distributed.teardown(t.ctx)
        return {}
    model = t.model.cpu()
    seconds = {"fit": time.time() - wall_start}  # includes building the data and per-epoch test scoring
    val = validation_threshold(model, spec, caches, t.data.mel_norm, runtime.scoring_batch)
    seconds["validation"] = time.time() - wall_start - seconds["fit"]
    ckpt = save_checkpoint(model, spec, t.data.mel_norm, val, out / "model.pt")
    summary = {
        "dataset": spec.run.dataset,
        **ckpt.describes(),
        "ms_depth": getattr(spec.method, "ms_depth", None),
        "seed": spec.run.seed,
        "n_train": len(t.data),
        **val,
        "epochs": spec.optim.epochs,
        "resumed_after_epoch": first or None,
        "history": dict(history),
        "seconds": seconds,
    }
    summary["mlflow_run_id"] = log_to_mlflow(spec, runtime, summary, caches, wall_start)
    if then is not None:
        scoring_started = time.time()
        then(model, ckpt)
        summary["seconds"]["test_scoring"] = time.time() - scoring_started
    # last: the file Snakemake and the tables treat as the sign of a finished run
    atomic.write_json(out / "train.json", summary)
    (out / "progress.pt").unlink(missing_ok=True)
    distributed.teardown(t.ctx)
    return summary
