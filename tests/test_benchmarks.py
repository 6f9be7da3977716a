"""benchmarks/train_throughput.py stays runnable on CPU (its GPU numbers need a GPU)."""

import re
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO


@pytest.mark.slow
def test_train_throughput_runs_on_cpu_and_reports_each_number():
    run = subprocess.run(
        [sys.executable, "benchmarks/train_throughput.py", "--device", "cpu", "--scale", "tiny"]
        + ["--steps", "2", "--workers", "1", "--clips", "12", "--no-record"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    rows = re.findall(r"OM-Pareto (on |off): +([\d.]+) clips/s .* busy +([\d.]+) %", run.stdout)
    assert [r[0].strip() for r in rows] == ["off", "on"]
    assert all(float(clips) > 0 and 0 < float(busy) <= 100 for _, clips, busy in rows)
    assert "cost of OM-Pareto" in run.stdout


def test_reference_comparison_flags_a_cell_outside_its_interval(tmp_path):
    table = pd.read_csv(REPO / "docs/reference/table1.csv")
    table.loc[table["method"] == "aasist", "synth_dfdc_acc"] += 30  # far outside its interval
    moved = table["method"] == "visual_only"  # moved to its interval's middle: still inside
    lo, hi = table.loc[moved, "synth_fakeavceleb_auc_ci_lo"], table.loc[moved, "synth_fakeavceleb_auc_ci_hi"]
    assert (hi - lo > 1).all()
    table.loc[moved, "synth_fakeavceleb_auc"] = (lo + hi) / 2
    table.to_csv(tmp_path / "t.csv", index=False)
    run = subprocess.run(
        [sys.executable, "benchmarks/reference.py", str(tmp_path / "t.csv")],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 1 and "89 of 90 cells inside" in run.stdout
    assert run.stdout.splitlines()[2].split()[:2] == [
        "AASIST",
        "synth_dfdc_acc",
    ]  # the largest difference first
    same = subprocess.run(
        [sys.executable, "benchmarks/reference.py", "docs/reference/table1.csv"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert same.returncode == 0 and "byte-identical" in same.stdout
