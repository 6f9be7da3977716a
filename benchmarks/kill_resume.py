"""Kill the workflow at five points and resume it: the tables must come out identical to an
uninterrupted run, and no stage may redo the clips it had finished.

On a small configuration (two synthetic datasets, two methods, three epochs), in two scratch
folders:

1. an uninterrupted ``snakemake results/table1.csv``;
2. the same, killed (SIGKILL to the whole process group, as a power cut would) at five points:
   during synthesis, demux, face tracking, a training run (after its first epoch), and a later
   training run; each time restarted with ``--rerun-incomplete``, then run to the end.

Checks and prints: ``table1.csv`` byte-identical in both folders; after each resume, the killed
stage reports clips reused from before the kill (preprocessing) or resumes from its last epoch
(training). Exit status 1 if a check fails.
Usage: ``python benchmarks/kill_resume.py [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
DATASETS = ["synth_defakeavmit", "synth_dfdc"]


def small_params() -> dict:
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["datasets"] = {d: params["datasets"][d] for d in DATASETS}
    params["synth"].update(identities=3, clips_per_category=8, faulty_clips=3, duration_s=1.0)
    params["input"]["window_s"] = 1.0
    params["train"].update(epochs=3, batch_size=4, methods=["aasist", "macbdf"], seeds=[0])
    params["model"].update(dim=32, depth=1)
    return params


def snakemake_cmd(work: Path, *args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(work), *args]


def snakemake(work: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    cmd = snakemake_cmd(work, "--cores", "2", "--rerun-incomplete", *extra, "results/table1.csv")
    log = open(work / "snakemake.log", "a")
    return subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def count(work: Path, pattern: str) -> int:
    return sum(1 for _ in work.glob(pattern))


POINTS = [  # (name, the moment to kill, the log that must show the resume, what it must say)
    (
        "synthesis",
        lambda w: (
            count(w, "data/raw/synthetic/synth_dfdc/**/*.mp4") >= 6
            and not (w / "data/raw/synthetic/synth_dfdc/meta_data.csv").exists()
        ),
        None,
        None,
    ),
    (
        "demux",
        lambda w: (
            count(w, "data/interim/*/demux/*.wav") >= 6 and count(w, "data/interim/*/demux/index.csv") == 0
        ),
        "logs/demux/{ds}.*.log",
        "reused from an earlier run",
    ),
    (
        "face tracks",
        lambda w: (
            count(w, "data/interim/*/faces/*.npz") >= 4 and count(w, "data/interim/*/faces/index.csv") == 0
        ),
        "logs/faces/{ds}.*.log",
        "reused from an earlier run",
    ),
    (
        "training",
        lambda w: count(w, "runs/*/*/*/*/progress.pt") >= 1,
        "logs/train/**/*.log",
        "resuming after epoch",
    ),
    (
        "later training",
        lambda w: count(w, "runs/*/*/*/*/train.json") >= 2 and count(w, "runs/*/*/*/*/progress.pt") >= 1,
        "logs/train/**/*.log",
        "resuming after epoch",
    ),
]


def resumed(work: Path, log_glob: str, says: str) -> bool:
    """Whether a log of the resumed run shows finished work taken over: a preprocessing stage
    reporting more than 0 clips reused, or a training run resuming after an epoch."""
    for ds in DATASETS:
        for log in work.glob(log_glob.format(ds=ds)):
            text = log.read_text(errors="replace")
            if says == "reused from an earlier run":
                if any(int(n) > 0 for n in re.findall(r"(\d+) reused from an earlier run", text)):
                    return True
            elif says in text:
                return True
    return False


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", help="work in this folder and keep it (default: a temporary one)")
    args = ap.parse_args()
    base = Path(args.keep or tempfile.mkdtemp(prefix="avdf-kill-"))
    whole, killed = base / "uninterrupted", base / "killed"
    for work in (whole, killed):
        work.mkdir(parents=True, exist_ok=True)
        (work / "params.yaml").write_text(yaml.safe_dump(small_params()))

    start = time.monotonic()
    if snakemake(whole).wait() != 0:
        print(f"the uninterrupted run failed; see {whole}/snakemake.log")
        return 1
    print(f"uninterrupted run: {time.monotonic() - start:.0f} s")

    ok = True
    proc = snakemake(killed)
    for name, moment, log_glob, says in POINTS:
        while not moment(killed):
            if proc.poll() is not None:
                print(f"{name}: the workflow ended before this point could be reached")
                return 1
            time.sleep(0.05)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        print(f"killed during {name}")
        subprocess.run(snakemake_cmd(killed, "--unlock"), capture_output=True)
        proc = snakemake(killed)
        if log_glob is not None:
            found = False
            deadline = time.monotonic() + 600
            while not found and time.monotonic() < deadline:
                found = resumed(killed, log_glob, says)
                if proc.poll() is not None:
                    found = resumed(killed, log_glob, says)
                    break
                time.sleep(0.2)
            print(f"    resumed {name}: {'finished work reused' if found else 'NOT REUSED'}")
            ok &= found
    if proc.wait() != 0:
        print(f"the resumed run failed; see {killed}/snakemake.log")
        return 1
    same = (whole / "results/table1.csv").read_bytes() == (killed / "results/table1.csv").read_bytes()
    print(f"results/table1.csv identical to the uninterrupted run: {same}")
    print(f"total {time.monotonic() - start:.0f} s; folders in {base}")
    return 0 if ok and same else 1


if __name__ == "__main__":
    sys.exit(main())
