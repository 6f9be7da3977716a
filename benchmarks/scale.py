"""How cost grows with the dataset, and what the real datasets would cost (issue 15, item 5).

Runs the scale rehearsal (workflow/profiles/rehearsal: the paper profile's settings on real-shaped
synthetic clips, one seed, one epoch) to Table 1 at two or more sizes ``--sizes``, each in a fresh
folder, and reads what every job recorded (Snakemake's benchmark files in ``logs/bench/``: wall
and CPU seconds, peak RSS; ``train.json``: fit, validation and test-scoring seconds). Per stage and
size it writes ``scale_measured.csv``: video-seconds per core-second (training: core-seconds per
clip and epoch), bytes written per video-minute, the largest job's peak RSS, and the ratio of each
between the largest and the smallest size (how cost grows: 1.0 is linear in the data).

It then projects, from the largest size's rates, ``scale_projection.csv``: for FakeAVCeleb, DFDC
(full training set), LAV-DF, DefakeAVMiT and AV-Deepfake1M (clip counts and durations below, each
with its source), the disk and the wall-clock of Table 1 at the paper profile (50 epochs, 5 seeds,
6 methods) on this 2-core machine, on one 16-core node with one GPU, and on 32 such nodes through
workflow/profiles/slurm; and which stage bounds each total. GPU training throughput is not
measured here: it is derived from the FLOPs of one MACB-DF training step at the paper's sizes
(counted here with torch.utils.flop_counter) and an assumed GPU (``--gpu-tflops``, ``--gpu-mfu``);
the CSV marks it. A figure (``scale.png``) shows both. Everything is written to ``--out``
(default results/scale/; docs/scale/ holds a committed run). Numbers are synthetic-data
rehearsal numbers: they say what the pipeline costs, not how well anything detects.

``scale_jobs.csv`` holds every job's peak RSS at the smallest and the largest size side by side
(item 4: within 20%, and under 6 GB). ``--measure-only`` reads kept folders without running
anything, for a rehearsal resumed across sessions.

Usage: ``python benchmarks/scale.py --sizes 250 1000 [--out results/scale] [--keep DIR [--measure-only]]``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from avdf.contracts import atomic
from avdf.contracts.config import REPO_ROOT, profile_params
from avdf.media import ffmpeg

STAGES = {  # rule (logs/bench/<rule>/) -> stage, and the folders whose bytes it writes
    "synth": ("synthesis (stands in for download)", ["data/raw/synthetic"]),
    "ingest": ("ingest", ["data/manifests", "data/splits"]),
    "demux": ("demux", ["data/interim/*/demux"]),
    "faces": ("face tracks", ["data/interim/*/faces"]),
    "face_crops": ("face crops", ["data/cache/*/face_crops"]),
    "log_mel": ("log-Mel", ["data/cache/*/log_mel"]),
    "train": ("training (1 epoch) + scoring", ["runs"]),
}
UNSAMPLED = "ended within 1 s: Snakemake's first memory sample may miss it"
RSS_LIMIT_MB = 6000.0  # issue 15, item 4: every job <= 6 GB on this machine
PAPER_RUNS = {"epochs": 50, "seeds": 5, "methods": 6}  # Table 1 at the paper profile
# (clips, mean seconds per clip, source of each). Durations no source gives are marked assumed.
DATASETS = {
    "FakeAVCeleb": (
        21566,
        7.8,
        "clips: v1.2 meta_data.csv counts (500/500/9,709/10,857); "
        "seconds: VoxCeleb2's mean utterance length (Chung et al. 2018), its source, assumed",
    ),
    "DFDC (train)": (
        119154,
        10.0,
        "Dolhansky et al. 2020 (arXiv 2006.07397): 119,154 training clips of about 10 s",
    ),
    "LAV-DF": (
        136304,
        8.6,
        "clips: Cai et al. 2022 and MACB-DF Sec. 4.1; seconds: assumed (metadata.json "
        "has each clip's duration: set it from there)",
    ),
    "DefakeAVMiT": (6480, 8.0, "clips: MACB-DF Sec. 4.1; seconds: assumed (not public)"),
    "AV-Deepfake1M": (
        1146760,
        9.0,
        "clips: the official metadata (train + val + test, README 'AV-Deepfake1M'); seconds: assumed",
    ),
}
MACHINES = {
    "this machine (2 cores)": (2, 0, 1),
    "1 node (16 cores, 1 GPU)": (16, 1, 1),
    "SLURM, 32 nodes (16 cores, 1 GPU each)": (16, 1, 32),
}


def run_rehearsal(folder: Path, n: int, shares: list[int] | None) -> float:
    """The rehearsal at ``n`` clips in ``folder`` (its own params.yaml; ``shares``: other category
    shares than FakeAVCeleb's); the wall seconds it took."""
    params = profile_params("rehearsal")
    params["synth"]["real_shape"]["clips"] = n
    if shares:
        params["synth"]["real_shape"]["category_share"] = shares
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    cmd = [
        sys.executable,
        "-m",
        "snakemake",
        "-s",
        str(REPO_ROOT / "Snakefile"),
        "--directory",
        str(folder),
        "--cores",
        "2",
        "--keep-going",
        "results/table1.csv",
        "results/rejects.csv",  # the clips set aside, with their reasons
    ]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}")
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    (folder / "snakemake.log").write_text(done.stdout + done.stderr)
    print(
        f"  N = {n}: {'finished' if done.returncode == 0 else 'FAILED (see snakemake.log)'} "
        f"in {time.perf_counter() - start:.0f} s"
    )
    return time.perf_counter() - start


