"""The boundary localiser: an anchor-free temporal localisation model in the ActionFormer /
UMMAFormer family (Zhang et al. 2022; 2023) on avdf's encoders.

    v_t = pool(Stem_v(crop_t))                 one vector per video frame (E_v's convolutional stem)
    a_t = E_a(log-Mel)_t                       E_a's tokens: 4 log-Mel frames (40 ms) = one video frame
    x_t = Conv1d([v_t; a_t])                   fused, then two temporal convolutions
    x = Transformer(x)                         every frame attends to the whole window (context)
    X^0 = x,  X^l = Block(X^(l-1), stride 2)   the feature pyramid, strides 1, 2, 4, ... frames
    p_hat = sigmoid(Head_cls(X^l)_i)           fake probability of step i of level l
    (d_s, d_e) = s_l * ReLU(Head_reg(X^l)_i)   offsets to the segment's start and end, in frames
    (e_s, e_t) = Head_edge(X^0)_t              whether frame t starts or ends a segment (logits)

Both heads are shared by every level (ActionFormer's design). Step ``i`` of level ``l`` proposes
``[c - d_s, c + d_e]`` with ``c = (i + 1/2) 2^l``, scored ``p_hat``; the clip's logit is its most
fake step's. The targets and losses are in avdf.learning.losses.boundary; proposals over a whole
video, their ends refined to the likeliest boundary frame nearby and Soft-NMS, in
avdf.evaluation.boundaries.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.functional import interpolate

from avdf.learning.losses.boundary import assign, boundary_loss, edge_loss, level_ranges
from avdf.learning.models import transformer
from avdf.learning.models.encoders import AudioEncoder, EncoderSizes, visual_stem


def _temporal(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv1d(c_in, c_out, 3, stride=stride, padding=1), nn.GroupNorm(8, c_out), nn.GELU()
    )


def _head(dim: int, out: int) -> nn.Sequential:
    return nn.Sequential(_temporal(dim, dim), nn.Conv1d(dim, out, 3, padding=1))


class BoundaryLocaliser(nn.Module):
    modalities = ("audio", "video")

    def __init__(
        self,
        sizes: EncoderSizes,
        levels: int,
        context_depth: int,
        center_radius: float,
        loss: dict,
        decoding: dict,
    ):
        super().__init__()
        n_mels, dim, depth, heads, dropout, attn_dropout, visual = sizes
        self.levels, self.radius = levels, center_radius
        self.loss_settings, self.decoding = dict(loss), dict(decoding)
        self.video = nn.Sequential(visual_stem(visual["stem"], dim), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.audio = AudioEncoder(n_mels, dim, depth, heads, dropout, attn_dropout, max_tokens=1024)
        self.fuse = nn.Sequential(_temporal(2 * dim, dim), _temporal(dim, dim), _temporal(dim, dim))
        self.context = transformer.encoder(dim, context_depth, heads, dropout, attn_dropout)
        self.down = nn.ModuleList(_temporal(dim, dim, stride=2) for _ in range(levels - 1))
        self.cls, self.reg, self.edges = _head(dim, 1), _head(dim, 2), _head(dim, 2)
        nn.init.constant_(self.cls[-1].bias, -4.6)  # p = 0.01 at the start (RetinaNet's prior)

    def features(self, batch: dict) -> torch.Tensor:
        """(B, D, T): one fused vector per video frame of the window."""
        video = batch["video"]  # (B, T, 3, S, S): S the crops' side / localiser.crop_pool, as read
        b, t = video.shape[:2]
        v = self.video(video.flatten(0, 1)).view(b, t, -1).transpose(1, 2)
        a = self.audio(batch["audio"])[0].transpose(1, 2)  # (B, D, tokens)
        if a.shape[-1] != t:
            a = interpolate(a, size=t, mode="linear", align_corners=False)
        x = self.fuse(torch.cat([v, a], 1))
        return self.context(x.transpose(1, 2)).transpose(1, 2)

    def points(self, t: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Every step's centre and stride in frames, and its level's offset range."""
        centres, strides, ranges = [], [], []
        bounds = level_ranges(self.levels, device)
        for level in range(self.levels):
            s, n = 2**level, -(-t // 2**level)
            centres.append((torch.arange(n, device=device) + 0.5) * s)
            strides.append(torch.full((n,), float(s), device=device))
            ranges.append(bounds[level].expand(n, 2))
        return torch.cat(centres), torch.cat(strides), torch.cat(ranges)

    def forward(self, batch: dict) -> dict:
        x = self.features(batch)
        cls, offsets = [], []
        edges = self.edges(x).transpose(1, 2)  # (B, T, 2) at frame resolution
        for level in range(self.levels):
            if level:
                x = self.down[level - 1](x)
            cls.append(self.cls(x).squeeze(1))
            offsets.append(torch.relu(self.reg(x)).transpose(1, 2) * 2**level)
        cls, offsets = torch.cat(cls, 1), torch.cat(offsets, 1)  # (B, P), (B, P, 2)
        centres, _, _ = self.points(batch["video"].shape[1], cls.device)
        bounds = torch.stack([centres - offsets[..., 0], centres + offsets[..., 1]], -1)
        return {"logit": cls.max(1).values, "cls": cls, "bounds": bounds, "edges": edges}

    def loss(self, out: dict, batch: dict) -> tuple[torch.Tensor, dict]:
        centres, strides, ranges = self.points(batch["video"].shape[1], out["cls"].device)
        labels, target = assign(centres, strides, ranges, batch["segments"], self.radius)
        loss, stats = boundary_loss(out["cls"], out["bounds"], labels, target, self.loss_settings)
        edges = edge_loss(out["edges"], batch["segments"], self.loss_settings)
        return loss + self.loss_settings["edge_weight"] * edges, stats | {"L_edge": float(edges.detach())}
