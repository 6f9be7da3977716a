"""Multi-scale large-kernel blocks, Sec. 3.2.3 of MACB-DF (eqs. 11-16), for video (3D) and audio (2D).

One module serves both: ``dims=3`` is MSTLKA + GSAU-video over (B, T, H, W, C) maps, ``dims=2`` is
MFTLKA + the 2D GSAU over (B, T, F, C) maps. The layout follows MAN (multi-scale attention networks),
which the paper extends:

- eq. (15): ``STLKA(X) = PW(DWD(DW(X)))``: a depthwise conv of kernel 2d-1, a depthwise conv of
  kernel ceil(K/d) dilated by d, and a pointwise conv;
- eq. (16): channels split into n groups, one (K, d) scale each, ``MSTLKA_i(X_i) = G_i(X_i) * STLKA_i(X_i)``
  with G_i a depthwise conv (the gate);
- eqs. (11)-(14): ``N = LN(H); H = H + lambda1 f3(MSTLKA(f1(N)) * f2(N)); N = LN(H);
  H = H + lambda2 f6(GSAU(f4(N), f5(N)))``, f_i being 1x1 convs and lambda1, lambda2 learnable scalars.
  GSAU gates one branch with a depthwise conv of the other.

The form is chosen for few, large operations (issue 30: a GPU idles on thousands of small ones); the
function and the parameters are the paper's (docs/paper-notes.md, "Multi-scale blocks as few operations"):

- maps hold their channels last (they are the encoders' tokens), so LayerNorm and the 1x1 convs are
  plain ``LayerNorm`` and ``Linear`` over the last axis, and each depthwise conv reads a
  channels-first *view* (channels-last memory);
- the three groups' convolutions of one kind are one depthwise convolution (:class:`GroupedDepthwise`):
  each group's kernel sits, dilated, in a kernel of the largest extent, zero elsewhere, and a fixed
  mask keeps it so. The per-group pointwise convs are one block-diagonal ``Linear`` (:class:`BlockDiagonal`);
- f1 and f2, and f4 and f5, read the same input: each pair is one ``Linear`` of twice the width.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn import functional as F

SCALES = ((3, 1), (5, 2), (7, 3))  # (K, d) per channel group: receptive fields 3, 5 and 7+
CONV = {2: F.conv2d, 3: F.conv3d}


def channel_splits(channels: int, n: int) -> list[int]:
    """``channels`` in ``n`` groups as even as can be, the first ones larger."""
    return [channels // n + (1 if i < channels % n else 0) for i in range(n)]


def _conv(x: torch.Tensor, conv) -> torch.Tensor:
    """A channels-first depthwise ``conv`` applied to a channels-last map (B, ..., C)."""
    return conv(x.movedim(-1, 1)).movedim(1, -1)


def reachable(weight: torch.Tensor, size: tuple[int, ...]) -> tuple[torch.Tensor, tuple[int, ...]]:
    """A centred depthwise kernel cut to the taps that can reach a map of ``size``, and the padding
    that keeps the map's size. Along an axis of n positions no output sees an input more than n - 1
    away, so a tap further from the centre multiplies only padding: cutting it changes nothing but
    the work (MACB-DF's audio maps have 2 frequency bands, so a 7 x 7 kernel does the work of 7 x 3).
    Under ``torch.compile`` the kernel stays whole (below)."""
    centre = weight.shape[-1] // 2
    reach = tuple(min(centre, n - 1) for n in size)
    # compiled, the cut costs 120 operators a step (MACB-DF, paper profile: 5,003 against 4,883,
    # over issue 30's 5,000), and on a GPU the operators are the bound: the whole kernel there
    if reach == (centre,) * len(size) or torch.compiler.is_compiling():
        return weight, (centre,) * len(size)
    return weight[(..., *(slice(centre - r, centre + r + 1) for r in reach))], reach


def as_matrix(positions: int, taps: int) -> bool:
    """Whether a depthwise convolution is cheaper as :func:`small_map_depthwise`: where the map has
    no more positions than the kernel has taps (measured: ``benchmarks/depthwise.py``)."""
    return positions <= taps


def small_map_depthwise(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor, padding: tuple[int, ...]):
    """A depthwise convolution (stride 1, zero ``padding`` per axis) as one matrix product per
    channel: ``y[b, c, p] = bias[c] + sum_q M_c[p, q] x[b, c, q]`` over the map's P positions, where
    ``M_c[p, q]`` is the tap of channel c's kernel that links input position q to output position p
    (zero where none does). The same function as the convolution, another form. On a map with no
    more positions than the kernel has taps (MACB-DF's 3-D blocks on the embedded default's 4 x 4 x 4
    video maps, merged kernels of 5^3 and 7^3 taps) the P x P product does less work than the
    convolution, which visits every tap, the padded and the masked ones included."""
    c, size = x.shape[1], tuple(x.shape[2:])
    taps = torch.cat([weight.reshape(c, -1), weight.new_zeros(c, 1)], dim=1)  # the last: no tap
    matrices = taps[:, _tap_index(size, tuple(weight.shape[2:]), padding, x.device)]  # (C, P, P)
    per_channel = x.flatten(2).transpose(0, 1).contiguous()  # (C, B, P): one matrix product a channel
    y = torch.bmm(per_channel, matrices.transpose(1, 2)).transpose(0, 1) + bias[:, None]
    return y.unflatten(2, size)


_TAP_INDEX: dict[tuple, torch.Tensor] = {}  # not functools.cache: torch.compile ignores its wrapper


def _tap_index(
    size: tuple[int, ...], kernel: tuple[int, ...], padding: tuple[int, ...], device: torch.device
) -> torch.Tensor:
    """:func:`_index_of_taps`, made once per map shape, kernel, padding and device."""
    key = (size, kernel, padding, device)
    if key not in _TAP_INDEX:
        _TAP_INDEX[key] = _index_of_taps(size, kernel, padding, device)
    return _TAP_INDEX[key]


def _index_of_taps(
    size: tuple[int, ...], kernel: tuple[int, ...], padding: tuple[int, ...], device: torch.device
) -> torch.Tensor:
    """(P, P) index into a kernel's flattened taps: entry [p, q] is the tap through which input
    position q reaches output position p, or ``prod(kernel)`` (no tap) where none does."""
    grids = torch.meshgrid(*(torch.arange(n, device=device) for n in size), indexing="ij")
    where = torch.stack([g.flatten() for g in grids], dim=-1)  # (P, dims)
    offset = where[None, :, :] - where[:, None, :] + torch.tensor(padding, device=device)  # [p, q]: tap
    inside = ((offset >= 0) & (offset < torch.tensor(kernel, device=device))).all(dim=-1)
    flat = torch.zeros(offset.shape[:2], dtype=torch.long, device=device)
    for d, k in enumerate(kernel):
        flat = flat * k + offset[..., d].clamp(0, k - 1)
    return torch.where(inside, flat, math.prod(kernel))


class GroupedDepthwise(nn.Module):
    """A depthwise conv whose channel groups have their own kernel size and dilation, as one conv.

    Group i's kernel (size k_i, dilation d_i) occupies every d_i-th tap of the centre of a kernel of
    the largest extent E = max (k_i - 1) d_i + 1; a fixed mask keeps the other taps at zero, so the
    output is that of the groups' own convs (padding E // 2 keeps the size, as their own did). Each
    group is initialised as its own ``nn.Conv`` would be (bounds 1/sqrt(k_i^dims)).
    """

    def __init__(self, splits: list[int], kernels: list[int], dilations: list[int], dims: int):
        super().__init__()
        extent = max((k - 1) * d + 1 for k, d in zip(kernels, dilations, strict=True))
        self.dims = dims
        self.weight = nn.Parameter(torch.zeros(sum(splits), 1, *(extent,) * dims))
        self.bias = nn.Parameter(torch.zeros(sum(splits)))
        mask = torch.zeros_like(self.weight)
        start = 0
        for c, k, d in zip(splits, kernels, dilations, strict=True):
            offset = (extent - ((k - 1) * d + 1)) // 2
            taps = (slice(start, start + c), 0, *(slice(offset, offset + (k - 1) * d + 1, d),) * dims)
            mask[taps] = 1.0
            bound = 1 / math.sqrt(k**dims)
            with torch.no_grad():
                self.weight[taps] = torch.empty(c, *(k,) * dims).uniform_(-bound, bound)
                self.bias[start : start + c].uniform_(-bound, bound)
            start += c
        # None where every tap is a group's (one kernel size, no dilation): nothing to mask
        self.register_buffer("mask", None if bool(mask.all()) else mask, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Channels-first x (B, C, ...)."""
        weight = self.weight if self.mask is None else self.weight * self.mask
        weight, padding = reachable(weight, tuple(x.shape[2:]))
        if as_matrix(math.prod(x.shape[2:]), weight[0].numel()):
            return small_map_depthwise(x, weight, self.bias, padding)
        return CONV[self.dims](x, weight, self.bias, padding=padding, groups=x.shape[1])

    def masked_zeros(self) -> int:
        """Weights the mask keeps at zero: not parameters of the paper's model (model_sizes)."""
        return 0 if self.mask is None else int((self.mask == 0).sum())


class BlockDiagonal(nn.Linear):
    """One ``Linear`` whose weight is block-diagonal over the channel groups: group i's own
    ``Linear(c_i, c_i)`` (each initialised as ``nn.Linear(c_i, c_i)`` would be)."""

    def __init__(self, splits: list[int]):
        super().__init__(sum(splits), sum(splits))
        self.register_buffer("mask", torch.block_diag(*(torch.ones(c, c) for c in splits)), persistent=False)
        with torch.no_grad():
            start = 0
            for c in splits:
                bound = 1 / math.sqrt(c)
                self.weight[start : start + c].uniform_(-bound, bound)
                self.bias[start : start + c].uniform_(-bound, bound)
                start += c
            self.weight.mul_(self.mask)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight * self.mask, self.bias)

    def masked_zeros(self) -> int:
        return int((self.mask == 0).sum())


