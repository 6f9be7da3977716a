"""The two modality encoders of Sec. 3.1.

- :class:`VisualEncoder` (E_v): a per-frame convolutional stem turns each face crop into a grid of
  patch tokens, ``grid`` x ``grid`` per frame (``model.patch`` pixels of the crop per token side, so
  the grid grows with the crop: 4 x 4 at the embedded 64 px with patch 16, 7 x 7 at the paper's
  224 px with patch 32); a Transformer encoder attends over all space-time tokens and yields H_v^(L).
  The stem is three stride-2 convolutions (``conv``) or torchvision's ResNet-18 trunk (``resnet18``),
  which :func:`initialise` can load from pretrained weights a user supplies.
- :class:`AudioEncoder` (E_a): a convolutional stem turns the log-Mel spectrogram into
  time-frequency patch tokens; a Transformer encoder yields H_a^(L).

Both return the token sequence (B, N, D) and a pooled clip vector (B, D); a pretrained backbone
can replace either one as long as it keeps this interface.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from avdf.learning.models import transformer


def _conv(c_in: int, c_out: int, dims: int) -> nn.Sequential:
    conv, norm = (nn.Conv2d, nn.BatchNorm2d) if dims == 2 else (nn.Conv3d, nn.BatchNorm3d)
    return nn.Sequential(conv(c_in, c_out, 3, stride=2, padding=1, bias=False), norm(c_out), nn.GELU())


IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


class EncoderSizes(NamedTuple):
    """What the shared encoders are built with (params.yaml ``model``; avdf.learning.models.build):
    the log-Mel bands, the width, depth and heads of both Transformers, their dropouts, and the
    visual token grid and stem (``ModelSpec.visual``; None for an audio-only model)."""

    n_mels: int
    dim: int
    depth: int
    heads: int
    dropout: float
    attn_dropout: float
    visual: dict | None


class ResNetStem(nn.Module):
    """torchvision's ResNet-18 up to its last stage (stride 32, 512 channels), then a 1x1 conv to
    ``dim``. Crops arrive in [-0.5, 0.5] and are normalised as ImageNet weights expect."""

    def __init__(self, dim: int):
        super().__init__()
        from torchvision.models import resnet18

        net = resnet18(weights=None)
        self.trunk = nn.Sequential(*list(net.children())[:-2])  # conv1 .. layer4, without pool and fc
        self.project = nn.Conv2d(512, dim, 1)
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1) - 0.5, persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(self.trunk((x - self.mean) / self.std))


def visual_stem(kind: str, dim: int) -> nn.Module:
    if kind == "conv":
        return nn.Sequential(_conv(3, 24, 2), _conv(24, 48, 2), _conv(48, dim, 2))
    if kind == "resnet18":
        return ResNetStem(dim)
    raise ValueError(f"unknown visual stem {kind!r}; known: conv, resnet18")


class VisualEncoder(nn.Module):
    """Face crops (B, T, 3, S, S) -> tokens (B, T * grid * grid, D) and pooled (B, D)."""

    def __init__(
        self,
        dim: int,
        depth: int,
        heads: int,
        dropout: float,
        attn_dropout: float,
        grid: int,
        stem: str,
        max_frames: int = 64,
    ):
        super().__init__()
        self.grid = grid
        self.stem = nn.Sequential(visual_stem(stem, dim), nn.AdaptiveAvgPool2d(grid))
        self.space_pos = nn.Parameter(torch.zeros(1, 1, grid * grid, dim))
        self.time_pos = nn.Parameter(torch.zeros(1, max_frames, 1, dim))
        nn.init.trunc_normal_(self.space_pos, std=0.02)
        nn.init.trunc_normal_(self.time_pos, std=0.02)
        self.encoder = transformer.encoder(dim, depth, heads, dropout, attn_dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, video: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        b, t = video.shape[:2]
        x = self.stem(video.flatten(0, 1).contiguous(memory_format=torch.channels_last))  # (B*T, D, g, g)
        x = x.flatten(2).transpose(1, 2).reshape(b, t, self.grid * self.grid, -1)
        x = (x + self.space_pos + self.time_pos[:, :t]).flatten(1, 2)
        h = self.norm(self.encoder(x))
        return h, h.mean(1)


def initialise(encoder: VisualEncoder, source: str) -> str:
    """Load pretrained weights a user supplies into a visual encoder; returns what was loaded.

    ``source``: "" (nothing: random initialisation, the offline default); ``torchvision:<name>``
    (a torchvision weights name such as ``ResNet18_Weights.IMAGENET1K_V1``, for the ``resnet18``
    stem; torchvision fetches it, or reads it from its cache, ``$TORCH_HOME/hub/checkpoints``); or a
    path to a ``.pt``/``.pth`` state dict, either of the whole encoder or of a torchvision ResNet-18.
    """
    if not source:
        return "random"
    if source.startswith("torchvision:"):
        from torchvision.models import get_weight

        state = get_weight(source.removeprefix("torchvision:")).get_state_dict(progress=False)
    else:
        try:
            state = torch.load(source, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError) as e:
            raise ValueError(f"model.visual_init {source}: cannot be read as a state dict ({e})") from e
    if set(state) <= set(encoder.state_dict()):
        encoder.load_state_dict(state, strict=True)
        return f"visual encoder from {source}"
    trunk = encoder.stem[0].trunk if isinstance(encoder.stem[0], ResNetStem) else None
    renamed = _resnet_to_trunk(state)
    if trunk is None or not set(trunk.state_dict()) <= set(renamed):
        raise ValueError(
            f"model.visual_init {source}: its keys match neither this visual encoder nor a ResNet-18 "
            f"trunk (stem {'resnet18' if trunk is not None else 'conv'}); first keys: {sorted(state)[:3]}"
        )
    trunk.load_state_dict({k: renamed[k] for k in trunk.state_dict()}, strict=True)
    return f"ResNet-18 trunk from {source}"


def _resnet_to_trunk(state: dict) -> dict:
    """torchvision ResNet names (conv1, bn1, layer1..4) -> the trunk's Sequential indices."""
    index = {"conv1": "0", "bn1": "1", "layer1": "4", "layer2": "5", "layer3": "6", "layer4": "7"}
    out = {}
    for key, value in state.items():
        head, _, rest = key.partition(".")
        if head in index:
            out[f"{index[head]}.{rest}"] = value
        else:
            out[key] = value
    return out


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
