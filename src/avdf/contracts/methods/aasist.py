"""AASIST (Jung et al., ICASSP 2022), an audio baseline of Table 1."""

from __future__ import annotations

import dataclasses

from avdf.contracts.methods.registry import Method, register


@dataclasses.dataclass(frozen=True)
class AASISTSpec:
    """params.yaml baselines.aasist (models/baselines/aasist.py), in AASIST's configuration names."""

    front_end: str
    sinc_bands: int
    sinc_kernel: int
    blocks: list
    gat_dims: list
    pool_ratios: list
    temperatures: list
    dropout: float


def reads_waveform(section: dict) -> bool:
    """With its published sinc front end AASIST reads the raw waveform, not the cached log-Mel."""
    return section.get("front_end") == "sinc"


def model_args(section: dict) -> dict:
    """The section as the model takes it: the sinc front end's two sizes as one pair."""
    args = {k: v for k, v in section.items() if k not in ("sinc_bands", "sinc_kernel")}
    return args | {"sinc": (section["sinc_bands"], section["sinc_kernel"])}


METHOD = register(
    Method(
        "aasist",
        "audio",
        "avdf.learning.models.baselines.aasist:AASIST",
        spec=AASISTSpec,
        section=("baselines", "aasist"),
        shared_encoders=False,
        model_args=model_args,
        needs_waveform=reads_waveform,
    )
)