class MultiScaleLKA(nn.Module):
    """Eqs. (15)-(16) on a channels-last map: per group, ``G_i(X_i) * PW_i(DWD_i(DW_i(X_i)))``."""

    def __init__(self, channels: int, dims: int, scales=SCALES):
        super().__init__()
        self.splits = channel_splits(channels, len(scales))
        ks, ds = [k for k, _ in scales], [d for _, d in scales]
        n = len(scales)
        self.dw = GroupedDepthwise(self.splits, [2 * d - 1 for d in ds], [1] * n, dims)  # eq. (15)
        self.dwd = GroupedDepthwise(
            self.splits, [math.ceil(k / d) for k, d in zip(ks, ds, strict=True)], ds, dims
        )
        self.pw = BlockDiagonal(self.splits)
        self.gate = GroupedDepthwise(self.splits, [3] * n, [1] * n, dims)  # G_i, eq. (16)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x_cf = x.movedim(-1, 1)
        large = self.pw(self.dwd(self.dw(x_cf)).movedim(1, -1))
        return self.gate(x_cf).movedim(1, -1) * large


class GSAU(nn.Module):
    """Gated spatial attention unit: ``a * DW(b)`` (3D depthwise conv for video, 2D for audio)."""

    def __init__(self, channels: int, dims: int):
        super().__init__()
        self.dw = GroupedDepthwise([channels], [3], [1], dims)

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return a * _conv(b, self.dw)


