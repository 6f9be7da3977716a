"""MACB-DF (Xiong et al., ICMR 2025), assembled from its blocks.

    encoders (3.1)        E_v: face crops -> H_v tokens        E_a: log-Mel -> H_a tokens (time x 2 bands)
    MACL (3.2.1)          projections z_v, z_a of the pooled tokens (the loss is avdf.learning.losses.macl)
    fusion weights (3.2.2) w_v, w_a from clusters + attention over per-time tokens, eqs. (9)-(10)
    multi-scale (3.2.3)   L layers of MSTLKA (video, 3D) and MFTLKA (audio, 2D), eqs. (11)-(16)
    fusion (3.2.4)        x_fused = w_v V + w_a A (eq. 17) guides the next layer of each modality (eq. 18)
    RFMF (3.3)            attention over the stacked per-layer audio and video vectors
    classify (3.4)        MLP with progressive width reduction, BatchNorm and Dropout -> fake logit
                          frame-level branches per modality on the encoder features -> frame logits

The model is split into :meth:`encode` (the two encoders) and :meth:`head` (everything after), so
that OM-Pareto (avdf.learning.optim.om_pareto) can balance the gradients that reach each encoder.
Eq. (18) is applied as ``K_i = K'_i * 2 sigmoid(x_fused_i)``, a gate that is the identity at 0 (paper-notes).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.utils.checkpoint import checkpoint

from avdf.learning.models.blocks import MultiScaleBlock
from avdf.learning.models.encoders import AudioEncoder, EncoderSizes, VisualEncoder
from avdf.learning.models.fusion import RFMF, FusionWeights

FREQ_TOKENS = 2  # audio tokens keep 2 frequency bands, a time-frequency map for the 2D blocks


def _frame_head(dim: int) -> nn.Module:
    return nn.Sequential(nn.Linear(dim, dim // 2), nn.GELU(), nn.Linear(dim // 2, 1))


def fused_gate(w_v: torch.Tensor, w_a: torch.Tensor, v_map: torch.Tensor, a_map: torch.Tensor):
    """Eqs. (17)-(18): x_fused = w_v * mean(V) + w_a * mean(A) per channel (B, D) of the channels-last
    maps V (B, T, H, W, D) and A (B, T, F, D), and the gate
    2 sigmoid(x_fused) that scales each layer's output (the identity where x_fused = 0; paper-notes)."""
    x_fused = w_v[:, None] * v_map.mean((1, 2, 3)) + w_a[:, None] * a_map.mean((1, 2))  # eq. (17)
    return 2 * torch.sigmoid(x_fused)


