"""Ingest adapter for any dataset described by a CSV table (``source: csv``).

``datasets.<name>.root`` is the table itself. Columns (a header row names them, any order):

- ``path`` (required): the video, absolute or relative to the table's folder;
- ``label`` (required): ``0``/``real`` or ``1``/``fake``;
- ``video_fake``, ``audio_fake``: ``0``/``1``, which modality was manipulated (absent or empty:
  not known; a fake then has category ``FAKE``, as DFDC's);
- ``category``: ``RVRA``, ``RVFA``, ``FVRA``, ``FVFA`` or ``FAKE``, checked against the above;
- ``identity``: the person (``;`` between several); empty: the file's stem, its own group;
- ``split``: ``train``, ``test`` or ``dev``, the dataset's own split (``split.protocol: official``);
- ``fake_periods``: the fake segments in seconds, JSON ``[[start, end], ...]`` (LAV-DF's form).

Every bad row is named by its line in the file and its column, with the reason: a missing file,
an unknown label, a malformed segment list, a path listed twice, and so on. With ``on_bad_rows:
stop`` (the default) ingest fails listing them, before any later stage runs; with ``skip`` it goes
on without them and they appear in ``results/rejects.csv`` (stage ``ingest``).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from avdf.data import fetch
from avdf.data.adapter import MetadataError, clip_id, labels_of, register

REQUIRED = ("path", "label")
OPTIONAL = ("video_fake", "audio_fake", "category", "identity", "split", "fake_periods")
LABELS = {"0": 0, "real": 0, "1": 1, "fake": 1}
FLAGS = {"0": 0, "1": 1, "": None}
CATEGORIES = {"RVRA": (0, 0), "RVFA": (0, 1), "FVRA": (1, 0), "FVFA": (1, 1), "FAKE": None}
SPLITS = {"train", "test", "dev", ""}
SHOWN = 20  # bad rows listed in an error message (all of them go to the report)


class BadRow(ValueError):
    def __init__(self, column: str, reason: str):
        super().__init__(reason)
        self.column = column


def options(spec: dict) -> dict:
    """What this adapter reads from its dataset's section: what to do with bad rows."""
    return {"on_bad_rows": spec.get("on_bad_rows", "stop")}


def read_metadata(root: str | Path, on_bad_rows: str = "stop") -> tuple[pd.DataFrame, dict]:
    table = Path(root)
    rows = _read(table)
    clips, bad, seen = [], [], {}
    for line, row in rows:
        try:
            clip = _clip(table.parent, row)
            if clip["path"] in seen:
                raise BadRow("path", f"{row['path']!r} is listed already, on line {seen[clip['path']]}")
            seen[clip["path"]] = line
            clips.append(clip)
        except BadRow as e:
            bad.append({"line": line, "column": e.column, "path": row.get("path", ""), "reason": str(e)})
    if bad and on_bad_rows != "skip":
        listed = "\n".join(f"  line {b['line']}, column {b['column']}: {b['reason']}" for b in bad[:SHOWN])
        more = f"\n  ... and {len(bad) - SHOWN} more" if len(bad) > SHOWN else ""
        raise MetadataError(
            f"{table}: {len(bad)} bad row(s) of {len(rows)}:\n{listed}{more}\n"
            "Fix them, or set on_bad_rows: skip for this dataset to go on without them (they are then "
            "listed in results/rejects.csv)."
        )
    if not clips:
        raise MetadataError(f"{table}: no usable rows")
    report = {"metadata": str(table), "rows": len(rows), "bad_rows": bad}
    return pd.DataFrame(clips), report


