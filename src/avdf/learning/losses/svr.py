"""Support vector regularisation, SVR (SupCLAP, arXiv 2509.21033), bidirectional, for audio-video.

SupCLAP moves each anchor toward its positive by a semantic radius R before contrasting it
again, so that negatives are pushed away from a point beyond the anchor, not only from the anchor.
For an anchor modality t and its positive modality p, per clip i::

    u_i     = (p_i - t_i) / ||p_i - t_i||             direction from the anchor to its positive
    tsup_i  = t_i + R_i u_i                            the support vector
    L_svr   = InfoNCE with tsup_i as the anchor and p_j as the candidates (positive j = i)
    L_cons  = mean_i [ ReLU(R_i - ||p_i - t_i||) + ReLU(-R_i) ]      keeps 0 <= R_i <= ||p_i - t_i||

    L_C = L_orig + alpha * L_svr + beta * L_cons,     L_orig = symmetric InfoNCE (losses.infonce)

Both directions (video anchors with audio positives, and audio anchors with video positives) are
averaged: SupCLAP reports the bidirectional form doing better. Settings as reported: alpha = 1,
beta = 0.01, tau = 0.07.

The radius is either ``static``, one learned scalar R (initial value ``r0``), or ``dynamic``,
R_i = MLP(S_i), where S_i is the anchor's row of similarities to the batch's positives; the MLP's
input width is the training batch size, and a smaller last batch is padded with zeros
(docs/paper-notes.md, "SVR").
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.functional import relu

from avdf.learning.losses.infonce import info_nce


class StaticRadius(nn.Module):
    def __init__(self, r0: float = 0.1):
        super().__init__()
        self.r = nn.Parameter(torch.tensor(float(r0)))

    def forward(self, similarity: torch.Tensor) -> torch.Tensor:
        """(B, B) -> R (B,), the same for every anchor."""
        return self.r.expand(len(similarity))


class DynamicRadius(nn.Module):
    def __init__(self, batch_size: int, hidden: int = 32, r0: float = 0.1):
        super().__init__()
        self.width = batch_size
        self.mlp = nn.Sequential(nn.Linear(batch_size, hidden), nn.ReLU(), nn.Linear(hidden, 1))
        nn.init.zeros_(self.mlp[-1].weight)  # starts at R = r0 for every anchor, then learns
        nn.init.constant_(self.mlp[-1].bias, r0)

    def forward(self, similarity: torch.Tensor) -> torch.Tensor:
        """(B, B) similarity rows -> R (B,); B may be smaller than the width (zero padding)."""
        b = similarity.shape[1]
        if b > self.width:
            raise ValueError(f"dynamic SVR radius was built for batches of {self.width}, got {b}")
        return self.mlp(nn.functional.pad(similarity, (0, self.width - b))).squeeze(-1)


def svr_terms(
    t: torch.Tensor, p: torch.Tensor, radius: torch.Tensor, tau: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """L_svr and L_cons for anchors t (B, D) with positives p (B, D) and radii (B,)."""
    gap = p - t
    distance = gap.norm(dim=1)
    support = t + radius[:, None] * gap / distance.clamp_min(1e-8)[:, None]
    l_svr = info_nce(support, p, tau)
    l_cons = (relu(radius - distance) + relu(-radius)).mean()
    return l_svr, l_cons


class SVR(nn.Module):
    def __init__(
        self,
        radius: str = "static",
        batch_size: int = 16,
        tau: float = 0.07,
        alpha: float = 1.0,
        beta: float = 0.01,
        r0: float = 0.1,
    ):
        super().__init__()
        self.tau, self.alpha, self.beta = tau, alpha, beta
        if radius == "static":
            self.radius = nn.ModuleDict({m: StaticRadius(r0) for m in ("audio", "video")})
        elif radius == "dynamic":
            self.radius = nn.ModuleDict({m: DynamicRadius(batch_size, r0=r0) for m in ("audio", "video")})
        else:
            raise ValueError(f"SVR radius must be 'static' or 'dynamic', not {radius!r}")

    def forward(
        self,
        z_a: torch.Tensor,
        z_v: torch.Tensor,
        y_a: torch.Tensor,
        y_v: torch.Tensor,
        ids: torch.Tensor | None = None,
    ) -> dict:
        l_orig = (info_nce(z_a, z_v, self.tau) + info_nce(z_v, z_a, self.tau)) / 2
        s = z_v @ z_a.T  # row i: video anchor i against every audio positive
        r_v, r_a = self.radius["video"](s), self.radius["audio"](s.T)
        svr_v, cons_v = svr_terms(z_v, z_a, r_v, self.tau)  # video anchors, audio positives
        svr_a, cons_a = svr_terms(z_a, z_v, r_a, self.tau)  # audio anchors, video positives
        l_svr, l_cons = (svr_v + svr_a) / 2, (cons_v + cons_a) / 2
        loss = l_orig + self.alpha * l_svr + self.beta * l_cons
        terms = {"L_orig": l_orig, "L_svr": l_svr, "L_cons": l_cons, "R": torch.cat([r_v, r_a]).mean()}
        return {"L_C": loss, **{k: v.detach() for k, v in terms.items()}}
