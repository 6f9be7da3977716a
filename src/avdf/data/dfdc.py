"""Ingest adapter for DFDC (the Deepfake Detection Challenge data, Kaggle).

Layout: parts ``dfdc_train_part_<k>/`` (50 of them, about 470 GB in all; or the 400-clip sample
``train_sample_videos/``), each with its videos and a ``metadata.json`` of the form
``{"x.mp4": {"label": "FAKE"|"REAL", "split": "train", "original": "y.mp4"|null}}``.

- The label says fake, not which modality: a fake gets the category ``FAKE`` and both modality
  labels set (see docs/paper-notes.md, "DFDC modality labels").
- There are no actor ids in the public metadata. A fake and the real video it was made from
  (``original``) share an identity group, which is what the identity-disjoint split keeps apart.
- ``split`` is kept as the official split (``train`` in the training parts; a labelled test set
  unpacked beside them with its own metadata.json gives ``test``).

Getting it: the Kaggle API, with a token from ``KAGGLE_USERNAME``/``KAGGLE_KEY`` or
``~/.kaggle/kaggle.json`` (never from params.yaml). ``datasets.<name>.kaggle.files`` is ``sample``,
``all``, or a list of part numbers.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from avdf.data import fetch
from avdf.data.adapter import MetadataError, clip_id, labels_of, read_json, register

META = "metadata.json"
COMPETITION = "deepfake-detection-challenge"
API = "https://www.kaggle.com/api/v1"
REQUEST = f"https://www.kaggle.com/c/{COMPETITION}/data (accept the competition rules first)"


def read_metadata(root: str | Path) -> tuple[pd.DataFrame, dict]:
    root = Path(root)
    parts = sorted(root.rglob(META))
    if not parts:
        raise fetch.MissingData(f"{root}: no DFDC part found (no {META} in any folder below it)")
    rows, missing = [], 0
    for meta in parts:
        entries = read_json(meta, dict, "an object of file name -> record")
        for name, rec in sorted(entries.items()):
            label = str(rec.get("label", "")).upper()
            if label not in ("REAL", "FAKE"):
                raise MetadataError(f"{meta}: {name}: label {rec.get('label')!r} is neither REAL nor FAKE")
            path = meta.parent / name
            missing += not path.exists()
            rel = str(path.relative_to(root))
            fake = int(label == "FAKE")
            group = rec.get("original") if fake and rec.get("original") else name
            rows.append(
                {
                    "clip_id": clip_id(rel),
                    "path": str(path),
                    **labels_of("FAKE" if fake else "RVRA"),
                    "identity": Path(group).stem,
                    "identities": Path(group).stem,
                    "method": "dfdc" if fake else "real",
                    "official_split": str(rec.get("split", "train")),
                    "fake_periods": "",
                }
            )
    if not rows:
        raise MetadataError(f"{root}: the DFDC metadata files list no clips")
    report = {"metadata": [str(p) for p in parts], "rows": len(rows), "listed_but_missing": missing}
    return pd.DataFrame(rows), report


def kaggle_credentials() -> tuple[str, str]:
    user, key = os.environ.get("KAGGLE_USERNAME"), os.environ.get("KAGGLE_KEY")
    token = Path(os.environ.get("KAGGLE_CONFIG_DIR", Path.home() / ".kaggle")) / "kaggle.json"
    if not (user and key) and token.exists():
        creds = json.loads(token.read_text())
        user, key = creds.get("username"), creds.get("key")
    if not (user and key):
        raise fetch.MissingData(
            "DFDC is not on disk and no Kaggle token was found. Set KAGGLE_USERNAME and KAGGLE_KEY, or "
            f"put kaggle.json in ~/.kaggle (Kaggle: Account > Create New API Token), and accept the rules at "
            f"{REQUEST}. Or set datasets.<name>.root to a local copy."
        )
    return user, key


def archive_names(files) -> list[str]:
    if files == "sample":
        return ["train_sample_videos.zip"]
    if files == "all":
        return [f"dfdc_train_part_{k}.zip" for k in range(50)]
    return [f"dfdc_train_part_{int(k)}.zip" for k in files]


def fetch_dataset(spec: dict, dest: Path, checksums: Path) -> Path:
    auth = kaggle_credentials()
    kaggle = spec.get("kaggle", {})
    competition = kaggle.get("competition", COMPETITION)
    tmp = dest.with_name(dest.name + ".parts")
    for name in archive_names(kaggle.get("files", "sample")):
        url = f"{API}/competitions/data/download/{competition}/{name}"
        archive = fetch.download(url, dest.parent / "archives" / name, checksums, auth=auth)
        fetch.safe_extract(archive, tmp / Path(name).stem)
    os.replace(tmp, dest)
    return dest


register("dfdc", __name__)
