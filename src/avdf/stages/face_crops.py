"""Stage: the face-crop cache, uint8 ``<clip>.npy`` per clip, along its face track."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np

from avdf import atomic, stage_runner
from avdf.media.face_crops import crops_along
from avdf.specs import CropSpec


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
        atomic.write_npy(outs[0], crops_along(Path(demux_dir) / f"{cid}.json", boxes, spec))

    stage_runner.run_after(
        "face_crops",
        faces_index,
        faces_dir,
        out_dir,
        ".npy",
        process,
        index_out,
        dataclasses.asdict(spec),
        shard,
        code=__name__,
    )
