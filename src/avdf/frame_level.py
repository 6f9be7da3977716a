"""Frame-level evaluation against fake segments (LAV-DF's ``fake_periods``).

MACB-DF has a frame-level head per modality (eq. 20): a logit per sampled video frame and per
audio token. Each is given the time of the moment it sees (a video frame: its index / fps; an audio
token: the centre of its span of the clip) and the label "inside a fake segment of a manipulated
modality": a video frame is fake when the clip's video was modified and its time falls in one of
the ``fake_periods``, an audio token likewise for audio. Frame-level AUC pools every frame of every
test clip, per modality, and for the clip as a whole on the video time grid with the higher of the
two modalities' probabilities at each frame (the nearest audio token).

Training uses clip labels only (as the paper does); the segments are used for evaluation alone.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch

from avdf import clips, metrics
from avdf.specs import InputSpec


def periods_of(text: str) -> list[tuple[float, float]]:
    return [tuple(p) for p in json.loads(text)] if text else []


def inside(times: np.ndarray, periods: list[tuple[float, float]]) -> np.ndarray:
    """1 where a time falls in any [start, end) period."""
    out = np.zeros(len(times), int)
    for start, end in periods:
        out |= (times >= start) & (times < end)
    return out


def has_segments(table: pd.DataFrame) -> bool:
    return "fake_periods" in table and (table["fake_periods"].fillna("").astype(str).str.len() > 2).any()


def fused(video: np.ndarray, audio: np.ndarray, centres: np.ndarray, window_s: float) -> tuple:
    """A clip's fake probability at each sampled video frame (``centres``: seconds into the window):
    the higher of the video head's and that of the nearest audio token; and the nearest tokens."""
    audio_times = (np.arange(len(audio)) + 0.5) * window_s / len(audio)
    nearest = np.abs(audio_times[None, :] - centres[:, None]).argmin(1)
    return np.maximum(video, audio[nearest]), nearest


def frame_auc(out: dict, data: clips.ClipSet, table: pd.DataFrame, spec: InputSpec) -> dict | None:
    """Frame-level AUC (percent) per modality and overall, from a model's outputs for ``data``
    (avdf.evaluate.outputs); None for models without frame heads."""
    if "frame_video" not in out:
        return None
    video = torch.sigmoid(out["frame_video"]).numpy()
    audio = torch.sigmoid(out["frame_audio"]).numpy()
    labels, scores = {"video": [], "audio": [], "clip": []}, {"video": [], "audio": [], "clip": []}
    audio_times = (np.arange(audio.shape[1]) + 0.5) * spec.window_s / audio.shape[1]
    for i, row in enumerate(table.itertuples()):
        periods = periods_of(row.fake_periods)
        video_times = clips.frame_indices(len(data.video[i]), 0, spec, None) / spec.fps
        v_lab = inside(video_times, periods) * int(row.video_fake)
        a_lab = inside(audio_times, periods) * int(row.audio_fake)
        clip_probs, nearest = fused(video[i], audio[i], video_times, spec.window_s)
        labels["video"].append(v_lab)
        scores["video"].append(video[i])
        labels["audio"].append(a_lab)
        scores["audio"].append(audio[i])
        labels["clip"].append(v_lab | a_lab[nearest])
        scores["clip"].append(clip_probs)
    result = {}
    for key, name in (("clip", "frame_auc"), ("video", "frame_auc_video"), ("audio", "frame_auc_audio")):
        y, s = np.concatenate(labels[key]), np.concatenate(scores[key])
        result[name] = metrics.auc(y, s)
        result[f"{name}_fake_frames"] = int(y.sum())
        result[f"{name}_frames"] = len(y)
    return result


def timelines(out: dict, data: clips.ClipSet, table: pd.DataFrame, spec: InputSpec) -> list[dict] | None:
    """Per test clip, what temporal localisation reads (avdf.localisation): the start time of each
    sampled frame's stride, the fake probability there (the higher of the video head's and the
    nearest audio token's), and the clip's fake segments clipped to the span that was scored."""
    if "frame_video" not in out:
        return None
    video = torch.sigmoid(out["frame_video"]).numpy()
    audio = torch.sigmoid(out["frame_audio"]).numpy()
    result = []
    for i, row in enumerate(table.itertuples()):
        span = min(spec.video_len, len(data.video[i])) / spec.fps
        starts = np.arange(spec.frames) * span / spec.frames
        centres = clips.frame_indices(len(data.video[i]), 0, spec, None) / spec.fps
        probs, _ = fused(video[i], audio[i], centres, spec.window_s)
        periods = periods_of(row.fake_periods)
        segments = [(max(s, 0.0), min(e, span)) for s, e in periods if s < span and e > 0]
        result.append(
            {
                "clip_id": row.clip_id,
                "times": [round(float(t), 6) for t in starts],
                "probs": [float(p) for p in probs],
                "segments": [list(s) for s in segments] if int(row.label) else [],
                "scored_s": span,
            }
        )
    return result
