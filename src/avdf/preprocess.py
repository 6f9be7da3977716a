"""The preprocessing stages, one function per stage, each over one dataset.

Data flow (each stage reads the previous stage's index and writes its own)::

    manifest -> demux (25 fps video, 16 kHz mono WAV) -> face tracks -> face crops (uint8 .npy)
                                                     \\-> log-Mel (float16 .npy)
"""

from __future__ import annotations

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
    """Every clip to constant ``fps`` video and ``sample_rate`` mono WAV; with ``trim_silence``, the
    leading silence (as the shortcut audit measures it) is cut from both streams first."""
    out = Path(out_dir)
    clips = manifest.read(manifest_csv)

    def outputs(cid):
        return [out / f"{cid}.wav", out / f"{cid}.mp4"]

    def process(cid, path, outs):
        info = ffmpeg.probe(path)
        if not info.has_video:
            raise ffmpeg.MediaError("no video stream")
        if not info.has_audio:
            raise ffmpeg.MediaError("no audio stream")
        start = (
            audit.leading_silence(ffmpeg.read_audio(path, sample_rate), sample_rate) if trim_silence else 0.0
        )
        with atomic.atomic_path(outs[0]) as wav, atomic.atomic_path(outs[1]) as mp4:
            ffmpeg.demux(path, mp4, wav, fps=fps, sample_rate=sample_rate, start_s=start)

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


def face_tracks(
    demux_index: str, demux_dir: str, out_dir: str, index_out: str, cfg: dict, shard: tuple[int, int] = (0, 1)
) -> None:
    src = Path(demux_dir)
    tracker = faces.FaceTracker.from_config(cfg)

    def process(cid, path, outs):
        track = tracker.track(ffmpeg.read_frames(src / f"{cid}.mp4"))
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
    src, tracks = Path(demux_dir), Path(faces_dir)

    def process(cid, path, outs):
        boxes = np.load(tracks / f"{cid}.npz")["boxes"]
        frames = ffmpeg.read_frames(src / f"{cid}.mp4")
        n = min(len(frames), len(boxes))
        atomic.write_npy(outs[0], faces.crop_faces(frames[:n], boxes[:n], cfg["crop_size"], cfg["margin"]))

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
