"""Ingest adapter for FakeAVCeleb v1.2's ``meta_data.csv`` (also written by the synthetic generator).

Quirks of the real file, all handled here:

- the header ``source,target1,target2,method,category,type,race,gender,path,`` names nine columns
  and ends in a comma, while rows carry ten values: the 9th is the file name and the 10th the
  directory (which starts with the dataset's top folder, e.g. ``FakeAVCeleb/RealVideo-...``);
- folder names contain spaces and parentheses, such as ``Asian (East)``;
- category letters: A = RVRA, B = RVFA, C = FVRA, D = FVFA.
"""

from __future__ import annotations

import csv
import hashlib
import re
from pathlib import Path

import pandas as pd

CATEGORY_NAMES = {"A": "RVRA", "B": "RVFA", "C": "FVRA", "D": "FVFA"}
FIELDS = ["source", "target1", "target2", "method", "category", "type", "race", "gender", "file", "directory"]


class MetadataError(ValueError):
    """A metadata file that cannot be read, with the file and line named."""


def clip_id(relative_path: str) -> str:
    """A short, filesystem-safe, stable id for a clip, from its path relative to the dataset root."""
    stem = re.sub(r"[^A-Za-z0-9]+", "_", Path(relative_path).stem).strip("_")[:40]
    return f"{stem}-{hashlib.sha1(relative_path.encode()).hexdigest()[:8]}"


def _resolve(root: Path, directory: str, name: str) -> Path:
    """The directory column starts with the dataset's own top folder; accept either layout."""
    for base in (root.parent, root):
        candidate = base / directory / name
        if candidate.exists():
            return candidate
    parts = Path(directory).parts
    return root.joinpath(*parts[1:], name) if len(parts) > 1 else root / directory / name


def read_metadata(meta_csv: str | Path) -> pd.DataFrame:
    """Rows of ``meta_data.csv`` as manifest rows (without the split column)."""
    meta_csv = Path(meta_csv)
    root = meta_csv.parent
    rows = []
    with open(meta_csv, newline="") as f:
        reader = csv.reader(f)
        header = next(reader, None)
        if header is None or [h.strip() for h in header[:9]] != FIELDS[:8] + ["path"]:
            raise MetadataError(f"{meta_csv}: not a FakeAVCeleb meta_data.csv header: {header}")
        for line, values in enumerate(reader, start=2):
            if not values:
                continue
            if len(values) != 10:
                raise MetadataError(f"{meta_csv}:{line}: expected 10 values, found {len(values)}")
            rec = dict(zip(FIELDS, (v.strip() for v in values), strict=True))
            if rec["category"] not in CATEGORY_NAMES:
                raise MetadataError(f"{meta_csv}:{line}: unknown category {rec['category']!r}")
            category = CATEGORY_NAMES[rec["category"]]
            path = _resolve(root, rec["directory"], rec["file"])
            rel = f"{rec['directory']}/{rec['file']}"
            rows.append(
                {
                    "clip_id": clip_id(rel),
                    "path": str(path),
                    "label": int(category != "RVRA"),
                    "video_fake": int(category in ("FVRA", "FVFA")),
                    "audio_fake": int(category in ("RVFA", "FVFA")),
                    "category": category,
                    "identity": rec["source"],
                    "method": rec["method"],
                }
            )
    if not rows:
        raise MetadataError(f"{meta_csv}: no clips listed")
    return pd.DataFrame(rows)
