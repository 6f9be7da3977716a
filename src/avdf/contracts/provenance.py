"""What a run was made from, for MLflow: the code (git commit), the data (DVC hashes and the
hashes of the files the job read), the environment (package versions) and the exact parameters.

:func:`tags` gives short values to filter and compare on in the MLflow UI; :func:`files` gives
the whole record as text artifacts (``params.json``, ``environment.txt``, ``dvc.lock``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

import yaml

from avdf.contracts.config import REPO_ROOT

KEY_PACKAGES = (
    "torch",
    "torchvision",
    "torchaudio",
    "facenet-pytorch",
    "numpy",
    "mlflow",
    "snakemake",
    "dvc",
)


@functools.cache
def git_state() -> tuple[str, bool]:
    """The commit of avdf's source tree, and whether it has uncommitted changes ("unknown" outside git)."""

    def git(*args: str) -> str:
        return subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=True
        ).stdout.strip()

    try:
        return git("rev-parse", "HEAD"), bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.CalledProcessError):
        return "unknown", False


@functools.cache
def packages() -> dict[str, str]:
    """Every installed distribution: lower-case name -> version."""
    found = {(d.metadata["Name"] or "").lower(): d.version for d in metadata.distributions()}
    return {n: v for n, v in sorted(found.items()) if n}


def environment() -> str:
    """Every installed distribution, ``name==version`` per line, sorted (as pip freeze)."""
    lines = [f"# python {platform.python_version()}"] + [f"{n}=={v}" for n, v in packages().items()]
    return "\n".join(lines) + "\n"


def dvc_hashes(lock: str | Path = "dvc.lock") -> dict[str, str]:
    """``{<stage>.<output path>: md5}`` of every output in ``dvc.lock`` (empty when there is none)."""
    path = Path(lock)
    if not path.exists():
        return {}
    stages = (yaml.safe_load(path.read_text()) or {}).get("stages", {})
    return {
        f"{stage}.{out['path']}": out.get("md5", "")
        for stage, spec in stages.items()
        for out in spec.get("outs", [])
    }


def file_hash(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def tags(data_files: list[str] = ()) -> dict[str, str]:
    commit, dirty = git_state()
    out = {"mlflow.source.git.commit": commit, "git_dirty": str(dirty).lower()}
    out |= {f"version.{p}": packages().get(p, "absent") for p in KEY_PACKAGES}
    out["version.python"] = platform.python_version()
    import torch  # the build too: 2.9.1+cu128 and 2.9.1+cpu are different binaries

    out["version.torch_build"] = torch.__version__
    out |= {f"dvc.{k}": v for k, v in dvc_hashes().items()}
    out |= {f"data.{f}": file_hash(f) for f in data_files if Path(f).exists()}
    return out


def place() -> dict[str, str]:
    """Where the job ran: the host, and on a SLURM cluster the job's id (an attempt's, so a retried
    job's run names its last attempt)."""
    out = {"host": platform.node()}
    if os.environ.get("SLURM_JOB_ID"):
        out["slurm_job_id"] = os.environ["SLURM_JOB_ID"]
    return out


def files(config: dict) -> dict[str, str]:
    """Artifact name -> text: the exact parameters, the installed packages, and dvc.lock."""
    out = {"params.json": json.dumps(config, indent=1, sort_keys=True), "environment.txt": environment()}
    if Path("dvc.lock").exists():
        out["dvc.lock"] = Path("dvc.lock").read_text()
    return out
