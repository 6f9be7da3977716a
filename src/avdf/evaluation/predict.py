"""``avdf predict``: score any video with a trained detector.

Each video goes through the clip pipeline the training data went through (avdf.data.clip_pipeline,
with the input spec the checkpoint stores): demux (leading silence cut if the detector was trained
so), face track, face crops, log-Mel; for a model that reads no crops (an audio-only one) no face
is sought, so a video without a face is still scored by its audio, and so is a file of sound alone.
The model then sees consecutive windows of the length it was trained on (the last one aligned to
the end of the video), and per video the output gives:

- ``prob_fake``: the windows' probabilities made one as the detector was evaluated
  (avdf.data.clips.clip_probs with the checkpoint's ``aggregate``; ``prob_fake_max`` and
  ``prob_fake_mean`` both ways), and ``fake``: whether it reaches ``threshold``, the decision
  threshold chosen on the training data's validation split;
- ``audio_score`` and ``video_score``: the branch scores, the mean sigmoid of each modality's
  frame-level head (MACB-DF only);
- ``per_second``: for each second, the mean frame-level probability of each modality;
- ``face_track``: which frames were keyframes and, in memory and in the JSON with ``--tracks``, the
  box followed in each frame (x1, y1, x2, y2): most of the file, so left out by default (absent
  for an audio-only model);
- ``fake_segments``: ``[score, start_s, end_s]`` segments where the frame heads call the video fake
  (avdf.evaluation.localisation.proposals over every window's frames; MACB-DF only).

:func:`write_submission` writes the 1M-Deepfakes challenge's formats (AV-Deepfake1M): detection,
one ``file;score`` line per video; localisation, a JSON object ``{file: [[score, start, end], ...]}``
(seconds, highest score first), with each file named relative to the test set's root.

A file that cannot be scored gets ``error`` (the reason) and the other files are still scored.
"""

from __future__ import annotations

import logging
import math
import time
from pathlib import Path

import numpy as np
import torch

from avdf.contracts.checkpoint import Checkpoint
from avdf.contracts.errors import InputError
from avdf.contracts.input_specs import InputSpec
from avdf.contracts.methods import LOG_MEL_AND_CROPS, Reads
from avdf.data import clip_pipeline, clips
from avdf.evaluation import boundaries, frame_level, localisation
from avdf.learning import placement, scoring
from avdf.learning.models import load_model
from avdf.media import faces, ffmpeg

log = logging.getLogger(__name__)


def load(checkpoint: str | None, model_uri: str | None, tracking_uri: str | None = None):
    """A detector from a checkpoint file, or from an MLflow model (``models:/<name>/<version>``, as
    ``avdf table`` registers the best model of a table, or ``runs:/<run id>/model``)."""
    if checkpoint:
        return load_model(checkpoint)
    import mlflow

    if tracking_uri:
        mlflow.set_tracking_uri(tracking_uri)
        mlflow.set_registry_uri(tracking_uri)
    local = Path(mlflow.artifacts.download_artifacts(artifact_uri=model_uri))
    found = sorted(local.rglob("extra_files/*.pt"))  # the avdf checkpoint logged with the model
    if not found:
        raise InputError(f"{model_uri}: no avdf checkpoint among the model's files (log it with avdf table)")
    return load_model(str(found[0]))


# how segments are proposed from frame scores (as params.yaml: localisation)
SEGMENT_RULE = {"threshold": 0.5, "merge_gap_s": 0.0, "min_length_s": 0.0}


@torch.inference_mode()
def score_video(
    path: str | Path,
    model: torch.nn.Module,
    spec: InputSpec,
    mel_norm: tuple,
    tracker: faces.FaceTracker | None,
    rule: dict = SEGMENT_RULE,
    threshold: float = 0.5,
    reads: Reads = LOG_MEL_AND_CROPS,
) -> dict:
    clip = clip_pipeline.prepare_clip(path, spec, tracker)
    starts, batch = clip_pipeline.windows(clip, spec, mel_norm, reads)
    out = scoring.window_outputs(model, batch)
    probs = torch.sigmoid(out["logit"]).numpy()
    prob = float(clips.clip_probs(out["logit"], np.zeros(len(starts), int), 1, spec.aggregate)[0])
    fps = spec.fps
    result = {
        "path": str(path),
        "prob_fake": prob,
        "fake": prob >= threshold,
        "threshold": threshold,
        "prob_fake_max": float(probs.max()),
        "prob_fake_mean": float(probs.mean()),
        "windows": [{"start_s": s / fps, "prob_fake": float(p)} for s, p in zip(starts, probs, strict=True)],
        "duration_s": len(clip.crops) / fps,
        "start_s": clip.start_s,
        "fps": fps,
        "window_s": spec.window_s,
    }
    if clip.track is not None:  # None for a model that reads no crops: no face was sought
        result["face_track"] = {
            "boxes": clip.track.boxes.round(1).tolist(),
            "keyframes": np.flatnonzero(clip.track.keyframes).tolist(),
        }
    if "frame_video" in out:
        result |= _branches(out, starts, spec, len(clip.crops) / fps)
        result["fake_segments"] = _segments(out, starts, spec, rule, len(clip.crops)).round(4).tolist()
    if boundaries.decoding_of(model):  # a localiser proposes its own segments
        windows = boundaries.arrays(out)
        props = boundaries.video_proposals(windows, starts, len(clip.crops), spec, model.decoding)
        result["fake_segments"] = props.round(4).tolist()
    return result


