"""MACB-DF (Xiong et al., ICMR 2025): the paper's method, and the one its studies vary."""

from __future__ import annotations

import dataclasses

from avdf.contracts.methods.registry import Method, register


@dataclasses.dataclass(frozen=True)
class MACBDFSpec:
    """params.yaml macbdf: the model's multi-scale depth and fusion weights (eqs. 9-18), its
    contrastive loss L_C (MACL, eqs. 2-8, or another ``objective``) and OM-Pareto (eqs. 21-24);
    the switches give the ablations."""

    ms_depth: int
    contrastive: bool
    cross: bool
    intra: bool
    fusion_weights: bool
    om_pareto: bool
    lambda_c: float
    tau0: float
    margin: float
    k_nearest: int
    queue_size: int
    fusion_beta: float
    fusion_gamma: float
    k_max: int
    om_lambda0: float
    om_kappa: float
    om_pgd_steps: int
    objective: str


def model_args(section: dict) -> dict:
    """What the model reads of the section; the rest configures its losses and OM-Pareto."""
    return {
        "ms_depth": section["ms_depth"],
        "use_fusion_weights": section["fusion_weights"],
        "fusion_beta": section["fusion_beta"],
        "fusion_gamma": section["fusion_gamma"],
        "k_max": section["k_max"],
    }


METHOD = register(
    Method(
        "macbdf",
        "audio-visual",
        "avdf.learning.models.macbdf:MACBDF",
        spec=MACBDFSpec,
        section=("macbdf",),
        step="two_branch",
        studied=True,
        frame_heads=True,
        objective="",
        model_args=model_args,
    )
)