def job_records(folder: Path) -> pd.DataFrame:
    """One row per job: rule, job (its benchmark file's name, e.g. ``train/d/macbdf/default/seed0``),
    wall s, CPU s, peak RSS (MB), from Snakemake's benchmark files."""
    rows = []
    for tsv in sorted((folder / "logs/bench").glob("*/**/*.tsv")):
        job = tsv.relative_to(folder / "logs/bench").with_suffix("")
        row = pd.read_csv(tsv, sep="\t").iloc[-1]
        rows.append(
            {
                "rule": job.parts[0],
                "job": job.as_posix(),
                "wall_s": row["s"],
                "cpu_s": row["cpu_time"],
                "rss_mb": row["max_rss"],
            }
        )
    return pd.DataFrame(rows)


def job_peaks(folders: dict[int, Path], limit_mb: float = RSS_LIMIT_MB) -> pd.DataFrame:
    """Item 4, job by job: each job's peak RSS at the smallest and the largest size, their ratio,
    and whether it stays within 20% and under ``limit_mb`` at both (a job run at one size only is
    listed, with no ratio: not within 20%)."""
    small, large = min(folders), max(folders)
    a, b = (job_records(folders[n]).set_index("job") for n in (small, large))
    both = pd.DataFrame({f"rss_mb_N{small}": a["rss_mb"], f"rss_mb_N{large}": b["rss_mb"]}).reset_index()
    shortest = pd.concat([a["wall_s"], b["wall_s"]], axis=1).min(axis=1)  # a job's shorter run
    both["note"] = (both["job"].map(shortest) < 1.0).map({True: UNSAMPLED, False: ""})
    both["ratio"] = (both[f"rss_mb_N{large}"] / both[f"rss_mb_N{small}"]).round(3)
    both["within_20pct"] = (both["ratio"] - 1).abs() <= 0.2
    both[f"under_{limit_mb:g}_mb"] = both[[f"rss_mb_N{small}", f"rss_mb_N{large}"]].max(axis=1) <= limit_mb
    return both


def folder_bytes(folder: Path, patterns: list[str]) -> int:
    return sum(
        f.stat().st_size for p in patterns for d in folder.glob(p) for f in d.rglob("*") if f.is_file()
    )


def video_seconds(folder: Path) -> tuple[float, int, float]:
    """Total seconds of the clips ingested, their number, and the seconds each run scores (its
    test split, and the validation part of its training split: val_fraction)."""
    total, scored, n = 0.0, 0.0, 0
    val = profile_params("rehearsal")["split"]["val_fraction"]
    for manifest in folder.glob("data/manifests/*.csv"):
        clips = pd.read_csv(manifest)
        for path, split in zip(clips["path"], clips["split"], strict=True):
            try:
                seconds = ffmpeg.probe(folder / path).duration_s or 0.0
            except ffmpeg.MediaError:  # the generator's deliberately broken clips: rejected, no seconds
                seconds = 0.0
            total, n = total + seconds, n + 1
            scored += seconds if split == "test" else seconds * val
    return total, n, scored


