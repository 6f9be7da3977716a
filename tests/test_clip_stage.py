"""A stage resumes finished clips, and never reuses clips made with other parameters."""

from pathlib import Path

import pandas as pd

from avdf import atomic
from avdf.media import clip_stage
from avdf.media.ffmpeg import MediaError


def _run(tmp_path, params, calls):
    def process(cid, path, outs):
        calls.append(cid)
        if cid == "bad":
            raise MediaError("no audio stream")
        atomic.write_text(outs[0], cid)

    return clip_stage.run(
        "test",
        [("a", "a.mp4"), ("bad", "bad.mp4"), ("b", "b.mp4")],
        lambda cid: [Path(tmp_path) / "stage" / f"{cid}.txt"],
        process,
        tmp_path / "stage" / "index.csv",
        params,
    )


def test_finished_clips_are_reused(tmp_path):
    first, second = [], []
    _run(tmp_path, {"x": 1}, first)
    index = _run(tmp_path, {"x": 1}, second)
    assert first == ["a", "bad", "b"] and second == []  # a rejection is finished work too
    assert list(index["status"]) == ["ok", "rejected", "ok"]
    assert pd.read_csv(tmp_path / "stage" / "index.csv").loc[1, "reason"] == "no audio stream"


def test_other_parameters_clear_the_stage(tmp_path):
    first, second = [], []
    _run(tmp_path, {"x": 1}, first)
    _run(tmp_path, {"x": 2}, second)
    assert second == ["a", "bad", "b"]


def test_an_interrupted_write_leaves_no_file(tmp_path):
    dest = tmp_path / "out.npy"
    try:
        with atomic.atomic_path(dest) as tmp:
            tmp.write_bytes(b"partial")
            raise KeyboardInterrupt
    except KeyboardInterrupt:
        pass
    assert not dest.exists() and list(tmp_path.iterdir()) == []