class PairedPointwise(nn.Linear):
    """Two 1x1 convs of one input (f1 and f2, or f4 and f5) as one ``Linear`` of twice the width;
    each half initialised as its own ``nn.Linear(C, C)``."""

    def __init__(self, channels: int):
        super().__init__(channels, 2 * channels)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return super().forward(x).chunk(2, dim=-1)


class MultiScaleBlock(nn.Module):
    """Eqs. (11)-(14): one MSTLKA (dims=3) or MFTLKA (dims=2) layer with its GSAU, on (B, ..., C)."""

    def __init__(self, channels: int, dims: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(channels), nn.LayerNorm(channels)
        self.f12, self.f45 = PairedPointwise(channels), PairedPointwise(channels)
        self.f3, self.f6 = nn.Linear(channels, channels), nn.Linear(channels, channels)
        self.attention = MultiScaleLKA(channels, dims)
        self.gsau = GSAU(channels, dims)
        self.lambda1 = nn.Parameter(torch.tensor(0.1))
        self.lambda2 = nn.Parameter(torch.tensor(0.1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        f1, f2 = self.f12(self.norm1(h))  # eq. (11)
        h = h + self.lambda1 * self.f3(self.attention(f1) * f2)  # eq. (12)
        f4, f5 = self.f45(self.norm2(h))  # eq. (13)
        return h + self.lambda2 * self.f6(self.gsau(f4, f5))  # eq. (14)
