"""The faces stage's tracking workers sharing one MTCNN (avdf.media.shared_detector)."""

from __future__ import annotations

import queue

import numpy as np
import pandas as pd
import pytest
from conftest import FACES, demux_spec

from avdf.media import faces, ffmpeg, shared_detector
from avdf.stages import demux as demux_stage
from avdf.stages import face_tracks


def _frames(clip, side: int) -> np.ndarray:
    return ffmpeg.read_video(clip, 25, 0.0, side)[0]


def _close(found, expected) -> None:
    """The same detections up to float rounding from the batch they ran in."""
    assert len(found) == len(expected)
    for (b, p), (eb, ep) in zip(found, expected, strict=True):
        assert (b is None) == (eb is None)
        if b is not None:
            np.testing.assert_allclose(np.asarray(b, float), np.asarray(eb, float), atol=0.05)
            np.testing.assert_allclose(np.asarray(p, float), np.asarray(ep, float), atol=1e-4)


def test_waiting_requests_run_together_and_each_worker_gets_its_own_frames(face_clip):
    big, small = _frames(face_clip, 160)[::5], _frames(face_clip, 120)[::5]
    shared = shared_detector.SharedDetector(3, "cpu", batch_size=64)
    shared.answer([(0, 20, big[:2]), (1, 20, big[2:]), (2, 20, small)])
    # two frame sizes: two MTCNN batches, one of both workers' frames of the same size
    assert (shared.batches, shared.frames) == (2, len(big) + len(small))
    alone = faces.MTCNNDetector("cpu", batch_size=64)
    assert sum(b is not None for b, _ in alone(big, 20)) == len(big)  # a face in every frame
    _close(shared.replies[0].get(timeout=5), alone(big[:2], 20))
    _close(shared.replies[1].get(timeout=5), alone(big[2:], 20))
    _close(shared.replies[2].get(timeout=5), alone(small, 20))


def test_a_detector_error_reaches_every_waiting_worker_and_is_raised_there(face_clip):
    shared = shared_detector.SharedDetector(2, "cpu")

    def broken(frames, min_face):
        raise RuntimeError("CUDA out of memory")

    shared.detector = broken
    frames = _frames(face_clip, 160)[:2]
    shared.answer([(0, 20, frames), (1, 20, frames)])
    for worker in (0, 1):
        client = shared_detector.Client(queue.Queue(), shared.replies[worker], worker)
        client.reply.put(shared.replies[worker].get(timeout=5))  # the answer the worker would read
        with pytest.raises(RuntimeError, match="out of memory"):
            client(frames, 20)


def test_worker_tracker_outside_a_pool_says_where_it_belongs():
    with pytest.raises(RuntimeError, match="tracking_pool"):
        shared_detector.worker_tracker()


@pytest.mark.slow
def test_the_stage_with_workers_gives_one_process_tracks_and_rejections(tmp_path, face_clip, bad_clips):
    manifest = _manifest(tmp_path, [face_clip, bad_clips["no_face"], face_clip, face_clip])
    demux_index = str(tmp_path / "demux/index.csv")
    demux_stage.run(str(manifest), str(tmp_path / "demux"), demux_index, demux_spec())
    for workers in (1, 2):
        out = tmp_path / f"faces{workers}"
        with face_tracks.trackers(FACES, workers) as executor:
            face_tracks.run(
                demux_index,
                str(tmp_path / "demux"),
                str(out),
                str(out / "index.csv"),
                FACES,
                executor=executor,
            )
    one, two = (pd.read_csv(tmp_path / f"faces{w}/index.csv", keep_default_na=False) for w in (1, 2))
    pd.testing.assert_frame_equal(one, two)  # the clips' order, statuses and reasons
    assert list(one["status"]) == ["ok", "rejected", "ok", "ok"]
    assert one.loc[1, "reason"].startswith("no detectable face")
    for cid in ("c0", "c2", "c3"):
        a, b = (np.load(tmp_path / f"faces{w}/{cid}.npz") for w in (1, 2))
        np.testing.assert_array_equal(a["keyframes"], b["keyframes"])
        np.testing.assert_allclose(a["boxes"], b["boxes"], atol=0.05)


@pytest.mark.slow
def test_an_error_in_a_worker_that_is_no_rejection_stops_the_stage_as_in_one_process(tmp_path, face_clip):
    demux_dir = tmp_path / "demux"
    demux_stage.run(
        str(_manifest(tmp_path, [face_clip])), str(demux_dir), str(demux_dir / "index.csv"), demux_spec()
    )
    (demux_dir / "c0.json").write_text("{}")  # what the worker reads is now unusable
    out = tmp_path / "faces"
    with pytest.raises(KeyError), face_tracks.trackers(FACES, 2) as executor:  # a bug, raised from the worker
        face_tracks.run(
            str(demux_dir / "index.csv"),
            str(demux_dir),
            str(out),
            str(out / "i.csv"),
            FACES,
            executor=executor,
        )


def _manifest(tmp_path, clips):
    rows = [{"clip_id": f"c{i}", "path": str(p), "label": 0} for i, p in enumerate(clips)]
    pd.DataFrame(rows).to_csv(tmp_path / "manifest.csv", index=False)
    return tmp_path / "manifest.csv"
