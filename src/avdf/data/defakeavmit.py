"""Ingest adapter for DefakeAVMiT (from the AVoiD-DF paper, Yang et al. 2023).

The dataset is not public: avdf reads a local copy only. Its layout is four category folders
under the root; a folder is recognised by the category it names, in either spelling:
``RVRA`` / ``RealVideo-RealAudio``, ``RVFA`` / ``RealVideo-FakeAudio``, ``FVRA`` /
``FakeVideo-RealAudio``, ``FVFA`` / ``FakeVideo-FakeAudio`` (any case, any prefix or suffix).
Every video below a category folder (any depth) is one clip.

Identities are not published. A clip's identity group is the first folder below its category
folder when there is one (a per-person folder), else the part of its file name before the first
``_`` or ``-``; the identity-disjoint split is only as good as that guess (docs/paper-notes.md).
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from avdf.data import fetch
from avdf.data.fakeavceleb import clip_id

REQUEST = "the AVoiD-DF authors (Yang et al., IEEE TIFS 2023); the dataset is not publicly released"
VIDEO = {".mp4", ".avi", ".mov", ".mkv", ".webm"}
SPELLINGS = {
    "RVRA": ("rvra", "realvideo-realaudio"),
    "RVFA": ("rvfa", "realvideo-fakeaudio"),
    "FVRA": ("fvra", "fakevideo-realaudio"),
    "FVFA": ("fvfa", "fakevideo-fakeaudio"),
}


def category_of(folder: str) -> str | None:
    name = folder.lower().replace("_", "-").replace(" ", "-")
    found = [cat for cat, words in SPELLINGS.items() if any(w in name for w in words)]
    return found[0] if len(found) == 1 else None


def read_metadata(root: str | Path) -> tuple[pd.DataFrame, dict]:
    root = Path(root)
    if not root.is_dir():
        raise fetch.MissingData(f"{root}: not a folder")
    folders = {d: category_of(d.name) for d in sorted(root.iterdir()) if d.is_dir()}
    folders = {d: c for d, c in folders.items() if c is not None}
    if sorted(folders.values()) != sorted(SPELLINGS):
        raise fetch.MissingData(
            f"{root}: expected four category folders (RVRA, RVFA, FVRA, FVFA or RealVideo-RealAudio ...), "
            f"found {[d.name for d in folders] or 'none'}"
        )
    rows = []
    for folder, category in folders.items():
        for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO and p.is_file()):
            below = path.relative_to(folder).parts
            who = below[0] if len(below) > 1 else re.split(r"[_-]", path.stem)[0]
            rows.append(
                {
                    "clip_id": clip_id(str(path.relative_to(root))),
                    "path": str(path),
                    "label": int(category != "RVRA"),
                    "video_fake": int(category in ("FVRA", "FVFA")),
                    "audio_fake": int(category in ("RVFA", "FVFA")),
                    "category": category,
                    "identity": who,
                    "identities": who,
                    "method": "defakeavmit" if category != "RVRA" else "real",
                    "official_split": "",
                    "fake_periods": "",
                }
            )
    if not rows:
        raise fetch.MissingData(f"{root}: the category folders hold no videos")
    return pd.DataFrame(rows), {"metadata": str(root), "rows": len(rows)}


def fetch_dataset(spec: dict, dest: Path, checksums: Path) -> Path:
    raise fetch.MissingData(
        "DefakeAVMiT is not publicly released, so avdf cannot download it. Set datasets.<name>.root to a "
        f"local copy (four category folders). Request it from {REQUEST}."
    )
