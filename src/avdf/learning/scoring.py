"""Scoring a model: its outputs for windows, and one fake probability per clip.

The one place a trained model is run for scores: training (in-epoch test metrics, the validation
threshold), evaluation and ``avdf predict`` all call it, so the three agree window for window.
"""

from __future__ import annotations

import numpy as np
import torch

from avdf.contracts import specs
from avdf.data import clips
from avdf.learning.distributed import to_device


@torch.inference_mode()
def window_outputs(model: torch.nn.Module, batch: dict) -> dict[str, torch.Tensor]:
    """The model's outputs for one batch of windows, as float32 on the CPU (the model stays where
    it is: the batch goes to its device)."""
    device = next((p.device for p in model.parameters()), torch.device("cpu"))
    return {k: v.float().cpu() for k, v in model(to_device(batch, device)).items()}


@torch.inference_mode()
def outputs(
    model: torch.nn.Module, data: clips.ClipSet, batch_size: int = specs.SCORING_BATCH
) -> dict[str, torch.Tensor]:
    """The model's outputs for every window of every clip, in order (logits, and frame logits where
    it has them); ``data.owner`` says whose window each row is."""
    model.eval()
    loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=False)
    outs = [window_outputs(model, b) for b in loader]
    return {k: torch.cat([o[k] for o in outs]) for k in outs[0] if outs[0][k].dim() >= 1}


def score(
    model: torch.nn.Module, data: clips.ClipSet, spec: specs.InputSpec, batch_size: int = specs.SCORING_BATCH
) -> tuple[dict, np.ndarray]:
    """The windows' outputs and one fake probability per clip (avdf.data.clips.clip_probs): what
    evaluation, the validation threshold and the in-training test metrics all read. ``batch_size``
    windows at a time (memory only: the model is in eval mode, each window scored apart)."""
    out = outputs(model, data, batch_size)
    return out, clips.clip_probs(out["logit"], data.owner, len(data.clips), spec.aggregate)
