"""Audio-visual detection with cross-modal contrastive learning, in the spirit of MCL (Liu et al.,
TCSVT 2024) and AVoiD-DF (Yang et al., TIFS 2023): a real clip's audio and video should agree, a
fake clip's should not, and the disagreement is evidence for the classifier.

    h_a, h_v = E_a(audio), E_v(video)                      pooled (B, D) each
    z_a, z_v = normalise(P_a h_a), normalise(P_v h_v)      projections
    d        = ||z_a - z_v||                               the clip's cross-modal distance
    logit    = MLP([h_a; h_v; |z_a - z_v|])

    L = BCE(logit, y) + lambda * L_pair,
    L_pair = mean_i [ (1 - y_i) d_i^2 + y_i max(0, m - d_i)^2 ]      (Hadsell et al., 2006)

with y = 1 for a fake clip (either modality fake). Neither paper's code is public; this keeps
their shared idea, a contrastive consistency loss between the two modalities of one clip, on
avdf's encoders (docs/paper-notes.md, "MCL").
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits as bce
from torch.nn.functional import normalize

from avdf.learning.models.encoders import AudioEncoder, EncoderSizes, VisualEncoder
from avdf.learning.models.heads import classifier_head


def pair_contrastive(z_a: torch.Tensor, z_v: torch.Tensor, y: torch.Tensor, margin: float) -> torch.Tensor:
    """Mean of (1 - y) d^2 + y max(0, m - d)^2 with d = ||z_a - z_v|| per clip."""
    d = (z_a - z_v).norm(dim=1)
    return ((1 - y) * d.pow(2) + y * (margin - d).clamp_min(0).pow(2)).mean()


class MCL(nn.Module):
    modalities = ("audio", "video")

    def __init__(self, sizes: EncoderSizes, lambda_pair: float, margin: float):
        super().__init__()
        n_mels, dim, depth, heads, dropout, attn_dropout, visual = sizes
        self.lambda_pair, self.margin = lambda_pair, margin
        self.audio = AudioEncoder(n_mels, dim, depth, heads, dropout, attn_dropout)
        self.video = VisualEncoder(dim, depth, heads, dropout, attn_dropout, **visual)
        self.project = nn.ModuleDict({m: nn.Linear(dim, dim) for m in ("audio", "video")})
        self.head = classifier_head(3 * dim, dropout)

    def forward(self, batch: dict) -> dict:
        h_a, h_v = self.audio(batch["audio"])[1], self.video(batch["video"])[1]
        z_a = normalize(self.project["audio"](h_a), dim=-1)
        z_v = normalize(self.project["video"](h_v), dim=-1)
        logit = self.head(torch.cat([h_a, h_v, (z_a - z_v).abs()], -1)).squeeze(-1)
        return {"logit": logit, "z_a": z_a, "z_v": z_v}

    def loss(self, out: dict, batch: dict) -> tuple[torch.Tensor, dict]:
        pair = pair_contrastive(out["z_a"], out["z_v"], batch["label"], self.margin)
        sample = bce(out["logit"], batch["label"])
        return sample + self.lambda_pair * pair, {
            "L_sample": float(sample.detach()),
            "L_pair": float(pair.detach()),
        }
