"""The contract of a dataset source: what an adapter module provides, and the helpers they share.

An adapter is a module under ``avdf/data/`` (``fakeavceleb.py``, ``lavdf.py``, ...) that reads a
dataset's own metadata into manifest rows and knows how to get the dataset. It registers itself
(:func:`register`, at its end) and avdf.data.sources imports it, one line per adapter: that is the
registry behind params.yaml's ``datasets.<name>.source``, the workflow's check of it and
``avdf ingest --source``.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Protocol

import pandas as pd

from avdf.contracts.errors import InputError
from avdf.contracts.named import add_once


class Adapter(Protocol):
    """What every adapter module defines."""

    REQUEST: str  # where a user asks for the dataset (its terms, a form, an EULA)

    def read_metadata(self, root: str | Path, **options) -> tuple[pd.DataFrame, dict]:
        """Manifest rows without the split (avdf.data.manifest.COLUMNS but ``split``) from the
        dataset at ``root``, and a report of what was found (duplicates, missing files, ...)."""

    def fetch_dataset(self, spec: dict, dest: Path, checksums: Path) -> Path:
        """Download the dataset of params.yaml section ``spec`` into ``dest``, resumable and checked
        against ``checksums``, and return its root (avdf.data.fetch)."""


SOURCES: dict[str, ModuleType] = {}  # params.yaml datasets.<name>.source -> its adapter module


def register(source: str, module: str) -> None:
    """Register the module named ``module`` (an adapter's ``__name__``) as the reader of ``source``."""
    add_once(SOURCES, source, sys.modules[module], "dataset source")


def options_of(adapter: ModuleType, spec: dict) -> dict:
    """What an adapter reads from its dataset's section besides the root: its ``options(spec)``,
    where it defines one (the CSV source: ``on_bad_rows``), else nothing."""
    options = getattr(adapter, "options", None)
    return options(spec) if options is not None else {}


class MetadataError(InputError):
    """A metadata file that cannot be read, with the file and line named."""


def clip_id(relative_path: str) -> str:
    """A short, filesystem-safe, stable id for a clip, from its path relative to the dataset root."""
    stem = re.sub(r"[^A-Za-z0-9]+", "_", Path(relative_path).stem).strip("_")[:40]
    return f"{stem}-{hashlib.sha1(relative_path.encode()).hexdigest()[:8]}"


def labels_of(category: str) -> dict:
    """The manifest's label columns of a category (RVRA, RVFA, FVRA, FVFA; FAKE: a fake whose
    manipulated modality is not known, flagged in both, as DFDC)."""
    return {
        "label": int(category != "RVRA"),
        "video_fake": int(category in ("FVRA", "FVFA", "FAKE")),
        "audio_fake": int(category in ("RVFA", "FVFA", "FAKE")),
        "category": category,
    }


def read_json(meta: Path, kind: type, expected: str):
    """A metadata JSON file whose top level is a ``kind`` (list or dict); MetadataError naming the
    file when it is not valid JSON or not ``expected``."""
    try:
        data = json.loads(meta.read_text())
    except json.JSONDecodeError as e:
        raise MetadataError(f"{meta}: not valid JSON ({e})") from None
    if not isinstance(data, kind):
        raise MetadataError(f"{meta}: expected {expected}")
    return data
