"""InfoNCE between the two modalities, in CLIP's symmetric form (van den Oord et al., 2018;
Radford et al., 2021). The contrastive-objective study's plainest alternative to MACL.

z_a, z_v (B, D) are L2-normalised; a clip's other modality is its one positive and the other
clips of the batch are its negatives. With a fixed temperature tau::

    S = z_a z_v^T / tau                                            (B, B)
    L_av = -1/B sum_i log( exp(S_ii) / sum_j exp(S_ij) )            audio anchors, video candidates
    L_va = the same on S^T                                          video anchors, audio candidates
    L_C  = (L_av + L_va) / 2
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.functional import cross_entropy


def info_nce(anchor: torch.Tensor, candidates: torch.Tensor, tau: float) -> torch.Tensor:
    """-1/B sum_i log softmax(anchor_i . candidates^T / tau)_i: candidate i is anchor i's positive.

    anchor (B, D) need not be unit-norm (SVR moves it); candidates (N >= B, D).
    """
    logits = anchor @ candidates.T / tau
    return cross_entropy(logits, torch.arange(len(anchor), device=anchor.device))


class InfoNCE(nn.Module):
    def __init__(self, tau: float = 0.07):
        super().__init__()
        self.tau = tau

    def forward(
        self,
        z_a: torch.Tensor,
        z_v: torch.Tensor,
        y_a: torch.Tensor,
        y_v: torch.Tensor,
        ids: torch.Tensor | None = None,
    ) -> dict:
        """Labels are not used: the pairing of the two modalities of a clip is the supervision."""
        terms = {"L_av": info_nce(z_a, z_v, self.tau), "L_va": info_nce(z_v, z_a, self.tau)}
        return {"L_C": (terms["L_av"] + terms["L_va"]) / 2, **{k: v.detach() for k, v in terms.items()}}
