"""Baselines of the walking skeleton: one modality alone, and audio-visual concatenation fusion.

Every model maps a batch ``{"video": (B, T, 3, S, S), "audio": (B, n_mels, frames)}`` to a dict
with ``logit`` (B,), the clip-level fake score before the sigmoid.
"""

from __future__ import annotations

import torch
from torch import nn

from avdf.models.encoders import AudioEncoder, VisualEncoder


def _head(dim_in: int, dropout: float) -> nn.Module:
    return nn.Sequential(
        nn.Linear(dim_in, dim_in // 2), nn.GELU(), nn.Dropout(dropout), nn.Linear(dim_in // 2, 1)
    )


class AudioOnly(nn.Module):
    modalities = ("audio",)

    def __init__(
        self, n_mels: int, dim: int, depth: int, heads: int, dropout: float, attn_dropout: float = 0.0
    ):
        super().__init__()
        self.audio = AudioEncoder(n_mels, dim, depth, heads, dropout, attn_dropout)
        self.head = _head(dim, dropout)

    def forward(self, batch: dict) -> dict:
        return {"logit": self.head(self.audio(batch["audio"])[1]).squeeze(-1)}


class VisualOnly(nn.Module):
    modalities = ("video",)

    def __init__(
        self, n_mels: int, dim: int, depth: int, heads: int, dropout: float, attn_dropout: float = 0.0
    ):
        super().__init__()
        self.video = VisualEncoder(dim, depth, heads, dropout, attn_dropout)
        self.head = _head(dim, dropout)

    def forward(self, batch: dict) -> dict:
        return {"logit": self.head(self.video(batch["video"])[1]).squeeze(-1)}


class AVConcat(nn.Module):
    """Late fusion by concatenating the pooled audio and video features (the common baseline)."""

    modalities = ("audio", "video")

    def __init__(
        self, n_mels: int, dim: int, depth: int, heads: int, dropout: float, attn_dropout: float = 0.0
    ):
        super().__init__()
        self.audio = AudioEncoder(n_mels, dim, depth, heads, dropout, attn_dropout)
        self.video = VisualEncoder(dim, depth, heads, dropout, attn_dropout)
        self.head = _head(2 * dim, dropout)

    def forward(self, batch: dict) -> dict:
        fused = torch.cat([self.audio(batch["audio"])[1], self.video(batch["video"])[1]], -1)
        return {"logit": self.head(fused).squeeze(-1)}
