"""Demux one clip: its audio as mono WAV at the spec's rate, and a small JSON saying how to read its
video (source, start, frame rate, upright size). The video is never re-encoded: the face stages
decode the source themselves, normalised to the spec's frame rate and upright by ffmpeg.

With ``trim_silence``, both streams start where the speech starts (avdf.media.silence), so that a
detector never sees FakeAVCeleb's leading-silence shortcut.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from avdf.contracts import atomic
from avdf.contracts.input_specs import DemuxSpec
from avdf.media import ffmpeg
from avdf.media.silence import leading_silence


def demux_clip(path: str | Path, spec: DemuxSpec, wav_out: Path, video_out: Path) -> None:
    """Write ``wav_out`` and ``video_out`` (each atomically); MediaError for a clip without both streams."""
    info = ffmpeg.probe(path)
    if not info.has_video:
        raise ffmpeg.MediaError("no video stream")
    if not info.has_audio:
        raise ffmpeg.MediaError("no audio stream")
    start = 0.0
    if spec.trim_silence:
        start = leading_silence(ffmpeg.read_audio(path, spec.sample_rate), spec.sample_rate)
    with atomic.atomic_path(wav_out) as wav:
        ffmpeg.extract_audio(path, wav, spec.sample_rate, start)
    width, height = info.display_size
    video = {"source": str(path), "start_s": start, "fps": spec.fps, "width": width, "height": height}
    atomic.write_json(video_out, video | {"rotation": info.rotation})


def demuxed_video(video_json: str | Path) -> tuple[dict, ffmpeg.StreamInfo]:
    """How :func:`demux_clip` says to read a clip's video, and its upright size as a StreamInfo."""
    video = json.loads(Path(video_json).read_text())
    return video, ffmpeg.StreamInfo(True, True, video["width"], video["height"], video["fps"], None)


def read_video(video_json: str | Path, max_side: int | None = None) -> tuple[np.ndarray, float]:
    """A demuxed clip's frames, at most ``max_side`` pixels on the long side, and that scale."""
    video, info = demuxed_video(video_json)
    return ffmpeg.read_video(video["source"], video["fps"], video["start_s"], max_side, info)
