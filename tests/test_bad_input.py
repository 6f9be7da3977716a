"""Odd and bad input, generated here with ffmpeg from one good clip: each file is either processed
correctly (25 fps video, 16 kHz mono audio) or rejected with a clear reason, and the good clips in
the same batch come out as they would alone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import demux_spec, run_stages

from avdf.contracts import stage_runner
from avdf.data import manifest
from avdf.media import crop_cache, demux, ffmpeg
from avdf.stages import demux as demux_stage

pytestmark = pytest.mark.slow  # a corpus through every stage: make test, not make test-fast


def _ff(*args: str) -> None:
    subprocess.run([ffmpeg.ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error", *args], check=True)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, face_clip) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("odd")
    src = str(face_clip)
    out = {
        name: root / f"{name}.mp4"
        for name in (
            "good",
            "vfr",
            "rotated",
            "stereo48k",
            "mono8k",
            "uhd4k",
            "one_frame",
            "audio_only",
            "truncated",
            "empty",
        )
    }
    out["awkward"] = root / "Zoë (test) clip – 1.mp4"
    _ff("-i", src, "-c", "copy", str(out["good"]))
    _ff("-i", src, "-c", "copy", str(out["awkward"]))
    _ff(
        "-i",
        src,
        "-vf",
        "select='lt(mod(n,7),3)+lt(n,3)'",
        "-fps_mode",
        "vfr",
        "-c:a",
        "copy",
        str(out["vfr"]),
    )
    wide = root / "wide.mp4"
    _ff("-i", src, "-vf", "pad=240:160:40:0", "-c:a", "copy", str(wide))
    turned = root / "turned.mp4"  # frames stored turned clockwise, with a display rotation undoing it
    _ff("-i", str(wide), "-vf", "transpose=1", "-c:a", "copy", str(turned))
    _ff("-display_rotation", "90", "-i", str(turned), "-c", "copy", str(out["rotated"]))
    _ff("-i", src, "-c:v", "copy", "-ac", "2", "-ar", "48000", str(out["stereo48k"]))
    _ff("-i", src, "-c:v", "copy", "-ar", "8000", str(out["mono8k"]))
    _ff("-i", src, "-t", "0.4", "-vf", "scale=3840:2160", "-c:a", "copy", str(out["uhd4k"]))
    _ff("-i", src, "-vf", "trim=end_frame=1", "-c:a", "copy", str(out["one_frame"]))  # 1 frame, 1 s of audio
    _ff("-i", src, "-vn", "-c:a", "copy", str(out["audio_only"]))
    out["truncated"].write_bytes(Path(src).read_bytes()[:3000])
    out["empty"].write_bytes(b"")
    return out


@pytest.fixture(scope="module")
def processed(tmp_path_factory, corpus):
    work = tmp_path_factory.mktemp("work")
    rows = [
        {c: "" for c in manifest.COLUMNS}
        | {"clip_id": name, "path": str(path), "label": 0, "category": "RVRA", "split": "train"}
        for name, path in corpus.items()
    ]
    pd.DataFrame(rows).to_csv(work / "m.csv", index=False)
    run_stages(work / "m.csv", work)
    return work


def _index(work: Path, stage: str) -> pd.DataFrame:
    return pd.read_csv(work / stage / "index.csv", keep_default_na=False).set_index("clip_id")


def test_bad_files_are_rejected_with_reasons(processed):
    demux = _index(processed, "demux")
    assert demux.loc["truncated", "reason"].startswith("corrupt or unreadable container")
    assert demux.loc["empty", "reason"] == "empty file (0 bytes)"
    assert demux.loc["audio_only", "reason"] == "no video stream"


@pytest.mark.parametrize("name", ["good", "awkward", "vfr", "rotated", "stereo48k", "mono8k", "uhd4k"])
def test_odd_files_are_normalised(processed, name):
    for stage in ("demux", "crops", "mel"):
        assert _index(processed, stage).loc[name, "status"] == "ok", stage
    video = json.loads((processed / "demux" / f"{name}.json").read_text())
    frames = demux.read_video(processed / "demux" / f"{name}.json")[0]
    seconds = ffmpeg.probe(video["source"]).duration_s
    assert video["fps"] == 25 and abs(len(frames) - 25 * seconds) <= 2  # constant 25 fps, VFR too
    audio, rate = ffmpeg.read_wav(processed / "demux" / f"{name}.wav")
    assert rate == 16000 and audio.ndim == 1 and len(audio) > 0.15 * 16000
    crops = crop_cache.read(processed / "crops" / f"{name}.npz")
    assert len(crops) == len(frames) and abs(len(crops.kept) - len(frames) * 4 / 25) <= 1  # 4 of every 25
    kept = crops[crops.kept]
    assert kept.dtype == np.uint8 and kept.shape == (len(crops.kept), 32, 32, 3)
    if name == "rotated":  # the display rotation is applied: stored 160x240, shown upright 240x160
        assert video["rotation"] == 90 and frames.shape[1:3] == (160, 240)


def test_a_one_frame_clip_is_processed_or_rejected_with_a_reason(processed):
    for stage in ("demux", "crops", "mel"):
        index = _index(processed, stage)
        if "one_frame" not in index.index:  # rejected by an earlier stage
            break
        row = index.loc["one_frame"]
        assert row["status"] == "ok" or row["reason"], stage
        if row["status"] != "ok":
            break
    else:
        assert len(crop_cache.read(processed / "crops" / "one_frame.npz")) >= 1


def test_good_clips_are_unaffected_by_bad_neighbours(processed, tmp_path, corpus):
    alone = tmp_path / "alone"
    rows = [{c: "" for c in manifest.COLUMNS} | {"clip_id": "good", "path": str(corpus["good"]), "label": 0}]
    pd.DataFrame(rows).to_csv(tmp_path / "m.csv", index=False)
    demux_stage.run(str(tmp_path / "m.csv"), str(alone), str(alone / "index.csv"), demux_spec())
    assert (alone / "good.wav").read_bytes() == (processed / "demux" / "good.wav").read_bytes()
    assert len(stage_runner.accepted(str(processed / "demux" / "index.csv"))) >= 7
