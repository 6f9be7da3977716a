"""The benchmarks stay runnable: each at its smallest setting, train_throughput.py on the CPU (its
GPU numbers need a GPU), and the reference comparison's rule."""

import json
import os
import re
import subprocess
import sys

import pandas as pd
import pytest
from conftest import REPO


@pytest.mark.slow
def test_train_throughput_runs_every_method_on_cpu_and_reports_each_number():
    from avdf.contracts import methods

    run = subprocess.run(
        [sys.executable, "benchmarks/train_throughput.py", "--device", "cpu", "--scale", "tiny"]
        + ["--steps", "2", "--workers", "1", "--clips", "12", "--no-record"],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert "intra-op threads per loader worker: 1" in run.stdout
    rows = re.findall(
        r"^  (\w+) +pure step +([\d.]+) clips/s +end to end +([\d.]+) clips/s +share ([\d.]+) +"
        r"waiting for data +([\d.]+) %",
        run.stdout,
        re.M,
    )
    assert [r[0] for r in rows] == list(methods.METHODS)
    for _, pure, e2e, share, wait in rows:
        assert float(pure) > 0 and float(e2e) > 0 and 0 <= float(wait) <= 100
        # each rate is printed to 0.1 and the share to 0.01: the share must lie within what the
        # printed rates allow once their rounding is undone
        pure, e2e, share = float(pure), float(e2e), float(share)
        low, high = (e2e - 0.05) / (pure + 0.05), (e2e + 0.05) / max(pure - 0.05, 1e-9)
        assert low - 0.005 <= share <= high + 0.005, (pure, e2e, share)


@pytest.mark.slow
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
    assert run.returncode == 1 and "89 of 90 cells within their tolerance" in run.stdout
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


# Every benchmarks/*.py at its smallest setting, so that a refactor cannot leave one broken (issue 31:
# predict.py failed at import, million_rows.py at its first ingest). The four whose smallest run is a
# whole workflow (minutes to an hour) are imported and parse their arguments (--help); the rest run.
SMALLEST = {
    "budget.py": None,  # its smallest run is make run + make all: test_budget_sums_each_phases_jobs
    "drift.py": ["--help"],
    "kill_resume.py": ["--help"],
    "reproducible.py": ["--help"],
    "scale.py": ["--help"],
    "step_operators.py": ["--profile", "", "--batch", "2", "--methods", "ecapa_tdnn"],
    "depthwise.py": ["--profile", "", "--batch", "2", "--repeats", "1", "--steps", "1", "--rounds", "1"],
    "golden.py": ["--clips", "2", "--workers", "1"],
    "jpeg_decode.py": ["--batch", "2", "--frames", "2", "--side", "64", "--repeats", "1"],
    "loader.py": ["--scale", "embedded", "--epochs", "1", "--steps", "1"],
    "million_rows.py": ["--sizes", "2000", "4000"],
    "model_sizes.py": ["--out", "{tmp}/model-sizes.md"],
    "om_pareto.py": ["--scales", "embedded", "--reps", "1"],
    "predict.py": None,  # needs a checkpoint: test_predict_benchmark_scores_a_clip
    "predict_json.py": None,  # needs a checkpoint: test_predict_benchmark_scores_a_clip
    "preprocess.py": [
        "--clips",
        "1",
        "--seconds",
        "1",
        "--workers",
        "2",
        "--detector",
        "shared",
        "--chain-only",
    ],
    "record.py": None,  # the benchmarks' shared writer: every run above records through it
    "reference.py": ["docs/reference/table1.csv"],
    "synth_memory.py": ["--seconds", "0.5", "1", "--size", "160", "120", "--fps", "10"],
    "train_memory.py": ["--batches", "2", "--methods", "ecapa_tdnn"],
    "train_throughput.py": None,  # test_train_throughput_runs_every_method_on_cpu_and_reports_each_number
}


@pytest.fixture(scope="module")
def bench_dir(tmp_path_factory):
    """Where the benchmarks run here keep their numbers (CSVs and an MLflow store), out of results/:
    one folder for the module, so the store's tables are made once, not once a benchmark (3-4 s)."""
    return tmp_path_factory.mktemp("bench")


def _benchmark(name: str, args: list[str], tmp_path, bench_dir) -> subprocess.CompletedProcess:
    env = dict(os.environ, AVDF_BENCH_DIR=str(bench_dir))
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    return subprocess.run(
        [sys.executable, f"benchmarks/{name}", *args], capture_output=True, text=True, cwd=REPO, env=env
    )


def test_every_benchmark_has_a_smallest_setting():
    assert set(SMALLEST) == {p.name for p in (REPO / "benchmarks").glob("*.py")}


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(n for n, a in SMALLEST.items() if a is not None))
def test_each_benchmark_runs_at_its_smallest_setting(name, tmp_path, bench_dir):
    run = _benchmark(name, SMALLEST[name], tmp_path, bench_dir)
    assert run.returncode == 0, run.stdout[-1500:] + run.stderr[-1500:]
    assert run.stdout.strip(), "it printed its numbers"


