"""Running one preprocessing stage over every clip of a dataset, resumably and fault-tolerantly.

A stage reads the clips that the previous stage accepted, skips those whose outputs already exist
(finished by an earlier, interrupted run), processes the rest, and writes an index CSV naming each
clip as ``ok`` or ``rejected`` with the reason. A bad clip never stops the others.

Finished clips are reused only if they were made with the same parameters and the same code: the
stage folder keeps a fingerprint of both, and a different fingerprint clears the folder first.

A stage can be split into shards (jobs on a cluster): shard k of n takes the clips at positions
k, k + n, k + 2n, ... and writes its own index; :func:`merge_shards` interleaves the shard indexes
back into the order of one unsharded run. Shards share the stage folder; the check of its
fingerprint holds a file lock, so only the first shard to see a change clears it.

A stage may also process its clips in an ``executor``'s processes (the faces stage's tracking
workers, avdf.media.shared_detector); the index keeps the clips' order all the same.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import shutil
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, as_completed
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from avdf.contracts import atomic
from avdf.contracts.errors import MediaError
from avdf.contracts.fingerprints import code_fingerprint

log = logging.getLogger(__name__)
INDEX_COLUMNS = ["clip_id", "path", "status", "reason"]


def fingerprint(params: dict, code: str) -> str:
    """Hash of a stage's parameters and of its code: the import closure of module ``code``
    (avdf.contracts.fingerprints), the same fingerprint the workflow's rule for the stage carries."""
    h = hashlib.sha256(json.dumps(params, sort_keys=True).encode())
    h.update(code_fingerprint(code).encode())
    return h.hexdigest()[:16]


def stamp_of(stage_dir: str | Path) -> str:
    """The fingerprint of an upstream stage: a downstream stage's outputs depend on it too."""
    marker = Path(stage_dir) / ".avdf_stage.json"
    return json.loads(marker.read_text())["fingerprint"] if marker.exists() else ""


def sources_stamp(paths) -> str:
    """Size and modification time of every source file: a changed clip invalidates what was made of it."""
    h = hashlib.sha256()
    for p in paths:
        st = Path(p).stat() if Path(p).exists() else None
        h.update(f"{p}|{st.st_size if st else -1}|{st.st_mtime_ns if st else -1}\n".encode())
    return h.hexdigest()[:16]


