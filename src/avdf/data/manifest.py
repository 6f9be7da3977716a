"""The manifest: one row per clip, the contract between ingest and every later stage.

Columns: ``clip_id, path, label, video_fake, audio_fake, category, identity, identities, method,
official_split, fake_periods, split``. ``label`` is 1 for a fake clip (either modality
manipulated), -1 where the dataset withholds it (AV-Deepfake1M's test set: split ``unlabelled``);
``category`` is RVRA, RVFA, FVRA, FVFA, FAKE where a dataset does not say which modality (DFDC),
or UNLABELLED; ``identities`` lists the people a clip shows or was made from (``;``-separated);
``official_split`` is the dataset's own split where it has one; ``fake_periods`` the fake
segments in seconds (JSON, LAV-DF); ``split`` is the protocol's ``train``, ``test`` (or ``dev``).

Each source has an adapter module (avdf.data.adapter), registered in avdf.data.sources.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from avdf.contracts import atomic
from avdf.data import sources, splits

log = logging.getLogger(__name__)
COLUMNS = [
    "clip_id",
    "path",
    "label",
    "video_fake",
    "audio_fake",
    "category",
    "identity",
    "identities",
    "method",
    "official_split",
    "fake_periods",
    "split",
]
CATEGORIES = ["RVRA", "RVFA", "FVRA", "FVFA"]


@dataclass(frozen=True)
class IngestFiles:
    """What ingest writes: the manifest, the split file and (optionally) its report."""

    manifest: str | Path
    split: str | Path
    report: str | Path | None = None


def build(
    source: str, root: str | Path, out: IngestFiles, split: dict, options: dict | None = None
) -> pd.DataFrame:
    """Ingest a dataset: write the manifest, the split file of ``split`` (params.yaml's split
    section: protocol, test_fraction, seed, val_fraction), and a report (with the rows the adapter
    refused, when it was told to skip them: ``options``, avdf.data.adapter.options_of)."""
    clips, report = sources.adapter(source).read_metadata(root, **(options or {}))
    clips = clips.sort_values("clip_id", kind="stable").reset_index(drop=True)
    protocol = split["protocol"]
    clips["split"] = splits.make(
        clips, protocol, split["test_fraction"], split["seed"], split.get("val_fraction", 0.0)
    )
    atomic.write_csv(out.split, clips[["clip_id", "category", "identities", "split"]])
    atomic.write_csv(out.manifest, clips[COLUMNS])
    report |= {
        "source": source,
        "protocol": protocol,
        "clips": len(clips),
        "split_counts": {k: int(v) for k, v in clips["split"].value_counts().items()},
    }
    log.info("ingest %s (%s): %s", root, source, report)
    if out.report is not None:
        atomic.write_json(out.report, report)
    return clips[COLUMNS]


# what each reader of the manifest needs of it (read(columns=...) loads only those)
STAGE_COLUMNS = ["clip_id", "path"]
AUDIT_COLUMNS = ["clip_id", "path", "label"]
CLIP_COLUMNS = ["clip_id", "label", "video_fake", "audio_fake", "category", "fake_periods", "split"]


def read(manifest_csv: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """The manifest, or only ``columns`` of it (at a million rows, the whole table is several
    times the memory of the two columns a preprocessing stage needs)."""
    return pd.read_csv(
        manifest_csv,
        usecols=columns,
        dtype={
            "clip_id": str,
            "path": str,
            "identity": str,
            "identities": str,
            "method": str,
            "official_split": str,
            "fake_periods": str,
        },
        keep_default_na=False,  # an identity called "NA" stays a name
    )