def train_counts(folder: Path) -> tuple[int, int, dict]:
    """Training clips times epochs over all runs, the number of runs, and their seconds summed."""
    clip_epochs, runs, seconds = 0, 0, {}
    for summary in folder.glob("runs/**/train.json"):
        s = json.loads(summary.read_text())
        clip_epochs, runs = clip_epochs + s["n_train"] * s["epochs"], runs + 1
        in_fit = sum(s["history"].get("test_scoring_seconds", []))
        parts = {
            "epoch": s["seconds"]["fit"] - in_fit,
            "scoring": in_fit + s["seconds"]["validation"] + s["seconds"].get("test_scoring", 0.0),
        }
        seconds = {k: seconds.get(k, 0.0) + v for k, v in parts.items()}
    return clip_epochs, runs, seconds


def job_threads(rule: str) -> int:
    """The cores a job of ``rule`` holds in the rehearsal (its rule's ``threads`` on 2 cores)."""
    train = profile_params("rehearsal")["train"]
    return {"synth": 2, "train": train["threads"] * train["processes"]}.get(rule, 1)


def processed_share(folder: Path, rule: str, clips: int) -> float:
    """The share of the clips a stage's last run processed itself: a run resumed after a kill
    reuses what the killed one finished, and its seconds cover only the rest. From the jobs' logs
    (avdf.contracts.stage_runner's "n ok, n rejected, n reused"; synthesis's "made/to make clips"); by clip
    count, so approximate where clips' lengths differ. 1.0 where a log says nothing."""
    made, reused = 0, 0
    for log in (folder / "logs" / rule).glob("*.log"):
        text = log.read_text(errors="replace")
        if found := re.findall(r"(\d+) ok, (\d+) rejected, (\d+) reused", text):
            ok, bad, old = map(int, found[-1])
            made, reused = made + ok + bad - old, reused + old
        elif rule == "synth" and (found := re.findall(r": (\d+)/(\d+) clips,", text)):
            made += int(found[-1][1])
            reused += max(clips - int(found[-1][1]), 0)
    return round(made / (made + reused), 4) if made + reused else 1.0


def measure(folder: Path, n: int) -> list[dict]:
    """Per stage at this size: its rate, bytes per video-minute and peak RSS. Core-seconds are each
    job's wall seconds times the cores it holds: what it costs a scheduler. (Snakemake's sampled
    ``cpu_time`` misses short-lived ffmpeg children between samples; it is kept as ``cpu_s_sampled``.)"""
    jobs, (video_s, clips, scored_s) = job_records(folder), video_seconds(folder)
    clip_epochs, runs, train_s = train_counts(folder)
    rows = []
    for rule, (stage, dirs) in STAGES.items():
        mine = jobs[jobs["rule"] == rule]
        if mine.empty:
            continue
        row = {
            "N": n,
            "clips": clips,
            "video_s": round(video_s, 1),
            "stage": stage,
            "jobs": len(mine),
            "core_s": round(mine["wall_s"].sum() * job_threads(rule), 1),
            "cpu_s_sampled": round(mine["cpu_s"].sum(), 1),
            "wall_s": round(mine["wall_s"].sum(), 1),
            "peak_rss_mb": round(mine["rss_mb"].max(), 1),
            "mb_per_video_min": round(folder_bytes(folder, dirs) / 1e6 / (video_s / 60), 3),
        }
        row["share_processed"] = processed_share(folder, rule, clips)
        row["video_s_per_core_s"] = round(video_s * row["share_processed"] / max(row["core_s"], 1e-9), 3)
        if rule == "train":  # split by what train.json timed: the epoch, and the scoring after it
            share = row["core_s"] / max(sum(train_s.values()), 1e-9)
            row["core_s_per_clip_epoch"] = round(train_s.get("epoch", 0) * share / max(clip_epochs, 1), 4)
            row["core_s_per_scored_s"] = round(
                train_s.get("scoring", 0) * share / max(scored_s * runs, 1e-9), 4
            )
            row["video_s_per_core_s"] = None
        rows.append(row)
    return rows


def growth(measured: pd.DataFrame) -> pd.DataFrame:
    """Each stage's cost per unit and peak RSS at the largest size over the smallest."""
    small, large = measured["N"].min(), measured["N"].max()
    out = []
    for stage, rows in measured.groupby("stage", sort=False):
        a, b = rows[rows["N"] == small].iloc[0], rows[rows["N"] == large].iloc[0]
        unit = "core_s_per_clip_epoch" if pd.notna(b.get("core_s_per_clip_epoch")) else "video_s_per_core_s"
        cost = (a[unit] / b[unit]) if unit == "video_s_per_core_s" else (b[unit] / a[unit])
        out.append(
            {
                "stage": stage,
                f"cost_per_unit_N{large}_over_N{small}": round(cost, 3),
                f"peak_rss_N{large}_over_N{small}": round(b["peak_rss_mb"] / a["peak_rss_mb"], 3),
            }
        )
    return pd.DataFrame(out)


