"""A stage resumes finished clips, and never reuses clips made with other parameters."""

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from avdf.contracts import atomic, stage_runner
from avdf.media.ffmpeg import MediaError

CLIPS = [("a", "a.mp4"), ("bad", "bad.mp4"), ("b", "b.mp4")]


def _run(tmp_path, params, calls, shard=(0, 1), clips=CLIPS, executor=None):
    def process(cid, path, outs):
        time.sleep(0.2 if cid == "a" else 0.0)  # with an executor, "a" finishes last
        calls.append(cid)
        if cid == "bad":
            raise MediaError("no audio stream")
        atomic.write_text(outs[0], cid)

    k, n = shard
    index = tmp_path / "stage" / ("index.csv" if n == 1 else f"shards/{k}-of-{n}.csv")
    return stage_runner.run(
        "test",
        clips,
        lambda cid: [Path(tmp_path) / "stage" / f"{cid}.txt"],
        process,
        index,
        stage_runner.fingerprint(params, "avdf.contracts.stage_runner"),
        shard,
        executor,
    )


def test_clips_processed_in_an_executor_are_indexed_in_their_order_and_rejected_alike(tmp_path):
    calls = []
    with ThreadPoolExecutor(3) as executor:
        index = _run(tmp_path, {"x": 1}, calls, executor=executor)
    assert calls[-1] == "a"  # finished last ...
    assert list(index["clip_id"]) == ["a", "bad", "b"]  # ... indexed first
    assert list(index["status"]) == ["ok", "rejected", "ok"]
    assert (tmp_path / "stage" / "bad.rejected").read_text() == "no audio stream"
    assert _run(tmp_path, {"x": 1}, calls := []).equals(index) and calls == []  # all finished work


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


def test_shards_split_the_clips_and_merge_to_the_unsharded_index(tmp_path):
    clips = [(c, f"{c}.mp4") for c in ("a", "bad", "b", "c", "d", "e", "f")]
    whole = _run(tmp_path / "one", {"x": 1}, [], clips=clips)
    calls = {k: [] for k in range(3)}
    for k in range(3):
        _run(tmp_path / "three", {"x": 1}, calls[k], (k, 3), clips)
    assert calls == {0: ["a", "c", "f"], 1: ["bad", "d"], 2: ["b", "e"]}
    shards = [tmp_path / "three/stage/shards" / f"{k}-of-3.csv" for k in range(3)]
    merged = stage_runner.merge_shards(shards, tmp_path / "three/stage/index.csv")
    pd.testing.assert_frame_equal(merged, whole.astype(str).replace("nan", ""), check_dtype=False)
    again = []  # a shard run again (a resubmitted job) redoes nothing the others finished
    _run(tmp_path / "three", {"x": 1}, again, (1, 3), clips)
    assert again == [] and (tmp_path / "three/stage/.avdf_stage.json").exists()
