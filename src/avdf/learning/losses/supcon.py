"""Supervised contrastive loss, SupCon (Khosla et al., 2020), with cosine or angular similarity and
an optional warm-started cross-batch negative queue (arXiv 2604.26057, for deepfake audio).

The views are the 2B embeddings of a batch, each clip's audio z_a and video z_v (L2-normalised).
A view's class is its clip's category, c = 2 y_v + y_a (RVRA, RVFA, FVRA, FVFA), so the positives
of a view are the clip's other modality and every view of a clip of the same category::

    s_cos(x, y) = x . y
    s_ang(x, y) = 1 - 2 arccos(clamp(x . y)) / pi                     in [-1, 1], linear in the angle

    L_i  = -1/|P(i)| sum_{p in P(i)} [ s_ip / tau - logsumexp_{a in A(i)} s_ia / tau ]
    L_C  = mean of L_i over the anchors i that have a positive

P(i) are the other views of i's class in the batch; A(i) are all views but i, plus, with the queue,
the queued views of another class than i (negatives only). tau = 0.30 (cosine) or 0.07 (angular).

The queue keeps detached views and their classes from earlier batches (FIFO, ``queue_size``). It
is filled after the loss of a batch is computed, so a batch never meets itself, and only from
epoch ``warmup_epochs`` on: embeddings of an untrained model make poor negatives.
"""

from __future__ import annotations

import math

import torch
from torch import nn

TAU = {"cosine": 0.30, "angular": 0.07}


def similarity(x: torch.Tensor, y: torch.Tensor, kind: str) -> torch.Tensor:
    cos = x @ y.T
    if kind == "cosine":
        return cos
    if kind == "angular":  # clamped inside (-1, 1): arccos has an infinite slope at +-1
        return 1 - 2 * torch.arccos(cos.clamp(-1 + 1e-6, 1 - 1e-6)) / math.pi
    raise ValueError(f"similarity must be 'cosine' or 'angular', not {kind!r}")


def supcon(
    views: torch.Tensor,
    classes: torch.Tensor,
    tau: float,
    kind: str,
    queue: torch.Tensor | None = None,
    queue_classes: torch.Tensor | None = None,
    queue_used: torch.Tensor | None = None,
) -> torch.Tensor:
    """Mean SupCon loss over anchors with a positive. views (N, D), classes (N,); queue (Q, D), of
    which the slots ``queue_used`` (Q,) hold views (all, when None)."""
    n = len(views)
    logits = similarity(views, views, kind) / tau
    eye = torch.eye(n, dtype=torch.bool, device=views.device)
    logits_all = logits.masked_fill(eye, float("-inf"))  # A(i) excludes i itself
    if queue is not None and len(queue):
        queued = similarity(views, queue.to(views.dtype), kind) / tau
        not_negative = classes[:, None] == queue_classes[None, :]
        if queue_used is not None:
            not_negative = not_negative | ~queue_used[None, :]
        queued = queued.masked_fill(not_negative, float("-inf"))
        logits_all = torch.cat([logits_all, queued], 1)
    log_prob = logits - torch.logsumexp(logits_all, 1, keepdim=True)
    positives = (classes[:, None] == classes[None, :]) & ~eye
    count = positives.sum(1)
    per_anchor = -torch.where(positives, log_prob, torch.zeros_like(log_prob)).sum(1) / count.clamp_min(1)
    has_positive = count > 0  # a sum over them, not a selection: the shapes stay fixed
    kept = torch.where(has_positive, per_anchor, torch.zeros_like(per_anchor))
    return kept.sum() / has_positive.sum().clamp_min(1)


class SupCon(nn.Module):
    def __init__(
        self,
        dim: int,
        kind: str = "cosine",
        tau: float | None = None,
        queue_size: int = 0,
        warmup_epochs: int = 3,
    ):
        super().__init__()
        self.kind, self.tau = kind, TAU[kind] if tau is None else tau
        self.queue_size, self.warmup_epochs = queue_size, warmup_epochs
        self.queue_on = False
        # training state, not part of the model: not saved in checkpoints; fixed slots, of which
        # queue_used are filled (fixed shapes, as MACL's queue)
        self.register_buffer("queue", torch.zeros(queue_size, dim), persistent=False)
        self.register_buffer("queue_classes", torch.zeros(queue_size, dtype=torch.long), persistent=False)
        self.register_buffer("queue_used", torch.zeros(queue_size, dtype=torch.bool), persistent=False)

    def start_epoch(self, epoch: int) -> None:
        self.queue_on = self.queue_size > 0 and epoch >= self.warmup_epochs

    def forward(
        self,
        z_a: torch.Tensor,
        z_v: torch.Tensor,
        y_a: torch.Tensor,
        y_v: torch.Tensor,
        ids: torch.Tensor | None = None,
    ) -> dict:
        views = torch.cat([z_a, z_v])
        category = (2 * y_v + y_a).long()
        classes = torch.cat([category, category])
        queue = self.queue if self.queue_on else None
        loss = supcon(views, classes, self.tau, self.kind, queue, self.queue_classes, self.queue_used)
        if self.training and self.queue_on:
            self._enqueue(views.detach(), classes)
        return {"L_C": loss, "queue_len": self.queue_used.sum().to(loss.dtype)}

    @torch.no_grad()
    def _enqueue(self, views: torch.Tensor, classes: torch.Tensor) -> None:
        """FIFO, newest first, in the fixed slots; each buffer replaced, not written in place (the
        backward pass still needs the queue this step read)."""
        n = self.queue_size
        self.queue = torch.cat([views, self.queue])[:n]
        self.queue_classes = torch.cat([classes, self.queue_classes])[:n]
        self.queue_used = torch.cat([torch.ones_like(classes, dtype=torch.bool), self.queue_used])[:n]
