"""A new dataset source: ``clips.json``, a list of {"path", "category"} records (recipe test)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from avdf.data import fetch
from avdf.data.adapter import MetadataError, clip_id, labels_of, read_json, register

REQUEST = "a folder of videos with a clips.json beside them"


def read_metadata(root: str | Path) -> tuple[pd.DataFrame, dict]:
    root = Path(root)
    rows = []
    for i, record in enumerate(read_json(root / "clips.json", list, "a list of records")):
        if not (root / record["path"]).is_file():
            raise MetadataError(f"{root / 'clips.json'}: record {i}: {record['path']} does not exist")
        base = {"clip_id": clip_id(record["path"]), "path": str(root / record["path"])}
        extra = {"identity": "", "identities": "", "method": "", "official_split": "", "fake_periods": ""}
        rows.append(base | labels_of(record["category"]) | extra)
    return pd.DataFrame(rows), {"records": len(rows)}


def fetch_dataset(spec: dict, dest: Path, checksums: Path) -> Path:
    raise fetch.MissingData(f"{dest}: no download for this source; set its root ({REQUEST})")


register("json_list", __name__)
