"""Audio only: avdf's audio encoder E_a (a Transformer over log-Mel patches) and a linear head."""

from __future__ import annotations

from torch import nn

from avdf.learning.models.encoders import AudioEncoder, EncoderSizes
from avdf.learning.models.heads import classifier_head


class AudioOnly(nn.Module):
    modalities = ("audio",)

    def __init__(self, sizes: EncoderSizes):
        super().__init__()
        n_mels, dim, depth, heads, dropout, attn_dropout, visual = sizes
        self.audio = AudioEncoder(n_mels, dim, depth, heads, dropout, attn_dropout)
        self.head = classifier_head(dim, dropout)

    def forward(self, batch: dict) -> dict:
        return {"logit": self.head(self.audio(batch["audio"])[1]).squeeze(-1)}
