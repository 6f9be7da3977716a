"""MACL (eqs. 2, 7, 8) and its adaptive temperature (eqs. 3-6) against hand-computed cases."""

import math

import torch

from avdf.learning.losses.adaptive_temperature import AdaptiveTemperature
from avdf.learning.losses.macl import MACL, margin_nce


def test_margin_nce_hand_computed():
    # one anchor, positive similarity 0.8, negatives 0.5 and 0.1, tau 0.5, margin 0.2, K = 1:
    # loss = -log(e^{0.8/0.5} / (e^{0.8/0.5} + e^{(0.5-0.2)/0.5}))   (only the nearest negative counts)
    anchor = torch.tensor([[1.0, 0.0]])
    candidates = torch.tensor([[0.5, math.sqrt(1 - 0.25)], [0.1, math.sqrt(1 - 0.01)]])
    loss, ok = margin_nce(
        anchor,
        torch.tensor([[0.8]]),
        torch.tensor([[True]]),
        candidates,
        torch.tensor([[True, True]]),
        torch.tensor(0.5),
        margin=0.2,
        k=1,
    )
    expected = -math.log(math.exp(1.6) / (math.exp(1.6) + math.exp(0.6)))
    assert ok.item() and math.isclose(loss.item(), expected, rel_tol=1e-6)


def test_cross_modal_terms_hand_computed():
    """B = 2, fixed tau, no queue: L_av and L_va of eqs. (2) and (7)."""
    macl = MACL(dim=2, tau0=0.5, margin=0.1, k_nearest=8, queue_size=0, use_intra=False, adaptive_tau=False)
    z_a = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    z_v = torch.nn.functional.normalize(torch.tensor([[1.0, 0.2], [0.3, 1.0]]), dim=1)
    out = macl(z_a, z_v, torch.zeros(2), torch.zeros(2))
    s = z_a @ z_v.T

    def nce(pos, neg):
        return -math.log(math.exp(pos / 0.5) / (math.exp(pos / 0.5) + math.exp((neg - 0.1) / 0.5)))

    l_av = (nce(s[0, 0].item(), s[0, 1].item()) + nce(s[1, 1].item(), s[1, 0].item())) / 2
    l_va = (nce(s[0, 0].item(), s[1, 0].item()) + nce(s[1, 1].item(), s[0, 1].item())) / 2
    assert math.isclose(out["L_av"].item(), l_av, rel_tol=1e-5)
    assert math.isclose(out["L_va"].item(), l_va, rel_tol=1e-5)
    assert math.isclose(out["L_C"].item(), (l_av + l_va) / 2, rel_tol=1e-5)  # eq. (8) over the terms kept


def test_intra_modal_positives_share_the_modality_label():
    macl = MACL(dim=2, tau0=0.5, margin=0.0, k_nearest=8, queue_size=0, use_cross=False, adaptive_tau=False)
    z = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [1.0, -0.1], [-1.0, 0.2]]), dim=1)
    y_v = torch.tensor([0.0, 0.0, 1.0])
    out = macl(z, z, torch.zeros(3), y_v)
    s = (z @ z.T).tolist()
    # anchors 0 and 1 are each other's positive, 2 is the negative; anchor 2 has no positive (skipped)
    l0 = -math.log(math.exp(s[0][1] / 0.5) / (math.exp(s[0][1] / 0.5) + math.exp(s[0][2] / 0.5)))
    l1 = -math.log(math.exp(s[1][0] / 0.5) / (math.exp(s[1][0] / 0.5) + math.exp(s[1][2] / 0.5)))
    assert math.isclose(out["L_vv"].item(), (l0 + l1) / 2, rel_tol=1e-5)
    assert out["L_aa"].item() == 0.0  # all audio real: no negatives, nothing to separate


def test_switches_remove_terms():
    z = torch.nn.functional.normalize(torch.randn(4, 8), dim=1)
    y = torch.tensor([0.0, 1.0, 0.0, 1.0])
    assert set(MACL(8, use_intra=False)(z, z, y, y)) == {"L_C", "tau", "L_av", "L_va"}
    assert set(MACL(8, use_cross=False)(z, z, y, y)) == {"L_C", "tau", "L_vv", "L_aa"}


