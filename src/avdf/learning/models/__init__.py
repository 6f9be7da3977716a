"""Model factory: ``build(method, ...)`` makes the model that a method name stands for, and
``load_model`` rebuilds one from its checkpoint. What is known about each method beyond its class
(modality, configuration section, training step) lives in avdf.contracts.methods."""

from __future__ import annotations

import dataclasses

from torch import nn

from avdf.contracts import methods, specs
from avdf.contracts.checkpoint import Checkpoint
from avdf.contracts.named import resolve
from avdf.learning.models.encoders import EncoderSizes


def model_class(method: str) -> type[nn.Module]:
    """The nn.Module a method registers as ``"module:Class"`` (avdf.contracts.methods)."""
    return resolve(methods.get(method).model)


def build(method: str, n_mels: int, model: specs.ModelSpec | dict, section=None) -> nn.Module:
    """The model of ``method``, randomly initialised: ``model`` is the ModelSpec (or its dict),
    ``section`` the method's own section (avdf.contracts.methods.section), or its spec. Pretrained
    visual weights (``model.visual_init``) are loaded by training (models.encoders.initialise),
    never when a checkpoint is rebuilt."""
    facts = methods.get(method)
    section = specs.to_dict(section) if dataclasses.is_dataclass(section) else dict(section or {})
    args = facts.model_args(section)
    if not facts.shared_encoders:  # the published audio baselines: their own architectures and widths
        return model_class(method)(n_mels, **args)
    spec = model if isinstance(model, specs.ModelSpec) else specs.from_dict(specs.ModelSpec, model, "model")
    visual = spec.visual if facts.modality != "audio" else None
    sizes = EncoderSizes(n_mels, spec.dim, spec.depth, spec.heads, spec.dropout, spec.attn_dropout, visual)
    return model_class(method)(sizes, **args)


def load_model(checkpoint: str) -> tuple[nn.Module, Checkpoint]:
    """A trained model from its checkpoint (written by avdf.learning.train), in eval mode, and the
    checkpoint (avdf.contracts.checkpoint)."""
    ckpt = Checkpoint.load(checkpoint)
    model = build(ckpt.method, ckpt.input.n_mels, ckpt.model, ckpt.method_cfg)
    model.load_state_dict(ckpt.state_dict)
    return model.eval(), ckpt
