"""Cluster-guided fusion weights (Sec. 3.2.2, eqs. 9-10) and RFMF, the attention fusion of Sec. 3.3.

Eq. (9), per modality, for a sample x and the centre c of its cluster::

    D = beta * d / d_max + (1 - beta) * (1 - cos(x, c)),   d = sqrt((x - c)^T Sigma^-1 (x - c))

The clustering is adaptive: k-means for every K in 2..k_max, keeping the K with the best
silhouette. Sigma is the cluster's diagonal covariance plus a ridge, because a batch holds fewer
samples than dimensions (paper-notes). Centres, covariances and d_max found on training batches
are kept: in training d_max is the largest d of the batch, in evaluation the one remembered from
the last training batch, so a test clip's score does not depend on which clips share its batch.

Eq. (10): ``w = gamma * ReLU(f(MHAttention(tokens))) + (1 - gamma) / (D + eps)``. avdf divides w_v and
w_a by their sum, so that eq. (17) mixes the modalities (paper-notes).
"""

from __future__ import annotations

import torch
from torch import nn

from avdf.models import transformer


def kmeans(x: torch.Tensor, k: int, iters: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic k-means (farthest-point start): centres (k, D) and assignments (N,).

    Each update is one matrix product: centres = (onehot^T x) / counts, where an empty
    cluster keeps its centre. It stops early once no assignment changes: the centres are then
    a fixed point, so the result is the one ``iters`` updates would give.
    """
    chosen = [0]
    for _ in range(1, k):
        chosen.append(int(torch.cdist(x, x[chosen]).min(1).values.argmax()))
    c = x[chosen]
    assign = torch.cdist(x, c).argmin(1)
    for _ in range(iters):
        onehot = nn.functional.one_hot(assign, k).to(x.dtype)  # (N, k)
        counts = onehot.sum(0)[:, None]
        c = torch.where(counts > 0, onehot.T @ x / counts.clamp_min(1), c)
        previous, assign = assign, torch.cdist(x, c).argmin(1)
        if torch.equal(assign, previous):
            break
    return c, assign


def silhouette(x: torch.Tensor, assign: torch.Tensor) -> float:
    """Mean silhouette s = (b - a) / max(a, b): a = mean distance to the own cluster's other members,
    b = smallest mean distance to another cluster; s = 0 for a point alone in its cluster (as in
    scikit-learn), and -1 overall when there is a single cluster."""
    onehot = nn.functional.one_hot(assign).to(x.dtype)  # (N, K), columns of empty clusters are 0
    counts = onehot.sum(0)
    if int((counts > 0).sum()) < 2:
        return -1.0
    mean_to = torch.cdist(x, x) @ onehot / counts.clamp_min(1)  # (N, K) mean distance to each cluster
    own = onehot.bool()
    n_own = counts[assign]
    a = mean_to[own] * n_own / (n_own - 1).clamp_min(1)  # the own cluster without the point itself
    b = mean_to.masked_fill(own | (counts == 0), float("inf")).min(1).values
    s = (b - a) / torch.maximum(a, b).clamp_min(1e-9)
    return float(torch.where(n_own > 1, s, torch.zeros_like(s)).mean())


class ClusterDistance(nn.Module):
    """Eq. (9) for one modality, with adaptive K and remembered clusters."""

    def __init__(self, dim: int, k_max: int = 4, beta: float = 0.5, ridge: float = 1e-2):
        super().__init__()
        self.k_max, self.beta, self.ridge = k_max, beta, ridge
        self.register_buffer("centres", torch.zeros(k_max, dim))
        self.register_buffer("variances", torch.ones(k_max, dim))
        self.register_buffer("k", torch.tensor(0))
        self.register_buffer("d_max", torch.tensor(1.0))

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        best = None
        for k in range(2, min(self.k_max, len(x) - 1) + 1):
            c, assign = kmeans(x, k)
            score = silhouette(x, assign)
            if best is None or score > best[0]:
                best = (score, c, assign)
        if best is None:
            return
        _, c, assign = best
        global_var = x.var(0, unbiased=False)
        var = torch.stack(
            [
                x[assign == j].var(0, unbiased=False) if (assign == j).sum() > 1 else global_var
                for j in range(len(c))
            ]
        )
        self.centres.zero_()
        self.variances.fill_(1.0)
        self.centres[: len(c)] = c
        self.variances[: len(c)] = var + self.ridge
        self.k.fill_(len(c))
        self.d_max.fill_(float(self.mahalanobis(x)[0].max().clamp_min(1e-9)))

    def mahalanobis(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """d of eq. (9) to the nearest remembered centre (B,), and that centre (B, D)."""
        k = int(self.k)
        c, var = self.centres[:k], self.variances[:k]
        nearest = torch.cdist(x, c).argmin(1)
        diff = x - c[nearest]
        return torch.sqrt((diff**2 / var[nearest]).sum(1) + 1e-12), c[nearest]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Composite distance D (B,) of each sample to its nearest remembered cluster centre."""
        if self.training:
            self.fit(x.detach())
        if int(self.k) == 0:
            return torch.ones(len(x), device=x.device)
        maha, centre = self.mahalanobis(x)
        d_max = maha.max().clamp_min(1e-9) if self.training else self.d_max
        cos = 1 - nn.functional.cosine_similarity(x, centre, dim=1)
        return self.beta * maha / d_max + (1 - self.beta) * cos


class FusionWeights(nn.Module):
    """Eq. (10) for both modalities; returns (w_v, w_a), each (B,), summing to 1 per clip."""

    def __init__(self, dim: int, heads: int, k_max: int, beta: float, gamma: float, eps: float = 0.1):
        super().__init__()
        self.gamma, self.eps = gamma, eps
        self.distance = nn.ModuleDict({m: ClusterDistance(dim, k_max, beta) for m in ("video", "audio")})
        self.attention = nn.ModuleDict(
            {m: nn.MultiheadAttention(dim, heads, batch_first=True) for m in ("video", "audio")}
        )
        self.f = nn.ModuleDict(
            {
                m: nn.Sequential(nn.Linear(dim, dim // 2), nn.GELU(), nn.Linear(dim // 2, 1))
                for m in ("video", "audio")
            }
        )
        for f in self.f.values():  # start where ReLU(f) is active, so that f learns from the first step
            nn.init.constant_(f[-1].bias, 1.0)

    def forward(
        self, tokens: dict[str, torch.Tensor], pooled: dict[str, torch.Tensor]
    ) -> tuple[torch.Tensor, torch.Tensor]:
        w = {}
        for m in ("video", "audio"):
            attended, _ = self.attention[m](tokens[m], tokens[m], tokens[m], need_weights=False)
            importance = torch.relu(self.f[m](attended.mean(1))).squeeze(-1)
            distance = self.distance[m](pooled[m])
            w[m] = self.gamma * importance + (1 - self.gamma) / (distance + self.eps)  # eq. (10)
        total = (w["video"] + w["audio"]).clamp_min(1e-6)
        return w["video"] / total, w["audio"] / total


class RFMF(nn.Module):
    """Sec. 3.3: multi-head self-attention over the stacked per-layer audio and video vectors."""

    def __init__(self, dim: int, heads: int, n_tokens: int, dropout: float, attn_dropout: float = 0.0):
        super().__init__()
        self.position = nn.Parameter(torch.zeros(1, n_tokens, dim))
        nn.init.trunc_normal_(self.position, std=0.02)
        self.attention = transformer.Block(dim, heads, 2 * dim, dropout, attn_dropout)

    def forward(self, stacked: torch.Tensor) -> torch.Tensor:
        """(B, 2(L+1), D) -> fused (B, D)."""
        return self.attention(stacked + self.position).mean(1)
