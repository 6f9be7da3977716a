"""Stage: the face-crop cache, ``<clip>.npz`` per clip (avdf.media.crop_cache), along its face track."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from avdf.contracts import stage_runner
from avdf.contracts.input_specs import CropSpec
from avdf.media import crop_cache
from avdf.media.face_crops import cached_crops_along


def run(
    faces_index: str,
    demux_dir: str,
    faces_dir: str,
    out_dir: str,
    index_out: str,
    spec: CropSpec,
    shard: tuple[int, int] = (0, 1),
) -> None:
    def process(cid, path, outs):
        boxes = np.load(Path(faces_dir) / f"{cid}.npz")["boxes"]
        crop_cache.write(outs[0], cached_crops_along(Path(demux_dir) / f"{cid}.json", boxes, spec))

    upstream, out = (
        stage_runner.Folder(faces_index, faces_dir),
        stage_runner.Folder(index_out, out_dir, ".npz"),
    )
    stage_runner.run_after(
        "face_crops", upstream, out, process, dataclasses.asdict(spec), shard, code=__name__
    )
