"""The alternatives to MACL of the contrastive-objective study, each against a small case worked
out with plain Python arithmetic (no torch) from the formula in its docstring."""

import math

import pytest
import torch

from avdf.learning.losses import contrastive
from avdf.learning.losses.infonce import InfoNCE
from avdf.learning.losses.siglip import SigLIP
from avdf.learning.losses.supcon import SupCon
from avdf.learning.losses.svr import SVR, DynamicRadius

A = [[1.0, 0.0], [0.0, 1.0]]  # audio embeddings of two clips (unit norm)
V = [[0.6, 0.8], [1.0, 0.0]]  # video embeddings
Y_A, Y_V = torch.tensor([0.0, 1.0]), torch.tensor([0.0, 1.0])  # clip 0 RVRA, clip 1 FVFA


def t(rows):
    return torch.tensor(rows, dtype=torch.float64)


def dot(x, y):
    return sum(a * b for a, b in zip(x, y, strict=True))


def nce(anchors, candidates, tau):
    """-mean_i log(exp(x_i.c_i/tau) / sum_j exp(x_i.c_j/tau)), in plain Python."""
    total = 0.0
    for i, x in enumerate(anchors):
        logits = [dot(x, c) / tau for c in candidates]
        total += -logits[i] + math.log(sum(math.exp(z) for z in logits))
    return total / len(anchors)


def test_infonce_is_the_mean_of_both_directions():
    out = InfoNCE(tau=0.5)(t(A), t(V), Y_A, Y_V)
    # S = A V^T = [[0.6, 1.0], [0.8, 0.0]]
    l_av = (-1.2 + math.log(math.exp(1.2) + math.exp(2.0)) + -0.0 + math.log(math.exp(1.6) + 1)) / 2
    l_va = (-1.2 + math.log(math.exp(1.2) + math.exp(1.6)) + -0.0 + math.log(math.exp(2.0) + 1)) / 2
    assert out["L_C"].item() == pytest.approx((l_av + l_va) / 2, rel=1e-9)
    assert out["L_av"].item() == pytest.approx(l_av, rel=1e-9)


def test_siglip_with_its_initial_temperature_and_bias():
    loss = SigLIP()(t(A).float(), t(V).float(), Y_A, Y_V)["L_C"]
    # logits = 10 S - 10 = [[-4, 0], [-2, -10]]; labels +1 on the diagonal, -1 off it
    logsig = lambda x: -math.log1p(math.exp(-x))  # noqa: E731
    expected = -(logsig(-4) + logsig(-0.0) + logsig(2) + logsig(-10)) / 2
    assert loss.item() == pytest.approx(expected, rel=1e-5)


def test_siglip_learns_temperature_and_bias():
    siglip = SigLIP()
    siglip(t(A).float(), t(V).float(), Y_A, Y_V)["L_C"].backward()
    assert siglip.t.grad.abs() > 0 and siglip.b.grad.abs() > 0


def test_svr_static_radius_by_hand():
    r, tau, alpha, beta = 1.0, 1.0, 1.0, 1.0
    out = SVR("static", tau=tau, alpha=alpha, beta=beta, r0=r)(t(A), t(V), Y_A, Y_V)

    def support(anchors, positives):
        moved, cons = [], 0.0
        for x, p in zip(anchors, positives, strict=True):
            gap = [pi - xi for pi, xi in zip(p, x, strict=True)]
            d = math.sqrt(dot(gap, gap))
            moved.append([xi + r * g / d for xi, g in zip(x, gap, strict=True)])
            cons += max(r - d, 0.0) + max(-r, 0.0)
        return moved, cons / len(anchors)

    sup_v, cons_v = support(V, A)  # video anchors move toward their audio: |a0 - v0| = 0.894 < R
    sup_a, cons_a = support(A, V)
    l_orig = (nce(A, V, tau) + nce(V, A, tau)) / 2
    l_svr = (nce(sup_v, A, tau) + nce(sup_a, V, tau)) / 2
    l_cons = (cons_v + cons_a) / 2
    assert l_cons == pytest.approx((1.0 - math.sqrt(0.8)) / 2)  # only pair 0 (of 2) is closer than R
    assert out["L_orig"].item() == pytest.approx(l_orig, rel=1e-9)
    assert out["L_svr"].item() == pytest.approx(l_svr, rel=1e-9)
    assert out["L_cons"].item() == pytest.approx(l_cons, rel=1e-9)
    assert out["L_C"].item() == pytest.approx(l_orig + alpha * l_svr + beta * l_cons, rel=1e-9)


