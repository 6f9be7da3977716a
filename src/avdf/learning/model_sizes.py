"""Every method's model as a profile builds it: its parameter count (docs/model-sizes.md, written
by ``benchmarks/model_sizes.py``) and one optimisation step at that size (the paper-size smoke test
in ``tests/test_paper_size.py``)."""

from __future__ import annotations

import torch

from avdf.contracts import config, methods, specs
from avdf.learning import models


def train_spec(params: dict, method: str) -> specs.TrainSpec:
    return specs.TrainSpec.of(params, specs.Run("sizes", method, "default", 0), "table1", False)


def build(params: dict, method: str) -> torch.nn.Module:
    spec = train_spec(params, method)
    return models.build(method, spec.input.n_mels, spec.model, spec.method)


def parameter_count(model: torch.nn.Module) -> int:
    """The model's parameters; weights that a fixed mask keeps at zero (MACB-DF's grouped
    depthwise kernels, avdf.learning.models.blocks) are not the paper's and do not count."""
    masked = sum(m.masked_zeros() for m in model.modules() if hasattr(m, "masked_zeros"))
    return sum(p.numel() for p in model.parameters()) - masked


def counts(profiles=("default", "paper")) -> dict[str, dict[str, int]]:
    """{method: {profile: parameters}} for every method of the registry."""
    table: dict[str, dict[str, int]] = {}
    for profile in profiles:
        params = config.profile_params(None if profile == "default" else profile)
        for method in methods.METHODS:
            table.setdefault(method, {})[profile] = parameter_count(build(params, method))
    return table


def one_batch(params: dict, batch_size: int = 2, method: str = "") -> dict:
    """A random batch at the profile's input sizes (``method``'s own window where it sets one):
    crops (B, frames, 3, S, S), log-Mel windows, and a fake segment in every other window."""
    spec = specs.InputSpec.of(methods.method_params(method, params) if method else params)
    g = torch.Generator().manual_seed(0)
    scale = methods.reads(method, methods.section(method, params)).crop_scale if method else 1
    side = spec.faces.crop_size // scale  # as the method reads the crops
    segments = torch.zeros(batch_size, 4, 2)
    segments[1::2, 0] = torch.tensor([spec.video_len / 4, spec.video_len / 2])
    return {
        "segments": segments,
        "video": torch.rand(batch_size, spec.frames, 3, side, side, generator=g) - 0.5,
        "audio": torch.randn(batch_size, spec.n_mels, spec.audio_len, generator=g),
        "label": torch.tensor([0.0, 1.0] * (batch_size // 2)),
        "audio_fake": torch.tensor([0.0, 1.0] * (batch_size // 2)),
        "video_fake": torch.tensor([1.0, 0.0] * (batch_size // 2)),
        "index": torch.arange(batch_size),
        "waveform": torch.randn(batch_size, round(spec.window_s * spec.sample_rate), generator=g) * 0.1,
    }
