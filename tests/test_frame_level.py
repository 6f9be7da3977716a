"""Frame-level evaluation: frames get the label of the segment they fall in, per modality."""

import json

import numpy as np
import pandas as pd
import torch
from conftest import FACES, LOG_MEL

from avdf.contracts.specs import DemuxSpec, InputSpec
from avdf.evaluation import frame_level
from avdf.learning.scoring import outputs


def test_inside_half_open_periods():
    t = np.array([0.0, 0.4, 0.5, 0.99, 1.0, 1.6])
    assert list(frame_level.inside(t, [(0.5, 1.0), (1.5, 2.0)])) == [0, 0, 1, 1, 0, 1]
    assert list(frame_level.inside(t, [])) == [0] * 6


class _Clips:
    """Two clips of 8 frames at 4 fps (2 s), one window each; the model reads its scores from the batch."""

    def __init__(self):
        self.lengths = [8, 8]  # video frames per clip
        self.owner, self.starts = np.array([0, 1]), np.array([0, 0])

    def __len__(self):
        return 2

    def __getitem__(self, i):
        return {"i": i}


class _Oracle(torch.nn.Module):
    """Frame logits +5 inside [0.5, 1.0) s for clip 1's video and audio, -5 elsewhere."""

    def forward(self, batch):
        t_v = torch.arange(8) / 4
        t_a = (torch.arange(4) + 0.5) * 2 / 4
        on = batch["i"][:, None] == 1
        v = torch.where(on & (t_v >= 0.5) & (t_v < 1.0), 5.0, -5.0)
        a = torch.where(on & (t_a >= 0.5) & (t_a < 1.0), 5.0, -5.0)
        return {"frame_video": v, "frame_audio": a, "logit": v.mean(1)}


def _frame_auc(table):
    """Frame-level AUC of the oracle on 2 s windows of 8 frames at 4 fps (frames 0..7)."""
    spec = InputSpec(2.0, 8, "max", 0.0, DemuxSpec(4, 16000, False), FACES, LOG_MEL)
    data = _Clips()
    return frame_level.frame_auc(outputs(_Oracle(), data), data, table, spec)


def test_an_oracle_gets_100_and_only_manipulated_modalities_count():
    table = pd.DataFrame(
        {
            "fake_periods": ["", json.dumps([[0.5, 1.0]])],
            "video_fake": [0, 1],
            "audio_fake": [0, 1],
        }
    )
    result = _frame_auc(table)
    assert result["frame_auc"] == result["frame_auc_video"] == result["frame_auc_audio"] == 100.0
    assert result["frame_auc_video_fake_frames"] == 2 and result["frame_auc_audio_fake_frames"] == 1
    table["video_fake"] = [0, 0]  # the video was not modified: its frames are all real
    result = _frame_auc(table)
    assert result["frame_auc_video_fake_frames"] == 0 and np.isnan(result["frame_auc_video"])
