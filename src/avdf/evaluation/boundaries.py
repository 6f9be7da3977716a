"""Segment proposals over whole videos from the boundary localiser's windows
(avdf.learning.models.boundary).

Scoring overlaps the windows (``InputSpec.hop_s``: half a window). Every step of every window
proposes a segment, in the window's frames, whose start and end then move to the frame within
``refine_frames`` that the boundary heads find likeliest to start (end) a segment, where one is at
least ``EDGE_PROBABILITY`` likely (:func:`refine`); a step's segment is kept only from the window
whose middle is nearest the segment's, so each moment of the video is proposed once, from the
window that sees most around it, and a segment that crosses the seam between two windows is
proposed whole by the window centred on it. The kept candidates of the whole video, in seconds and
clipped to it (rounded to the frame grid with ``snap``), go through Soft-NMS once
(avdf.evaluation.localisation.soft_nms).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from avdf.contracts.input_specs import InputSpec
from avdf.data import clips
from avdf.evaluation import frame_level, localisation

CANDIDATES = 2000  # highest-scoring candidates per video that Soft-NMS sees
EDGE_PROBABILITY = 0.2  # a boundary frame at least this likely moves a proposal's end to it


def refine(bounds: np.ndarray, edges: np.ndarray, radius: int) -> np.ndarray:
    """Each window's segments (W, P, 2) in its frames, each end moved to the frame within
    ``radius`` whose boundary logit (``edges``: (W, T, 2), start and end) is highest, where that
    frame is at least EDGE_PROBABILITY likely; the other ends as they were."""
    if radius <= 0:
        return bounds
    w, t = edges.shape[:2]
    near = np.rint(bounds)[..., None].astype(int) + np.arange(-radius, radius + 1)  # (W, P, 2, R)
    near = near.clip(0, t - 1)
    side = np.arange(2).reshape(1, 1, 2, 1)
    logits = edges[np.arange(w).reshape(-1, 1, 1, 1), near, side]
    best = logits.argmax(-1)[..., None]
    sure = np.take_along_axis(logits, best, -1)[..., 0] >= np.log(EDGE_PROBABILITY / (1 - EDGE_PROBABILITY))
    return np.where(sure, np.take_along_axis(near, best, -1)[..., 0], bounds)


OUTPUTS = ("cls", "bounds", "edges")  # what the localiser's windows give decoding


def arrays(out: dict) -> dict[str, np.ndarray]:
    """The localiser's window outputs (avdf.learning.scoring) as numpy arrays."""
    return {k: out[k].numpy() for k in OUTPUTS}


def video_proposals(
    out: dict, starts, n_frames: int, spec: InputSpec, decoding: dict
) -> localisation.Proposals:
    """Proposals (n, 3) [score, start s, end s] of one video from its windows' outputs as numpy
    arrays: step logits ``cls`` (W, P), segments ``bounds`` (W, P, 2) in window frames and boundary
    logits ``edges`` (W, T, 2); ``starts``: each window's first frame."""
    cls, starts = out["cls"], np.asarray(starts, int)
    bounds = refine(out["bounds"], out["edges"], decoding["refine_frames"])
    middles = starts + spec.video_len / 2
    anchor = starts[:, None] + bounds.mean(-1)  # where each step's own segment sits, in video frames
    owner = np.abs(anchor[..., None] - middles[None, None, :]).argmin(-1)
    mine = owner == np.arange(len(starts))[:, None]
    seconds = (starts[:, None, None] + bounds) / spec.fps
    cands = np.column_stack([1 / (1 + np.exp(-cls[mine])), seconds[mine]])
    cands[:, 1:] = cands[:, 1:].clip(0, n_frames / spec.fps)
    if decoding["snap"]:
        cands[:, 1:] = np.round(cands[:, 1:] * spec.fps) / spec.fps
    cands = cands[cands[:, 2] > cands[:, 1]]
    cands = cands[np.argsort(-cands[:, 0], kind="stable")[:CANDIDATES]]
    return localisation.soft_nms(cands, decoding["nms_sigma"], decoding["max_proposals"])


def timelines(out: dict, data, table: pd.DataFrame, spec: InputSpec, decoding: dict) -> list[dict]:
    """Per test clip, its proposals and its true segments (what avdf.evaluation.localisation
    scores), as frame_level.timelines gives them for a frame-head model."""
    windows = arrays(out)
    result = []
    for i, (row, rows) in enumerate(
        zip(table.itertuples(), clips.clip_windows(data.owner, len(table)), strict=True)
    ):
        n_frames = data.lengths[i]
        mine = {k: v[rows] for k, v in windows.items()}
        props = video_proposals(mine, data.starts[rows], n_frames, spec, decoding)
        result.append(
            {"proposals": np.round(props, 4).tolist()} | frame_level.truth(row, n_frames / spec.fps)
        )
    return result


def decoding_of(model: torch.nn.Module) -> dict | None:
    """How a localiser's proposals are decoded (its section's settings); None for other models."""
    return getattr(model, "decoding", None)
