"""Model registry: ``build(method, ...)`` makes the model that a method name stands for."""

from __future__ import annotations

from torch import nn

from avdf.models.baselines import AudioOnly, AVConcat, VisualOnly
from avdf.models.macbdf import MACBDF

REGISTRY: dict[str, type[nn.Module]] = {
    "audio_only": AudioOnly,
    "visual_only": VisualOnly,
    "av_concat": AVConcat,
    "macbdf": MACBDF,
}
MODALITY = {
    "audio_only": "audio",
    "visual_only": "visual",
    "av_concat": "audio-visual",
    "macbdf": "audio-visual",
}


def build(method: str, n_mels: int, cfg: dict, macbdf: dict | None = None) -> nn.Module:
    """The model of ``method``; ``macbdf`` is the macbdf section of params.yaml (MACB-DF only)."""
    if method not in REGISTRY:
        raise KeyError(f"unknown method {method!r}; known: {sorted(REGISTRY)}")
    common = {
        "n_mels": n_mels,
        "dim": cfg["dim"],
        "depth": cfg["depth"],
        "heads": cfg["heads"],
        "dropout": cfg["dropout"],
        "attn_dropout": cfg.get("attn_dropout", 0.0),
    }
    if method != "macbdf":
        return REGISTRY[method](**common)
    m = macbdf or {}
    return MACBDF(
        **common,
        ms_depth=m.get("ms_depth", 2),
        use_fusion_weights=m.get("fusion_weights", True),
        fusion_beta=m.get("fusion_beta", 0.5),
        fusion_gamma=m.get("fusion_gamma", 0.5),
        k_max=m.get("k_max", 4),
    )
