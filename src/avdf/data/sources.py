"""Where a configured dataset's files are: a local copy, or a download into ``data/raw/<name>/``.

``locate`` is what the ``fetch`` rule runs. A ``root`` that exists is used as it is (nothing is
copied); otherwise the source's adapter downloads the dataset into ``root`` (``data/raw/<name>``
when none is set), resumable and checksummed against ``data/checksums/<name>.sha256``, and
unpacks it safely. Either way a small JSON marker records
the root, so the rest of the workflow depends on one file whatever the dataset's layout.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

from avdf.contracts import atomic
from avdf.data import fetch
from avdf.data.adapter import SOURCES, options_of

# registry: one line per adapter; importing it registers it (avdf.data.adapter.register)
# isort: off
from avdf.data import fakeavceleb  # noqa: E402, F401
from avdf.data import dfdc  # noqa: E402, F401
from avdf.data import lavdf  # noqa: E402, F401
from avdf.data import defakeavmit  # noqa: E402, F401
from avdf.data import avdeepfake1m  # noqa: E402, F401
from avdf.data import table_csv  # noqa: E402, F401
# isort: on


def adapter(source: str) -> ModuleType:
    if source not in SOURCES:
        raise KeyError(f"unknown dataset source {source!r}; known: {', '.join(SOURCES)}")
    return SOURCES[source]


def unknown_sources(params: dict) -> list[str]:
    """One line per configured dataset whose ``source`` is no registered adapter (the schema cannot
    list them: the registry lives in the data layer)."""
    return [
        f"  - key 'datasets.{name}.source': {spec['source']!r} is not one of {', '.join(SOURCES)}"
        for name, spec in params["datasets"].items()
        if spec["source"] not in SOURCES
    ]


def adapter_name(spec: dict) -> str:
    """The adapter that reads a configured dataset: its source, or for a synthetic one the format
    its family imitates (the LAV-DF stand-in writes LAV-DF's metadata.json; the others
    FakeAVCeleb's meta_data.csv)."""
    if spec["source"] != "synthetic":
        return spec["source"]
    return "lavdf" if spec["family"] == "lavdf" else "fakeavceleb"


def adapter_options(spec: dict) -> dict:
    """What the adapter of a configured dataset reads from its section besides the root."""
    return options_of(adapter(spec["source"]), spec)


def checksums_file(name: str) -> Path:
    return Path("data/checksums") / f"{name}.sha256"


def locate(name: str, spec: dict, marker: str | Path) -> Path:
    source = spec["source"]
    reader = adapter(source)
    root = Path(spec.get("root") or Path("data/raw") / name)
    if not root.exists():
        hint = f"datasets.{name}.root is {str(root)!r}, which does not exist. " if spec.get("root") else ""
        try:
            root = reader.fetch_dataset(spec, root, checksums_file(name))
        except fetch.MissingData as e:
            raise fetch.MissingData(f"dataset {name!r}: {hint}{e}") from None
    # fails now, with the file named, if the layout is wrong
    _, report = reader.read_metadata(root, **adapter_options(spec))
    atomic.write_json(marker, {"dataset": name, "source": source, "root": str(root.resolve()), **report})
    return root


def dvc_track(marker: str | Path) -> list[list[str]]:
    """Put a located dataset under DVC, so that ``dvc status`` reports when its files change:
    ``dvc add`` for a root inside the repository (its ``.dvc`` file goes to Git); for a copy
    elsewhere, which ``dvc add`` cannot take and ``dvc import-url`` would copy whole, a stage
    ``raw_<name>`` in dvc.yaml with the root as an external dependency, its hash committed to
    dvc.lock. Returns the commands run."""
    import json
    import subprocess

    info = json.loads(Path(marker).read_text())
    root, repo = Path(info["root"]), Path.cwd().resolve()
    if repo in root.parents:
        cmds = [["dvc", "add", str(root.relative_to(repo))]]
    else:
        stage = f"raw_{info['dataset']}"
        cmds = [
            [
                "dvc",
                "stage",
                "add",
                "--force",
                "-n",
                stage,
                "-d",
                str(root),
                f"echo {stage}: {root} is tracked",
            ],
            ["dvc", "commit", "--force", stage],
        ]
    for cmd in cmds:
        subprocess.run(cmd, check=True)
    return cmds
