"""Model factory: ``build(method, ...)`` makes the model that a method name stands for, and
``load_model`` rebuilds one from its checkpoint. What is known about each method beyond its class
(modality, configuration section, training step) lives in avdf.contracts.methods."""

from __future__ import annotations

import dataclasses

from torch import nn

from avdf.contracts import methods, specs
from avdf.contracts.checkpoint import Checkpoint
from avdf.learning.models.baselines import AASIST, ECAPATDNN, MCL, AudioOnly, AVConcat, VisualOnly
from avdf.learning.models.macbdf import MACBDF

REGISTRY: dict[str, type[nn.Module]] = {
    "ecapa_tdnn": ECAPATDNN,
    "aasist": AASIST,
    "audio_only": AudioOnly,
    "visual_only": VisualOnly,
    "av_concat": AVConcat,
    "mcl": MCL,
    "macbdf": MACBDF,
}
assert set(REGISTRY) == set(methods.METHODS), "every method has a model class, and only those"


def _macbdf_args(section: dict) -> dict:
    return {
        "ms_depth": section["ms_depth"],
        "use_fusion_weights": section["fusion_weights"],
        "fusion_beta": section["fusion_beta"],
        "fusion_gamma": section["fusion_gamma"],
        "k_max": section["k_max"],
    }


def build(method: str, n_mels: int, model: specs.ModelSpec | dict, section=None) -> nn.Module:
    """The model of ``method``, randomly initialised: ``model`` is the ModelSpec (or its dict),
    ``section`` the method's own section (avdf.contracts.methods.section), or its spec. Pretrained visual
    weights (``model.visual_init``) are loaded by training (avdf.learning.models.encoders.initialise), never
    when a checkpoint is rebuilt."""
    facts = methods.get(method)
    section = specs.to_dict(section) if dataclasses.is_dataclass(section) else dict(section or {})
    if not facts.shared_encoders:  # the published audio baselines: their own architectures and widths
        return REGISTRY[method](n_mels, **section)
    spec = model if isinstance(model, specs.ModelSpec) else specs.from_dict(specs.ModelSpec, model, "model")
    common = {"n_mels": n_mels, "dim": spec.dim, "depth": spec.depth, "heads": spec.heads}
    common |= {"dropout": spec.dropout, "attn_dropout": spec.attn_dropout}
    if "video" in REGISTRY[method].modalities:
        common["visual"] = spec.visual
    if method == "macbdf":
        return MACBDF(**common, **_macbdf_args(section))
    return REGISTRY[method](**common, **section)


def load_model(checkpoint: str) -> tuple[nn.Module, Checkpoint]:
    """A trained model from its checkpoint (written by avdf.learning.train), in eval mode, and the
    checkpoint (avdf.contracts.checkpoint)."""
    ckpt = Checkpoint.load(checkpoint)
    model = build(ckpt.method, ckpt.input.n_mels, ckpt.model, ckpt.method_cfg)
    model.load_state_dict(ckpt.state_dict)
    return model.eval(), ckpt
