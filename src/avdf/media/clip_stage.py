"""Running one preprocessing stage over every clip of a dataset, resumably and fault-tolerantly.

A stage reads the clips that the previous stage accepted, skips those whose outputs already exist
(finished by an earlier, interrupted run), processes the rest, and writes an index CSV naming each
clip as ``ok`` or ``rejected`` with the reason. A bad clip never stops the others.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from pathlib import Path

import pandas as pd

from avdf import atomic
from avdf.media.ffmpeg import MediaError

log = logging.getLogger(__name__)
INDEX_COLUMNS = ["clip_id", "path", "status", "reason"]


def accepted(index_csv: str | Path) -> pd.DataFrame:
    """Clips that a stage accepted, from its index file."""
    index = pd.read_csv(index_csv, dtype=str, keep_default_na=False)
    return index[index["status"] == "ok"]


def run(stage: str, clips: Iterable[tuple[str, str]], outputs: Callable[[str], list[Path]],
        process: Callable[[str, str, list[Path]], None], index_out: str | Path) -> pd.DataFrame:
    """Apply ``process(clip_id, path, outputs)`` to each ``(clip_id, path)`` and write the index.

    ``outputs(clip_id)`` lists the files the clip produces; ``process`` must write each of them
    atomically, so that their existence means the clip is finished.
    """
    clips = list(clips)
    rows, started, reused = [], time.monotonic(), 0
    for n, (clip_id, path) in enumerate(clips, start=1):
        outs = outputs(clip_id)
        if all(o.exists() for o in outs):
            rows.append((clip_id, path, "ok", ""))
            reused += 1
            continue
        try:
            process(clip_id, path, outs)
            rows.append((clip_id, path, "ok", ""))
        except MediaError as e:
            log.warning("%s: rejected %s: %s", stage, path, e)
            rows.append((clip_id, path, "rejected", str(e)))
        if n % 25 == 0 or n == len(clips):
            elapsed = time.monotonic() - started
            rate = (n - reused) / max(elapsed, 1e-9)
            eta = (len(clips) - n) / max(rate, 1e-9)
            log.info("%s: %d/%d clips (%d reused), %.2f clips/s, ETA %.0f s", stage, n, len(clips), reused, rate, eta)
    index = pd.DataFrame(rows, columns=INDEX_COLUMNS)
    atomic.write_csv(index_out, index)
    n_bad = int((index["status"] == "rejected").sum())
    log.info("%s: %d ok, %d rejected, %d reused from an earlier run", stage, len(index) - n_bad, n_bad, reused)
    return index
