"""Frame-level evaluation against fake segments (LAV-DF's ``fake_periods``).

MACB-DF has a frame-level head per modality (eq. 20): a logit per sampled video frame and per
audio token. Each is given the time of the moment it sees (a video frame: its index / fps; an audio
token: the centre of its span of the clip) and the label "inside a fake segment of a manipulated
modality": a video frame is fake when the clip's video was modified and its time falls in one of
the ``fake_periods``, an audio token likewise for audio. Frame-level AUC pools every frame of every
test clip, per modality, and for the clip as a whole on the video time grid with the higher of the
two modalities' probabilities at each frame (the nearest audio token).

Training reads the segments only to label the window it draws (avdf.data.clips: fake when it overlaps a
fake segment); the frame heads learn window labels, as the paper's clip labels.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import torch

from avdf.contracts.input_specs import InputSpec
from avdf.data import clips
from avdf.learning import metrics


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


def stitch(video: np.ndarray, audio: np.ndarray, starts, spec: InputSpec, n_frames: int) -> tuple:
    """One timeline over a clip from its windows' frame probabilities (W, T) and (W, Ta): each
    sampled frame at its stride's start time, its probability the higher of the video head's and
    the nearest audio token's; where windows overlap (the last one, aligned to the end), the later
    window's frames are used. Returns (times, probs)."""
    times, probs = [], []
    for w, start in enumerate(starts):
        span = min(spec.video_len, n_frames - start) / spec.fps
        offsets = np.arange(video.shape[1]) * span / video.shape[1]
        centres = clips.frame_indices(n_frames, start, spec, None) / spec.fps - start / spec.fps
        times.append(start / spec.fps + offsets)
        probs.append(fused(video[w], audio[w], centres, spec.window_s)[0])
    keep = [t < times[-1][0] for t in times[:-1]] + [np.ones(len(times[-1]), bool)]
    return (
        np.concatenate([t[k] for t, k in zip(times, keep, strict=True)]),
        np.concatenate([p[k] for p, k in zip(probs, keep, strict=True)]),
    )


def frame_auc(out: dict, data: clips.ClipSet, table: pd.DataFrame, spec: InputSpec) -> dict | None:
    """Frame-level AUC (percent) per modality and overall, from a model's outputs for every window
    of ``data`` (avdf.learning.scoring.outputs); None for models without frame heads."""
    if "frame_video" not in out:
        return None
    video = torch.sigmoid(out["frame_video"]).numpy()
    audio = torch.sigmoid(out["frame_audio"]).numpy()
    labels, scores = {"video": [], "audio": [], "clip": []}, {"video": [], "audio": [], "clip": []}
    token_offsets = (np.arange(audio.shape[1]) + 0.5) * spec.window_s / audio.shape[1]
    rows = list(table.itertuples())
    for w, (i, start) in enumerate(zip(data.owner, data.starts, strict=True)):
        row = rows[i]
        periods = periods_of(row.fake_periods)
        video_times = clips.frame_indices(data.lengths[i], start, spec, None) / spec.fps
        v_lab = inside(video_times, periods) * int(row.video_fake)
        a_lab = inside(start / spec.fps + token_offsets, periods) * int(row.audio_fake)
        clip_probs, nearest = fused(video[w], audio[w], video_times - start / spec.fps, spec.window_s)
        labels["video"].append(v_lab)
        scores["video"].append(video[w])
        labels["audio"].append(a_lab)
        scores["audio"].append(audio[w])
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
    """Per test clip, what temporal localisation reads (avdf.evaluation.localisation): the start time of each
    sampled frame's stride over all its windows (:func:`stitch`), the fake probability there, and
    the clip's fake segments clipped to the span that was scored (the whole clip)."""
    if "frame_video" not in out:
        return None
    video = torch.sigmoid(out["frame_video"]).numpy()
    audio = torch.sigmoid(out["frame_audio"]).numpy()
    result = []
    for i, (row, mine) in enumerate(
        zip(table.itertuples(), clips.clip_windows(data.owner, len(table)), strict=True)
    ):
        n_frames = data.lengths[i]
        times, probs = stitch(video[mine], audio[mine], data.starts[mine], spec, n_frames)
        result.append(
            {"times": [round(float(t), 6) for t in times], "probs": [float(p) for p in probs]}
            | truth(row, n_frames / spec.fps)
        )
    return result


def truth(row, span: float) -> dict:
    """A test clip's id, its fake segments clipped to the span scored (every window together
    covers the whole clip), and that span: what localisation compares proposals with."""
    segments = [(max(s, 0.0), min(e, span)) for s, e in periods_of(row.fake_periods) if s < span and e > 0]
    return {
        "clip_id": row.clip_id,
        "segments": [list(s) for s in segments] if int(row.label) else [],
        "scored_s": span,
    }
