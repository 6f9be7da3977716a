"""One optimisation step per kind of model: the trainer calls these, and the benchmark times them.

- :class:`BaselineStep`: the model's own loss (``model.loss``) or BCE of the clip logit against the
  label the run learns (``target``: the clip's, or a unimodal model's own modality's), one backward pass.
- :class:`MACBDFStep`: the MACB-DF objective. Without OM-Pareto, the plain summed loss
  ``L_m + L_u^audio + L_u^video`` and one backward pass. With OM-Pareto, one backward pass through
  the head (everything after the encoders) yields each loss's gradient at each encoder's output
  features (the multimodal and unimodal parts read separate copies of them); OM-Pareto
  (:mod:`avdf.learning.optim.om_pareto`) combines the two gradients per encoder, and a single backward pass
  through the encoders applies the result. The encoders, the costly part, are differentiated once,
  as in the plain step.

Both take a :class:`avdf.learning.distributed.Context`: with several processes, each step sees this
process's slice of the global batch and returns the logits and loss of the global batch (see
avdf.learning.distributed for how MACB-DF's head runs on the gathered batch). ``autocast`` (bf16 on GPU)
wraps the forward passes.

``micro_batch`` (``train.micro_batch``; 0: off) bounds the memory of a step without changing its
batch: the activations of at most that many clips are held at once. The baseline step runs forward
and backward on consecutive slices and sums their gradients, each slice's loss weighted by its share
of the batch (every baseline loss is a mean over clips, so the sum is the batch's gradient). MACB-DF's
objective compares clips with each other (contrastive terms, OM-Pareto), so its step encodes the
slices without keeping activations, runs the head and the objective on the whole batch's features,
then encodes each slice again with activations and back-propagates the features' gradients into the
encoders (gradient caching: Gao et al. 2021, "Scaling Deep Contrastive Learning Batch Size under
Memory Limited Setup"; open_clip's ``accum_freq`` does the same). The second pass replays the first's
random draws (dropout), so it computes the same features. The head's multi-scale blocks, which treat
each clip apart and hold most of its memory, run in slices too and are recomputed in the backward
pass (``MACBDF.block_slice``). Measured by benchmarks/train_memory.py. In both steps BatchNorm in the slices'
forward passes normalises over a slice, not the batch: the one difference from the whole batch.

``compiled`` (``train.compile``) runs the forward passes through ``torch.compile``: the baseline's
model, and MACB-DF's encoders and its head with the objective, each as few graphs, whose backward
passes are compiled with them. The steps around them (OM-Pareto, the optimiser) stay as they are.
Eager is the reference; a compiled step computes the same function in other kernels (docs/gpu.md).
"""

from __future__ import annotations

import contextlib
from collections import defaultdict

import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits as bce

from avdf.learning import distributed
from avdf.learning.optim import om_pareto

ENCODERS = ("audio", "video")
LABELS = ("label", "audio_fake", "video_fake", "index")


def slices(batch: dict, size: int) -> list[tuple[dict, float]]:
    """The batch cut into consecutive slices of ``size`` clips, each with its share of the batch;
    the whole batch alone when ``size`` is 0 or not smaller than it."""
    n = len(batch["label"])
    if not size or size >= n:
        return [(batch, 1.0)]
    return [({k: v[i : i + size] for k, v in batch.items()}, min(size, n - i) / n) for i in range(0, n, size)]


def _no_micro_batches_across_processes(micro_batch: int, ctx: distributed.Context) -> None:
    if micro_batch and ctx.active:
        raise ValueError(
            "train.micro_batch works in one process; with train.processes > 1 each process already "
            "holds only its slice of the batch (set train.micro_batch: 0)"
        )


def _ddp(module: nn.Module, ctx: distributed.Context) -> nn.Module:
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids)