@pytest.mark.slow
def test_predict_benchmark_scores_a_clip(workflow, tmp_path, bench_dir):
    checkpoint = next(workflow.glob("runs/*/macbdf/default/seed0/model.pt"))
    run = _benchmark(
        "predict.py", ["--checkpoint", str(checkpoint), "--seconds", "2", "--reps", "1"], tmp_path, bench_dir
    )
    assert run.returncode == 0, run.stdout[-1500:] + run.stderr[-1500:]
    assert "2 s 360p clip scored in" in run.stdout
    sizes = _benchmark(
        "predict_json.py", ["--checkpoint", str(checkpoint), "--seconds", "1", "2"], tmp_path, bench_dir
    )
    assert sizes.returncode == 0, sizes.stdout[-1500:] + sizes.stderr[-1500:]
    assert "--tracks makes the JSON" in sizes.stdout and "0 not scored" in sizes.stdout


@pytest.mark.slow
def test_the_preprocessing_benchmark_fails_over_a_rejected_clip(tmp_path, bench_dir, bad_clips):
    """A clip the chain rejects (here one without audio) fails every target, and is named."""
    args = ["--clips", "1", "--seconds", "1", "--workers", "1", "--chain-only"]
    args += ["--real", str(bad_clips["no_audio"])]
    run = _benchmark("preprocess.py", args, tmp_path, bench_dir)
    assert "REJECTED c001: demux: no audio stream" in run.stdout, run.stdout
    assert "1 of 2 clips rejected" in run.stdout
    assert "PASS" not in run.stdout


def test_the_seed_term_is_welchs_range_for_two_seed_means():
    """Worked by hand: the reference's seeds agree (s = 0), the fresh table's three spread by s = 6, so
    df = 2 (Welch-Satterthwaite) and the range is t(0.975, 2) x sqrt(36/3) = 4.3027 x 3.4641 = 14.90.
    With one fresh seed the reference's spread stands for both: t(0.975, 2) x 3 x sqrt(1/3 + 1)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("reference", REPO / "benchmarks/reference.py")
    reference = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(reference)
    ref = pd.Series({"d_seeds": 3, "d_auc": 99.0, "d_auc_std": 0.0})
    fresh = pd.Series({"d_seeds": 3, "d_auc": 95.0, "d_auc_std": 6.0})
    assert reference.seed_spread(ref, fresh, "d_auc") == pytest.approx(14.90, abs=0.01)
    ref["d_auc_std"] = 3.0
    one = pd.Series({"d_seeds": 1, "d_auc": 95.0})
    assert reference.seed_spread(ref, one, "d_auc") == pytest.approx(4.3027 * 3 * (4 / 3) ** 0.5, abs=0.01)


@pytest.mark.slow
def test_budget_sums_each_phases_jobs(tmp_path, bench_dir):
    """Two jobs written before make all started and one after: each phase's job-seconds, and the
    ratios to the budgets worked by hand (make run 900 s of 600 = 1.50 over; with make all's 600 s,
    1,500 s of 1,800 = 0.83, which holds)."""
    bench = tmp_path / "logs" / "bench"
    jobs = {
        "train/synth_dfdc/macbdf/default/seed0.tsv": (100.0, 1_000),
        "faces/synth_dfdc.0.tsv": (30.0, 1_500),
        "train/synth_lavdf/boundary/default/seed1.tsv": (300.0, 2_000),
    }
    for name, (seconds, written) in jobs.items():
        (bench / name).parent.mkdir(parents=True, exist_ok=True)
        (bench / name).write_text(f"s\th:m:s\tmax_rss\n{seconds}\t0:00:00\t1.0\n")
        os.utime(bench / name, (written, written))
    times = {"run": {"start": 100, "end": 1_000, "rc": 0}, "all": {"start": 1_800, "end": 2_400, "rc": 0}}
    (tmp_path / "budget_times.json").write_text(json.dumps(times))
    run = _benchmark("budget.py", ["--measure-only", str(tmp_path)], tmp_path, bench_dir)
    assert run.returncode == 0, run.stdout[-1500:] + run.stderr[-1500:]
    assert "make run: 15.0 min, 1.50 x its budget of 10 min (over)" in run.stdout
    assert "make run + make all: 25.0 min, 0.83 x its budget of 30 min (holds)" in run.stdout
    assert "make run: 130 job-seconds" in run.stdout and "make all: 300 job-seconds" in run.stdout
    assert "by method: boundary/default 300" in run.stdout
    assert "by dataset: synth_dfdc 130" in run.stdout
