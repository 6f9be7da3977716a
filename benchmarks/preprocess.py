"""Preprocessing throughput, measured side by side in one run.

On a set of clips (synthetic ones avdf renders at ``--shape``: 640x360, 1280x720 or portrait
720x1280, plus any real clips given with ``--real``), with params.yaml's settings or a profile's
(``--profile paper``: 224-px crops):

1. **The whole chain** as the workflow runs it (demux, face tracks, face crops, log-Mel: the
   functions of ``avdf.preprocess``), the clips split over ``--workers`` processes (one per core):
   seconds of video processed per wall second (target >= 10x real time on 2 cores). This is the
   throughput of running processes: each worker has imported avdf and loaded MTCNN before the
   clock starts, as a preprocessing job has after its first clip; that start-up is printed apart.
   Each stage's share of the time is printed too: the bottleneck by name.
2. **Face tracking alone**, on the same demuxed frames: avdf's tracker (keyframes on scaled-down
   frames, interpolation, scene cuts) against MTCNN on every full-size frame: the speed-up (target
   >= 10x) and the mean IoU of avdf's boxes against per-frame MTCNN's (target >= 0.9). Skipped
   with ``--chain-only`` (per-frame MTCNN at 720p takes long).

Prints the numbers and the pass/fail of each target, and records them (``benchmarks/record.py``:
``results/bench_preprocess.csv`` and the MLflow experiment ``avdf-benchmarks``).
Usage: ``python benchmarks/preprocess.py [--clips N] [--seconds S] [--workers 2] [--shape 720p]
[--profile paper] [--chain-only] [--real a.mp4 ...]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from record import record

from avdf.contracts import atomic
from avdf.contracts.config import REPO_ROOT, profile_params
from avdf.contracts.specs import CropSpec, DemuxSpec, FacesSpec, LogMelSpec
from avdf.data import manifest
from avdf.media import demux, faces, ffmpeg
from avdf.stages import demux as demux_stage
from avdf.stages import face_crops, face_tracks, log_mel
from avdf.synthetic import generator as synthetic

SHAPES = {"360p": (640, 360), "720p": (1280, 720), "portrait": (720, 1280)}


def render(out_dir: Path, n: int, seconds: float, size: tuple[int, int]) -> list[Path]:
    """Synthetic talking-face clips of ``size`` (width, height), as ``avdf synth`` renders them."""
    cfg = dict(yaml.safe_load((REPO_ROOT / "params.yaml").read_text())["synth"])
    cfg.update(duration_s=seconds, frame_size=list(size))
    people = synthetic.identities(cfg["seed"], "fakeavceleb", 4)
    paths = []
    for i in range(n):
        rng = np.random.default_rng([7, i])
        frames, audio = synthetic.render_clip(
            cfg, "fakeavceleb", people[i % 4], people[(i + 1) % 4], "ABCD"[i % 4], rng
        )
        paths.append(out_dir / f"clip {i:02d}.mp4")
        ffmpeg.encode_clip(frames, audio, cfg["sample_rate"], cfg["fps"], paths[-1])
    return paths


def start_worker(params: dict) -> None:
    """What a preprocessing job does once, before its first clip: imports, and MTCNN's weights."""
    import torch

    torch.set_num_threads(1)
    faces.FaceTracker(FacesSpec.of(params))._detector(20)


def chain(args: tuple) -> dict:
    """demux -> face tracks -> face crops -> log-Mel for one shard of clips, as the workflow does;
    the seconds each stage took."""
    work, params = args
    work = Path(work)
    m, d = str(work / "manifest.csv"), str(work / "demux")
    idx = {s: str(work / s / "index.csv") for s in ("demux", "faces", "crops", "mel")}  # one folder per stage
    media, face_spec = DemuxSpec.of(params), FacesSpec.of(params)
    stages = {
        "demux": lambda: demux_stage.run(m, d, idx["demux"], media),
        "face tracks": lambda: face_tracks.run(idx["demux"], d, str(work / "faces"), idx["faces"], face_spec),
        "face crops": lambda: face_crops.run(
            idx["faces"], d, str(work / "faces"), str(work / "crops"), idx["crops"], CropSpec.of(params)
        ),
        "log-Mel": lambda: log_mel.run(
            idx["demux"], d, str(work / "mel"), idx["mel"], media.sample_rate, LogMelSpec.of(params)
        ),
    }
    seconds = {}
    for name, stage in stages.items():
        start = time.perf_counter()
        stage()
        seconds[name] = time.perf_counter() - start
    return seconds


