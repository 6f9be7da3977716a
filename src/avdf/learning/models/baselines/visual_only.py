"""Visual only, spatiotemporal: avdf's video encoder E_v, a Transformer attending over all
space-time patch tokens of the face-crop sequence, and a linear head."""

from __future__ import annotations

from torch import nn

from avdf.learning.models.encoders import EncoderSizes, VisualEncoder
from avdf.learning.models.heads import classifier_head


class VisualOnly(nn.Module):
    modalities = ("video",)

    def __init__(self, sizes: EncoderSizes):
        super().__init__()
        n_mels, dim, depth, heads, dropout, attn_dropout, visual = sizes
        self.video = VisualEncoder(dim, depth, heads, dropout, attn_dropout, **visual)
        self.head = classifier_head(dim, dropout)

    def forward(self, batch: dict) -> dict:
        return {"logit": self.head(self.video(batch["video"])[1]).squeeze(-1)}
