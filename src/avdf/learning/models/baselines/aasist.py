"""AASIST (Jung et al., ICASSP 2022: "AASIST: Audio anti-spoofing using integrated
spectro-temporal graph attention networks"), audio only.

    input (B, 1, F, T) -> max-pool 2x2 -> residual 2D encoder -> feature map h (B, C, F/8, T/16)
    spectral graph:  nodes = frequency bins, e_S = max_t |h| + positional embedding   (B, F', C)
    temporal graph:  nodes = frames,         e_T = max_f |h|                           (B, T', C)
    each: graph attention layer (GAT) -> graph pooling (keep the top-k scored nodes)
    max graph operation: two branches of heterogeneous stacking graph attention (HS-GAL) over
        the union of temporal and spectral nodes plus a stack node, pooled between two HS-GALs;
        the branches are merged by an element-wise max
    readout: [max |T|, mean T, max |S|, mean S, stack node] -> Linear -> fake logit

GAT (AASIST's form): for nodes h (N, C),
    A_ij = softmax_j( w . tanh(W (h_i * h_j)) / t ),   h' = SELU(BN(P_a (A h) + P_x h))
HS-GAL: the same over [T; S] after a type-specific projection, with one attention vector w per
pair of node types (T-T, S-S, T-S), and a stack node s updated as
    a_j = softmax_j( w_s . tanh(W_s (s * x_j)) ),   s' = P_as (sum_j a_j x_j) + P_s s
Graph pooling: g = sigmoid(w_p . h), h <- (h * g) at the k = ratio * N nodes of largest g.

Front end (``front_end``): ``sinc``, the published one: the raw waveform through fixed band-pass
filters (:class:`SincFrontEnd`), |x|, a 3x3 max-pool, BatchNorm and SELU, then residual blocks
that pool time by 3; or ``log_mel``: the cached log-Mel spectrogram, max-pooled 2x2 (the CPU-sized
embedded default). Sizes are parameters: CPU-sized in the embedded default, the published
configuration in the paper profile (docs/model-sizes.md).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


class ResBlock2d(nn.Module):
    """Residual block. ``published``: AASIST's kernels, (2, 3) convolutions (the first padded to one
    more row, the second back) and a (1, 3) skip; otherwise 3x3 convolutions and a 1x1 skip."""

    def __init__(self, c_in: int, c_out: int, first: bool = False, pool=(2, 2), published: bool = False):
        super().__init__()
        k, pads, skip = ((2, 3), ((1, 1), (0, 1)), (1, 3)) if published else (3, (1, 1), 1)
        self.pre = nn.Identity() if first else nn.Sequential(nn.BatchNorm2d(c_in), nn.SELU())
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, k, padding=pads[0]),
            nn.BatchNorm2d(c_out),
            nn.SELU(),
            nn.Conv2d(c_out, c_out, k, padding=pads[1]),
        )
        pad = (0, 1) if published else 0
        self.skip = nn.Conv2d(c_in, c_out, skip, padding=pad) if c_in != c_out else nn.Identity()
        self.pool = nn.MaxPool2d(pool)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pool(self.body(self.pre(x)) + self.skip(x))


def _pairwise_attention(x: torch.Tensor, proj: nn.Linear) -> torch.Tensor:
    """tanh(W (x_i * x_j)) for all node pairs: (B, N, C) -> (B, N, N, C')."""
    return torch.tanh(proj(x.unsqueeze(2) * x.unsqueeze(1)))


class GraphAttention(nn.Module):
    def __init__(self, c_in: int, c_out: int, temperature: float = 2.0):
        super().__init__()
        self.pair = nn.Linear(c_in, c_out)
        self.w = nn.Linear(c_out, 1, bias=False)
        self.with_att, self.without_att = nn.Linear(c_in, c_out), nn.Linear(c_in, c_out)
        self.norm = nn.BatchNorm1d(c_out)
        self.temperature = temperature

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        a = torch.softmax(self.w(_pairwise_attention(h, self.pair)).squeeze(-1) / self.temperature, -1)
        out = self.with_att(a @ h) + self.without_att(h)
        return F.selu(self.norm(out.transpose(1, 2)).transpose(1, 2))


class HSGAL(nn.Module):
    """Heterogeneous stacking graph attention over temporal nodes, spectral nodes and a stack node."""

    def __init__(self, c_in: int, c_out: int, temperature: float = 100.0):
        super().__init__()
        self.type_proj = nn.ModuleDict({k: nn.Linear(c_in, c_in) for k in ("T", "S")})
        self.pair = nn.Linear(c_in, c_out)
        self.w = nn.ModuleDict({k: nn.Linear(c_out, 1, bias=False) for k in ("TT", "SS", "TS")})
        self.stack_pair = nn.Linear(c_in, c_out)
        self.stack_w = nn.Linear(c_out, 1, bias=False)
        self.with_att, self.without_att = nn.Linear(c_in, c_out), nn.Linear(c_in, c_out)
        self.stack_with_att, self.stack_self = nn.Linear(c_in, c_out), nn.Linear(c_in, c_out)
        self.norm = nn.BatchNorm1d(c_out)
        self.temperature = temperature

    def forward(self, t: torch.Tensor, s: torch.Tensor, stack: torch.Tensor):
        n_t = t.shape[1]
        x = torch.cat([self.type_proj["T"](t), self.type_proj["S"](s)], 1)  # (B, N_T + N_S, C)
        pairs = _pairwise_attention(x, self.pair)
        scores = {k: w(pairs).squeeze(-1) for k, w in self.w.items()}
        kind = torch.full((x.shape[1],), 1, device=x.device)
        kind[:n_t] = 0  # 0 temporal, 1 spectral
        same_t = (kind[:, None] == 0) & (kind[None, :] == 0)
        same_s = (kind[:, None] == 1) & (kind[None, :] == 1)
        e = torch.where(same_t, scores["TT"], torch.where(same_s, scores["SS"], scores["TS"]))
        a = torch.softmax(e / self.temperature, -1)
        nodes = self.with_att(a @ x) + self.without_att(x)
        nodes = F.selu(self.norm(nodes.transpose(1, 2)).transpose(1, 2))
        a_stack = torch.softmax(self.stack_w(torch.tanh(self.stack_pair(x * stack))).squeeze(-1), -1)
        stack = self.stack_with_att((a_stack.unsqueeze(-1) * x).sum(1, keepdim=True)) + self.stack_self(stack)
        return nodes[:, :n_t], nodes[:, n_t:], stack


class GraphPool(nn.Module):
    def __init__(self, channels: int, ratio: float):
        super().__init__()
        self.score, self.ratio = nn.Linear(channels, 1), ratio

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        g = torch.sigmoid(self.score(h))  # (B, N, 1)
        k = max(1, int(h.shape[1] * self.ratio))
        top = g.squeeze(-1).topk(k, dim=1).indices.sort(1).values
        return torch.gather(h * g, 1, top.unsqueeze(-1).expand(-1, -1, h.shape[2]))


SAMPLE_RATE = 16000  # params.yaml media.sample_rate (the schema allows only this)


def mel_band_edges(n_bands: int, sample_rate: int) -> np.ndarray:
    """``n_bands + 1`` band edges (Hz) equally spaced on the mel scale from 0 to Nyquist."""
    top = 2595 * np.log10(1 + (sample_rate / 2) / 700)
    return 700 * (10 ** (np.linspace(0, top, n_bands + 1) / 2595) - 1)


class SincFrontEnd(nn.Module):
    """Fixed band-pass filters on the raw waveform, each the difference of two ideal low-pass sinc
    kernels (cut-offs at its mel band's edges) under a Hamming window::

        h_k(n) = 2 f_hi/sr sinc(2 f_hi n/sr) - 2 f_lo/sr sinc(2 f_lo n/sr),   n = -(K-1)/2 .. (K-1)/2

    then |x|, a 3x3 max-pool over (band, time), BatchNorm and SELU: (B, samples) -> (B, 1, F/3, T/3)."""

    def __init__(self, bands: int, kernel: int, sample_rate: int = SAMPLE_RATE):
        super().__init__()
        kernel += 1 - kernel % 2  # odd, so that the filters are centred
        n = np.arange(kernel) - (kernel - 1) / 2
        edges = mel_band_edges(bands, sample_rate)
        low, high = edges[:-1, None], edges[1:, None]
        ideal = 2 * high / sample_rate * np.sinc(2 * high * n / sample_rate)
        ideal -= 2 * low / sample_rate * np.sinc(2 * low * n / sample_rate)
        filters = torch.tensor(ideal * np.hamming(kernel), dtype=torch.float32)
        self.register_buffer("filters", filters.unsqueeze(1), persistent=False)  # (bands, 1, K)
        self.norm = nn.BatchNorm2d(1)

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        x = F.conv1d(waveform.unsqueeze(1), self.filters).abs().unsqueeze(1)  # (B, 1, bands, T)
        return F.selu(self.norm(F.max_pool2d(x, 3)))


def _pool_of(i: int, front_end: str) -> tuple[int, int]:
    """Residual block i's max-pool over (frequency, time). After the sinc front end, time by 3 in
    every block (as AASIST pools); after a log-Mel: 2x2 twice, then time only, then none."""
    if front_end == "sinc":
        return (1, 3)
    return ((2, 2), (2, 2), (1, 2))[i] if i < 3 else (1, 1)


class AASIST(nn.Module):
    """Sizes as AASIST's configuration names them: ``blocks`` (the residual encoder's widths; its
    published "filts" [[1, 32], [32, 32], [32, 64], [64, 64]] with the last repeated, as the model
    stacks them: 32, 32, 64, 64, 64, 64), ``gat_dims`` (the graph layers', then the HS-GALs'),
    ``pool_ratios`` (graph pooling after the T and S graphs, then inside the branches) and
    ``temperatures`` (T and S graph attention, then the two HS-GALs); ``sinc`` the sinc front end's
    bands and kernel length (``sinc_bands``, ``sinc_kernel``)."""

    modalities = ("audio",)

    def __init__(
        self,
        n_mels: int,
        front_end: str,
        sinc: tuple[int, int],
        blocks: list,
        gat_dims: list,
        pool_ratios: list,
        temperatures: list,
        dropout: float,
    ):
        super().__init__()
        self.front_end = front_end
        if front_end == "sinc":
            sinc_bands, sinc_kernel = sinc
            self.front, bins = SincFrontEnd(sinc_bands, sinc_kernel), sinc_bands // 3
        else:
            self.front, bins = nn.MaxPool2d(2), n_mels // 2
        widths, pools = [1, *blocks], [_pool_of(i, front_end) for i in range(len(blocks))]
        self.encoder = nn.Sequential(
            *(
                ResBlock2d(widths[i], widths[i + 1], i == 0, pools[i], published=front_end == "sinc")
                for i in range(len(blocks))
            )
        )
        f_nodes = bins // int(np.prod([p[0] for p in pools]))
        self.pos_s = nn.Parameter(torch.zeros(1, max(1, f_nodes), blocks[-1]))
        g0, g1 = gat_dims
        self.gat = nn.ModuleDict(
            {k: GraphAttention(blocks[-1], g0, temperatures[i]) for i, k in enumerate(("T", "S"))}
        )
        self.pool = nn.ModuleDict({"T": GraphPool(g0, pool_ratios[0]), "S": GraphPool(g0, pool_ratios[1])})
        self.stack = nn.Parameter(torch.randn(1, 1, g0) * 0.02)
        self.branches = nn.ModuleList(
            nn.ModuleDict(
                {
                    "hs1": HSGAL(g0, g1, temperatures[2]),
                    "pool_t": GraphPool(g1, pool_ratios[2]),
                    "pool_s": GraphPool(g1, pool_ratios[3]),
                    "hs2": HSGAL(g1, g1, temperatures[3]),
                }
            )
            for _ in range(2)
        )
        self.drop = nn.Dropout(dropout)
        self.classifier = nn.Linear(5 * g1, 1)

    def forward(self, batch: dict) -> dict:
        x = (
            self.front(batch["waveform"])
            if self.front_end == "sinc"
            else self.front(batch["audio"].unsqueeze(1))
        )
        h = self.encoder(x).abs()  # (B, C, F', T')
        e_s = h.amax(3).transpose(1, 2) + self.pos_s[:, : h.shape[2]]  # spectral nodes (B, F', C)
        e_t = h.amax(2).transpose(1, 2)  # temporal nodes (B, T', C)
        g_t, g_s = self.pool["T"](self.gat["T"](e_t)), self.pool["S"](self.gat["S"](e_s))
        outputs = []
        for branch in self.branches:  # max graph operation
            t, s, stack = branch["hs1"](g_t, g_s, self.stack.expand(len(h), -1, -1))
            t, s = branch["pool_t"](t), branch["pool_s"](s)
            t2, s2, stack2 = branch["hs2"](t, s, stack)
            outputs.append((t + t2, s + s2, stack + stack2))
        t = torch.maximum(outputs[0][0], outputs[1][0])
        s = torch.maximum(outputs[0][1], outputs[1][1])
        stack = torch.maximum(outputs[0][2], outputs[1][2]).squeeze(1)
        readout = torch.cat([t.abs().amax(1), t.mean(1), s.abs().amax(1), s.mean(1), stack], 1)
        return {"logit": self.classifier(self.drop(readout)).squeeze(-1)}
