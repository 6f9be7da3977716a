"""Model registry: ``build(method, n_mels, model_cfg)`` makes the model a method name stands for."""

from __future__ import annotations

from torch import nn

from avdf.models.baselines import AudioOnly, AVConcat, VisualOnly

REGISTRY: dict[str, type[nn.Module]] = {
    "audio_only": AudioOnly,
    "visual_only": VisualOnly,
    "av_concat": AVConcat,
}
MODALITY = {"audio_only": "audio", "visual_only": "visual", "av_concat": "audio-visual"}


def build(method: str, n_mels: int, cfg: dict) -> nn.Module:
    if method not in REGISTRY:
        raise KeyError(f"unknown method {method!r}; known: {sorted(REGISTRY)}")
    return REGISTRY[method](
        n_mels=n_mels, dim=cfg["dim"], depth=cfg["depth"], heads=cfg["heads"], dropout=cfg["dropout"]
    )
