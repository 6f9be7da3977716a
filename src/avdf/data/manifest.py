"""The manifest: one row per clip, the contract between ingest and every later stage.

Columns: ``clip_id, path, label, video_fake, audio_fake, category, identity, method, split``.
``label`` is 1 for a fake clip (either modality manipulated), ``category`` is one of RVRA, RVFA,
FVRA, FVFA, and ``split`` is ``train`` or ``test``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from avdf import atomic
from avdf.data import fakeavceleb

COLUMNS = ["clip_id", "path", "label", "video_fake", "audio_fake", "category", "identity", "method", "split"]
CATEGORIES = ["RVRA", "RVFA", "FVRA", "FVFA"]


def paper_split(clips: pd.DataFrame, test_fraction: float, seed: int) -> pd.Series:
    """Stratified random split, as in the paper (Sec. 4.2.1: "randomized stratification (80:20)").

    Strata are the four categories, so each category keeps the 80:20 ratio. Within a category the
    test clips are spread over identities: clips are dealt identity by identity, in one random
    identity order shared by all categories (see docs/paper-notes.md, "the split"). Without this,
    a category whose test part happens to hold more of one person than another category's would
    let a detector score identity instead of manipulation. Clips are ordered by ``clip_id`` first,
    so the split does not depend on the order of the metadata file.
    """
    rng = np.random.default_rng(seed)
    identities = rng.permutation(np.array(sorted(clips["identity"].astype(str).unique()), dtype=object))
    split = pd.Series("train", index=clips.index, dtype=object)
    for category in CATEGORIES:
        members = clips[clips["category"] == category].sort_values("clip_id", kind="stable")
        groups = {who: list(rng.permutation(idx.to_numpy()))
                  for who, idx in members.groupby(members["identity"].astype(str)).groups.items()}
        dealt = []
        while any(groups.values()):
            for who in identities:
                if groups.get(who):
                    dealt.append(groups[who].pop())
        n_test = int(round(test_fraction * len(members)))
        split[dealt[:n_test]] = "test"
    return split


def build(meta_csv: str | Path, manifest_out: str | Path, split_out: str | Path, test_fraction: float,
          seed: int) -> pd.DataFrame:
    """Ingest a FakeAVCeleb-format dataset: write the manifest and the split file."""
    clips = fakeavceleb.read_metadata(meta_csv)
    clips = clips.sort_values("clip_id", kind="stable").reset_index(drop=True)
    clips["split"] = paper_split(clips, test_fraction, seed)
    atomic.write_csv(split_out, clips[["clip_id", "category", "split"]])
    atomic.write_csv(manifest_out, clips[COLUMNS])
    return clips[COLUMNS]


def read(manifest_csv: str | Path) -> pd.DataFrame:
    return pd.read_csv(manifest_csv, dtype={"clip_id": str, "path": str, "identity": str, "method": str})
