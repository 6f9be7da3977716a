"""Where a configured dataset's files are: a local copy, or a download into ``data/raw/<name>/``.

``locate`` is what the ``fetch`` rule runs. A ``root`` that exists is used as it is (nothing is
copied); otherwise the source's adapter downloads the dataset (resumable, checksummed against
``data/checksums/<name>.sha256``) and unpacks it safely. Either way a small JSON marker records
the root, so the rest of the workflow depends on one file whatever the dataset's layout.
"""

from __future__ import annotations

from pathlib import Path

from avdf import atomic
from avdf.data import fetch
from avdf.data.manifest import SOURCES


def checksums_file(name: str) -> Path:
    return Path("data/checksums") / f"{name}.sha256"


def locate(name: str, spec: dict, marker: str | Path) -> Path:
    source = spec["source"]
    adapter = SOURCES[source]
    root = Path(spec["root"]) if spec.get("root") else None
    if root is None or not root.exists():
        if root is not None and not spec.get("url") and source in ("fakeavceleb", "defakeavmit"):
            hint = f"datasets.{name}.root is {str(root)!r}, which does not exist. "
        else:
            hint = ""
        try:
            root = adapter.fetch_dataset(spec, Path("data/raw") / name / "data", checksums_file(name))
        except fetch.MissingData as e:
            raise fetch.MissingData(f"dataset {name!r}: {hint}{e}") from None
    _, report = adapter.read_metadata(root)  # fails now, with the file named, if the layout is wrong
    atomic.write_json(marker, {"dataset": name, "source": source, "root": str(root.resolve()), **report})
    return root
