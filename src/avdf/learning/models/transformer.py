"""The pre-norm Transformer encoder that both modality encoders and RFMF use.

One block, with its two dropout sites kept apart::

    x <- x + Drop_r( Attn( LN(x) ) )                  Attn: multi-head scaled dot-product
    x <- x + Drop_r( W2 Drop_r( GELU( W1 LN(x) ) ) )      self-attention, Drop_a on its weights

``dropout`` (Drop_r) acts on the residual branches and the MLP's hidden layer, exactly where
``nn.TransformerEncoderLayer`` puts it. ``attn_dropout`` (Drop_a) acts on the attention
probabilities and defaults to 0, as in ViT/DeiT (timm's ``attn_drop_rate``) and open_clip.
``nn.TransformerEncoderLayer`` ties the two together; on a CPU a non-zero Drop_a forces PyTorch's
unfused attention and a Bernoulli mask of B x heads x N^2 elements, which made the forward pass
of a 128-token layer 4x slower (see docs/paper-notes.md, "attention dropout").

Drop_r is :class:`Dropout`: ``nn.Dropout``'s inverted dropout, whose mask on a CPU is drawn as
``uniform >= p`` rather than with ``bernoulli_``, twice as fast there (paper-notes, "dropout masks").
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class Dropout(nn.Dropout):
    """Inverted dropout, ``x * m / (1 - p)`` with m ~ Bernoulli(1 - p) per element, as ``nn.Dropout``.

    On a CPU, m is drawn as ``U >= p`` with U ~ Uniform[0, 1) (one ``rand`` and an in-place
    compare): the same distribution, half the time of ``bernoulli_``, which was a sixth of a
    MACB-DF forward pass. Elsewhere it is ``nn.Dropout`` itself (CUDA fuses mask and product).
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p in (0, 1) or x.device.type != "cpu":
            return super().forward(x)
        keep = torch.rand_like(x).ge_(self.p)  # 1 with probability 1 - p, else 0
        return x * keep.mul_(1 / (1 - self.p))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_dim: int, dropout: float, attn_dropout: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads, self.attn_dropout = heads, attn_dropout
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(
            nn.Linear(dim, mlp_dim), nn.GELU(), Dropout(dropout), nn.Linear(mlp_dim, dim)
        )
        self.drop = Dropout(dropout)

    def attend(self, x: torch.Tensor) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        p = self.attn_dropout if self.training else 0.0
        a = F.scaled_dot_product_attention(q, k, v, dropout_p=p)  # softmax(q k^T / sqrt(d_h)) v
        return self.out(a.transpose(1, 2).reshape(b, n, d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop(self.attend(self.norm1(x)))
        return x + self.drop(self.mlp(self.norm2(x)))


def encoder(dim: int, depth: int, heads: int, dropout: float, attn_dropout: float = 0.0) -> nn.Module:
    """``depth`` blocks with an MLP of width 2*dim; depth 0 is the identity."""
    return nn.Sequential(*(Block(dim, heads, 2 * dim, dropout, attn_dropout) for _ in range(depth)))
