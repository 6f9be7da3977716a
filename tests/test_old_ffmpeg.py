"""ffmpeg from avdf's minimum version up works, and anything older is refused at start.

The old binary is the 4.2.2 build inside PyPI's imageio-ffmpeg 0.5.1 (``envs/old-ffmpeg.sh``, run
by ``make test``, puts it beside the environment). Before avdf chose its options by version, every
face-crop job rejected every clip with it (``-fps_mode`` is an ffmpeg 5.1 option)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import demux_spec, run_stages

from avdf.media import ffmpeg
from avdf.stages import demux

ENV_ROOT = Path(os.environ.get("AVDF_ENV_ROOT", Path.home() / ".cache/avdf/envs"))
OLD = Path(os.environ.get("AVDF_OLD_FFMPEG", ENV_ROOT.parent / "ffmpeg-4.2.2" / "ffmpeg"))
needs_old = pytest.mark.skipif(not OLD.is_file(), reason=f"no old ffmpeg at {OLD} (run envs/old-ffmpeg.sh)")


@pytest.fixture
def use_ffmpeg(monkeypatch):
    """Switch avdf to another ffmpeg binary for the rest of the test (the choice is cached)."""

    def use(exe: Path | str | None):
        if exe is None:
            monkeypatch.delenv("AVDF_FFMPEG", raising=False)
        else:
            monkeypatch.setenv("AVDF_FFMPEG", str(exe))
        ffmpeg.ffmpeg_exe.cache_clear()

    yield use
    monkeypatch.delenv("AVDF_FFMPEG", raising=False)
    ffmpeg.ffmpeg_exe.cache_clear()


def _fake_ffmpeg(folder: Path, banner: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    exe = folder / "ffmpeg"
    exe.write_text(f"#!/bin/sh\necho '{banner}'\n")
    exe.chmod(0o755)
    return exe


def _manifest(tmp_path: Path, clip: Path) -> Path:
    row = {
        "clip_id": "c0",
        "path": str(clip),
        "label": 0,
        "video_fake": 0,
        "audio_fake": 0,
        "category": "RVRA",
    }
    row |= {"identity": "a", "method": "real", "split": "train"}
    pd.DataFrame([row]).to_csv(tmp_path / "m.csv", index=False)
    return tmp_path / "m.csv"


@needs_old
def test_the_old_binary_is_the_version_it_claims(use_ffmpeg):
    use_ffmpeg(OLD)
    assert ffmpeg.version() == (4, 2)
    assert ffmpeg.require_supported().startswith("ffmpeg 4.2 at ")
    assert ffmpeg.passthrough_frames() == {"vsync": "passthrough"}


@needs_old
def test_every_stage_accepts_the_face_clip_with_the_old_binary(tmp_path, face_clip, use_ffmpeg):
    use_ffmpeg(OLD)
    idx = run_stages(_manifest(tmp_path, face_clip), tmp_path / "work")
    for stage in ("demux", "faces", "crops", "mel"):
        index = pd.read_csv(idx[stage], keep_default_na=False)
        assert list(index["status"]) == ["ok"], (stage, list(index["reason"]))


@needs_old
def test_demux_and_decode_differ_between_versions_only_as_documented(tmp_path, face_clip, use_ffmpeg):
    """docs/drift.md, "ffmpeg versions": frames scaled down (face detection on large video) are the
    same pixels with ffmpeg 4.2.2 and the lock's ffmpeg; at full size (crops, small video) 4.2's
    YUV-to-RGB conversion rounds otherwise, by a few levels at most. Demuxed audio: 4.2 keeps the AAC
    encoder's last padding frame (a tail of at most 1,024 samples) and differs by one 16-bit step."""

    def decode(name):
        out = tmp_path / name
        demux.run(str(_manifest(tmp_path, face_clip)), str(out), str(out / "index.csv"), demux_spec())
        wav = ffmpeg.read_wav(next(out.rglob("*.wav")))[0]
        small = ffmpeg.read_video(face_clip, 25, max_side=80)[0]
        whole = ffmpeg.read_video(face_clip, 25)[0]
        region = ffmpeg.read_video(face_clip, 25, region=(20, 30, 64, 64))[0]
        picked = ffmpeg.read_video(face_clip, 25, keep=np.array([0, 7, 19]))[0]
        return wav, small, whole, region, picked

    new = decode("new")
    use_ffmpeg(OLD)
    old = decode("old")
    common = len(new[0])
    assert common <= len(old[0]) <= common + 1024
    assert np.abs(new[0] - old[0][:common]).max() <= 1 / 32768 + 1e-9
    np.testing.assert_array_equal(new[1], old[1])
    assert old[4].shape[0] == 3  # passthrough: the three frames asked for, none repeated
    for a, b in zip(new[2:], old[2:], strict=True):
        diff = np.abs(a.astype(int) - b.astype(int))
        assert a.shape == b.shape and diff.max() <= 12 and diff.mean() < 0.5


def test_an_older_ffmpeg_is_refused_naming_its_version_and_the_minimum(tmp_path, use_ffmpeg):
    use_ffmpeg(_fake_ffmpeg(tmp_path, "ffmpeg version 4.1.6-1~deb10u1 Copyright (c) 2000-2020"))
    with pytest.raises(
        ffmpeg.UnsupportedFfmpeg, match=r"ffmpeg 4\.1 at .* is too old: avdf needs ffmpeg 4\.2"
    ):
        ffmpeg.require_supported()


def test_version_strings_of_common_builds_are_read(tmp_path, use_ffmpeg):
    banners = {
        "ffmpeg version 7.1.1-1+b1 Copyright (c) 2000-2025": (7, 1),
        "ffmpeg version n4.4.2 Copyright (c) 2000-2021": (4, 4),
        "ffmpeg version 4.4.2-0ubuntu0.22.04.1 Copyright": (4, 4),
        "ffmpeg version N-112233-gabcdef Copyright": None,  # a git snapshot: taken as recent
    }
    for i, (banner, expected) in enumerate(banners.items()):
        use_ffmpeg(_fake_ffmpeg(tmp_path / str(i), banner))
        assert ffmpeg.version() == expected, banner
    assert ffmpeg.passthrough_frames() == {"fps_mode": "passthrough"}


def test_a_missing_or_foreign_binary_is_named(tmp_path, use_ffmpeg):
    use_ffmpeg(tmp_path / "nowhere" / "ffmpeg")
    with pytest.raises(ffmpeg.UnsupportedFfmpeg, match="cannot run ffmpeg at .*nowhere/ffmpeg"):
        ffmpeg.require_supported()
    use_ffmpeg(_fake_ffmpeg(tmp_path, "hello"))
    with pytest.raises(ffmpeg.UnsupportedFfmpeg, match="is not an ffmpeg binary"):
        ffmpeg.require_supported()
