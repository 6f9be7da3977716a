"""Audio-visual late fusion by concatenating the pooled audio and video features (the common
baseline that MACB-DF's fusion is measured against)."""

from __future__ import annotations

import torch
from torch import nn

from avdf.learning.models.encoders import AudioEncoder, EncoderSizes, VisualEncoder
from avdf.learning.models.heads import classifier_head


class AVConcat(nn.Module):
    modalities = ("audio", "video")

    def __init__(self, sizes: EncoderSizes):
        super().__init__()
        n_mels, dim, depth, heads, dropout, attn_dropout, visual = sizes
        self.audio = AudioEncoder(n_mels, dim, depth, heads, dropout, attn_dropout)
        self.video = VisualEncoder(dim, depth, heads, dropout, attn_dropout, **visual)
        self.head = classifier_head(2 * dim, dropout)

    def forward(self, batch: dict) -> dict:
        fused = torch.cat([self.audio(batch["audio"])[1], self.video(batch["video"])[1]], -1)
        return {"logit": self.head(fused).squeeze(-1)}
