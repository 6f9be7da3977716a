"""OM-Pareto, orthogonalization-multimodal Pareto: eqs. (21)-(24) of MACB-DF.

For one encoder, g_m is the gradient of the multimodal loss and g_u that of the encoder's own
unimodal loss. With cos(theta) = g_m . g_u / (|g_m| |g_u|):

- no conflict (cos >= 0): alpha_m = alpha_u = 0.5 and lambda_orth = 0.1 * lambda0. The update keeps
  the magnitude of g_m + g_u (the normalisation of eq. (24)), which makes it exactly g_m + g_u:
  a plain summed-loss step (paper-notes).
- conflict (cos < 0): lambda_orth = lambda0 / (1 + exp(kappa * cos)) (eq. 23); alpha_m minimises
  the augmented objective of eqs. (21)-(22) by projected gradient descent on [0, 1]::

      L_aug(alpha) = |alpha g_m + (1 - alpha) g_u|^2 + lambda_orth * alpha (1 - alpha) |g_m . g_u|

  and the update is eq. (24)::

      h = (a_m g_m + a_u g_u) / |a_m g_m + a_u g_u| * (1 + |cos| / (1 + |g_m| / |g_u|)) * |g_m + g_u|

The vectors can be parameter gradients or, as avdf's trainer uses them, gradients at an encoder's
output features (the MGDA-UB bound): then one backward pass through the encoder applies h.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class OMParetoConfig:
    lambda0: float = 1.0  # baseline orthogonal regularisation strength
    kappa: float = 5.0  # curvature of eq. (23)
    pgd_steps: int = 25


def closed_form_alpha(g_m: torch.Tensor, g_u: torch.Tensor, lambda_orth: float = 0.0) -> float:
    """Minimiser of L_aug over [0, 1] in closed form (the objective is a quadratic in alpha)."""
    a, b, c = (g_m @ g_m).item(), (g_u @ g_u).item(), (g_m @ g_u).item()
    curvature = 2 * (a + b - 2 * c) - 2 * lambda_orth * abs(c)
    slope_at_0 = -2 * (b - c) + lambda_orth * abs(c)
    if curvature <= 1e-12:  # concave or flat: an end point
        return 0.0 if slope_at_0 + 0.5 * curvature >= 0 else 1.0
    return min(1.0, max(0.0, -slope_at_0 / curvature))


def pgd_alpha(g_m: torch.Tensor, g_u: torch.Tensor, lambda_orth: float, steps: int) -> float:
    """Projected gradient descent on L_aug (eq. 22), from alpha = 0.5, with step 1 / curvature."""
    a, b, c = (g_m @ g_m).item(), (g_u @ g_u).item(), (g_m @ g_u).item()
    curvature = max(2 * (a + b - 2 * c) - 2 * lambda_orth * abs(c), 1e-12)
    alpha = 0.5
    for _ in range(steps):
        grad = (
            2 * alpha * a
            + 2 * (1 - 2 * alpha) * c
            - 2 * (1 - alpha) * b
            + lambda_orth * abs(c) * (1 - 2 * alpha)
        )
        alpha = min(1.0, max(0.0, alpha - grad / curvature))
    return alpha


def combine(
    g_m: torch.Tensor, g_u: torch.Tensor, cfg: OMParetoConfig = OMParetoConfig()
) -> tuple[torch.Tensor, dict]:
    """The balanced update for one encoder, and what decided it (alpha_m, cos_theta, lambda_orth)."""
    shape = g_m.shape
    gm, gu = g_m.flatten().double(), g_u.flatten().double()
    nm, nu = gm.norm().item(), gu.norm().item()
    if nm == 0 or nu == 0:
        return (g_m + g_u), {"alpha_m": 0.5, "cos_theta": 0.0, "lambda_orth": 0.1 * cfg.lambda0}
    cos = (gm @ gu).item() / (nm * nu)
    if cos >= 0:
        return (g_m + g_u), {"alpha_m": 0.5, "cos_theta": cos, "lambda_orth": 0.1 * cfg.lambda0}
    lambda_orth = cfg.lambda0 / (1 + math.exp(cfg.kappa * cos))  # eq. (23)
    alpha = pgd_alpha(gm, gu, lambda_orth, cfg.pgd_steps)  # eqs. (21)-(22)
    mix = alpha * gm + (1 - alpha) * gu
    scale = (1 + abs(cos) / (1 + nm / nu)) * (gm + gu).norm() / mix.norm().clamp_min(1e-12)  # eq. (24)
    return (mix * scale).to(g_m.dtype).view(shape), {
        "alpha_m": alpha,
        "cos_theta": cos,
        "lambda_orth": lambda_orth,
    }