@contextlib.contextmanager
def _locked(stage_dir: Path):
    """An exclusive lock on ``<stage_dir>.lock`` (beside the folder, which may be cleared)."""
    stage_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(stage_dir.parent / f".{stage_dir.name}.lock", "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def claim(stage_dir: Path, stamp: str) -> None:
    """Clear ``stage_dir`` if its files were made with other parameters or code, then stamp it."""
    marker = stage_dir / ".avdf_stage.json"
    with _locked(stage_dir):
        if stage_dir.exists() and (
            not marker.exists() or json.loads(marker.read_text())["fingerprint"] != stamp
        ):
            log.info("parameters or code changed: clearing %s", stage_dir)
            shutil.rmtree(stage_dir)
        if not marker.exists():
            atomic.write_json(marker, {"fingerprint": stamp})


def stage_dir_of(index_out: str | Path) -> Path:
    """A stage's folder: that of its index, or of a shard's index (``<stage>/shards/k-of-n.csv``)."""
    folder = Path(index_out).parent
    return folder.parent if folder.name == "shards" else folder


def parse_shard(text: str | None) -> tuple[int, int]:
    """``"k/n"`` (shard k of n, from 0) -> (k, n); None -> (0, 1), the whole stage."""
    if not text:
        return 0, 1
    k, n = (int(v) for v in text.split("/"))
    if not 0 <= k < n:
        raise ValueError(f"shard {text}: expected k/n with 0 <= k < n")
    return k, n


def merge_shards(shard_indexes: list[str | Path], index_out: str | Path) -> pd.DataFrame:
    """The shard indexes (shard 0 first) interleaved back into one index, in the unsharded order."""
    n = len(shard_indexes)
    parts = [
        pd.read_csv(p, dtype=str, keep_default_na=False).assign(position=lambda d, k=k: k + n * d.index)
        for k, p in enumerate(shard_indexes)
    ]  # row j of shard k held the clip at position k + n j
    index = pd.concat(parts).sort_values("position")[INDEX_COLUMNS].reset_index(drop=True)
    atomic.write_csv(index_out, index)
    return index


class Folder(NamedTuple):
    """A stage's files: its index and the folder of its per-clip outputs (``<clip_id><suffix>``)."""

    index: str | Path
    folder: str | Path
    suffix: str = ""


def run_after(
    stage: str,
    upstream: Folder,
    out: Folder,
    process: Callable[[str, str, list[Path]], None],
    params: dict,
    shard: tuple[int, int] = (0, 1),
    *,
    code: str,
    executor: Executor | None = None,
) -> pd.DataFrame:
    """:func:`run` over the clips an upstream stage accepted, one ``<clip_id><suffix>`` file each
    in ``out.folder``, indexed in ``out.index``.

    The upstream stage's fingerprint joins ``params``: what it made feeds every output here.
    """
    clips = accepted(upstream.index)
    folder = Path(out.folder)
    return run(
        stage,
        zip(clips["clip_id"], clips["path"], strict=True),
        lambda cid: [folder / f"{cid}{out.suffix}"],
        process,
        out.index,
        fingerprint({**params, "upstream": stamp_of(upstream.folder)}, code),
        shard,
        executor=executor,
    )


def accepted(index_csv: str | Path) -> pd.DataFrame:
    """Clips that a stage accepted, from its index file."""
    index = pd.read_csv(index_csv, dtype=str, keep_default_na=False)
    return index[index["status"] == "ok"]


def _attempt(process: Callable, clip_id: str, path: str, outs: list[Path]) -> MediaError | None:
    """Process one clip; its rejection (a MediaError) is returned, any other error raised."""
    try:
        process(clip_id, path, outs)
    except MediaError as e:
        return e
    return None


def _apply(process: Callable, todo: list, executor: Executor | None) -> Iterator[tuple]:
    """Each ``(position, clip_id, path, outs)`` of ``todo`` with its rejection or None: one by one
    in this process, or as they finish in ``executor``'s (``process`` must then pickle)."""
    if executor is None:
        for item in todo:
            yield item, _attempt(process, *item[1:])
        return
    futures = {executor.submit(_attempt, process, *item[1:]): item for item in todo}
    for future in as_completed(futures):
        yield futures[future], future.result()


def run(
    stage: str,
    clips: Iterable[tuple[str, str]],
    outputs: Callable[[str], list[Path]],
    process: Callable[[str, str, list[Path]], None],
    index_out: str | Path,
    stamp: str,
    shard: tuple[int, int] = (0, 1),
    executor: Executor | None = None,
) -> pd.DataFrame:
    """Apply ``process(clip_id, path, outputs)`` to each ``(clip_id, path)`` of ``shard`` (k, n)
    and write the index.

    ``outputs(clip_id)`` lists the files the clip produces; ``process`` must write each of them
    atomically, so that their existence means the clip is finished. ``stamp`` is the
    :func:`fingerprint` of the stage's parameters and code: it decides whether earlier outputs
    can be reused. With ``executor``, the clips are processed in its processes, several at once.
    """
    k, n = shard
    claim(stage_dir_of(index_out), stamp)
    clips = list(clips)[k::n]
    rows, todo, started = {}, [], time.monotonic()
    for position, (clip_id, path) in enumerate(clips):
        outs = outputs(clip_id)
        rejected = outs[0].parent / f"{clip_id}.rejected"  # a rejection is a finished clip too
        if all(o.exists() for o in outs) or rejected.exists():
            reason = rejected.read_text() if rejected.exists() else ""
            rows[position] = (clip_id, path, "rejected" if reason else "ok", reason)
        else:
            todo.append((position, clip_id, path, outs))
    reused = len(rows)
    for done, ((position, clip_id, path, outs), error) in enumerate(_apply(process, todo, executor), 1):
        if error is None:
            rows[position] = (clip_id, path, "ok", "")
        else:
            log.warning("%s: rejected %s: %s", stage, path, error)
            rows[position] = (clip_id, path, "rejected", str(error))
            atomic.write_text(outs[0].parent / f"{clip_id}.rejected", str(error) or "rejected")
        if done % 25 == 0 or done == len(todo):
            rate = done / max(time.monotonic() - started, 1e-9)
            log.info(
                "%s: %d/%d clips (%d reused), %.2f clips/s, ETA %.0f s",
                stage,
                reused + done,
                len(clips),
                reused,
                rate,
                (len(todo) - done) / max(rate, 1e-9),
                extra={"progress": True},
            )
    index = pd.DataFrame([rows[p] for p in sorted(rows)], columns=INDEX_COLUMNS)
    atomic.write_csv(index_out, index)
    n_bad = int((index["status"] == "rejected").sum())
    log.info(
        "%s: %d ok, %d rejected, %d reused from an earlier run", stage, len(index) - n_bad, n_bad, reused
    )
    return index