def _segments(out: dict, starts: list[int], spec: InputSpec, rule: dict, n_frames: int) -> np.ndarray:
    """Segment proposals over the whole video, from its windows' frames (frame_level.stitch)."""
    video = torch.sigmoid(out["frame_video"]).numpy()
    audio = torch.sigmoid(out["frame_audio"]).numpy()
    return localisation.proposals(*frame_level.stitch(video, audio, starts, spec, n_frames), **rule)


def _branches(out: dict, starts: list[int], spec: InputSpec, duration: float) -> dict:
    """Branch scores and per-second frame-level probabilities from the frame heads."""
    seconds = max(1, math.ceil(duration))
    sums, counts, branch = {}, {}, {}
    for modality in ("video", "audio"):
        p = torch.sigmoid(out[f"frame_{modality}"]).numpy()  # (windows, T)
        branch[f"{modality}_score"] = float(p.mean())
        t = (np.arange(p.shape[1]) + 0.5) * spec.window_s / p.shape[1]
        sums[modality], counts[modality] = np.zeros(seconds), np.zeros(seconds)
        for w, s in enumerate(starts):
            sec = np.minimum((s / spec.fps + t).astype(int), seconds - 1)
            np.add.at(sums[modality], sec, p[w])
            np.add.at(counts[modality], sec, 1)
    per_second = [
        {"second": i}
        | {m: round(float(sums[m][i] / counts[m][i]), 4) if counts[m][i] else None for m in sums}
        for i in range(seconds)
    ]
    return branch | {"per_second": per_second}


def predict(
    videos: list[str],
    model: torch.nn.Module,
    ckpt: Checkpoint,
    threads: int = 2,
    rule: dict = SEGMENT_RULE,
    device: str = "cpu",
) -> list[dict]:
    """Score each video with a model and its checkpoint (its input spec and log-Mel normalisation),
    the model on ``device`` (``auto``: the GPU when there is one)."""
    torch.set_num_threads(threads)
    model = placement.place(model, placement.device(device))
    spec = ckpt.input
    # a model that reads no crops (an audio-only one) has no face sought: MTCNN is not even loaded,
    # and a video without a face is scored by its audio
    tracker = faces.FaceTracker(spec.faces) if ckpt.reads.crops else None
    results = []
    for path in videos:
        started = time.perf_counter()
        try:
            result = score_video(
                path,
                model,
                spec,
                ckpt.mel_norm,
                tracker,
                rule,
                ckpt.val_threshold,
                ckpt.reads,
            )
        except ffmpeg.MediaError as e:
            log.warning("%s: cannot be scored: %s", path, e)
            result = {"path": str(path), "error": str(e)}
        result["seconds_to_score"] = round(time.perf_counter() - started, 3)
        results.append(result)
    return results


def without_tracks(results: list[dict]) -> list[dict]:
    """The results without the per-frame face boxes (``avdf predict`` writes them with ``--tracks``)."""
    slim = []
    for r in results:
        r = dict(r)
        if "face_track" in r:
            r["face_track"] = {k: v for k, v in r["face_track"].items() if k != "boxes"}
        slim.append(r)
    return slim


def write(results: list[dict], out: str | None, tracks: bool = False) -> None:
    """JSON (everything; the per-frame face boxes with ``tracks``) to ``out`` or stdout; a ``.csv``
    ``out`` gets one row per video."""
    import json
    import sys

    from avdf.contracts import atomic

    if not tracks:
        results = without_tracks(results)
    if out and out.endswith(".csv"):
        import pandas as pd

        keys = (
            "path",
            "prob_fake",
            "fake",
            "prob_fake_max",
            "audio_score",
            "video_score",
            "duration_s",
            "error",
        )
        atomic.write_csv(out, pd.DataFrame([{k: r.get(k) for k in keys} for r in results]))
    elif out:
        atomic.write_json(out, results)
    else:
        json.dump(results, sys.stdout, indent=1)
        print()


# What the challenge's evaluator reads where avdf has nothing to say: it panics on a file of its
# metadata that the submission lacks, so every video gets an entry (localisation:
# ``localisation.as_submitted``; docs/paper-notes.md, "Challenge files").
UNREADABLE_SCORE = 0.5  # detection: no evidence either way


def write_submission(results: list[dict], out: str, kind: str, root: str | Path) -> list[str]:
    """The 1M-Deepfakes challenge's submission file of ``kind`` ("detection" or "localisation"),
    every video named by its path relative to ``root``, each with an entry: a video that could not
    be scored gets ``UNREADABLE_SCORE`` or, as one without segments, ``localisation.NOTHING_FOUND``.
    Returns the videos that could not be scored or localised, which the caller names."""
    import json

    from avdf.contracts import atomic

    root = Path(root).resolve()
    missing = [
        r["path"] for r in results if "error" in r or (kind == "localisation" and "fake_segments" not in r)
    ]

    def name(r: dict) -> str:
        return Path(r["path"]).resolve().relative_to(root).as_posix()

    if kind == "detection":
        text = "".join(f"{name(r)};{r.get('prob_fake', UNREADABLE_SCORE)}\n" for r in results)
    else:
        entries = {name(r): localisation.as_submitted(r.get("fake_segments") or []).tolist() for r in results}
        text = json.dumps(entries, indent=1)
    atomic.write_text(out, text)
    return missing
