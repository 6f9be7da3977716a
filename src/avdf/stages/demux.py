"""Stage: demux every clip of a manifest (avdf.media.demux)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from avdf.contracts import stage_runner
from avdf.contracts.input_specs import DemuxSpec
from avdf.data import manifest
from avdf.media.demux import demux_clip


def run(
    manifest_csv: str, out_dir: str, index_out: str, spec: DemuxSpec, shard: tuple[int, int] = (0, 1)
) -> None:
    out = Path(out_dir)
    clips = manifest.read(manifest_csv, manifest.STAGE_COLUMNS)

    def outputs(cid):
        return [out / f"{cid}.wav", out / f"{cid}.json"]

    def process(cid, path, outs):
        demux_clip(path, spec, *outs)

    params = dataclasses.asdict(spec) | {"sources": stage_runner.sources_stamp(clips["path"])}
    clip_ids = zip(clips["clip_id"], clips["path"], strict=True)
    stamp = stage_runner.fingerprint(params, __name__)
    stage_runner.run("demux", clip_ids, outputs, process, index_out, stamp, shard)
