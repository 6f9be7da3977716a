"""The adaptive temperature of MACL, eqs. (3)-(6) of MACB-DF.

Given the cross-modal similarity matrix S (B x B) of a batch:

- eq. (3): pair attention ``w_ij = softmax_{all pairs}(f_theta(s_ij, s_ij - E[S], ||x_a_i - x_v_j||))``;
- eq. (4): ``tau_new = tau0 * exp(sum_k beta_k phi_k(S))`` with
  phi_1 = Var(S), phi_2 = sum_ij w_ij |s_ij - E[S]|^3 (weighted skewness),
  phi_3 = H(w) / log(B^2) (entropy of the attention weights, normalised to [0, 1]: paper-notes);
- eq. (5): ``gamma_t = sigmoid(MLP([h_{t-1}, dtau_{t-1}, dL/dtau_{t-1}]))``, where h_{t-1} is the state
  of a GRU cell that folds each step's (tau, dtau, dL/dtau) into the history (paper-notes);
- eq. (6): ``tau_t = gamma_t * tau_{t-1} + (1 - gamma_t) * tau_new``.

tau_t is clamped to [tau_min, tau_max], so it stays positive and finite on degenerate batches.
The beta_k start at 0, so training starts at tau0.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class AdaptiveTemperature(nn.Module):
    def __init__(self, tau0: float = 0.1, hidden: int = 16, tau_min: float = 0.02, tau_max: float = 1.0):
        super().__init__()
        self.tau0, self.tau_min, self.tau_max = tau0, tau_min, tau_max
        self.f_theta = nn.Sequential(nn.Linear(3, hidden), nn.GELU(), nn.Linear(hidden, 1))  # eq. (3)
        self.beta = nn.Parameter(torch.zeros(3))  # eq. (4)
        self.gate = nn.Sequential(nn.Linear(hidden + 2, hidden), nn.GELU(), nn.Linear(hidden, 1))  # eq. (5)
        self.history = nn.GRUCell(3, hidden)
        self.register_buffer("tau_prev", torch.tensor(float(tau0)))
        self.register_buffer("dtau_prev", torch.tensor(0.0))
        self.register_buffer("grad_prev", torch.tensor(0.0))
        self.register_buffer("h_prev", torch.zeros(1, hidden))

    def pair_weights(self, s: torch.Tensor, x_a: torch.Tensor, x_v: torch.Tensor) -> torch.Tensor:
        """Eq. (3): attention over all B*B pairs, summing to 1."""
        sq = (x_a[:, None, :] - x_v[None, :, :]).pow(2).sum(-1)
        distance = sq.clamp_min(1e-12).sqrt()  # ||x_a_i - x_v_j||, with a finite gradient at 0
        features = torch.stack([s, s - s.mean(), distance], -1)  # (B, B, 3)
        return torch.softmax(self.f_theta(features).flatten(), 0).view_as(s)

    def basis(self, s: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        """phi_1..3 of eq. (4)."""
        centred = s - s.mean()
        var = s.var(unbiased=False)
        skew = (w * centred.abs() ** 3).sum()
        entropy = -(w * torch.log(w.clamp_min(1e-12))).sum() / math.log(max(w.numel(), 2))
        return torch.stack([var, skew, entropy])

    def forward(self, s: torch.Tensor, x_a: torch.Tensor, x_v: torch.Tensor) -> torch.Tensor:
        w = self.pair_weights(s, x_a, x_v)
        tau_new = self.tau0 * torch.exp((self.beta * self.basis(s, w)).sum().clamp(-5.0, 5.0))  # eq. (4)
        # h_{t-1}: a GRU folds the last step (tau, dtau, dL/dtau) into the history; it learns via the gate
        last = torch.stack([self.tau_prev, self.dtau_prev, self.grad_prev]).unsqueeze(0).clone()
        h = self.history(last, self.h_prev.clone())
        gamma = torch.sigmoid(self.gate(torch.cat([h, last[:, 1:]], -1))).squeeze()  # eq. (5)
        tau = (gamma * last[0, 0] + (1 - gamma) * tau_new).clamp(self.tau_min, self.tau_max)  # eq. (6)
        if self.training:
            self._remember(tau, h)
        return tau

    def _remember(self, tau: torch.Tensor, h: torch.Tensor) -> None:
        """Keep tau_t, dtau_t and h for the next step; dL/dtau_t arrives with the backward pass."""
        value = tau.detach()
        self.dtau_prev.copy_(value - self.tau_prev)
        self.tau_prev.copy_(value)
        self.h_prev = h.detach()  # replaced, not written in place: the GRU's backward reads the old one
        if tau.requires_grad:
            self._watch(tau)

    @torch.compiler.disable
    def _watch(self, tau: torch.Tensor) -> None:
        """Under ``torch.compile`` a hook on an intermediate tensor needs compiled autograd: this one
        call runs eagerly, between two compiled graphs."""
        tau.register_hook(self._record_grad)

    def _record_grad(self, grad: torch.Tensor) -> None:
        self.grad_prev.copy_(grad.detach().clamp(-10.0, 10.0))
