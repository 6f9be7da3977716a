"""The manifest: one row per clip, the contract between ingest and every later stage.

Columns: ``clip_id, path, label, video_fake, audio_fake, category, identity, identities, method,
official_split, fake_periods, split``. ``label`` is 1 for a fake clip (either modality
manipulated), -1 where the dataset withholds it (AV-Deepfake1M's test set: split ``unlabelled``);
``category`` is RVRA, RVFA, FVRA, FVFA, FAKE where a dataset does not say which modality (DFDC),
or UNLABELLED; ``identities`` lists the people a clip shows or was made from (``;``-separated);
``official_split`` is the dataset's own split where it has one; ``fake_periods`` the fake
segments in seconds (JSON, LAV-DF); ``split`` is the protocol's ``train``, ``test`` (or ``dev``).

Each source has an adapter module with ``read_metadata(root, **options) -> (clips, report)``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from avdf.contracts import atomic
from avdf.data import avdeepfake1m, defakeavmit, dfdc, fakeavceleb, lavdf, splits, table_csv

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
    "avdeepfake1m": avdeepfake1m,  # and AV-Deepfake1M++
    "csv": table_csv,  # any dataset, by a table of paths and labels
}


def adapter_options(source: str, spec: dict) -> dict:
    """What an adapter reads from its dataset's section besides the root (the CSV source: on_bad_rows)."""
    return {"on_bad_rows": spec.get("on_bad_rows", "stop")} if source == "csv" else {}


def build(
    source: str,
    root: str | Path,
    manifest_out: str | Path,
    split_out: str | Path,
    protocol: str,
    test_fraction: float,
    seed: int,
    report_out: str | Path | None = None,
    options: dict | None = None,
    val_fraction: float = 0.0,
) -> pd.DataFrame:
    """Ingest a dataset: write the manifest, the split file of ``protocol``, and a report (with the
    rows the adapter refused, when it was told to skip them: ``options``, see adapter_options)."""
    clips, report = SOURCES[source].read_metadata(root, **(options or {}))
    clips = clips.sort_values("clip_id", kind="stable").reset_index(drop=True)
    clips["split"] = splits.make(clips, protocol, test_fraction, seed, val_fraction)
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
