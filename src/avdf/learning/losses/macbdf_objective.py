"""The training objective of MACB-DF, split into the parts OM-Pareto balances.

- multimodal: ``L_m = BCE(fused logit, y)`` (eq. 19, sample level) ``+ lambda_C * L_C`` (eq. 8, MACL,
  or an alternative objective of the contrastive study: avdf.learning.losses.contrastive);
- unimodal, per modality k: ``L_u^k = BCE(mean_t frame logit_k, y_k) + mean_t BCE(frame logit_k(t), y_k)``
  (eqs. 19-20), where y_k is the modality's own fake label (fake audio for k = audio, fake video for
  k = video): a branch that sees one modality can only be asked about that modality (paper-notes).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn.functional import binary_cross_entropy_with_logits as bce


def unimodal_loss(frame_logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    sample = bce(frame_logits.mean(1), y)  # eq. (19), k = this modality
    frames = bce(frame_logits, y[:, None].expand_as(frame_logits))  # eq. (20)
    return sample + frames


class MACBDFObjective(nn.Module):
    def __init__(self, contrast: nn.Module | None, lambda_c: float):
        super().__init__()
        self.contrast, self.lambda_c = contrast, lambda_c

    def start_epoch(self, epoch: int) -> None:
        if hasattr(self.contrast, "start_epoch"):
            self.contrast.start_epoch(epoch)

    def forward(self, out: dict, batch: dict) -> dict:
        y, y_a, y_v = batch["label"], batch["audio_fake"], batch["video_fake"]
        terms = {"L_sample": bce(out["logit"], y)}
        multimodal = terms["L_sample"]
        if self.contrast is not None:
            contrast = self.contrast(out["z_a"], out["z_v"], y_a, y_v, batch.get("index"))
            multimodal = multimodal + self.lambda_c * contrast["L_C"]
            terms.update({k: v.detach() for k, v in contrast.items()})
        return {
            "multimodal": multimodal,
            "unimodal": {
                "audio": unimodal_loss(out["frame_audio"], y_a),
                "video": unimodal_loss(out["frame_video"], y_v),
            },
            "terms": terms,
        }