class BaselineStep:
    def __init__(
        self,
        model: nn.Module,
        ctx: distributed.Context = distributed.ALONE,
        autocast=contextlib.nullcontext,
        target: str = "label",
        micro_batch: int = 0,
        compiled: bool = False,
    ):
        _no_micro_batches_across_processes(micro_batch, ctx)
        self.model, self.ctx, self.autocast, self.target = model, ctx, autocast, target
        self.micro_batch = micro_batch
        self.forward = _maybe_compiled(_ddp(model, ctx) if ctx.active else model, compiled)

    def parameters(self) -> list[nn.Parameter]:
        return list(self.model.parameters())

    def start_epoch(self, epoch: int) -> None:
        pass

    def __call__(self, batch: dict, opt: torch.optim.Optimizer) -> tuple[torch.Tensor, float, dict]:
        opt.zero_grad(set_to_none=True)
        logits, loss, stats = [], 0.0, []
        for part, share in slices(batch, self.micro_batch):
            with self.autocast():
                out = self.forward(part)
                if hasattr(self.model, "loss"):
                    part_loss, part_stats = self.model.loss(out, part)
                else:
                    part_loss, part_stats = bce(out["logit"].float(), part[self.target]), {}
            # with several processes, DDP averages the gradients of equal slices
            (part_loss * share).backward()
            logits.append(out["logit"].detach().float())
            loss += share * part_loss.item()
            stats.append({k: share * v for k, v in part_stats.items()})
        opt.step()
        logit = distributed.gather(torch.cat(logits))
        return logit, distributed.mean_over_processes(loss), {k: sum(s[k] for s in stats) for k in stats[0]}


