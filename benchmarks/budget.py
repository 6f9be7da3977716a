"""Whether the embedded default's time budgets hold (issue 17; issue 33, item 3): ``make run`` in
at most 10 minutes with the environment present, and ``make run`` then ``make all`` in at most 30.

Clones this repository's HEAD into a fresh folder (``--keep DIR``, else a temporary one; the shared
environment keyed by the lock is reused, as a new user's second clone would), runs ``make run`` and
then ``make all`` there, and times each. It then reads what every job recorded (Snakemake's
benchmark files in ``logs/bench/``) and sums the jobs' wall seconds per phase by stage, by trained
method and by dataset: a job belongs to ``make run`` when its file was written before ``make all``
started. Job-seconds add up over the jobs that ran side by side, so on N cores a phase's wall time
is at least its job-seconds / N; what is left is the scheduler, the tables and the report.
It prints each phase's wall time and its ratio to the budget (above 1.0: over).
``--measure-only DIR`` reads a folder kept from an earlier run (its ``budget_times.json``).
Usage: ``python benchmarks/budget.py [--keep DIR] [--measure-only DIR]``.
"""

from __future__ import annotations

import argparse
import collections
import csv
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import record

BUDGETS = {"run": 600.0, "run_and_all": 1800.0}
PHASES = ("run", "all")


def run_phases(work: Path) -> dict:
    """``make run`` then ``make all`` in ``work``, each timed; the times kept in budget_times.json."""
    repo = Path(__file__).resolve().parents[1]
    subprocess.run(["git", "clone", "-q", str(repo), str(work)], check=True)
    times = {}
    for phase in PHASES:
        start = time.time()
        with open(work / f"make_{phase}.log", "w") as log:
            rc = subprocess.run(["make", phase], cwd=work, stdout=log, stderr=subprocess.STDOUT).returncode
        times[phase] = {"start": start, "end": time.time(), "rc": rc}
        (work / "budget_times.json").write_text(json.dumps(times, indent=1))
        if rc:
            sys.exit(f"make {phase} failed (rc {rc}): see {work / f'make_{phase}.log'}")
    return times


def job(path: Path, bench: Path) -> dict:
    """One job's record: its stage, method (training only) and dataset from the file's path under
    logs/bench/ (``train/<dataset>/<method>/<variant>/seed<k>.tsv``, ``<stage>/<dataset>[.<part>].tsv``)."""
    parts = path.relative_to(bench).parts
    row = next(csv.DictReader(path.open(), delimiter="\t"))
    dataset = parts[1] if len(parts) > 2 else parts[-1].removesuffix(".tsv").split(".")[0]
    method = f"{parts[2]}/{parts[3]}" if parts[0] == "train" else ""
    seconds, written = float(row["s"]), path.stat().st_mtime
    return {"stage": parts[0], "dataset": dataset, "method": method, "s": seconds, "written": written}


def job_seconds(work: Path, times: dict) -> dict[str, dict[str, collections.Counter]]:
    """Per phase: job-seconds by stage, by trained method/variant and by dataset."""
    bench = work / "logs" / "bench"
    sums = {p: {k: collections.Counter() for k in ("stage", "method", "dataset")} for p in PHASES}
    for path in sorted(bench.rglob("*.tsv")):
        j = job(path, bench)
        phase = "run" if j["written"] < times["all"]["start"] else "all"
        for key in ("stage", "method", "dataset"):
            if j[key]:
                sums[phase][key][j[key]] += j["s"]
    return sums


def report(times: dict, sums: dict) -> dict:
    wall = {p: times[p]["end"] - times[p]["start"] for p in PHASES}
    checks = {"run": wall["run"], "run_and_all": wall["run"] + wall["all"]}
    result = {f"{p}_wall_s": round(w, 1) for p, w in wall.items()}
    for name, seconds in checks.items():
        ratio = seconds / BUDGETS[name]
        verdict = "holds" if ratio <= 1 else "over"
        label, budget = "make " + name.replace("_and_", " + make "), BUDGETS[name] / 60
        print(f"{label}: {seconds / 60:.1f} min, {ratio:.2f} x its budget of {budget:.0f} min ({verdict})")
        result[f"{name}_ratio"] = round(ratio, 3)
    for phase in PHASES:
        total = sum(sums[phase]["stage"].values())
        print(f"make {phase}: {total:,.0f} job-seconds in {wall[phase]:,.0f} s of wall time")
        result[f"{phase}_job_s"] = round(total)
        for key in ("stage", "method", "dataset"):
            shares = ", ".join(f"{k} {v:,.0f}" for k, v in sums[phase][key].most_common())
            print(f"    by {key}: {shares or '-'}")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, help="clone into this (new) folder and keep it")
    ap.add_argument("--measure-only", type=Path, help="read a kept folder; run nothing")
    args = ap.parse_args()
    if args.measure_only:
        work = args.measure_only
        times = json.loads((work / "budget_times.json").read_text())
    else:
        work = args.keep or Path(tempfile.mkdtemp(prefix="avdf-budget-")) / "clone"
        times = run_phases(work)
    record("budget", report(times, job_seconds(work, times)))


if __name__ == "__main__":
    main()
