"""Ingest adapter for DefakeAVMiT (from the AVoiD-DF paper, Yang et al. 2023).

The dataset is not public: avdf reads a local copy only. Its layout is four category folders
under the root, one per class. The paper writes the classes V_R A_R, V_F A_R, V_R A_F and V_F A_F
(video real/fake, audio real/fake); copies in circulation also use FakeAVCeleb's RVRA-style codes or
RealVideo-RealAudio-style words. A folder is recognised when its name, in any case and with spaces,
``_``, ``-`` and ``.`` removed (and Unicode subscripts folded to letters), is one of a category's
spellings (:data:`SPELLINGS`): ``V_R A_R``, ``VRAR``, ``VR-AR``, ``V_RA_R``, ``RVRA``,
``RealVideo-RealAudio`` and so on. Other folders at the root are ignored; four categories must be
found, one folder each, or ingest stops listing the folders it found and the names it accepts.
Every video below a category folder (any depth) is one clip.

Identities are not published. A clip's identity group is the first folder below its category
folder when there is one (a per-person folder), else the part of its file name before the first
``_`` or ``-``; the identity-disjoint split is only as good as that guess (docs/paper-notes.md).
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

import pandas as pd

from avdf.data import fetch
from avdf.data.adapter import clip_id, labels_of, register

REQUEST = "the AVoiD-DF authors (Yang et al., IEEE TIFS 2023); the dataset is not publicly released"
VIDEO = {".mp4", ".avi", ".mov", ".mkv", ".webm"}
# category -> its spellings once normalised (see normalise): paper notation, FakeAVCeleb codes, words
SPELLINGS = {
    "RVRA": ("vrar", "rvra", "realvideorealaudio"),
    "RVFA": ("vraf", "rvfa", "realvideofakeaudio"),
    "FVRA": ("vfar", "fvra", "fakevideorealaudio"),
    "FVFA": ("vfaf", "fvfa", "fakevideofakeaudio"),
}
ACCEPTED = (
    "V_R A_R, V_F A_R, V_R A_F, V_F A_F (also as VRAR, VR-AR, V_RA_R ...), RVRA, RVFA, FVRA, FVFA, "
    "or RealVideo-RealAudio, RealVideo-FakeAudio, FakeVideo-RealAudio, FakeVideo-FakeAudio"
)


def normalise(folder: str) -> str:
    """A folder name without case, separators or subscripts: "V_R A_F" and "vr-af" -> "vraf"."""
    return re.sub(r"[\s_.\-]+", "", unicodedata.normalize("NFKC", folder).lower())


def category_of(folder: str) -> str | None:
    name = normalise(folder)
    return next((cat for cat, names in SPELLINGS.items() if name in names), None)


def _category_folders(root: Path) -> dict[Path, str]:
    """Each category's folder under ``root``; MissingData naming what was found when not exactly one each."""
    found = sorted(d for d in root.iterdir() if d.is_dir())
    folders = {d: category_of(d.name) for d in found}
    folders = {d: c for d, c in folders.items() if c is not None}
    if sorted(folders.values()) != sorted(SPELLINGS):
        counts = {c: [d.name for d, k in folders.items() if k == c] for c in SPELLINGS}
        problem = "; ".join(
            f"{c}: {'none' if not names else 'several (' + ', '.join(names) + ')'}"
            for c, names in counts.items()
            if len(names) != 1
        )
        raise fetch.MissingData(
            f"{root}: expected four category folders, one per class ({problem}). "
            f"Folders found: {[d.name for d in found] or 'none'}. Names accepted, in any case: {ACCEPTED}"
        )
    return folders


def read_metadata(root: str | Path) -> tuple[pd.DataFrame, dict]:
    root = Path(root)
    if not root.is_dir():
        raise fetch.MissingData(f"{root}: not a folder")
    folders = _category_folders(root)
    rows = []
    for folder, category in folders.items():
        for path in sorted(p for p in folder.rglob("*") if p.suffix.lower() in VIDEO and p.is_file()):
            below = path.relative_to(folder).parts
            who = below[0] if len(below) > 1 else re.split(r"[_-]", path.stem)[0]
            rows.append(
                {
                    "clip_id": clip_id(str(path.relative_to(root))),
                    "path": str(path),
                    **labels_of(category),
                    "identity": who,
                    "identities": who,
                    "method": "defakeavmit" if category != "RVRA" else "real",
                    "official_split": "",
                    "fake_periods": "",
                }
            )
    if not rows:
        raise fetch.MissingData(f"{root}: the category folders hold no videos")
    return pd.DataFrame(rows), {"metadata": str(root), "rows": len(rows)}


def fetch_dataset(spec: dict, dest: Path, checksums: Path) -> Path:
    raise fetch.MissingData(
        "DefakeAVMiT is not publicly released, so avdf cannot download it. Set datasets.<name>.root to a "
        f"local copy (four category folders). Request it from {REQUEST}."
    )


register("defakeavmit", __name__)
