"""Atomic file writes: a crash or a kill never leaves a partial file that a later run accepts.

Every writer in avdf goes through these helpers. The content is written to a temporary file in
the destination's own folder and renamed over the destination, which POSIX makes atomic.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np


@contextlib.contextmanager
def atomic_path(dest: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``dest``; rename it onto ``dest`` only if the block succeeds."""
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=suffix or dest.suffix, dir=dest.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(dest: str | os.PathLike, text: str) -> None:
    with atomic_path(dest) as tmp:
        tmp.write_text(text)


def write_json(dest: str | os.PathLike, obj) -> None:
    write_text(dest, json.dumps(obj, indent=2, sort_keys=True) + "\n")


def write_npy(dest: str | os.PathLike, array: np.ndarray) -> None:
    """Write a ``.npy`` file that ``np.load(..., mmap_mode="r")`` can memory-map."""
    with atomic_path(dest, suffix=".npy") as tmp:
        np.save(tmp, np.ascontiguousarray(array), allow_pickle=False)


def write_csv(dest: str | os.PathLike, frame) -> None:
    """Write a pandas DataFrame as CSV, atomically, with a stable float format."""
    with atomic_path(dest, suffix=".csv") as tmp:
        frame.to_csv(tmp, index=False, lineterminator="\n")
