"""One optimisation step per kind of model: the trainer calls these, and the benchmark times them.

- :class:`BaselineStep`: the model's own loss (``model.loss``) or BCE of the clip logit against the
  label the run learns (``target``: the clip's, or a unimodal model's own modality's), one backward pass.
- :class:`MACBDFStep`: the MACB-DF objective. Without OM-Pareto, the plain summed loss
  ``L_m + L_u^audio + L_u^video`` and one backward pass. With OM-Pareto, one backward pass through
  the head (everything after the encoders) yields each loss's gradient at each encoder's output
  features (the multimodal and unimodal parts read separate copies of them); OM-Pareto
  (:mod:`avdf.optim.om_pareto`) combines the two gradients per encoder, and a single backward pass
  through the encoders applies the result. The encoders, the costly part, are differentiated once,
  as in the plain step.

Both take a :class:`avdf.distributed.Context`: with several processes, each step sees this
process's slice of the global batch and returns the logits and loss of the global batch (see
avdf.distributed for how MACB-DF's head runs on the gathered batch). ``autocast`` (bf16 on GPU)
wraps the forward passes.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict

import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits as bce

from avdf import distributed
from avdf.optim import om_pareto

ENCODERS = ("audio", "video")
LABELS = ("label", "audio_fake", "video_fake", "index")


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
    ):
        self.model, self.ctx, self.autocast, self.target = model, ctx, autocast, target
        self.forward = _ddp(model, ctx) if ctx.active else model

    def parameters(self) -> list[nn.Parameter]:
        return list(self.model.parameters())

    def start_epoch(self, epoch: int) -> None:
        pass

    def __call__(self, batch: dict, opt: torch.optim.Optimizer) -> tuple[torch.Tensor, float, dict]:
        with self.autocast():
            out = self.forward(batch)
            if hasattr(self.model, "loss"):
                loss, stats = self.model.loss(out, batch)
            else:
                loss, stats = bce(out["logit"].float(), batch[self.target]), {}
        opt.zero_grad(set_to_none=True)
        loss.backward()  # with several processes, DDP averages the gradients of equal slices
        opt.step()
        logit = distributed.gather(out["logit"].detach().float())
        return logit, distributed.mean_over_processes(loss.item()), stats


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
    ):
        self.model, self.objective, self.om, self.ctx, self.autocast = model, objective, om, ctx, autocast
        encoder_params = {id(p) for e in model.encoders().values() for p in e.parameters()}
        self.head_params = [p for p in model.parameters() if id(p) not in encoder_params]
        self.head_params += list(objective.parameters())
        self.encode = _ddp(Encoders(model), ctx) if ctx.active else model.encode

    def parameters(self) -> list[nn.Parameter]:
        return list(self.model.parameters()) + list(self.objective.parameters())

    def start_epoch(self, epoch: int) -> None:
        self.objective.start_epoch(epoch)

    def __call__(self, batch: dict, opt: torch.optim.Optimizer) -> tuple[torch.Tensor, float, dict]:
        opt.zero_grad(set_to_none=True)
        with self.autocast():
            h_a, h_v = self.encode(batch)
        if self.ctx.active:  # the global batch, in every process
            h_a, h_v = distributed.gather(h_a), distributed.gather(h_v)
            batch = {k: distributed.gather(batch[k]) for k in LABELS if k in batch}
        if self.om is None:
            with self.autocast():
                out = self.model.head(h_a, h_v)
                parts = self.objective(out, batch)
                loss = parts["multimodal"] + sum(parts["unimodal"].values())
            loss.backward()
            loss = loss.detach()
            stats = {}
        else:
            out, parts, stats = self._balanced_backward(h_a, h_v, batch)
            loss = (parts["multimodal"] + sum(parts["unimodal"].values())).detach()
        distributed.average_grads(self.head_params)
        opt.step()
        stats.update({k: float(v.detach()) for k, v in parts["terms"].items()})
        stats.update(w_v=float(out["w_v"].detach().mean()), w_a=float(out["w_a"].detach().mean()))
        return out["logit"].detach().float(), float(loss), stats

    def _balanced_backward(self, h_a: torch.Tensor, h_v: torch.Tensor, batch: dict):
        # Two copies of the encoder features: the multimodal head reads one, the frame-level
        # branches the other. The multimodal loss depends only on the first (its logit and z_a,
        # z_v), the unimodal losses only on the second, so one backward pass of their sum through
        # the head gives each loss's gradient at the features on its own copy, and the head's
        # parameters their summed gradient.
        multi = {"audio": h_a.detach().requires_grad_(), "video": h_v.detach().requires_grad_()}
        uni = {"audio": h_a.detach().requires_grad_(), "video": h_v.detach().requires_grad_()}
        with self.autocast():
            out = self.model.head(multi["audio"], multi["video"], frames_from=(uni["audio"], uni["video"]))
            parts = self.objective(out, batch)
        total = parts["multimodal"] + sum(parts["unimodal"].values())
        inputs = [multi["audio"], multi["video"], uni["audio"], uni["video"], *self.head_params]
        grads = torch.autograd.grad(total, inputs, allow_unused=True)
        for p, g in zip(self.head_params, grads[4:], strict=True):
            p.grad = g
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


def mean_stats(history: list[dict]) -> dict:
    """Per-epoch means of the per-step statistics."""
    sums, counts = defaultdict(float), defaultdict(int)
    for stats in history:
        for k, v in stats.items():
            sums[k] += v
            counts[k] += 1
    return {k: sums[k] / counts[k] for k in sums}
