"""Compare a fresh ``results/table1.csv`` (``make run``, ``make all``) with the committed reference run.

``docs/reference/table1.csv`` is the embedded default's Table 1 on the seeds of record (three), as
measured, and ``docs/reference/table1.json`` the machine and package versions it was measured with.
A fresh table is either byte-identical (said so), or every avdf cell (ACC, AUC, EER, AP per dataset
and on average) must lie within that cell's tolerance (docs/drift.md, "The reference's tolerance"):
the largest of
- the reference's 95% bootstrap interval over test clips, on the side the fresh value lies;
- the seed spread: Welch's 95% range for the difference of two seed means,
  t(0.975, df) x sqrt(s_ref^2/n_ref + s_fresh^2/n_fresh), with each table's standard deviation over
  its seeds and df by Welch-Satterthwaite (another CPU rounds like another seed: docs/drift.md). A
  one-seed fresh table has no spread of its own: the reference's stands for both;
- a floor of FLOOR points (one test clip of the stand-ins' 33 is 3.03 points of ACC), so that a cell
  whose seeds all agree (a point interval, s = 0) still tolerates one clip.
The largest differences are listed either way. Exit status 1 if a cell falls outside.
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

from avdf.contracts.config import REPO_ROOT
from avdf.contracts.provenance import git_state

REFERENCE = REPO_ROOT / "docs" / "reference" / "table1.csv"
METRICS = ("acc", "acc_val", "auc", "eer", "ap")  # as avdf.learning.metrics.METRICS
FLOOR = 3.0  # points: about one test clip of 33


def cells(table: pd.DataFrame) -> list[str]:
    """The metric cells that have an interval: ``<dataset>_<metric>`` with ``_ci_lo``/``_ci_hi``."""
    return [c for c in table.columns if c.endswith(tuple(f"_{m}" for m in METRICS)) and f"{c}_ci_lo" in table]


def tolerance(ref: pd.Series, cell: str, fresh: pd.Series) -> tuple[float, str]:
    """How far the fresh table's ``cell`` may lie from the reference's, and which term sets it."""
    value = fresh[cell]
    side = ref[f"{cell}_ci_hi"] - ref[cell] if value >= ref[cell] else ref[cell] - ref[f"{cell}_ci_lo"]
    terms = {"interval": float(side), "seeds": seed_spread(ref, fresh, cell), "floor": FLOOR}
    which = max(terms, key=terms.get)
    return terms[which], which


def seed_spread(ref: pd.Series, fresh: pd.Series, cell: str) -> float:
    """Welch's 95% half-range for the difference of the two tables' seed means of ``cell``."""
    from scipy import stats

    n_ref, n_new = (int(t.get(_dataset(cell) + "_seeds", 1)) for t in (ref, fresh))
    s_ref, s_new = ref.get(f"{cell}_std"), fresh.get(f"{cell}_std")
    if n_ref < 2 or pd.isna(s_ref):
        return 0.0
    if n_new < 2 or pd.isna(s_new):  # one fresh seed has no spread of its own: the reference's stands
        return float(stats.t.ppf(0.975, n_ref - 1) * s_ref * np.sqrt(1 / n_ref + 1 / max(n_new, 1)))
    v_ref, v_new = s_ref**2 / n_ref, s_new**2 / n_new
    if v_ref + v_new == 0:
        return 0.0
    df = (v_ref + v_new) ** 2 / (v_ref**2 / (n_ref - 1) + v_new**2 / (n_new - 1))  # Welch-Satterthwaite
    return float(stats.t.ppf(0.975, df) * np.sqrt(v_ref + v_new))


def _dataset(cell: str) -> str:
    """The dataset part of ``<dataset>_<metric>`` (metrics may contain an underscore: acc_val)."""
    for metric in sorted(METRICS, key=len, reverse=True):
        if cell.endswith("_" + metric):
            return cell[: -len(metric) - 1]
    raise ValueError(cell)


def compare(fresh: pd.DataFrame, reference: pd.DataFrame) -> pd.DataFrame:
    """One row per avdf cell: the reference, the fresh value, the difference and its tolerance."""
    ref = reference[reference["source"] == "avdf"].set_index("row")
    new = fresh[fresh["source"] == "avdf"].set_index("row")
    rows = []
    for row in ref.index:
        for c in cells(ref):
            value = new.loc[row, c]
            allowed, term = tolerance(ref.loc[row], c, new.loc[row])
            difference = value - ref.loc[row, c]
            rows.append(
                {
                    "row": row,
                    "cell": c,
                    "reference": ref.loc[row, c],
                    "fresh": value,
                    "difference": round(difference, 2),
                    "tolerance": round(allowed, 2),
                    "set_by": term,
                    "inside": bool(abs(difference) <= allowed + 1e-9),
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
        f"within their tolerance (docs/drift.md); largest differences:"
    )
    print(worst.to_string(index=False))
    print(
        f"max |difference| {np.abs(result['difference']).max():.2f} points; "
        f"median tolerance {result['tolerance'].median():.2f} points"
    )
    if len(outside):
        print("outside their tolerance:")
        print(outside.to_string(index=False))
    return 1 if len(outside) else 0


if __name__ == "__main__":
    sys.exit(main())
