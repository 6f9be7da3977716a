"""Compare a fresh ``results/table1.csv`` (from ``make run``) with the committed reference run.

``docs/reference/table1.csv`` is the embedded default's Table 1 as measured, and
``docs/reference/table1.json`` the machine and package versions it was measured with. A fresh
table is either byte-identical (said so), or every avdf cell (ACC, AUC, EER, AP per dataset and on
average) must lie within the reference's own 95% interval for that cell; the largest differences
are listed either way. Exit status 1 if a cell falls outside.
Usage: ``python benchmarks/reference.py [results/table1.csv] [--record]`` (``--record`` makes the
given table the new reference).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from avdf.config import REPO_ROOT
from avdf.provenance import git_state

REFERENCE = REPO_ROOT / "docs" / "reference" / "table1.csv"
METRICS = ("acc", "acc_val", "auc", "eer", "ap")  # as avdf.metrics.METRICS


def cells(table: pd.DataFrame) -> list[str]:
    """The metric cells that have an interval: ``<dataset>_<metric>`` with ``_ci_lo``/``_ci_hi``."""
    return [c for c in table.columns if c.endswith(tuple(f"_{m}" for m in METRICS)) and f"{c}_ci_lo" in table]


def compare(fresh: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """One row per avdf cell: the reference, its interval, the fresh value, the difference."""
    ref = reference[reference["source"] == "avdf"].set_index("row")
    new = fresh[fresh["source"] == "avdf"].set_index("row")
    rows = []
    for row in ref.index:
        for c in cells(ref):
            lo, hi, value = ref.loc[row, f"{c}_ci_lo"], ref.loc[row, f"{c}_ci_hi"], new.loc[row, c]
            rows.append(
                {
                    "row": row,
                    "cell": c,
                    "reference": ref.loc[row, c],
                    "ci_lo": lo,
                    "ci_hi": hi,
                    "fresh": value,
                    "difference": round(value - ref.loc[row, c], 2),
                    "inside": bool(lo <= value <= hi),
                }
            )
    return pd.DataFrame(rows)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("table", nargs="?", default="results/table1.csv")
    ap.add_argument("--record", action="store_true", help="make this table the reference")
    args = ap.parse_args()
    if args.record:
        REFERENCE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(args.table, REFERENCE)
        made_in = Path(args.table).resolve().parent  # the checkout whose run made the table
        commit = subprocess.run(
            ["git", "-C", str(made_in), "rev-parse", "HEAD"], capture_output=True, text=True
        )
        info = {
            "commit": commit.stdout.strip() or git_state()[0],
            "machine": {
                "platform": platform.platform(),
                "processor": platform.processor() or platform.machine(),
                "cores": os.cpu_count(),
            },
            "versions": {
                p: metadata.version(p)
                for p in ("torch", "numpy", "scipy", "facenet-pytorch", "imageio-ffmpeg", "scikit-learn")
            },
        }
        REFERENCE.with_suffix(".json").write_text(json.dumps(info, indent=1) + "\n")
        print(f"recorded {args.table} as {REFERENCE.relative_to(REPO_ROOT)}")
        return 0
    if Path(args.table).read_bytes() == REFERENCE.read_bytes():
        print(f"{args.table} is byte-identical to the reference ({REFERENCE.relative_to(REPO_ROOT)})")
        return 0
    result = compare(pd.read_csv(args.table), pd.read_csv(REFERENCE))
    worst = result.reindex(result["difference"].abs().sort_values(ascending=False).index).head(10)
    outside = result[~result["inside"]]
    print(
        f"{args.table} differs from the reference; {len(result) - len(outside)} of {len(result)} cells "
        f"inside the reference's 95% interval; largest differences:"
    )
    print(worst.to_string(index=False))
    print(f"max |difference| {np.abs(result['difference']).max():.2f} points")
    return 1 if len(outside) else 0


if __name__ == "__main__":
    sys.exit(main())
