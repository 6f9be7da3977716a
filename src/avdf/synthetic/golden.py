"""Golden hashes of the embedded synthetic data, to tell whether a machine generates the same clips.

For every clip of the default configuration, the sha256 of what the generator computes (its
frames and audio as arrays, before encoding) and of what the pipeline reads (the frames and audio
decoded from its MP4). A mismatch in the first means the generator moved (numpy, scipy, the
portraits); in the second only, the encoder or decoder did (the ffmpeg binary). Container bytes are
not compared: they carry the encoder's version string and are not meant to be stable.
``tests/golden/synthetic.json`` holds the hashes of the default seed; ``benchmarks/golden.py``
writes it and ``tests/test_golden.py`` regenerates a sample and compares.
"""

from __future__ import annotations

import dataclasses
import hashlib
import tempfile
from pathlib import Path

import numpy as np

from avdf.media import ffmpeg
from avdf.synthetic import generator as synthetic

PARTS = ("rendered_video", "rendered_audio", "decoded_video", "decoded_audio")


def _sha(array: np.ndarray | None) -> str:
    if array is None:
        return "none"
    array = np.ascontiguousarray(array)
    return hashlib.sha256(f"{array.dtype}{array.shape}".encode() + array.tobytes()).hexdigest()[:16]


def clip_digest(job: synthetic.ClipJob) -> dict[str, str]:
    """The four hashes of one clip: rendered and decoded, video and audio."""
    frames, audio = synthetic.rendered(job)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "clip.mp4"
        synthetic.make_clip(dataclasses.replace(job, dest=path))
        try:
            decoded = ffmpeg.read_video(path, job.cfg["fps"])[0]
            sound = ffmpeg.read_audio(path, job.cfg["sample_rate"]) if audio is not None else None
            decoded_video, decoded_audio = _sha(decoded), _sha(sound)
        except ffmpeg.MediaError:  # the truncated clip: what matters is that it stays unreadable
            decoded_video = decoded_audio = "unreadable"
    return dict(zip(PARTS, (_sha(frames), _sha(audio), decoded_video, decoded_audio), strict=True))


def rendered_digest(job: synthetic.ClipJob) -> dict[str, str]:
    """The two hashes of what the generator computes (no encoding): what CPU switches could move."""
    frames, audio = synthetic.rendered(job)
    return {"rendered_video": _sha(frames), "rendered_audio": _sha(audio)}


def fake_audio_sample(params: dict) -> dict:
    """The first fully fake (FVFA) clip of every synthetic family: each audio manipulation (the
    Griffin-Lim vocoder, voice cloning, splicing) and each video one, by clip id."""
    sample = {}
    for name, spec in params["datasets"].items():
        if spec["source"] == "synthetic":
            jobs = family_jobs(name, spec["family"], params["synth"])
            sample |= dict([next((c, j) for c, j in jobs.items() if j.category == "D")])
    return sample


def clip_id(job: synthetic.ClipJob, out_root: str | Path) -> str:
    return str(job.dest.relative_to(Path(out_root)))


def family_jobs(name: str, family: str, cfg: dict, out_root: str = "data/raw/synthetic") -> dict:
    """Every clip job of a family, by clip id (its path under the synthetic root)."""
    jobs, _ = synthetic.plan(out_root, name, family, cfg)
    return {clip_id(job, out_root): job for job in jobs}


def differences(expected: dict[str, dict], found: dict[str, dict]) -> list[str]:
    """One line per clip whose hashes differ, naming the parts that differ."""
    lines = []
    for clip, digest in found.items():
        want = expected.get(clip)
        if want is None:
            lines.append(f"{clip}: not in the golden file")
            continue
        parts = [p for p in PARTS if want[p] != digest[p]]
        if parts:
            lines.append(f"{clip}: {', '.join(parts)} differ{'s' if len(parts) == 1 else ''}")
    return lines


if __name__ == "__main__":  # the rendered hashes of the fake-audio sample, as JSON (tests/test_golden.py)
    import json
    import sys

    import yaml

    params = yaml.safe_load(Path(sys.argv[1]).read_text())
    print(json.dumps({c: rendered_digest(j) for c, j in fake_audio_sample(params).items()}))
