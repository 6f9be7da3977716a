"""Ingest adapter for AV-Deepfake1M and AV-Deepfake1M++ (Cai et al., ACM MM 2024; the 1M-Deepfakes
challenges of 2024 and 2025).

Layout, as the dataset's official loader (github.com/ControlNet/AV-Deepfake1M,
``python/avdeepfake1m/loader.py``) reads it::

    <root>/train_metadata.json   a JSON list, one record per training video
    <root>/val_metadata.json     the same for the validation set
    <root>/test_files.txt        the test videos, one path per line: labels withheld
    <root>/{train,val,test}/<file>   the videos (``file`` is a relative path with folders)

A record's fields: ``file``, ``original`` (the real video a fake was made from; null for a real
one), ``split``, ``fake_segments`` (``[[start, end], ...]`` in seconds), ``visual_fake_segments``,
``audio_fake_segments``, ``modify_type``, ``audio_model``, ``video_frames``, ``audio_frames``.

- The category follows ``modify_type``: ``real`` -> RVRA, ``visual_modified`` -> FVRA,
  ``audio_modified`` -> RVFA, ``both_modified`` -> FVFA. The official loader spells the last one
  ``both-modified`` while the others use ``_``; both spellings are accepted.
- ``fake_segments`` become the manifest's ``fake_periods`` (temporal localisation).
- Identity groups: a fake shares its group with its ``original``; a real video is its own.
- The official test labels are withheld: test videos are ingested with label -1 and category
  UNLABELLED, and every split protocol puts them in ``unlabelled``, out of every table that
  needs labels (``avdf predict --challenge`` scores them for a submission). Under ``split.protocol:
  official`` the validation set is the labelled test set (as the benchmark's papers report).

The dataset is gated behind a licence agreement (its EULA): the ``fetch`` rule takes a URL a user
was given (``datasets.<name>.url``, an archive unpacked with the same checksummed, safe path as the
others) or a local copy (``root``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from avdf.data import fetch
from avdf.data.adapter import MetadataError, clip_id, labels_of, read_json, register

SPLITS = {"train": "train_metadata.json", "val": "val_metadata.json"}
TEST_LIST = "test_files.txt"
CATEGORY = {
    "real": "RVRA",
    "visual_modified": "FVRA",
    "audio_modified": "RVFA",
    "both_modified": "FVFA",
    "both-modified": "FVFA",
}
FIELDS = ("file", "fake_segments", "modify_type")
REQUEST = "https://github.com/ControlNet/AV-Deepfake1M (sign the EULA to receive the download links)"


def _record_rows(meta: Path, split: str) -> list[dict]:
    records = read_json(meta, list, "a JSON list of records")
    rows = []
    for i, rec in enumerate(records):
        absent = [f for f in FIELDS if f not in rec]
        if absent:
            raise MetadataError(f"{meta}: record {i} lacks {', '.join(absent)}")
        category = CATEGORY.get(rec["modify_type"])
        if category is None:
            raise MetadataError(
                f"{meta}: record {i} ({rec['file']}): unknown modify_type {rec['modify_type']!r} "
                f"(known: {', '.join(CATEGORY)})"
            )
        group = Path(rec.get("original") or rec["file"]).with_suffix("").as_posix()
        rows.append(
            {
                "clip_id": clip_id(f"{split}/{rec['file']}"),
                "path": str(meta.parent / split / rec["file"]),
                **labels_of(category),
                "identity": group,
                "identities": group,
                "method": rec["modify_type"],
                "official_split": "test" if split == "val" else split,
                "fake_periods": json.dumps(rec["fake_segments"]) if rec["fake_segments"] else "",
            }
        )
    return rows


def _test_rows(listing: Path) -> list[dict]:
    files = [line.strip() for line in listing.read_text().splitlines() if line.strip()]
    return [
        {
            "clip_id": clip_id(f"test/{f}"),
            "path": str(listing.parent / "test" / f),
            "label": -1,
            "video_fake": -1,
            "audio_fake": -1,
            "category": "UNLABELLED",
            "identity": Path(f).with_suffix("").as_posix(),
            "identities": Path(f).with_suffix("").as_posix(),
            "method": "unlabelled",
            "official_split": "unlabelled",
            "fake_periods": "",
        }
        for f in files
    ]


def read_metadata(root: str | Path) -> tuple[pd.DataFrame, dict]:
    root = Path(root)
    below = sorted(p.parent for p in root.glob(f"*/{SPLITS['train']}"))
    if not (root / SPLITS["train"]).exists() and below:  # an archive that unpacks into one folder
        root = below[0]
    metas = {split: root / name for split, name in SPLITS.items() if (root / name).exists()}
    if not metas:
        raise fetch.MissingData(
            f"{root}: no AV-Deepfake1M metadata ({', '.join(SPLITS.values())}) at the root or one folder down"
        )
    rows = [row for split, meta in metas.items() for row in _record_rows(meta, split)]
    if (root / TEST_LIST).exists():
        rows += _test_rows(root / TEST_LIST)
    clips = pd.DataFrame(rows)
    report = {
        "metadata": {split: str(meta) for split, meta in metas.items()},
        "rows": len(clips),
        "unlabelled_test": int((clips["label"] < 0).sum()),
        "by_modify_type": {k: int(v) for k, v in clips["method"].value_counts().items()},
    }
    return clips, report


def fetch_dataset(spec: dict, dest: Path, checksums: Path) -> Path:
    url = spec.get("url")
    if not url:
        raise fetch.MissingData(
            "AV-Deepfake1M is gated behind a licence agreement, so avdf cannot download it unasked. "
            f"Request access at {REQUEST}, then set datasets.<name>.url to the archive link you were "
            "given, or datasets.<name>.root to a local copy."
        )
    archive = fetch.download(url, dest.parent / "archives" / Path(url).name, checksums)
    return fetch.safe_extract(archive, dest)


register("avdeepfake1m", __name__)  # and AV-Deepfake1M++
