"""Stage: a face track per demuxed clip (avdf.media.faces), saved as ``<clip>.npz``."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from avdf.contracts import atomic, numerics, stage_runner
from avdf.contracts.input_specs import FacesSpec
from avdf.media import demux, faces


def run(
    demux_index: str,
    demux_dir: str,
    out_dir: str,
    index_out: str,
    spec: FacesSpec,
    shard: tuple[int, int] = (0, 1),
) -> None:
    tracker = faces.FaceTracker(spec)

    def process(cid, path, outs):
        track = tracker.track(*demux.read_video(Path(demux_dir) / f"{cid}.json", spec.detect_max_side))
        with atomic.atomic_path(outs[0], suffix=".npz") as tmp, open(tmp, "wb") as f:
            np.savez(f, boxes=track.boxes, scores=track.scores, keyframes=track.keyframes)

    params = dataclasses.asdict(spec) | {"isa": numerics.in_effect()}
    upstream, out = (
        stage_runner.Folder(demux_index, demux_dir),
        stage_runner.Folder(index_out, out_dir, ".npz"),
    )
    stage_runner.run_after("faces", upstream, out, process, params, shard, code=__name__)
