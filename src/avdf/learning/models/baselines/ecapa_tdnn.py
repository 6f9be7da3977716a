"""ECAPA-TDNN (Desplanques, Thienpondt and Demuynck, Interspeech 2020), audio only, over log-Mels.

    log-Mel (B, F, T)
      -> Conv1D(k=5) + ReLU + BN                                    (B, C, T)
      -> SE-Res2Block(k=3, dilation 2), (dilation 3), (dilation 4)   three blocks, residual
      -> multi-layer feature aggregation: concat the three block outputs, Conv1D(k=1) + ReLU
      -> attentive statistics pooling (channel- and context-dependent)  (B, 2 C')
      -> BN -> Linear -> BN: the embedding -> Linear: the fake logit

SE-Res2Block: Conv1D(k=1) -> Res2 dilated conv -> Conv1D(k=1) -> squeeze-excitation, each conv
with ReLU and BN. Res2 splits the channels into ``scale`` groups x_1..x_s; y_1 = x_1 and
y_i = K_i(x_i + y_{i-1}). Attentive statistics pooling scores each frame and channel from the
frame and the utterance's mean and standard deviation:
    e_t = W2 tanh(W1 [h_t; mean(h); std(h)] + b1) + b2,   a_t = softmax_t(e_t)
    mean~ = sum_t a_t h_t,   std~ = sqrt(sum_t a_t h_t^2 - mean~^2)
The published model uses C = 512 or 1024 and 80 filterbanks; the width here is ``channels``.
"""

from __future__ import annotations

import torch
from torch import nn


def _conv_relu_bn(c_in: int, c_out: int, k: int = 1, dilation: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(c_in, c_out, k, dilation=dilation, padding=dilation * (k - 1) // 2),
        nn.ReLU(),
        nn.BatchNorm1d(c_out),
    )


class Res2Conv(nn.Module):
    """y_1 = x_1, y_i = K_i(x_i + y_{i-1}) over ``scale`` channel groups."""

    def __init__(self, channels: int, k: int, dilation: int, scale: int):
        super().__init__()
        if channels % scale:
            raise ValueError(f"channels {channels} must divide into {scale} Res2 groups")
        self.scale = scale
        width = channels // scale
        self.convs = nn.ModuleList(_conv_relu_bn(width, width, k, dilation) for _ in range(scale - 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        groups = x.chunk(self.scale, 1)
        out = [groups[0]]
        for conv, g in zip(self.convs, groups[1:], strict=True):
            out.append(conv(g if len(out) == 1 else g + out[-1]))
        return torch.cat(out, 1)


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, bottleneck: int):
        super().__init__()
        self.fc = nn.Sequential(
            nn.Linear(channels, bottleneck), nn.ReLU(), nn.Linear(bottleneck, channels), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(2)).unsqueeze(2)


class SERes2Block(nn.Module):
    def __init__(self, channels: int, dilation: int, scale: int, se_bottleneck: int):
        super().__init__()
        self.body = nn.Sequential(
            _conv_relu_bn(channels, channels),
            Res2Conv(channels, 3, dilation, scale),
            _conv_relu_bn(channels, channels),
            SqueezeExcitation(channels, se_bottleneck),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class AttentiveStatsPool(nn.Module):
    """(B, C, T) -> (B, 2C): attention-weighted mean and standard deviation per channel."""

    def __init__(self, channels: int, hidden: int):
        super().__init__()
        self.attention = nn.Sequential(
            nn.Conv1d(3 * channels, hidden, 1), nn.Tanh(), nn.Conv1d(hidden, channels, 1)
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        mean = h.mean(2, keepdim=True).expand_as(h)
        std = h.var(2, keepdim=True, unbiased=False).clamp_min(1e-6).sqrt().expand_as(h)
        a = torch.softmax(self.attention(torch.cat([h, mean, std], 1)), dim=2)
        mu = (a * h).sum(2)
        sigma = ((a * h * h).sum(2) - mu * mu).clamp_min(1e-6).sqrt()
        return torch.cat([mu, sigma], 1)


class ECAPATDNN(nn.Module):
    modalities = ("audio",)

    def __init__(
        self,
        n_mels: int,
        channels: int,
        scale: int,
        se_bottleneck: int,
        attention_hidden: int,
        embedding: int,
    ):
        super().__init__()
        self.stem = _conv_relu_bn(n_mels, channels, k=5)
        self.blocks = nn.ModuleList(SERes2Block(channels, d, scale, se_bottleneck) for d in (2, 3, 4))
        aggregated = 3 * channels
        self.aggregate = nn.Sequential(nn.Conv1d(aggregated, aggregated, 1), nn.ReLU())
        self.pool = AttentiveStatsPool(aggregated, attention_hidden)
        self.embed = nn.Sequential(
            nn.BatchNorm1d(2 * aggregated), nn.Linear(2 * aggregated, embedding), nn.BatchNorm1d(embedding)
        )
        self.classifier = nn.Linear(embedding, 1)

    def forward(self, batch: dict) -> dict:
        x = self.stem(batch["audio"])  # (B, C, T)
        outputs = []
        for block in self.blocks:
            x = block(x)
            outputs.append(x)
        h = self.aggregate(torch.cat(outputs, 1))
        return {"logit": self.classifier(self.embed(self.pool(h))).squeeze(-1)}