def _read(table: Path) -> list[tuple[int, dict]]:
    """(line number in the file, row) for every data row, every value a stripped string."""
    if not table.is_file():
        raise fetch.MissingData(f"{table}: no such CSV table (datasets.<name>.root names the table itself)")
    try:
        frame = pd.read_csv(table, dtype=str, keep_default_na=False, skip_blank_lines=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as e:
        raise MetadataError(f"{table}: not a readable CSV table ({e})") from None
    frame.columns = [c.strip().lower() for c in frame.columns]
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise MetadataError(
            f"{table}: no column {', '.join(missing)} (found {', '.join(frame.columns)}; "
            f"required: {', '.join(REQUIRED)}; optional: {', '.join(OPTIONAL)})"
        )
    frame = frame.apply(lambda col: col.str.strip())
    rows = [(i + 2, row) for i, row in enumerate(frame.to_dict("records"))]  # line 1 is the header
    return [(line, row) for line, row in rows if any(row.values())]


def _clip(base: Path, row: dict) -> dict:
    path = _path(base, row["path"])
    label = _choice(row, "label", LABELS)
    video, audio = _choice(row, "video_fake", FLAGS), _choice(row, "audio_fake", FLAGS)
    category = _category(row.get("category", "").upper(), label, video, audio)
    periods = _periods(row.get("fake_periods", ""), label)
    split = row.get("split", "").lower()
    if split not in SPLITS:
        raise BadRow("split", f"unknown split {row['split']!r} (train, test, dev, or empty)")
    who = row.get("identity") or path.stem
    return {
        "clip_id": clip_id(str(path)),
        "path": str(path),
        **labels_of(category),
        "identity": who.split(";")[0].strip(),
        "identities": ";".join(p.strip() for p in who.split(";") if p.strip()),
        "method": "csv" if label else "real",
        "official_split": split,
        "fake_periods": json.dumps(periods) if periods else "",
    }


def _path(base: Path, value: str) -> Path:
    if not value:
        raise BadRow("path", "empty")
    path = Path(value) if Path(value).is_absolute() else base / value
    if not path.is_file():
        raise BadRow("path", f"no such file: {path}")
    return path.resolve()


def _choice(row: dict, column: str, allowed: dict):
    value = row.get(column, "")
    if value.lower() not in allowed:
        shown = ", ".join(repr(k) for k in allowed if k)
        raise BadRow(
            column, f"unknown {column} {value!r} (one of {shown}{', or empty' if '' in allowed else ''})"
        )
    return allowed[value.lower()]


def _category(given: str, label: int, video: int | None, audio: int | None) -> str:
    """The category that the label, the modality flags and the category column agree on."""
    if given and given not in CATEGORIES:
        raise BadRow("category", f"unknown category {given!r} (one of {', '.join(CATEGORIES)}, or empty)")
    if (video is None) != (audio is None):
        raise BadRow("video_fake" if video is None else "audio_fake", "give both modality flags or neither")
    if video is not None and int(bool(video or audio)) != label:
        raise BadRow("label", f"label {label} contradicts video_fake={video}, audio_fake={audio}")
    if label == 0:
        allowed = {"RVRA"}
    elif video is not None:
        allowed = {next(c for c, flags in CATEGORIES.items() if flags == (video, audio))}
    else:
        allowed = set(CATEGORIES) - {"RVRA"}
    if given and given not in allowed:
        raise BadRow(
            "category",
            f"category {given} contradicts label {label}"
            + (f", video_fake={video}, audio_fake={audio}" if video is not None else ""),
        )
    return given or (allowed.pop() if len(allowed) == 1 else "FAKE")


def _periods(value: str, label: int) -> list:
    if not value:
        return []
    try:
        periods = json.loads(value)
    except json.JSONDecodeError:
        raise BadRow("fake_periods", f"not a JSON list of [start, end] pairs: {value!r}") from None
    ok = isinstance(periods, list) and all(
        isinstance(p, list)
        and len(p) == 2
        and all(isinstance(t, int | float) for t in p)
        and 0 <= p[0] < p[1]
        for p in periods
    )
    if not ok:
        raise BadRow(
            "fake_periods", f"want [[start, end], ...] with 0 <= start < end in seconds, got {value!r}"
        )
    if periods and label == 0:
        raise BadRow("fake_periods", "a real clip (label 0) with fake segments")
    return periods


def fetch_dataset(spec: dict, dest: Path, checksums: Path) -> Path:
    raise fetch.MissingData(
        "a CSV dataset is read where it is: set datasets.<name>.root to the CSV table (paths in it are "
        "relative to its folder)"
    )


register("csv", __name__)  # any dataset, by a table of paths and labels
