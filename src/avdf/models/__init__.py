"""Model registry: ``build(method, ...)`` makes the model that a method name stands for."""

from __future__ import annotations

from torch import nn

from avdf.models.baselines import AASIST, ECAPATDNN, MCL, AudioOnly, AVConcat, VisualOnly
from avdf.models.macbdf import MACBDF

REGISTRY: dict[str, type[nn.Module]] = {
    "ecapa_tdnn": ECAPATDNN,
    "aasist": AASIST,
    "audio_only": AudioOnly,
    "visual_only": VisualOnly,
    "av_concat": AVConcat,
    "mcl": MCL,
    "macbdf": MACBDF,
}
MODALITY = {
    "ecapa_tdnn": "audio",
    "aasist": "audio",
    "audio_only": "audio",
    "visual_only": "visual",
    "av_concat": "audio-visual",
    "mcl": "audio-visual",
    "macbdf": "audio-visual",
}
SHARED_ENCODERS = ("audio_only", "visual_only", "av_concat", "mcl", "macbdf")  # sized by params: model


def method_cfg(method: str, params: dict) -> dict:
    """The params.yaml section that configures one method beyond ``model``: ``macbdf`` for MACB-DF,
    ``baselines.<method>`` for a baseline that has one, else empty."""
    if method == "macbdf":
        return params["macbdf"]
    return dict(params.get("baselines", {}).get(method, {}))


def build(method: str, n_mels: int, cfg: dict, extra: dict | None = None) -> nn.Module:
    """The model of ``method``: ``cfg`` is params.yaml's ``model`` section, ``extra`` the method's
    own section (:func:`method_cfg`)."""
    if method not in REGISTRY:
        raise KeyError(f"unknown method {method!r}; known: {sorted(REGISTRY)}")
    m = extra or {}
    if method in ("ecapa_tdnn", "aasist"):  # their own published architectures and widths
        return REGISTRY[method](n_mels, **m)
    common = {
        "n_mels": n_mels,
        "dim": cfg["dim"],
        "depth": cfg["depth"],
        "heads": cfg["heads"],
        "dropout": cfg["dropout"],
        "attn_dropout": cfg.get("attn_dropout", 0.0),
    }
    if method == "mcl":
        return MCL(**common, **m)
    if method != "macbdf":
        return REGISTRY[method](**common)
    return MACBDF(
        **common,
        ms_depth=m.get("ms_depth", 2),
        use_fusion_weights=m.get("fusion_weights", True),
        fusion_beta=m.get("fusion_beta", 0.5),
        fusion_gamma=m.get("fusion_gamma", 0.5),
        k_max=m.get("k_max", 4),
    )