def test_svr_dynamic_radius_reads_the_similarity_row():
    radius = DynamicRadius(batch_size=4, r0=0.3)
    assert torch.allclose(radius(torch.randn(3, 3)), torch.full((3,), 0.3))  # zero-padded to 4
    with pytest.raises(ValueError, match="batches of 4"):
        radius(torch.randn(5, 5))
    svr = SVR("dynamic", batch_size=2)
    svr(t(A).float(), t(V).float(), Y_A, Y_V)["L_C"].backward()
    assert svr.radius["video"].mlp[-1].weight.grad.abs().sum() > 0  # the predictor learns


def supcon_by_hand(views, classes, tau, sim):
    losses = []
    for i, x in enumerate(views):
        positives = [j for j in range(len(views)) if j != i and classes[j] == classes[i]]
        if not positives:
            continue
        lse = math.log(sum(math.exp(sim(x, y) / tau) for j, y in enumerate(views) if j != i))
        losses.append(-sum(sim(x, views[p]) / tau - lse for p in positives) / len(positives))
    return sum(losses) / len(losses)


@pytest.mark.parametrize(
    "kind, sim",
    [
        ("cosine", dot),
        ("angular", lambda x, y: 1 - 2 * math.acos(max(-1 + 1e-6, min(1 - 1e-6, dot(x, y)))) / math.pi),
    ],
)
def test_supcon_by_hand(kind, sim):
    tau = 0.3
    loss = SupCon(2, kind, tau)(t(A), t(V), Y_A, Y_V)["L_C"]
    # views a0, a1, v0, v1 with classes RVRA, FVFA, RVRA, FVFA: a clip's two modalities are positives
    assert loss.item() == pytest.approx(supcon_by_hand(A + V, [0, 3, 0, 3], tau, sim), rel=1e-6)


def test_supcon_queue_adds_negatives_only_after_warmup():
    loss_fn = SupCon(2, "cosine", 0.3, queue_size=8, warmup_epochs=1).train()
    loss_fn.start_epoch(0)
    plain = loss_fn(t(A), t(V), Y_A, Y_V)["L_C"].item()
    assert int(loss_fn.queue_used.sum()) == 0  # warm-up: nothing queued
    loss_fn.start_epoch(1)
    first = loss_fn(t(A), t(V), Y_A, Y_V)["L_C"].item()
    assert first == pytest.approx(plain)  # a batch never meets itself
    assert int(loss_fn.queue_used.sum()) == 4
    # now the queue holds a0, a1, v0, v1; anchor a0 (class 0) gains the class-3 views a1, v1 as negatives
    second = loss_fn(t(A), t(V), Y_A, Y_V)["L_C"].item()
    views, classes = A + V, [0, 3, 0, 3]
    expected = []
    for i, x in enumerate(views):
        p = next(j for j in range(4) if j != i and classes[j] == classes[i])
        denominators = [dot(x, y) / 0.3 for j, y in enumerate(views) if j != i]
        denominators += [dot(x, y) / 0.3 for j, y in enumerate(views) if classes[j] != classes[i]]
        expected.append(-(dot(x, views[p]) / 0.3 - math.log(sum(math.exp(z) for z in denominators))))
    assert second == pytest.approx(sum(expected) / 4, rel=1e-6)


def test_every_objective_builds_from_params_and_trains():
    import yaml

    from avdf.contracts.config import REPO_ROOT

    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    z_a = torch.nn.functional.normalize(torch.randn(4, 8, requires_grad=True), dim=1)
    z_v = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    y_a, y_v = torch.tensor([0.0, 1.0, 0.0, 1.0]), torch.tensor([0.0, 0.0, 1.0, 1.0])
    for name in contrastive.OBJECTIVES:
        objective = contrastive.build(name, 8, params["macbdf"], params["contrastive"], batch_size=4)
        loss = objective(z_a, z_v, y_a, y_v)["L_C"]
        assert torch.isfinite(loss) and loss.requires_grad, name


def test_no_weight_decay_on_temperatures_biases_and_scalars():
    """AdamW with weight decay alone (no gradient) shrinks the decayed weights and leaves SigLIP's t
    and b, biases and norm gains where they are (open_clip's exclusion)."""
    from avdf.learning.train import make_optimizer

    siglip = contrastive.build("siglip", 8, {}, {"siglip_t0": 2.3, "siglip_b0": -10.0}, 4)
    layer = torch.nn.Linear(8, 8)
    params = [*siglip.parameters(), *layer.parameters()]
    before = [p.detach().clone() for p in params]
    for p in params:
        p.grad = torch.zeros_like(p)
    make_optimizer(params, lr=0.1, weight_decay=0.5).step()
    t, b, weight, bias = params
    assert torch.equal(t, before[0]) and torch.equal(b, before[1]) and torch.equal(bias, before[3])
    assert torch.allclose(weight, before[2] * (1 - 0.1 * 0.5))
