"""The two modality encoders of Sec. 3.1, at a size that trains on a CPU.

- :class:`VisualEncoder` (E_v): a per-frame convolutional stem turns each face crop into a grid of
  patch tokens; a Transformer encoder attends over all space-time tokens and yields H_v^(L).
- :class:`AudioEncoder` (E_a): a convolutional stem turns the log-Mel spectrogram into
  time-frequency patch tokens; a Transformer encoder yields H_a^(L).

Both return the token sequence (B, N, D) and a pooled clip vector (B, D); a pretrained backbone
can replace either one as long as it keeps this interface.
"""

from __future__ import annotations

import torch
from torch import nn

from avdf.models import transformer


def _conv(c_in: int, c_out: int, dims: int) -> nn.Sequential:
    conv, norm = (nn.Conv2d, nn.BatchNorm2d) if dims == 2 else (nn.Conv3d, nn.BatchNorm3d)
    return nn.Sequential(conv(c_in, c_out, 3, stride=2, padding=1, bias=False), norm(c_out), nn.GELU())


class VisualEncoder(nn.Module):
    """Face crops (B, T, 3, S, S) -> tokens (B, T*4*4, D) and pooled (B, D)."""

    def __init__(
        self,
        dim: int = 64,
        depth: int = 2,
        heads: int = 4,
        dropout: float = 0.1,
        attn_dropout: float = 0.0,
        max_frames: int = 64,
    ):
        super().__init__()
        self.stem = nn.Sequential(
            _conv(3, 24, 2), _conv(24, 48, 2), _conv(48, dim, 2), nn.AdaptiveAvgPool2d(4)
        )
        self.space_pos = nn.Parameter(torch.zeros(1, 1, 16, dim))
        self.time_pos = nn.Parameter(torch.zeros(1, max_frames, 1, dim))
        nn.init.trunc_normal_(self.space_pos, std=0.02)
        nn.init.trunc_normal_(self.time_pos, std=0.02)
        self.encoder = transformer.encoder(dim, depth, heads, dropout, attn_dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t = video.shape[:2]
        x = self.stem(video.flatten(0, 1).contiguous(memory_format=torch.channels_last))  # (B*T, D, 4, 4)
        x = x.flatten(2).transpose(1, 2).reshape(b, t, 16, -1)
        x = (x + self.space_pos + self.time_pos[:, :t]).flatten(1, 2)
        h = self.norm(self.encoder(x))
        return h, h.mean(1)


class AudioEncoder(nn.Module):
    """Log-Mel (B, n_mels, frames) -> tokens (B, N, D) and pooled (B, D).

    With ``freq_tokens=1`` there is one token per time patch (N = frames/4); with ``freq_tokens=F``
    each time patch keeps F frequency bands (N = frames/4 * F, time-major), so that the tokens
    form a time-frequency map for 2D blocks.
    """

    def __init__(
        self,
        n_mels: int = 64,
        dim: int = 64,
        depth: int = 2,
        heads: int = 4,
        dropout: float = 0.1,
        attn_dropout: float = 0.0,
        max_tokens: int = 512,
        freq_tokens: int = 1,
    ):
        super().__init__()
        self.freq_tokens = freq_tokens
        self.stem = nn.Sequential(_conv(1, 32, 2), _conv(32, dim, 2))  # (B, D, n_mels/4, frames/4)
        if freq_tokens == 1:
            self.freq_proj = nn.Linear(dim * ((n_mels + 3) // 4), dim)  # one token per time patch
        else:
            self.freq_pool = nn.AdaptiveAvgPool2d((freq_tokens, None))  # F frequency bands per time patch
        self.pos = nn.Parameter(torch.zeros(1, max_tokens, dim))
        nn.init.trunc_normal_(self.pos, std=0.02)
        self.encoder = transformer.encoder(dim, depth, heads, dropout, attn_dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, log_mel: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.stem(log_mel.unsqueeze(1).contiguous(memory_format=torch.channels_last))  # (B, D, F', T')
        if self.freq_tokens == 1:
            x = self.freq_proj(x.permute(0, 3, 1, 2).flatten(2))  # (B, T', D)
        else:
            x = self.freq_pool(x).permute(0, 3, 2, 1).flatten(1, 2)  # (B, T' * F, D), time-major
        h = self.norm(self.encoder(x + self.pos[:, : x.shape[1]]))
        return h, h.mean(1)
