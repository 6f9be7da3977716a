"""Stage: the log-Mel cache, float16 ``<clip>.npy`` per clip, eq. (1)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from avdf.contracts import atomic, numerics, stage_runner
from avdf.contracts.input_specs import LogMelSpec
from avdf.media.log_mel import log_mel_of_wav


def run(
    demux_index: str,
    demux_dir: str,
    out_dir: str,
    index_out: str,
    sample_rate: int,
    spec: LogMelSpec,
    shard: tuple[int, int] = (0, 1),
) -> None:
    def process(cid, path, outs):
        atomic.write_npy(outs[0], log_mel_of_wav(Path(demux_dir) / f"{cid}.wav", sample_rate, spec))

    params = {"sample_rate": sample_rate, **dataclasses.asdict(spec), "isa": numerics.in_effect()}
    upstream, out = (
        stage_runner.Folder(demux_index, demux_dir),
        stage_runner.Folder(index_out, out_dir, ".npy"),
    )
    stage_runner.run_after("log_mel", upstream, out, process, params, shard, code=__name__)
