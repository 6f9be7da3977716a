"""Ingest adapter for FakeAVCeleb v1.2's ``meta_data.csv`` (also written by the synthetic generator).

Quirks of the real file, all handled here:

- the header ``source,target1,target2,method,category,type,race,gender,path,`` names nine columns
  and ends in a comma, while rows carry ten values: the 9th is the file name and the 10th the
  directory (which starts with the dataset's top folder, e.g. ``FakeAVCeleb/RealVideo-...``);
- folder names contain spaces and parentheses, such as ``Asian (East)``;
- category letters: A = RVRA, B = RVFA, C = FVRA, D = FVFA;
- some files are listed twice, with different method labels: one row is kept, its method the
  labels joined with ``+``, and the number of such rows is reported.

Getting it: the dataset is given on request (the form linked from
https://github.com/DASH-Lab/FakeAVCeleb); the reply is a download link, which goes in
``datasets.<name>.url`` (or set ``root`` to a local copy).
"""

from __future__ import annotations

import csv
import logging
import os
from pathlib import Path

import pandas as pd

from avdf.data import fetch
from avdf.data.adapter import MetadataError, clip_id, labels_of, register

log = logging.getLogger(__name__)
META = "meta_data.csv"  # the file at the dataset root that says "this is FakeAVCeleb"
REQUEST = "the request form linked from https://github.com/DASH-Lab/FakeAVCeleb (v1.2)"

CATEGORY_NAMES = {"A": "RVRA", "B": "RVFA", "C": "FVRA", "D": "FVFA"}
FIELDS = ["source", "target1", "target2", "method", "category", "type", "race", "gender", "file", "directory"]


def _resolve(root: Path, directory: str, name: str) -> Path:
    """The directory column starts with the dataset's own top folder; accept either layout."""
    for base in (root.parent, root):
        candidate = base / directory / name
        if candidate.exists():
            return candidate
    parts = Path(directory).parts
    return root.joinpath(*parts[1:], name) if len(parts) > 1 else root / directory / name


def find_meta(root: str | Path) -> Path:
    """``meta_data.csv`` at the root, or one level down (the archive unpacks into a folder)."""
    root = Path(root)
    for candidate in (root / META, *sorted(root.glob(f"*/{META}"))):
        if candidate.exists():
            return candidate
    raise fetch.MissingData(f"{root}: no {META} at the root or one folder down")


def read_metadata(root: str | Path) -> tuple[pd.DataFrame, dict]:
    """Rows of ``meta_data.csv`` (at ``root``, or ``root`` itself if it is the file) as manifest
    rows without the split, and a report of what was found (duplicates dropped)."""
    meta_csv = Path(root) if Path(root).is_file() else find_meta(root)
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
            people = [rec["source"]] + [t for t in (rec["target1"], rec["target2"]) if t not in ("", "-")]
            rows.append(
                {
                    "clip_id": clip_id(rel),
                    "path": str(path),
                    **labels_of(category),
                    "identity": rec["source"],
                    "identities": ";".join(dict.fromkeys(people)),
                    "method": rec["method"],
                    "official_split": "",
                    "fake_periods": "",
                }
            )
    if not rows:
        raise MetadataError(f"{meta_csv}: no clips listed")
    clips = pd.DataFrame(rows)
    repeated = clips.duplicated("clip_id", keep="first")
    if repeated.any():
        methods = clips.groupby("clip_id", sort=False)["method"].agg(lambda m: "+".join(sorted(set(m))))
        clips = clips[~repeated].copy()
        clips["method"] = clips["clip_id"].map(methods)
        log.warning(
            "%s: %d rows list a file already listed (another method label); kept one each",
            meta_csv,
            int(repeated.sum()),
        )
    return clips.reset_index(drop=True), {
        "metadata": str(meta_csv),
        "rows": len(rows),
        "duplicates_dropped": int(repeated.sum()),
    }


def fetch_dataset(spec: dict, dest: Path, checksums: Path) -> Path:
    """Download and unpack the archive at ``spec["url"]`` (the link the authors emailed)."""
    url = spec.get("url") or os.environ.get("AVDF_FAKEAVCELEB_URL")
    if not url:
        raise fetch.MissingData(
            "FakeAVCeleb is not on disk. Set datasets.<name>.root to a local copy (the folder holding "
            "meta_data.csv), or datasets.<name>.url (or the environment variable AVDF_FAKEAVCELEB_URL) "
            f"to the download link you were emailed. Request access through {REQUEST}."
        )
    archive = fetch.download(url, dest.parent / "archives" / "FakeAVCeleb_v1.2.zip", checksums)
    return fetch.safe_extract(archive, dest)


register("fakeavceleb", __name__)
register("synthetic", __name__)  # the generator writes meta_data.csv (LAV-DF's for its stand-in)
