"""Stage: a face track per demuxed clip (avdf.media.faces), saved as ``<clip>.npz``.

With several workers (:func:`trackers`), that many clips are tracked at once in as many
processes, which share one MTCNN in this process (avdf.media.shared_detector): on a GPU node, one
detector per GPU."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from concurrent.futures import Executor
from pathlib import Path

import numpy as np

from avdf.contracts import atomic, numerics, stage_runner
from avdf.contracts.input_specs import FacesSpec
from avdf.media import demux, faces, shared_detector


def track_clip(tracker: faces.FaceTracker, demux_dir: str, cid: str, path: str, outs: list[Path]) -> None:
    track = tracker.track(*demux.read_video(Path(demux_dir) / f"{cid}.json", tracker.detect_max_side))
    with atomic.atomic_path(outs[0], suffix=".npz") as tmp, open(tmp, "wb") as f:
        np.savez(f, boxes=track.boxes, scores=track.scores, keyframes=track.keyframes)


def _track_in_worker(demux_dir: str, cid: str, path: str, outs: list[Path]) -> None:
    track_clip(shared_detector.worker_tracker(), demux_dir, cid, path, outs)


@contextlib.contextmanager
def trackers(spec: FacesSpec, workers: int):
    """Where :func:`run` tracks clips: None (in this process) for one worker, else the executor of
    ``workers`` processes that share one MTCNN here (avdf.media.shared_detector)."""
    if workers <= 1:
        yield None
        return
    with shared_detector.tracking_pool(spec, workers) as (executor, _):
        yield executor


def run(
    demux_index: str,
    demux_dir: str,
    out_dir: str,
    index_out: str,
    spec: FacesSpec,
    shard: tuple[int, int] = (0, 1),
    executor: Executor | None = None,
) -> None:
    """Track every clip of ``shard`` that the demux stage accepted, in this process or, with
    ``executor`` (from :func:`trackers`), in its workers."""
    params = dataclasses.asdict(spec) | {"isa": numerics.in_effect()}
    upstream, out = (
        stage_runner.Folder(demux_index, demux_dir),
        stage_runner.Folder(index_out, out_dir, ".npz"),
    )
    if executor is None:
        process = functools.partial(track_clip, faces.FaceTracker(spec), demux_dir)
    else:
        process = functools.partial(_track_in_worker, demux_dir)
    stage_runner.run_after("faces", upstream, out, process, params, shard, code=__name__, executor=executor)
