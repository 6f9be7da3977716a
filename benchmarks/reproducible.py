"""Two runs of the embedded pipeline from clean give byte-identical tables (on CPU).

Runs the workflow twice, each time in a fresh folder holding only params.yaml (no data, caches,
runs or MLflow store), up to ``results/table1.csv`` and ``results/table2.csv``, then compares
the two runs' tables byte for byte and prints their sha256. Exit status 1 if any differ.
Usage: ``python benchmarks/reproducible.py [--cores 2] [--keep DIR]`` (about 2 x 15 min on 2 cores).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import record

from avdf.contracts.config import REPO_ROOT

TABLES = ("results/table1.csv", "results/table2.csv")


def run_from_clean(workdir: Path, cores: str) -> float:
    workdir.mkdir(parents=True)
    shutil.copy(REPO_ROOT / "params.yaml", workdir / "params.yaml")
    start = time.monotonic()
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO_ROOT / "Snakefile"), "--directory", str(workdir)]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")  # the avdf command
    subprocess.run([*cmd, "--cores", cores, "--quiet", "rules", "--", *TABLES], check=True, env=env)
    return time.monotonic() - start


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cores", default="all")
    ap.add_argument("--keep", help="keep the two run folders under this folder")
    args = ap.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="avdf-repro-"))
    seconds = [run_from_clean(root / f"run{i}", args.cores) for i in (1, 2)]
    same = True
    for table in TABLES:
        digests = [hashlib.sha256((root / f"run{i}" / table).read_bytes()).hexdigest() for i in (1, 2)]
        same &= digests[0] == digests[1]
        verdict = "identical" if digests[0] == digests[1] else "DIFFERENT"
        print(f"{table}: run 1 {digests[0][:16]}  run 2 {digests[1][:16]}  -> {verdict}")
    print(f"runs took {seconds[0]:.0f} s and {seconds[1]:.0f} s; tables byte-identical: {same}")
    record("reproducible", {"identical": int(same), "run1_s": round(seconds[0]), "run2_s": round(seconds[1])})
    if not args.keep:
        shutil.rmtree(root)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