def test_queue_holds_earlier_batches_only():
    macl = MACL(dim=4, queue_size=6)
    first = torch.nn.functional.normalize(torch.randn(4, 4), dim=1)
    macl(first, first, torch.zeros(4), torch.zeros(4))
    assert torch.equal(macl.queue_a[:4], first) and macl.queue_used.tolist() == [True] * 4 + [False] * 2
    second = torch.nn.functional.normalize(torch.randn(4, 4), dim=1)
    macl(second, second, torch.zeros(4), torch.zeros(4))
    assert macl.queue_a.shape == (6, 4) and torch.equal(macl.queue_a[:4], second)
    assert torch.equal(macl.queue_a[4:], first[:2]) and bool(macl.queue_used.all())
    assert "queue_a" not in macl.state_dict()


def test_queue_never_offers_a_clip_its_own_earlier_copy():
    """Epoch 1 queues clips 0 and 1; in epoch 2 clip 0 meets only clip 1's queued video as a negative
    (not its own older, nearly identical video, which would be the hardest negative of all)."""
    macl = MACL(dim=2, tau0=0.5, margin=0.0, k_nearest=8, queue_size=8, use_intra=False, adaptive_tau=False)
    first = torch.nn.functional.normalize(torch.tensor([[1.0, 0.1], [0.2, 1.0]]), dim=1)
    macl(first, first, torch.zeros(2), torch.zeros(2), torch.tensor([0, 1]))
    a = torch.nn.functional.normalize(torch.tensor([[1.0, 0.0]]), dim=1)
    v = torch.nn.functional.normalize(torch.tensor([[1.0, 0.05]]), dim=1)
    out = macl(a, v, torch.zeros(1), torch.zeros(1), torch.tensor([0]))
    pos, neg = (a @ v.T).item(), (a @ first[1]).item()
    expected = -math.log(math.exp(pos / 0.5) / (math.exp(pos / 0.5) + math.exp(neg / 0.5)))
    assert math.isclose(out["L_av"].item(), expected, rel_tol=1e-5)
    unknown = MACL(
        dim=2, tau0=0.5, margin=0.0, k_nearest=8, queue_size=8, use_intra=False, adaptive_tau=False
    )
    unknown(first, first, torch.zeros(2), torch.zeros(2))
    assert unknown(a, v, torch.zeros(1), torch.zeros(1))["L_av"].item() > expected  # both queued: harder


def test_temperature_stays_positive_and_finite_on_degenerate_batches():
    temp = AdaptiveTemperature(tau0=0.1)
    same = torch.nn.functional.normalize(torch.ones(6, 8), dim=1)  # all-identical embeddings
    for _ in range(3):
        tau = temp(same @ same.T, same, same)
        tau.backward()
        assert torch.isfinite(tau) and tau.item() > 0
    single = torch.nn.functional.normalize(torch.randn(1, 8), dim=1)  # a single clip
    assert torch.isfinite(temp(single @ single.T, single, single))
    macl = MACL(8)
    out = macl(same, same, torch.ones(6), torch.ones(6))  # a single class
    assert torch.isfinite(out["L_C"]) and out["tau"].item() > 0


def test_temperature_equations():
    temp = AdaptiveTemperature(tau0=0.2)
    z = torch.nn.functional.normalize(torch.randn(5, 4, generator=torch.Generator().manual_seed(0)), dim=1)
    s = z @ z.T
    w = temp.pair_weights(s, z, z)
    assert math.isclose(w.sum().item(), 1.0, rel_tol=1e-6)  # eq. (3)
    phi = temp.basis(s, w)
    assert math.isclose(phi[0].item(), s.var(unbiased=False).item(), rel_tol=1e-6)  # phi_1
    assert 0 <= phi[2].item() <= 1  # normalised entropy
    # with beta = 0, tau_new = tau0 and tau_prev = tau0, so eq. (6) gives tau0 whatever gamma is
    assert math.isclose(temp(s, z, z).item(), 0.2, rel_tol=1e-6)
    tau = temp(s, z, z)
    (3 * tau).backward()
    assert math.isclose(temp.grad_prev.item(), 3.0)  # dL/dtau remembered for eq. (5)


def test_unimodal_loss_is_sample_plus_frame_bce():
    """Eqs. (19)-(20) for one modality: BCE of the mean frame logit plus the mean frame-level BCE."""
    from avdf.learning.losses.macbdf_objective import unimodal_loss

    frames = torch.tensor([[0.0, 2.0]])  # one clip, two frames
    y = torch.tensor([1.0])

    def bce(logit, target):
        p = 1 / (1 + math.exp(-logit))
        return -(target * math.log(p) + (1 - target) * math.log(1 - p))

    expected = bce(1.0, 1.0) + (bce(0.0, 1.0) + bce(2.0, 1.0)) / 2
    assert math.isclose(unimodal_loss(frames, y).item(), expected, rel_tol=1e-6)
