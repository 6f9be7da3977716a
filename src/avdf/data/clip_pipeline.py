"""One clip pipeline: from a video to what a model sees, for a given input spec.

    demux (avdf.media.demux)  ->  face track (avdf.media.faces)  ->  face crops (avdf.media.face_crops)
                              \\->  log-Mel (avdf.media.log_mel)  ->  windows (avdf.data.clips.window_inputs)

The workflow runs these pieces one stage at a time over a dataset (avdf.stages), caching each
stage's output; :func:`prepare_clip` runs them whole on one video, as ``avdf predict`` does. Both
call the same functions with the same spec (the checkpoint's), so a clip gives the same model
inputs either way, leading-silence trimming included. A model that reads no crops (an audio-only
one) skips the face stages here, as its training loader skips the crops.
"""

from __future__ import annotations

import dataclasses
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from avdf.contracts.input_specs import InputSpec
from avdf.contracts.methods import LOG_MEL_AND_CROPS, Reads
from avdf.data import clips
from avdf.media import crop_cache, demux, faces, ffmpeg
from avdf.media.face_crops import cached_crops_along
from avdf.media.ffmpeg import read_wav
from avdf.media.log_mel import log_mel_of_waveform
from avdf.media.silence import leading_silence


@dataclass
class PreparedClip:
    """A clip as the caches hold it: face crops (avdf.media.crop_cache), log-Mel (n_mels, frames),
    the face track, and where the clip was cut to start (leading silence, seconds)."""

    crops: crop_cache.FaceCrops | clips.FramesOnly  # FramesOnly: its length alone (no tracker)
    log_mel: np.ndarray
    track: faces.FaceTrack | None  # None: no face was sought
    start_s: float
    waveform: np.ndarray  # the demuxed audio, for a model with a raw-audio front end


def prepare_clip(path: str | Path, spec: InputSpec, tracker: faces.FaceTracker | None) -> PreparedClip:
    """Every stage on one video, in order; MediaError where a stage would reject it. Without a
    ``tracker`` (for a model that reads no crops: an audio-only one) no face is sought, so a video
    without one is scored too, and of the video only its length in frames is read, which places
    the windows where the workflow places them; a file without a moving picture is then taken as
    sound alone (:func:`prepare_audio`)."""
    info = ffmpeg.probe(path)
    if not moving_picture(path, info):
        if tracker is None:
            return prepare_audio(path, spec, info)
        raise ffmpeg.MediaError("no video stream" + (" (only a cover picture)" if info.has_video else ""))
    with tempfile.TemporaryDirectory() as tmp:
        wav, video = Path(tmp) / "clip.wav", Path(tmp) / "clip.json"
        demux.demux_clip(path, spec.media, wav, video)
        if tracker is None:
            track, crops = None, clips.FramesOnly(frame_count(video))
        else:
            track = tracker.track(*demux.read_video(video, spec.faces.detect_max_side))
            crops = cached_crops_along(video, track.boxes, spec.crop)
        waveform, rate = read_wav(wav)  # read once: the log-Mel, and a raw-audio front end's input
        mel = log_mel_of_waveform(waveform, rate, spec.sample_rate, spec.log_mel)
        start = demux.demuxed_video(video)[0]["start_s"]
    return PreparedClip(crops, mel, track, start, waveform)


def moving_picture(path: str | Path, info: ffmpeg.StreamInfo | None = None) -> bool:
    """Whether a file has a video stream besides an attached picture (the cover an MP3 or M4A may
    carry, which ffmpeg lists as a video stream of one frame); MediaError where it cannot be read.
    ``info``: the file's probe, where already made. (``ffmpeg.probe`` would be the place for it, but
    that module is in every preprocessing stage's code fingerprint: a change there reruns every
    dataset's preprocessing, for a case that sound files given to ``avdf predict`` meet, not the
    datasets' videos.)"""
    if not (info or ffmpeg.probe(path)).has_video:
        return False
    listing = subprocess.run([ffmpeg.ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True)
    streams = [ln for ln in listing.stderr.decode(errors="replace").splitlines() if "Stream #" in ln]
    return any(": Video: " in ln and "(attached pic)" not in ln for ln in streams)


def prepare_audio(path: str | Path, spec: InputSpec, info: ffmpeg.StreamInfo) -> PreparedClip:
    """A file of sound alone (WAV, FLAC, MP3, ...; a cover picture is not read), probed as ``info``,
    for a model that reads no crops: its audio as the demux stage extracts a video's (its leading
    silence cut alike where the model was trained so), and the frames a video of its length has at
    the spec's rate, which place the windows."""
    if not info.has_audio:
        raise ffmpeg.MediaError("no audio stream")
    target = spec.media.sample_rate
    start = leading_silence(ffmpeg.read_audio(path, target), target) if spec.media.trim_silence else 0.0
    with tempfile.TemporaryDirectory() as tmp:
        wav = Path(tmp) / "clip.wav"
        ffmpeg.extract_audio(path, wav, target, start)
        waveform, rate = read_wav(wav)
    mel = log_mel_of_waveform(waveform, rate, spec.sample_rate, spec.log_mel)
    frames = max(1, int(len(waveform) * spec.fps / rate))
    return PreparedClip(clips.FramesOnly(frames), mel, None, start, waveform)


def frame_count(video_json: Path) -> int:
    """A demuxed clip's length in frames as the face stages decode it (its frame rate, from its
    start), none of them kept: each is shrunk to 2 x 2 pixels."""
    return len(demux.read_video(video_json, max_side=2)[0])


def windows(
    clip: PreparedClip, spec: InputSpec, mel_norm: tuple[float, float], reads: Reads = LOG_MEL_AND_CROPS
) -> tuple[list[int], dict]:
    """Every window's model inputs, stacked as a batch (the raw audio too, and the crops at a
    fraction of their side or none, as ``reads`` says), and the windows' start frames."""
    starts = clips.window_starts(len(clip.crops), spec)
    if reads.crops:
        crops = dataclasses.replace(clip.crops, scale=reads.crop_scale)  # as the cache is read for it
        pairs = [clips.window_inputs(crops, clip.log_mel, s, spec, mel_norm) for s in starts]
        batch = {"video": torch.stack([v for v, _ in pairs]), "audio": torch.stack([a for _, a in pairs])}
    else:  # as a ClipSet gives such a model its windows (ClipSet.window_audio)
        mels = [clips.window_mel(clip.log_mel, s, spec) for s in starts]
        batch = {"audio": torch.stack([clips.audio_input(m, spec.audio_len, *mel_norm) for m in mels])}
    if reads.waveform:
        batch["waveform"] = torch.stack([clips.window_waveform(clip.waveform, s, spec) for s in starts])
    return starts, batch
