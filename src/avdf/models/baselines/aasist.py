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

The published model reads the raw waveform through a sinc-convolution front-end; avdf caches
log-Mels, so this one starts from the log-Mel spectrogram (an option the AASIST authors'
spectrogram variants share; docs/paper-notes.md). Its sizes are parameters: CPU-sized in the
embedded default, the published configuration in the paper profile.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class ResBlock2d(nn.Module):
    def __init__(self, c_in: int, c_out: int, first: bool = False, pool=(2, 2)):
        super().__init__()
        self.pre = nn.Identity() if first else nn.Sequential(nn.BatchNorm2d(c_in), nn.SELU())
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, padding=1),
            nn.BatchNorm2d(c_out),
            nn.SELU(),
            nn.Conv2d(c_out, c_out, 3, padding=1),
        )
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()
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


def _pool_of(i: int) -> tuple[int, int]:
    """Residual block i's max-pool over (frequency, time): 2x2 twice, then time only, then none."""
    return ((2, 2), (2, 2), (1, 2))[i] if i < 3 else (1, 1)


class AASIST(nn.Module):
    """Sizes as AASIST's configuration names them: ``blocks`` (the residual encoder's widths; its
    published "filts" [[1, 32], [32, 32], [32, 64], [64, 64]] with the last repeated, as the model
    stacks them: 32, 32, 64, 64, 64, 64), ``gat_dims`` (the graph layers', then the HS-GALs'),
    ``pool_ratios`` (graph pooling after the T and S graphs, then inside the branches) and
    ``temperatures`` (T and S graph attention, then the two HS-GALs)."""

    modalities = ("audio",)

    def __init__(
        self,
        n_mels: int,
        blocks: list,
        gat_dims: list,
        pool_ratios: list,
        temperatures: list,
        dropout: float,
    ):
        super().__init__()
        widths = [1, *blocks]
        self.encoder = nn.Sequential(  # (F, T) -> (F/8, T/16) for three or more blocks
            nn.MaxPool2d(2),
            *(
                ResBlock2d(widths[i], widths[i + 1], first=i == 0, pool=_pool_of(i))
                for i in range(len(blocks))
            ),
        )
        f_nodes = n_mels // 2 // int(torch.tensor([_pool_of(i)[0] for i in range(len(blocks))]).prod())
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
        h = self.encoder(batch["audio"].unsqueeze(1)).abs()  # (B, C, F', T')
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
