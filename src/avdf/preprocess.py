"""The preprocessing stages, one function per stage, each over one dataset.

Data flow (each stage reads the previous stage's index and writes its own)::

    manifest -> demux (16 kHz mono WAV + how to read the video) -> face tracks -> face crops (uint8 .npy)
                                                                \\-> log-Mel (float16 .npy)

The video is never re-encoded: demux checks the streams and records where the clip starts, and
the two video stages decode the source themselves, normalised to 25 fps and upright by ffmpeg,
the face tracks at detection size (``faces.detect_max_side``) and the crops at full size.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from avdf import atomic, audit
from avdf.data import manifest
from avdf.media import clip_stage, faces, ffmpeg, log_mel


def demux(
    manifest_csv: str,
    out_dir: str,
    index_out: str,
    fps: int,
    sample_rate: int,
    trim_silence: bool = False,
    shard: tuple[int, int] = (0, 1),
) -> None:
    """Every clip's audio to ``sample_rate`` mono WAV, and a ``<clip>.json`` saying how to read its
    video (source, start, ``fps``, upright size); with ``trim_silence``, the leading silence (as the
    shortcut audit measures it) is cut from both streams."""
    out = Path(out_dir)
    clips = manifest.read(manifest_csv)

    def outputs(cid):
        return [out / f"{cid}.wav", out / f"{cid}.json"]

    def process(cid, path, outs):
        info = ffmpeg.probe(path)
        if not info.has_video:
            raise ffmpeg.MediaError("no video stream")
        if not info.has_audio:
            raise ffmpeg.MediaError("no audio stream")
        start = (
            audit.leading_silence(ffmpeg.read_audio(path, sample_rate), sample_rate) if trim_silence else 0.0
        )
        with atomic.atomic_path(outs[0]) as wav:
            ffmpeg.extract_audio(path, wav, sample_rate, start)
        width, height = info.display_size
        video = {"source": str(path), "start_s": start, "fps": fps, "width": width, "height": height}
        atomic.write_json(outs[1], video | {"rotation": info.rotation})

    clip_stage.run(
        "demux",
        zip(clips["clip_id"], clips["path"], strict=True),
        outputs,
        process,
        index_out,
        {
            "fps": fps,
            "sample_rate": sample_rate,
            "trim_silence": trim_silence,
            "sources": clip_stage.sources_stamp(clips["path"]),
        },
        shard,
    )


def demuxed_video(demux_dir: str | Path, clip_id: str) -> tuple[dict, ffmpeg.StreamInfo]:
    """How :func:`demux` says to read a clip's video, and its upright size as a StreamInfo."""
    video = json.loads((Path(demux_dir) / f"{clip_id}.json").read_text())
    return video, ffmpeg.StreamInfo(True, True, video["width"], video["height"], video["fps"], None)


def read_video(demux_dir: str | Path, clip_id: str, max_side: int | None = None) -> tuple[np.ndarray, float]:
    """A demuxed clip's video frames, at most ``max_side`` pixels on the long side, and that scale."""
    video, info = demuxed_video(demux_dir, clip_id)
    return ffmpeg.read_video(video["source"], video["fps"], video["start_s"], max_side, info)


def face_tracks(
    demux_index: str, demux_dir: str, out_dir: str, index_out: str, cfg: dict, shard: tuple[int, int] = (0, 1)
) -> None:
    tracker = faces.FaceTracker.from_config(cfg)

    def process(cid, path, outs):
        track = tracker.track(*read_video(demux_dir, cid, cfg["detect_max_side"]))
        with atomic.atomic_path(outs[0], suffix=".npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, boxes=track.boxes, scores=track.scores, keyframes=track.keyframes)

    clip_stage.run_after("faces", demux_index, demux_dir, out_dir, ".npz", process, index_out, cfg, shard)


def face_crops(
    faces_index: str,
    demux_dir: str,
    faces_dir: str,
    out_dir: str,
    index_out: str,
    cfg: dict,
    shard: tuple[int, int] = (0, 1),
) -> None:
    tracks = Path(faces_dir)

    def process(cid, path, outs):
        boxes = np.load(tracks / f"{cid}.npz")["boxes"]
        video, info = demuxed_video(demux_dir, cid)
        crops = faces.decode_crops(
            video["source"], video["fps"], boxes, cfg["crop_size"], cfg["margin"], video["start_s"], info
        )
        atomic.write_npy(outs[0], crops)

    clip_stage.run_after(
        "face_crops", faces_index, faces_dir, out_dir, ".npy", process, index_out, cfg, shard
    )


def log_mels(
    demux_index: str,
    demux_dir: str,
    out_dir: str,
    index_out: str,
    sample_rate: int,
    cfg: dict,
    shard: tuple[int, int] = (0, 1),
) -> None:
    src = Path(demux_dir)

    def process(cid, path, outs):
        waveform, rate = ffmpeg.read_wav(src / f"{cid}.wav")
        if rate != sample_rate:
            raise ffmpeg.MediaError(f"expected {sample_rate} Hz audio, found {rate} Hz")
        if len(waveform) < cfg["n_fft"]:
            raise ffmpeg.MediaError(f"audio too short ({len(waveform)} samples)")
        atomic.write_npy(outs[0], log_mel.log_mel(waveform, sample_rate, cfg))

    params = {"sample_rate": sample_rate, **cfg}
    clip_stage.run_after(
        "log_mel", demux_index, demux_dir, out_dir, ".npy", process, index_out, params, shard
    )