def rejected_clips(tmp: Path) -> dict[str, str]:
    """Every clip a stage of the chain rejected, with the first stage's reason: a rate measured over
    rejected clips measures nothing, so each one fails the benchmark (report)."""
    rejected = {}
    for index in sorted(tmp.glob("shard*/*/index.csv")):
        table = pd.read_csv(index, keep_default_na=False)
        for row in table[table["status"] == "rejected"].itertuples():
            rejected.setdefault(row.clip_id, f"{index.parent.name}: {row.reason}")
    return rejected


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return faces._iou(a, b)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=8, help="synthetic clips")
    ap.add_argument("--shape", choices=SHAPES, default="360p", help="their frame size")
    ap.add_argument("--profile", default=None, help="a workflow/profiles/ name (paper: 224-px crops)")
    ap.add_argument("--chain-only", action="store_true", help="skip per-frame MTCNN (part 2)")
    ap.add_argument("--seconds", type=float, default=4.0, help="length of each synthetic clip")
    ap.add_argument("--workers", type=int, default=2, help="processes for the whole chain (one per core)")
    ap.add_argument("--real", nargs="*", default=[], help="real clips to add")
    args = ap.parse_args()
    params = profile_params(args.profile)

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "clips").mkdir()
        clips = render(tmp / "clips", args.clips, args.seconds, SHAPES[args.shape]) + [
            Path(p) for p in args.real
        ]
        video_s = sum(ffmpeg.probe(c).duration_s or 0.0 for c in clips)

        # 1. the whole chain, clips split over the workers
        shards = [clips[i :: args.workers] for i in range(args.workers)]
        jobs = []
        for w, shard in enumerate(shards):
            work = tmp / f"shard{w}"
            rows = [
                {c: "" for c in manifest.COLUMNS} | {"clip_id": f"c{w}_{i}", "path": str(p), "label": 0}
                for i, p in enumerate(shard)
            ]
            atomic.write_csv(work / "manifest.csv", pd.DataFrame(rows))
            jobs.append((str(work), params))
        start = time.perf_counter()
        spawn = multiprocessing.get_context("spawn")
        with spawn.Pool(args.workers, initializer=start_worker, initargs=(params,)) as pool:
            pool.map(time.sleep, [0.5] * args.workers)  # every worker started and ready
            startup_s = time.perf_counter() - start
            start = time.perf_counter()
            per_stage = pool.map(chain, jobs)
            chain_s = time.perf_counter() - start
        stage_s = {name: sum(s[name] for s in per_stage) for name in per_stage[0]}
        cache_bytes = sum(
            p.stat().st_size for p in tmp.glob("shard*/*/*.np[yz]") if p.parent.name in ("crops", "mel")
        )
        measured = {
            "wall_s": chain_s,
            "startup_s": startup_s,
            "stage_s": stage_s,
            "rejected": rejected_clips(tmp),
        }
        if args.chain_only:
            return report(args, params, clips, video_s, measured, cache_bytes, None)

        # 2. face tracking alone on the demuxed frames: avdf's tracker against per-frame MTCNN
        import torch

        torch.set_num_threads(1)
        fc = FacesSpec.of(params)
        tracker = faces.FaceTracker(fc)
        every = faces.FaceTracker(dataclasses.replace(fc, keyframe_interval=1, detect_max_side=1 << 16))
        warm = np.zeros((1, 64, 64, 3), np.uint8)
        tracker.detect(warm, 0.5), every.detect(warm)  # both load MTCNN's weights before timing
        demuxed = sorted(p for p in tmp.glob("shard*/demux/*.json") if not p.name.startswith("."))
        t_avdf = t_every = 0.0
        ious, frames_n = [], 0
        for path in demuxed:  # frames as the faces stage decodes them, and at full size for MTCNN
            small = demux.read_video(path, fc.detect_max_side)
            frames = demux.read_video(path)[0]
            frames_n += len(frames)
            t0 = time.perf_counter()
            ours = tracker.track(*small).boxes
            t1 = time.perf_counter()
            ref = every.track(frames).boxes
            t2 = time.perf_counter()
            t_avdf, t_every = t_avdf + t1 - t0, t_every + t2 - t1
            ious.append(_iou(ours, ref))
        iou = float(np.concatenate(ious).mean())
        tracking = {"frames": frames_n, "avdf_s": t_avdf, "per_frame_s": t_every, "iou": iou}
        report(args, params, clips, video_s, measured, cache_bytes, tracking)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def report(args, params, clips, video_s, chain, cache_bytes, tracking) -> None:
    """Print the numbers and the targets' verdicts (every one FAIL if a clip was rejected); record them."""
    chain_s, startup_s, stage_s, rejected = (
        chain["wall_s"],
        chain["startup_s"],
        chain["stage_s"],
        chain["rejected"],
    )
    fc, rt = FacesSpec.of(params), round(video_s / chain_s, 2)
    total = sum(stage_s.values())
    result = {
        "shape": args.shape,
        "profile": args.profile or "default",
        "crop_size": fc.crop_size,
        "clips": len(clips),
        "video_seconds": round(video_s, 2),
        "workers": args.workers,
        "chain_wall_s": round(chain_s, 2),
        "worker_startup_s": round(startup_s, 2),
        "x_real_time": rt,
        "rejected_clips": len(rejected),
        "cache_mb_per_video_min": round(cache_bytes / (video_s / 60) / 1e6, 3),
        "keyframe_interval": fc.keyframe_interval,
        "detect_max_side": fc.detect_max_side,
    } | {
        f"share_{name.replace(' ', '_').replace('-', '_').lower()}": round(t / total, 3)
        for name, t in stage_s.items()
    }
    print(
        f"{len(clips)} clips, {video_s:.1f} s of {args.shape} video, "
        f"{fc.crop_size}-px crops, {args.workers} workers"
    )
    print(f"whole chain (demux, tracks, crops, log-Mel): {chain_s:.1f} s wall = {rt}x real time")
    print(f"    (starting the workers, once per job: {startup_s:.1f} s, not counted)")
    for clip, reason in rejected.items():
        print(f"    REJECTED {clip}: {reason}")
    if rejected:
        print(
            f"    {len(rejected)} of {len(clips)} clips rejected: no target can pass over clips not processed"
        )
    print(f"    target >= 10x real time: {verdict(rt >= 10 and not rejected)}")
    shares = ", ".join(f"{name} {t / total:.0%}" for name, t in sorted(stage_s.items(), key=lambda x: -x[1]))
    print(f"    share of the time per stage (bottleneck first): {shares}")
    print(f"    crops + log-Mel cache: {result['cache_mb_per_video_min']} MB per video-minute")
    if tracking:
        sp = round(tracking["per_frame_s"] / tracking["avdf_s"], 2)
        result |= {
            "frames": tracking["frames"],
            "track_avdf_s": round(tracking["avdf_s"], 2),
            "track_per_frame_s": round(tracking["per_frame_s"], 2),
            "speedup_vs_per_frame": sp,
            "mean_iou_vs_per_frame": round(tracking["iou"], 4),
        }
        print(
            f"face tracking: avdf {tracking['avdf_s']:.1f} s, "
            f"per-frame MTCNN {tracking['per_frame_s']:.1f} s = {sp}x"
        )
        print(f"    target >= 10x faster: {verdict(sp >= 10 and not rejected)}")
        print(f"mean box IoU against per-frame MTCNN: {tracking['iou']:.3f}")
        print(f"    target >= 0.9: {verdict(tracking['iou'] >= 0.9 and not rejected)}")
    record("preprocess", result)


if __name__ == "__main__":
    main()
