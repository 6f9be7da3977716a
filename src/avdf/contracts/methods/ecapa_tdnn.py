"""ECAPA-TDNN (Desplanques et al., Interspeech 2020), an audio baseline of Table 1."""

from __future__ import annotations

import dataclasses

from avdf.contracts.methods.registry import Method, register


@dataclasses.dataclass(frozen=True)
class ECAPATDNNSpec:
    """params.yaml baselines.ecapa_tdnn: its own widths (models/baselines/ecapa_tdnn.py)."""

    channels: int
    scale: int
    se_bottleneck: int
    attention_hidden: int
    embedding: int


METHOD = register(
    Method(
        "ecapa_tdnn",
        "audio",
        "avdf.learning.models.baselines.ecapa_tdnn:ECAPATDNN",
        spec=ECAPATDNNSpec,
        section=("baselines", "ecapa_tdnn"),
        shared_encoders=False,
    )
)
