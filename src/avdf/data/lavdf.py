"""Ingest adapter for LAV-DF (Localized Audio Visual DeepFake, Cai et al. 2022).

Layout: ``{train,dev,test}/*.mp4`` and one ``metadata.json``, a list of records with the fields
``file, n_fakes, fake_periods, duration, original, modify_video, modify_audio, split,
video_frames, audio_channels, audio_frames``.

- The category comes from ``modify_video``/``modify_audio`` (both false: RVRA).
- ``fake_periods`` (a list of [start, end] in seconds) is kept as JSON in the manifest, for
  frame-level evaluation.
- ``split`` (train/dev/test) is the official split; a fake shares its identity group with its
  ``original``.

Getting it: the Hugging Face Hub (``datasets.<name>.hf_repo`` and ``hf_file``, token from
``HF_TOKEN`` if the repository is gated), any URL (``url``), or a local copy (``root``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from avdf.data import fetch
from avdf.data.adapter import MetadataError, clip_id, labels_of, read_json, register

META = "metadata.json"
HF_REPO = "ControlNet/LAV-DF"
HF_FILE = "LAV-DF.zip"
REQUEST = f"https://huggingface.co/datasets/{HF_REPO} (accept its terms on the Hub) or the authors' GitHub"
FIELDS = {"file", "fake_periods", "modify_video", "modify_audio", "split"}


def _category(video: bool, audio: bool) -> str:
    return {(False, False): "RVRA", (False, True): "RVFA", (True, False): "FVRA", (True, True): "FVFA"}[
        (video, audio)
    ]


def read_metadata(root: str | Path) -> tuple[pd.DataFrame, dict]:
    root = Path(root)
    if root.is_file():  # a file at the root (the synthetic stand-in passes its meta_data.csv)
        root = root.parent
    metas = [root / META] if (root / META).exists() else sorted(root.glob(f"*/{META}"))
    if not metas:
        raise fetch.MissingData(f"{root}: no LAV-DF {META} at the root or one folder down")
    meta = metas[0]
    records = read_json(meta, object, "JSON")
    rows, missing = [], 0
    for i, rec in enumerate(records):
        absent = FIELDS - set(rec)
        if absent:
            raise MetadataError(f"{meta}: record {i} lacks {', '.join(sorted(absent))}")
        video, audio = bool(rec["modify_video"]), bool(rec["modify_audio"])
        path = meta.parent / rec["file"]
        missing += not path.exists()
        group = rec.get("original") or rec["file"]
        rows.append(
            {
                "clip_id": clip_id(rec["file"]),
                "path": str(path),
                **labels_of(_category(video, audio)),
                "identity": Path(group).stem,
                "identities": Path(group).stem,
                "method": "lavdf" if video or audio else "real",
                "official_split": rec["split"],
                "fake_periods": json.dumps(rec["fake_periods"]),
            }
        )
    if not rows:
        raise MetadataError(f"{meta}: no clips listed")
    return pd.DataFrame(rows), {"metadata": str(meta), "rows": len(rows), "listed_but_missing": missing}


def fetch_dataset(spec: dict, dest: Path, checksums: Path) -> Path:
    url, headers = spec.get("url"), {}
    if not url:
        repo, name = spec.get("hf_repo", HF_REPO), spec.get("hf_file", HF_FILE)
        url = f"https://huggingface.co/datasets/{repo}/resolve/main/{name}"
        if os.environ.get("HF_TOKEN"):
            headers["Authorization"] = f"Bearer {os.environ['HF_TOKEN']}"
    try:
        archive = fetch.download(url, dest.parent / "archives" / Path(url).name, checksums, headers=headers)
    except fetch.MissingData as e:
        raise fetch.MissingData(
            f"{e}. LAV-DF: set HF_TOKEN if the Hub repository is gated (accept its terms at {REQUEST}), "
            "or set datasets.<name>.url, or datasets.<name>.root to a local copy."
        ) from None
    return fetch.safe_extract(archive, dest)


register("lavdf", __name__)
