"""The manifest: one row per clip, the contract between ingest and every later stage.

Columns: ``clip_id, path, label, video_fake, audio_fake, category, identity, identities, method,
official_split, fake_periods, split``. ``label`` is 1 for a fake clip (either modality
manipulated); ``category`` is RVRA, RVFA, FVRA, FVFA, or FAKE where a dataset does not say which
modality (DFDC); ``identities`` lists the people a clip shows or was made from (``;``-separated);
``official_split`` is the dataset's own split where it has one; ``fake_periods`` the fake
segments in seconds (JSON, LAV-DF); ``split`` is the protocol's ``train``, ``test`` (or ``dev``).

Each source has an adapter module with ``read_metadata(root) -> (clips, report)``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from avdf import atomic
from avdf.data import defakeavmit, dfdc, fakeavceleb, lavdf, splits

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
SOURCES = {  # params.yaml: datasets.<name>.source -> its adapter
    "synthetic": fakeavceleb,  # the generator writes FakeAVCeleb's meta_data.csv
    "fakeavceleb": fakeavceleb,
    "dfdc": dfdc,
    "lavdf": lavdf,
    "defakeavmit": defakeavmit,
}


def build(
    source: str,
    root: str | Path,
    manifest_out: str | Path,
    split_out: str | Path,
    protocol: str,
    test_fraction: float,
    seed: int,
    report_out: str | Path | None = None,
) -> pd.DataFrame:
    """Ingest a dataset: write the manifest, the split file of ``protocol``, and a report."""
    clips, report = SOURCES[source].read_metadata(root)
    clips = clips.sort_values("clip_id", kind="stable").reset_index(drop=True)
    clips["split"] = splits.make(clips, protocol, test_fraction, seed)
    atomic.write_csv(split_out, clips[["clip_id", "category", "identities", "split"]])
    atomic.write_csv(manifest_out, clips[COLUMNS])
    report |= {
        "source": source,
        "protocol": protocol,
        "clips": len(clips),
        "split_counts": {k: int(v) for k, v in clips["split"].value_counts().items()},
    }
    log.info("ingest %s (%s): %s", root, source, report)
    if report_out is not None:
        atomic.write_json(report_out, report)
    return clips[COLUMNS]


def read(manifest_csv: str | Path) -> pd.DataFrame:
    return pd.read_csv(
        manifest_csv,
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