def flops_per_clip() -> float:
    """FLOPs of one MACB-DF training step per clip at the paper profile's sizes (counted, CPU)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from avdf.contracts.specs import InputSpec, ModelSpec, Run, TrainSpec
    from avdf.learning import models
    from avdf.learning.train import make_optimizer, make_step

    params, batch = profile_params("paper"), 2
    spec = InputSpec.of(params)
    model = models.build("macbdf", spec.n_mels, ModelSpec.of(params), params["macbdf"])
    step, trainable = make_step(
        TrainSpec.of(params, Run("bench", "macbdf", "default", 0), "bench", False), model
    )
    side = spec.faces.crop_size
    data = {
        "video": torch.randn(batch, spec.frames, 3, side, side),
        "audio": torch.randn(batch, spec.n_mels, spec.audio_len),
        "label": torch.tensor([0.0, 1.0]),
        "audio_fake": torch.tensor([0.0, 1.0]),
        "video_fake": torch.tensor([0.0, 1.0]),
        "index": torch.tensor([0, 1]),
    }
    with FlopCounterMode(display=False) as counter:
        step(data, make_optimizer(trainable, 1e-4, 0.0, "macbdf"))
    return counter.get_total_flops() / batch


def loader_clips_per_core_s() -> float:
    """Training clips per second one core's loader delivers at the paper profile (JPEG crops and
    log-Mels of 10-s clips through ClipSet, as benchmarks/loader.py measures it)."""
    import loader

    params = profile_params("paper")
    with tempfile.TemporaryDirectory() as tmp:
        table, _ = loader.write_cache(Path(tmp), params, 10.0, 32)
        rate, _ = loader.load_rate(table, Path(tmp), params, 2)
    return rate


def stage_hours(rates: dict, clips: int, seconds: float, machine: tuple, gpu_clips_s: float) -> dict:
    """Wall-clock hours per stage of Table 1 at the paper profile for one dataset on one machine."""
    cores, gpus, nodes = machine
    video_s, runs = clips * seconds, PAPER_RUNS["seeds"] * PAPER_RUNS["methods"]
    hours = {s: video_s / r / (cores * nodes) / 3600 for s, r in rates["preprocess"].items()}
    clip_epochs = (
        clips * 0.8 * 0.85 * PAPER_RUNS["epochs"]
    )  # 80:20 split, 15% of training kept for validation
    scored_s = clips * (0.2 + 0.8 * 0.15) * seconds
    parallel = min(runs, nodes * max(gpus, 1)) if gpus else 1
    if gpus:  # the GPU, or the node's cores decoding its inputs, whichever is slower; scoring: a
        # forward pass per window, about a third of a training step's FLOPs
        gpu_clips_s = min(gpu_clips_s, rates["loader_per_core"] * cores)
        per_run = clip_epochs / gpu_clips_s + scored_s / rates["window_s"] / (3 * gpu_clips_s)
    else:
        per_run = (clip_epochs * rates["epoch"] + scored_s * rates["scoring"]) / cores
    hours["training + scoring (30 runs)"] = per_run * np.ceil(runs / parallel) / 3600
    return hours


def project(
    measured: pd.DataFrame, gpu_clips_s: float, gpu_note: str, loader_per_core: float
) -> pd.DataFrame:
    largest = measured[measured["N"] == measured["N"].max()].set_index("stage")
    pre = [s for s in largest.index if s.startswith(("demux", "face", "log-Mel"))]
    train = largest.loc["training (1 epoch) + scoring"]
    rates = {
        "preprocess": {s: largest.loc[s, "video_s_per_core_s"] for s in pre},
        "epoch": train["core_s_per_clip_epoch"],
        "scoring": train["core_s_per_scored_s"],
        "window_s": profile_params("paper")["input"]["window_s"],
        "loader_per_core": loader_per_core,
    }
    mb_min = largest.loc[pre, "mb_per_video_min"].sum()  # demux (WAV), tracks, crops, log-Mel
    rows = []
    for name, (clips, seconds, source) in DATASETS.items():
        for machine, spec in MACHINES.items():
            hours = stage_hours(rates, clips, seconds, spec, gpu_clips_s)
            bound = max(hours, key=hours.get)
            rest = sum(hours.values()) - hours[bound]
            rows.append(
                {
                    "dataset": name,
                    "clips": clips,
                    "mean_s": seconds,
                    "machine": machine,
                    "disk_gb_caches": round(mb_min * clips * seconds / 60 / 1e3, 1),
                    "hours_total": round(sum(hours.values()), 1),
                    "bound_by": bound,
                    "bound_share": round(hours[bound] / sum(hours.values()), 3),
                    "bound_over_rest": round(hours[bound] / max(rest, 1e-9), 1),
                }
                | {f"hours_{k}": round(v, 2) for k, v in hours.items()}
                | {
                    "gpu_training": gpu_note if spec[1] else "",
                    "source": source,
                    "kind": "projection (synthetic rehearsal rates)",
                }
            )
    return pd.DataFrame(rows)


def figure(measured: pd.DataFrame, projection: pd.DataFrame, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(13, 4.8))
    for stage, rows in measured.groupby("stage", sort=False):
        a.plot(rows["N"], rows["peak_rss_mb"] / 1024, marker="o", label=stage)
    a.set(
        xlabel="clips in the rehearsal (N)",
        ylabel="largest job's peak RSS (GiB)",
        title="Memory against dataset size (measured)",
    )
    a.legend(fontsize=7)
    pivot = projection.pivot(index="dataset", columns="machine", values="hours_total")
    pivot.plot.barh(ax=b, logx=True)
    b.set(
        xlabel="projected wall-clock for Table 1, hours (log)",
        ylabel="",
        title="Projection from the rehearsal's rates",
    )
    b.legend(fontsize=7)
    fig.suptitle(
        "avdf scale rehearsal: synthetic real-shaped clips (rates measured), real datasets projected",
        fontsize=10,
    )
    fig.tight_layout()
    fig.savefig(out, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[250, 1000])
    ap.add_argument("--out", default=str(REPO_ROOT / "results/scale"))
    ap.add_argument("--keep", default=None, help="run in this folder (kept) instead of a temporary one")
    ap.add_argument(
        "--measure-only",
        action="store_true",
        help="read the folders of --keep as they are (a rehearsal resumed across sessions), run nothing",
    )
    ap.add_argument(
        "--shares",
        type=int,
        nargs=4,
        default=None,
        metavar=("RVRA", "RVFA", "FVRA", "FVFA"),
        help="category shares instead of FakeAVCeleb's (below a few hundred clips its 2%% real "
        "leaves no real clip to train on)",
    )
    ap.add_argument(
        "--gpu-tflops", type=float, default=989.0, help="GPU peak (dense bf16; H100 SXM: 989), assumed"
    )
    ap.add_argument(
        "--gpu-mfu", type=float, default=0.3, help="fraction of that peak a step reaches, assumed"
    )
    args = ap.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.measure_only and not args.keep:
        ap.error("--measure-only reads the folders of --keep")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(args.keep or tmp)
        rows = []
        for n in sorted(args.sizes):
            if not args.measure_only:
                run_rehearsal(root / f"n{n}", n, args.shares)
            rows += measure(root / f"n{n}", n)
        peaks = job_peaks({n: root / f"n{n}" for n in args.sizes})
    measured = pd.DataFrame(rows).assign(category_share=" ".join(map(str, args.shares or ["FakeAVCeleb"])))
    flops, loader_rate = flops_per_clip(), loader_clips_per_core_s()
    gpu_clips_s = args.gpu_tflops * 1e12 * args.gpu_mfu / flops
    note = (
        f"not measured here: {flops / 1e9:.1f} GFLOPs per clip (counted) at {args.gpu_tflops:g} TFLOPS x "
        f"{args.gpu_mfu:g} utilisation (assumed) = {gpu_clips_s:.0f} clips/s, capped by the loader: "
        f"{loader_rate:.1f} clips/s per core (measured) x 16 cores = {16 * loader_rate:.0f} clips/s"
    )
    projection = project(measured, gpu_clips_s, note, loader_rate)
    atomic.write_csv(out / "scale_measured.csv", measured)
    atomic.write_csv(out / "scale_growth.csv", growth(measured))
    atomic.write_csv(out / "scale_jobs.csv", peaks)
    atomic.write_csv(out / "scale_projection.csv", projection)
    figure(measured, projection, out / "scale.png")
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(measured.to_string(index=False), growth(measured).to_string(index=False), sep="\n\n")
        print(peaks.to_string(index=False))
        print(
            projection[
                ["dataset", "machine", "hours_total", "bound_by", "bound_share", "disk_gb_caches"]
            ].to_string(index=False)
        )
    print(f"GPU training: {note}\nwritten to {out}")


if __name__ == "__main__":
    main()
