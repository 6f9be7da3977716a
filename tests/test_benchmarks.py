"""benchmarks/train_throughput.py stays runnable on CPU (its GPU numbers need a GPU)."""

import re
import subprocess
import sys

from conftest import REPO


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
