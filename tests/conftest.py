"""Shared fixtures: tiny synthetic clips made by avdf's own generator."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import yaml

from avdf.data import synthetic
from avdf.media.ffmpeg import encode_clip

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def params() -> dict:
    return yaml.safe_load((REPO / "params.yaml").read_text())


@pytest.fixture(scope="session")
def tiny_synth_cfg(params) -> dict:
    cfg = copy.deepcopy(params["synth"])
    cfg.update(identities=3, clips_per_category=1, faulty_clips=0, duration_s=1.0)
    return cfg


@pytest.fixture(scope="session")
def face_clip(tmp_path_factory, tiny_synth_cfg) -> Path:
    """A real-video, real-audio clip (1 s, 160x160, a real face)."""
    people = synthetic.identities(0, "dfdc", 3)
    frames, audio = synthetic.render_clip(
        tiny_synth_cfg, "dfdc", people[0], people[1], "A", np.random.default_rng(0)
    )
    dest = tmp_path_factory.mktemp("clips") / "face (A) clip.mp4"
    encode_clip(frames, audio, 16000, 25, dest)
    return dest


@pytest.fixture(scope="session")
def bad_clips(tmp_path_factory, tiny_synth_cfg) -> dict[str, Path]:
    """One clip for each kind of bad input: no audio stream, no face, a corrupt container, empty."""
    people = synthetic.identities(0, "dfdc", 3)
    frames, audio = synthetic.render_clip(
        tiny_synth_cfg, "dfdc", people[0], people[1], "A", np.random.default_rng(1)
    )
    root = tmp_path_factory.mktemp("bad")
    out = {
        "no_audio": root / "no_audio.mp4",
        "no_face": root / "no_face.mp4",
        "corrupt": root / "corrupt.mp4",
        "empty": root / "empty.mp4",
    }
    encode_clip(frames, None, 16000, 25, out["no_audio"])
    stripes = np.zeros_like(frames)
    stripes[:, ::8] = 200
    encode_clip(stripes, audio, 16000, 25, out["no_face"])
    encode_clip(frames, audio, 16000, 25, out["corrupt"])
    out["corrupt"].write_bytes(out["corrupt"].read_bytes()[:2000])
    out["empty"].write_bytes(b"")
    return out
