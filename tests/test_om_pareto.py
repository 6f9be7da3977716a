"""OM-Pareto (eqs. 21-24): alpha against the closed form, and the paper's two scenarios."""

import math

import torch

from avdf.learning.optim.om_pareto import OMParetoConfig, closed_form_alpha, combine, pgd_alpha


def test_pgd_alpha_matches_the_two_vector_min_norm_solution():
    g_m, g_u = torch.tensor([3.0, 1.0], dtype=torch.float64), torch.tensor([-2.0, 2.0], dtype=torch.float64)
    expected = ((g_u - g_m) @ g_u / (g_m - g_u).pow(2).sum()).clamp(0, 1).item()  # README closed form
    assert math.isclose(closed_form_alpha(g_m, g_u), expected, rel_tol=1e-9)
    assert math.isclose(pgd_alpha(g_m, g_u, 0.0, steps=50), expected, rel_tol=1e-6)
    # with the orthogonal regulariser of eq. (22) the optimum moves, and PGD follows it
    assert math.isclose(pgd_alpha(g_m, g_u, 0.3, steps=50), closed_form_alpha(g_m, g_u, 0.3), rel_tol=1e-6)


def test_conflicting_gradients_follow_equation_24():
    g_m, g_u = torch.tensor([2.0, 0.5]), torch.tensor([-1.0, 1.5])
    cos = (g_m @ g_u / (g_m.norm() * g_u.norm())).item()
    assert cos < 0
    h, info = combine(g_m, g_u, OMParetoConfig(lambda0=1.0, kappa=5.0, pgd_steps=50))
    assert math.isclose(info["lambda_orth"], 1.0 / (1 + math.exp(5.0 * cos)), rel_tol=1e-6)  # eq. (23)
    alpha = info["alpha_m"]
    assert math.isclose(
        alpha, closed_form_alpha(g_m.double(), g_u.double(), info["lambda_orth"]), rel_tol=1e-5
    )
    mix = alpha * g_m + (1 - alpha) * g_u
    direction = mix / mix.norm()
    magnitude = (1 + abs(cos) / (1 + (g_m.norm() / g_u.norm()).item())) * (g_m + g_u).norm()
    assert torch.allclose(h, direction * magnitude, atol=1e-5)
    assert h @ g_m > 0 and h @ g_u > 0  # a common descent direction


def test_non_conflicting_gradients_are_summed():
    g_m, g_u = torch.tensor([1.0, 2.0]), torch.tensor([2.0, 0.5])
    h, info = combine(g_m, g_u, OMParetoConfig(lambda0=2.0))
    assert info["alpha_m"] == 0.5 and info["lambda_orth"] == 0.2  # 0.1 * lambda0
    assert torch.allclose(h, g_m + g_u)


def test_shape_is_kept_for_feature_gradients():
    g_m = torch.randn(2, 3, 4, generator=torch.Generator().manual_seed(0))
    h, _ = combine(g_m, -g_m + 0.1)
    assert h.shape == g_m.shape and torch.isfinite(h).all()
