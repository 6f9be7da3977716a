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

from avdf.learning.models import transformer


def one_hot(labels: torch.Tensor, n: int | torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``labels`` (...,) in 0..n-1 as one-hot rows (..., n); unlike ``F.one_hot``, without reading
    the labels' range back to the host. ``n`` may be given as ``arange(n)`` already made."""
    every = torch.arange(n, device=labels.device) if isinstance(n, int) else n
    return (labels.unsqueeze(-1) == every).to(dtype)


def farthest_points(x: torch.Tensor, k: int) -> torch.Tensor:
    """Indices (k,) of the farthest-point start: row 0, then each time the row farthest from those
    chosen. The first K of them are the start for K clusters. Each index stays a one-element
    tensor (indexing with a 0-d one reads it back to the host, and ``torch.compile`` breaks there)."""
    chosen = [torch.zeros(1, dtype=torch.long, device=x.device)]
    nearest = torch.cdist(x, x[:1])[:, 0]  # distance to the nearest chosen row
    for _ in range(1, k):
        chosen.append(nearest.argmax().view(1))
        nearest = torch.minimum(nearest, torch.cdist(x, x[chosen[-1]])[:, 0])
    return torch.cat(chosen)


def kmeans_over_k(x: torch.Tensor, k_max: int, iters: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """Deterministic k-means for every K in 2..k_max at once: centres (k_max - 1, k_max, D), of which
    the first K rows are K's, and assignments (k_max - 1, N).

    Each Lloyd update is one batched product, centres = (onehot^T x) / counts, where an empty cluster
    keeps its centre; rows beyond K are never chosen. All ``iters`` updates run: once no assignment
    changes the centres are a fixed point, so this is what stopping there would give, without a
    host-side check per update.
    """
    ks = torch.arange(2, k_max + 1, device=x.device)
    valid = torch.arange(k_max, device=x.device)[None, :] < ks[:, None]  # (n_K, k_max): K's centres
    c = x[farthest_points(x, k_max)].expand(len(ks), -1, -1)
    points = x.expand(len(ks), -1, -1)

    def nearest(c: torch.Tensor) -> torch.Tensor:  # |x - c|^2 - |x|^2 = |c|^2 - 2 x.c, per K
        far = torch.baddbmm(c.square().sum(2)[:, None, :], points, c.transpose(1, 2), alpha=-2)
        return far.masked_fill_(unused, float("inf")).argmin(2)

    unused, labels = ~valid[:, None, :], torch.arange(k_max, device=x.device)
    assign = nearest(c)
    for _ in range(iters):
        onehot = one_hot(assign, labels, x.dtype)  # (n_K, N, k_max)
        counts = onehot.sum(1).unsqueeze(2)
        c = torch.where(counts > 0, torch.bmm(onehot.transpose(1, 2), points) / counts.clamp_min(1), c)
        assign = nearest(c)
    return c, assign


def kmeans(x: torch.Tensor, k: int, iters: int = 10) -> tuple[torch.Tensor, torch.Tensor]:
    """k-means for one K: centres (k, D) and assignments (N,) (:func:`kmeans_over_k`'s K = k)."""
    c, assign = kmeans_over_k(x, k, iters)
    return c[-1], assign[-1]


def silhouettes(x: torch.Tensor, assign: torch.Tensor, k_max: int) -> torch.Tensor:
    """Mean silhouette of each row of assignments (n, N) with labels below k_max: s = (b - a) / max(a, b),
    a = mean distance to the own cluster's other members, b = smallest mean distance to another
    cluster; s = 0 for a point alone in its cluster (as in scikit-learn), and -1 overall when there
    is a single cluster."""
    onehot = one_hot(assign, k_max, x.dtype)  # (n, N, k_max); empty clusters' columns 0
    counts = onehot.sum(1)  # (n, k_max)
    mean_to = torch.cdist(x, x) @ onehot / counts[:, None, :].clamp_min(1)  # (n, N, k_max)
    own = onehot.bool()
    n_own = counts.gather(1, assign)  # (n, N)
    a = (mean_to * onehot).sum(2) * n_own / (n_own - 1).clamp_min(1)  # the own cluster without the point
    b = mean_to.masked_fill(own | (counts[:, None, :] == 0), float("inf")).min(2).values
    s = (b - a) / torch.maximum(a, b).clamp_min(1e-9)
    mean = torch.where(n_own > 1, s, torch.zeros_like(s)).mean(1)
    return torch.where((counts > 0).sum(1) >= 2, mean, torch.full_like(mean, -1.0))


def silhouette(x: torch.Tensor, assign: torch.Tensor) -> float:
    """:func:`silhouettes` of one assignment (N,)."""
    return float(silhouettes(x, assign[None], int(assign.max()) + 1)[0])


class ClusterDistance(nn.Module):
    """Eq. (9) for one modality, with adaptive K and remembered clusters.

    Every step is a fixed sequence of tensor operations: no value is read back to the host (on a GPU
    a read waits for all queued work), so K, the centres and d_max stay tensors, and the centres past
    K are masked out by distance rather than sliced away.
    """

    def __init__(self, dim: int, k_max: int = 4, beta: float = 0.5, ridge: float = 1e-2):
        super().__init__()
        self.k_max, self.beta, self.ridge = k_max, beta, ridge
        self.register_buffer("centres", torch.zeros(k_max, dim))
        self.register_buffer("variances", torch.ones(k_max, dim))
        self.register_buffer("k", torch.tensor(0))
        self.register_buffer("d_max", torch.tensor(1.0))

    @torch.no_grad()
    def fit(self, x: torch.Tensor) -> None:
        k_max = min(self.k_max, len(x) - 1)
        if k_max < 2:
            return
        c, assign = kmeans_over_k(x, k_max)
        best = silhouettes(x, assign, k_max).argmax().view(1)  # the first K of the highest score
        c, assign = c[best][0], assign[best][0]
        onehot = one_hot(assign, k_max, x.dtype)  # (N, k_max)
        counts = onehot.sum(0)[:, None]
        mean = onehot.T @ x / counts.clamp_min(1)
        var = (onehot[..., None] * (x[:, None, :] - mean).square()).sum(0) / counts.clamp_min(1)
        var = torch.where(counts > 1, var, x.var(0, unbiased=False))
        k = best[0] + 2
        used = (torch.arange(self.k_max, device=x.device) < k)[:, None]
        pad = self.k_max - k_max
        self.centres.copy_(torch.where(used, nn.functional.pad(c, (0, 0, 0, pad)), 0.0))
        self.variances.copy_(torch.where(used, nn.functional.pad(var + self.ridge, (0, 0, 0, pad)), 1.0))
        self.k.copy_(k)
        self.d_max.copy_(self.mahalanobis(x)[0].max().clamp_min(1e-9))

    def mahalanobis(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """d of eq. (9) to the nearest remembered centre (B,), and that centre (B, D)."""
        unused = torch.arange(self.k_max, device=x.device) >= self.k
        nearest = torch.cdist(x, self.centres).masked_fill(unused, float("inf")).argmin(1)
        diff = x - self.centres[nearest]
        return torch.sqrt((diff**2 / self.variances[nearest]).sum(1) + 1e-12), self.centres[nearest]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Composite distance D (B,) of each sample to its nearest remembered cluster centre; 1 before
        any clusters were found."""
        if self.training:
            self.fit(x.detach())
        maha, centre = self.mahalanobis(x)
        d_max = maha.max().clamp_min(1e-9) if self.training else self.d_max
        cos = 1 - nn.functional.cosine_similarity(x, centre, dim=1)
        distance = self.beta * maha / d_max + (1 - self.beta) * cos
        return torch.where(self.k > 0, distance, torch.ones_like(distance))


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