class Encoders(nn.Module):
    """MACB-DF's two encoders as one module, the part DDP wraps (the head runs on the gathered batch)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.parts = nn.ModuleDict(model.encoders())
        self._encode = model.encode

    def forward(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        return self._encode(batch)


class MACBDFStep:
    def __init__(
        self,
        model: nn.Module,
        objective: nn.Module,
        om: om_pareto.OMParetoConfig | None,
        ctx: distributed.Context = distributed.ALONE,
        autocast=contextlib.nullcontext,
        micro_batch: int = 0,
        compiled: bool = False,
    ):
        _no_micro_batches_across_processes(micro_batch, ctx)
        self.model, self.objective, self.om, self.ctx, self.autocast = model, objective, om, ctx, autocast
        self.micro_batch = micro_batch
        # the head runs on the whole batch; its multi-scale blocks (most of its memory) run in slices
        model.block_slice = micro_batch
        encoder_params = {id(p) for e in model.encoders().values() for p in e.parameters()}
        self.head_params = [p for p in model.parameters() if id(p) not in encoder_params]
        self.head_params += list(objective.parameters())
        self.encode = _maybe_compiled(_ddp(Encoders(model), ctx) if ctx.active else model.encode, compiled)
        self.head_and_objective = _maybe_compiled(self._head_and_objective, compiled)

    def parameters(self) -> list[nn.Parameter]:
        return list(self.model.parameters()) + list(self.objective.parameters())

    def start_epoch(self, epoch: int) -> None:
        self.objective.start_epoch(epoch)

    def __call__(self, batch: dict, opt: torch.optim.Optimizer) -> tuple[torch.Tensor, float, dict]:
        opt.zero_grad(set_to_none=True)
        pieces = slices(batch, self.micro_batch)
        sliced = len(pieces) > 1
        if not sliced:
            with self.autocast():
                h_a, h_v = self.encode(batch)
        else:  # the features alone; the encoders' gradients come from encode_again below
            h_a, h_v, draws = self._encode_without_activations(pieces)
        if self.ctx.active:  # the global batch, in every process
            h_a, h_v = distributed.gather(h_a), distributed.gather(h_v)
            batch = {k: distributed.gather(batch[k]) for k in LABELS if k in batch}
        if self.om is None:
            with self.autocast():
                out, parts = self.head_and_objective(h_a, h_v, batch)
                loss = parts["multimodal"] + sum(parts["unimodal"].values())
            loss.backward()
            loss = loss.detach()
            stats = {}
        else:
            out, parts, stats = self._balanced_backward(h_a, h_v, batch)
            loss = (parts["multimodal"] + sum(parts["unimodal"].values())).detach()
        if sliced:  # the features' gradients are in h_a.grad and h_v.grad
            self._encode_again(pieces, draws, h_a.grad, h_v.grad)
        distributed.average_grads(self.head_params)
        opt.step()
        stats.update({k: float(v.detach()) for k, v in parts["terms"].items()})
        stats.update(w_v=float(out["w_v"].detach().mean()), w_a=float(out["w_a"].detach().mean()))
        return out["logit"].detach().float(), float(loss), stats

    def _head_and_objective(self, h_a, h_v, batch: dict, frames_from: tuple | None = None):
        """The head on the encoder features and the objective on its outputs: one graph when compiled."""
        out = self.model.head(h_a, h_v, frames_from)
        return out, self.objective(out, batch)

    def _encode_without_activations(self, parts: list) -> tuple[torch.Tensor, torch.Tensor, list]:
        """Pass 1 of gradient caching: the whole batch's features, a slice at a time, as leaves
        whose gradients the head's backward pass fills; the random state before each slice (for
        the replay) and the BatchNorm running statistics left as they were (pass 2 updates them)."""
        draws, features = [], []
        kept = {k: v.clone() for k, v in self.model.named_buffers()}
        with torch.no_grad(), self.autocast():
            for part, _ in parts:
                draws.append(_random_state())
                features.append(self.encode(part))
        for k, v in self.model.named_buffers():
            v.copy_(kept[k])
        h_a, h_v = (torch.cat(f).requires_grad_() for f in zip(*features, strict=True))
        return h_a, h_v, draws

    def _encode_again(self, parts: list, draws: list, g_a: torch.Tensor, g_v: torch.Tensor) -> None:
        """Pass 2: each slice encoded again, with activations and the same random draws, and the
        gradients of its features back-propagated into the encoders (they add up over the slices)."""
        start = 0
        for (part, _), state in zip(parts, draws, strict=True):
            _set_random_state(state)
            with self.autocast():
                h_a, h_v = self.encode(part)
            rows = slice(start, start + len(h_a))
            torch.autograd.backward([h_a, h_v], [g_a[rows].to(h_a.dtype), g_v[rows].to(h_v.dtype)])
            start += len(h_a)

    def _balanced_backward(self, h_a: torch.Tensor, h_v: torch.Tensor, batch: dict):
        # Two copies of the encoder features: the multimodal head reads one, the frame-level
        # branches the other. The multimodal loss depends only on the first (its logit and z_a,
        # z_v), the unimodal losses only on the second, so one backward pass of their sum through
        # the head gives each loss's gradient at the features on its own copy, and the head's
        # parameters their summed gradient.
        multi = {"audio": h_a.detach().requires_grad_(), "video": h_v.detach().requires_grad_()}
        uni = {"audio": h_a.detach().requires_grad_(), "video": h_v.detach().requires_grad_()}
        with self.autocast():
            out, parts = self.head_and_objective(
                multi["audio"], multi["video"], batch, frames_from=(uni["audio"], uni["video"])
            )
        total = parts["multimodal"] + sum(parts["unimodal"].values())
        features = [multi["audio"], multi["video"], uni["audio"], uni["video"]]
        # the head's gradients accumulate into their .grad (in place: a flat optimizer's views)
        torch.autograd.backward(total, inputs=features + [p for p in self.head_params if p.requires_grad])
        grads = [f.grad for f in features]
        stats, deltas = {}, []
        for i, name in enumerate(ENCODERS):
            # each unimodal branch reads only its own modality, so the gradient at the audio copy
            # is that of the audio unimodal loss alone (and so for video)
            g_m = grads[i] if grads[i] is not None else torch.zeros_like(multi[name])
            g_u = grads[2 + i] if grads[2 + i] is not None else torch.zeros_like(uni[name])
            delta, info = om_pareto.combine(g_m, g_u, self.om)
            deltas.append(delta)
            stats.update({f"om_{k}_{name}": v for k, v in info.items()})
        torch.autograd.backward([h_a, h_v], deltas)
        return out, parts, stats


def _maybe_compiled(forward, compiled: bool):
    """``forward`` (a module or a function) through ``torch.compile`` when ``compiled``."""
    return torch.compile(forward) if compiled else forward


def _random_state() -> tuple:
    return torch.get_rng_state(), torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None


def _set_random_state(state: tuple) -> None:
    torch.set_rng_state(state[0])
    if state[1] is not None:
        torch.cuda.set_rng_state_all(state[1])


def mean_stats(history: list[dict]) -> dict:
    """Per-epoch means of the per-step statistics."""
    sums, counts = defaultdict(float), defaultdict(int)
    for stats in history:
        for k, v in stats.items():
            sums[k] += v
            counts[k] += 1
    return {k: sums[k] / counts[k] for k in sums}
