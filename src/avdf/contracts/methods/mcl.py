"""MCL: a contrastive consistency loss between the two modalities of one clip (a Table 1 baseline)."""

from __future__ import annotations

import dataclasses

from avdf.contracts.methods.registry import Method, register


@dataclasses.dataclass(frozen=True)
class MCLSpec:
    """params.yaml baselines.mcl: the pair loss's weight and margin."""

    lambda_pair: float
    margin: float


METHOD = register(
    Method(
        "mcl",
        "audio-visual",
        "avdf.learning.models.baselines.mcl:MCL",
        spec=MCLSpec,
        section=("baselines", "mcl"),
        objective="pair_contrastive",
    )
)
