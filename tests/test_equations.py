"""Equations (9)-(10), (16) and (17)-(18) of MACB-DF against small cases computed by hand."""

import math

import pytest
import torch

from avdf.learning.models.blocks import MultiScaleLKA
from avdf.learning.models.fusion import ClusterDistance, FusionWeights
from avdf.learning.models.macbdf import fused_gate


def test_eq9_composite_distance_by_hand():
    """Centres c0 = (1, 0), c1 = (0, 1) with diagonal variances 1 and 4, beta = 0.5.
    x0 = (2, 1): nearest c0, Mahalanobis sqrt(1 + 1) = 1.41421, 1 - cos = 1 - 2/sqrt(5) = 0.10557.
    x1 = (1, 3): nearest c1, Mahalanobis sqrt(1/4 + 4/4) = 1.11803, 1 - cos = 1 - 3/sqrt(10) = 0.05132.
    d_max = 1.41421 (in evaluation: remembered from training), so D0 = 0.5 * 1 + 0.5 * 0.10557 and
    D1 = 0.5 * 1.11803 / 1.41421 + 0.5 * 0.05132."""
    dist = ClusterDistance(2, k_max=2, beta=0.5).eval()
    dist.centres.copy_(torch.tensor([[1.0, 0.0], [0.0, 1.0]]))
    dist.variances.copy_(torch.tensor([[1.0, 1.0], [4.0, 4.0]]))
    dist.k.fill_(2)
    dist.d_max.fill_(math.sqrt(2))
    d = dist(torch.tensor([[2.0, 1.0], [1.0, 3.0]]))
    expected = [
        0.5 + 0.5 * (1 - 2 / math.sqrt(5)),
        0.5 * math.sqrt(1.25) / math.sqrt(2) + 0.5 * (1 - 3 / math.sqrt(10)),
    ]
    assert d.tolist() == pytest.approx(expected, abs=1e-6)  # 0.552786, 0.420943
    alone = torch.cat([dist(x[None]) for x in torch.tensor([[2.0, 1.0], [1.0, 3.0]])])
    assert alone.tolist() == pytest.approx(expected, abs=1e-6)  # one clip per batch: the same D


def test_eq10_importance_weights_by_hand():
    """gamma = 0.5, eps = 0.1, D = 1 for both modalities (no clusters yet); ReLU(f) = 2 for video and
    ReLU(-1) = 0 for audio. w_v = 0.5 * 2 + 0.5 / 1.1 = 16/11, w_a = 0.5 / 1.1 = 5/11; normalised
    to 16/21 and 5/21."""
    fw = FusionWeights(dim=4, heads=1, k_max=2, beta=0.5, gamma=0.5, eps=0.1).eval()
    for modality, bias in (("video", 2.0), ("audio", -1.0)):
        last = fw.f[modality][-1]
        torch.nn.init.zeros_(last.weight)
        torch.nn.init.constant_(last.bias, bias)
    tokens = {m: torch.randn(3, 5, 4) for m in ("video", "audio")}
    pooled = {m: t.mean(1) for m, t in tokens.items()}
    w_v, w_a = fw(tokens, pooled)
    assert w_v.tolist() == pytest.approx([16 / 21] * 3, abs=1e-6)
    assert w_a.tolist() == pytest.approx([5 / 21] * 3, abs=1e-6)


def test_eq16_each_channel_group_is_gated_by_its_own_conv():
    """Three channels, one per (K, d) group. With every large-kernel branch the identity and gate i a
    1x1 scale by g_i = i + 1, eq. (16) gives channel i = g_i * x_i * x_i."""
    block = MultiScaleLKA(3, dims=2)
    with torch.no_grad():
        for conv in (block.dw, block.dwd, block.gate):
            conv.weight.zero_()
            conv.bias.zero_()
            centre = conv.weight.shape[-1] // 2
            conv.weight[:, 0, centre, centre] = 1.0
        block.gate.weight[:, 0, 1, 1] = torch.tensor([1.0, 2.0, 3.0])
        block.pw.weight.copy_(torch.eye(3))
        block.pw.bias.zero_()
    x = torch.arange(1.0, 1 + 3 * 2 * 2).view(1, 2, 2, 3)  # channels last
    expected = torch.stack([(i + 1) * x[..., i] ** 2 for i in range(3)], -1)
    assert torch.allclose(block(x), expected)


def test_eqs17_18_the_gate_mixes_the_modalities_by_their_weights():
    """Per channel: x_fused = w_v * mean(V) + w_a * mean(A); the gate is 2 sigmoid(x_fused).
    w_v = 0.25, w_a = 0.75, mean(V) = (1, -1), mean(A) = (3, 1): x_fused = (2.5, 0.5)."""
    v_map = torch.tensor([1.0, -1.0]).view(1, 1, 1, 1, 2).expand(1, 2, 2, 2, 2)  # channels last
    a_map = torch.tensor([[2.0, 0.0], [4.0, 2.0]]).view(1, 2, 1, 2)  # channel means 3 and 1
    gate = fused_gate(torch.tensor([0.25]), torch.tensor([0.75]), v_map, a_map)
    assert gate[0].tolist() == pytest.approx([2 / (1 + math.exp(-2.5)), 2 / (1 + math.exp(-0.5))], abs=1e-6)
    assert fused_gate(torch.tensor([0.5]), torch.tensor([0.5]), 0 * v_map, 0 * a_map).tolist() == [[1.0, 1.0]]
