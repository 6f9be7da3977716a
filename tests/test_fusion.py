"""The clustering behind eq. (9): k-means and the silhouette score that chooses K."""

import numpy as np
import torch
from sklearn.metrics import silhouette_score

from avdf.learning.models.fusion import ClusterDistance, kmeans, silhouette


def _blobs(centres, n=10, spread=0.05, seed=0):
    g = torch.Generator().manual_seed(seed)
    c = torch.tensor(centres, dtype=torch.float32)
    return torch.cat([ci + spread * torch.randn(n, c.shape[1], generator=g) for ci in c])


def test_kmeans_recovers_separated_blobs():
    x = _blobs([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])
    centres, assign = kmeans(x, 3)
    truth = torch.arange(3).repeat_interleave(10)
    # the same partition up to a relabelling: each true blob maps to exactly one cluster
    pairs = {(int(t), int(a)) for t, a in zip(truth, assign, strict=True)}
    assert len(pairs) == 3 and len({a for _, a in pairs}) == 3
    assert torch.cdist(centres, torch.tensor([[0.0, 0.0], [5.0, 0.0], [0.0, 5.0]])).min(1).values.max() < 0.1


def test_kmeans_early_stop_gives_what_every_update_gives():
    """Stopping once no assignment changes returns what all ``iters`` Lloyd updates return."""

    def lloyd(x, k, iters):  # farthest-point start, then every update, no early stop
        chosen = [0]
        for _ in range(1, k):
            chosen.append(int(torch.cdist(x, x[chosen]).min(1).values.argmax()))
        c = x[chosen]
        for _ in range(iters):
            assign = torch.cdist(x, c).argmin(1)
            for j in range(k):
                if (assign == j).any():
                    c[j] = x[assign == j].mean(0)
        return c, torch.cdist(x, c).argmin(1)

    g = torch.Generator().manual_seed(3)
    for trial in range(20):
        x = torch.randn(16, 8, generator=g, dtype=torch.float64)
        for k in (2, 3, 4):
            c, assign = kmeans(x, k)
            c_ref, assign_ref = lloyd(x, k, 10)
            assert torch.equal(assign, assign_ref), (trial, k)
            assert torch.allclose(c, c_ref, atol=1e-12), (trial, k)


def test_silhouette_matches_scikit_learn_including_singletons():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(13, 4, generator=g, dtype=torch.float64)
    assign = torch.tensor([0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 3])  # cluster 3 is a singleton
    expected = silhouette_score(x.numpy(), assign.numpy())
    assert np.isclose(silhouette(x, assign), expected, atol=1e-9)


def test_silhouette_of_one_cluster_is_minus_one():
    assert silhouette(torch.randn(5, 2), torch.zeros(5, dtype=torch.long)) == -1.0


def test_cluster_distance_picks_k_by_silhouette():
    d = ClusterDistance(dim=2, k_max=4)
    d.train()
    d(_blobs([[0.0, 0.0], [6.0, 0.0], [0.0, 6.0]]))
    assert int(d.k) == 3
