"""SigLIP's pairwise sigmoid loss (Zhai et al., 2023), as open_clip's ``SigLipLoss`` computes it.

Every (audio, video) pair of the batch is a binary problem: matched (i = j) or not. With
L2-normalised z_a, z_v (B, D), a learned log-temperature t and a learned bias b::

    logits = exp(t) z_a z_v^T + b                                  (B, B)
    labels = 2 I - 1                                               +1 on the diagonal, -1 elsewhere
    L_C    = -1/B sum_ij log sigmoid(labels_ij * logits_ij)

Initial values as in SigLIP: t = log 10, b = -10 (the bias starts the loss near the prior that
almost every pair is unmatched).
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.functional import logsigmoid


class SigLIP(nn.Module):
    def __init__(self, t0: float = math.log(10.0), b0: float = -10.0):
        super().__init__()
        self.t = nn.Parameter(torch.tensor(float(t0)))
        self.b = nn.Parameter(torch.tensor(float(b0)))

    def forward(
        self,
        z_a: torch.Tensor,
        z_v: torch.Tensor,
        y_a: torch.Tensor,
        y_v: torch.Tensor,
        ids: torch.Tensor | None = None,
    ) -> dict:
        logits = self.t.exp() * z_a @ z_v.T + self.b
        labels = 2 * torch.eye(len(z_a), device=z_a.device) - 1
        loss = -logsigmoid(labels * logits).sum() / len(z_a)
        return {"L_C": loss, "tau": (1 / self.t.exp()).detach(), "bias": self.b.detach()}