class MACBDF(nn.Module):
    modalities = ("audio", "video")
    # > 0: the multi-scale blocks run on slices of this many clips and keep only their inputs for
    # the backward pass, recomputing the rest there (train.micro_batch; each clip's numbers are the
    # same: the blocks treat clips apart and draw nothing at random)
    block_slice = 0

    def __init__(
        self,
        sizes: EncoderSizes,
        ms_depth: int,
        use_fusion_weights: bool,
        fusion_beta: float,
        fusion_gamma: float,
        k_max: int,
    ):
        super().__init__()
        n_mels, dim, depth, heads, dropout, attn_dropout, visual = sizes
        self.audio = AudioEncoder(n_mels, dim, depth, heads, dropout, attn_dropout, freq_tokens=FREQ_TOKENS)
        self.video = VisualEncoder(dim, depth, heads, dropout, attn_dropout, **visual)
        self.project = nn.ModuleDict({m: nn.Linear(dim, dim) for m in ("audio", "video")})
        self.fusion_weights = (
            FusionWeights(dim, heads, k_max, fusion_beta, fusion_gamma) if use_fusion_weights else None
        )
        self.video_blocks = nn.ModuleList(MultiScaleBlock(dim, dims=3) for _ in range(ms_depth))
        self.audio_blocks = nn.ModuleList(MultiScaleBlock(dim, dims=2) for _ in range(ms_depth))
        self.rfmf = RFMF(dim, heads, 2 * (ms_depth + 1), dropout, attn_dropout)
        self.classifier = nn.Sequential(
            nn.Linear(dim, dim // 2),
            nn.BatchNorm1d(dim // 2),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(dim // 2, dim // 4),
            nn.BatchNorm1d(dim // 4),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(dim // 4, 1),
        )
        self.frame_heads = nn.ModuleDict({m: _frame_head(dim) for m in ("audio", "video")})

    def encoders(self) -> dict[str, nn.Module]:
        return {"audio": self.audio, "video": self.video}

    def encode(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Encoder tokens: audio (B, T_a * 2, D), video (B, T_v * grid * grid, D)."""
        return self.audio(batch["audio"])[0], self.video(batch["video"])[0]

    def head(self, h_a: torch.Tensor, h_v: torch.Tensor, frames_from: tuple | None = None) -> dict:
        """Everything after the encoders. ``frames_from``: other (h_a, h_v) for the frame-level
        branches to read (OM-Pareto gives them their own copy of the features)."""
        b, _, d = h_a.shape
        g = self.video.grid  # the maps keep the tokens' channels-last layout (avdf.learning.models.blocks)
        a_map = h_a.view(b, -1, FREQ_TOKENS, d)  # (B, T_a, 2, D)
        v_map = h_v.view(b, -1, g, g, d)  # (B, T_v, grid, grid, D)
        pooled_a, pooled_v = h_a.mean(1), h_v.mean(1)
        z_a = nn.functional.normalize(self.project["audio"](pooled_a), dim=-1)
        z_v = nn.functional.normalize(self.project["video"](pooled_v), dim=-1)
        if self.fusion_weights is not None:
            per_time = {
                "video": h_v.view(b, -1, g * g, d).mean(2),
                "audio": h_a.view(b, -1, FREQ_TOKENS, d).mean(2),
            }
            w_v, w_a = self.fusion_weights(per_time, {"video": pooled_v.detach(), "audio": pooled_a.detach()})
        else:  # "w/o w": equal weights
            w_v = w_a = torch.full((b,), 0.5, device=h_a.device)
        stacked = [pooled_a, pooled_v]
        for video_block, audio_block in zip(self.video_blocks, self.audio_blocks, strict=True):
            gate = fused_gate(w_v, w_a, v_map, a_map)
            v_map = self._block(video_block, v_map) * gate[:, None, None, None, :]  # eq. (18)
            a_map = self._block(audio_block, a_map) * gate[:, None, None, :]
            stacked += [a_map.mean((1, 2)), v_map.mean((1, 2, 3))]
        fused = self.rfmf(torch.stack(stacked, 1))
        return {
            "logit": self.classifier(fused).squeeze(-1),
            "fused": fused,
            **self.frame_logits(*(frames_from or (h_a, h_v))),
            "z_a": z_a,
            "z_v": z_v,
            "w_v": w_v,
            "w_a": w_a,
        }

    def _block(self, block: nn.Module, x: torch.Tensor) -> torch.Tensor:
        if not self.block_slice or not torch.is_grad_enabled():
            return block(x)
        return torch.cat([checkpoint(block, part, use_reentrant=False) for part in x.split(self.block_slice)])

    def frame_logits(self, h_a: torch.Tensor, h_v: torch.Tensor) -> dict:
        """The per-modality frame-level branches (eq. 20): one logit per time step of each modality."""
        b, _, d = h_a.shape
        g = self.video.grid
        return {
            "frame_audio": self.frame_heads["audio"](h_a.view(b, -1, FREQ_TOKENS, d).mean(2)).squeeze(-1),
            "frame_video": self.frame_heads["video"](h_v.view(b, -1, g * g, d).mean(2)).squeeze(-1),
        }

    def forward(self, batch: dict) -> dict:
        return self.head(*self.encode(batch))
