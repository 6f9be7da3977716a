"""Preprocessing throughput, measured side by side in one run.

On a set of clips (synthetic ones avdf renders at ``--shape``: 640x360, 1280x720 or portrait
720x1280, plus any real clips given with ``--real``), with params.yaml's settings or a profile's
(``--profile paper``: 224-px crops):

1. **The whole chain** as the workflow runs it (demux, face tracks, face crops, log-Mel: the
   stages of ``avdf.stages``), stage after stage, each split into ``--workers`` shards run at
   once (one process per core, as ``resources.preprocess_shards`` jobs), the shard indexes merged:
   seconds of video processed per wall second (target >= 10x real time on 2 cores; >= 100x on
   720p on a 16-core GPU node, issue 30). With ``--detector shared``, face tracks run instead as
   one job whose ``--workers`` tracking processes share one MTCNN in the job's process
   (``resources.face_workers``, avdf.media.shared_detector); with ``each`` (the default), every
   shard has its own MTCNN. This is the throughput of running processes: every worker has
   imported avdf and loaded MTCNN before the clock starts, as a job has after its first clip;
   that start-up is printed apart. Each stage's share of the wall time is printed too: the
   bottleneck by name.
2. **Face tracking alone**, on the same demuxed frames: avdf's tracker (keyframes on scaled-down
   frames, interpolation, scene cuts) against MTCNN on every full-size frame: the speed-up (target
   >= 10x) and the mean IoU of avdf's boxes against per-frame MTCNN's (target >= 0.9). Skipped
   with ``--chain-only`` (per-frame MTCNN at 720p takes long).

Prints the numbers and the pass/fail of each target, and records them (``benchmarks/record.py``:
``results/bench_preprocess.csv`` and the MLflow experiment ``avdf-benchmarks``).
Usage: ``python benchmarks/preprocess.py [--clips N] [--seconds S] [--workers 2] [--shape 720p]
[--profile paper] [--detector each|shared] [--decode-threads 1] [--chain-only] [--real a.mp4 ...]``.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import multiprocessing
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from record import record

from avdf.contracts import atomic, stage_runner
from avdf.contracts.config import REPO_ROOT, profile_params
from avdf.contracts.specs import CropSpec, DemuxSpec, FacesSpec, LogMelSpec
from avdf.data import manifest
from avdf.media import demux, faces, ffmpeg, shared_detector
from avdf.stages import demux as demux_stage
from avdf.stages import face_crops, face_tracks, log_mel
from avdf.synthetic import generator as synthetic

SHAPES = {"360p": (640, 360), "720p": (1280, 720), "portrait": (720, 1280)}


def render(out_dir: Path, n: int, seconds: float, size: tuple[int, int]) -> list[Path]:
    """Synthetic talking-face clips of ``size`` (width, height), as ``avdf synth`` renders them."""
    cfg = dict(yaml.safe_load((REPO_ROOT / "params.yaml").read_text())["synth"])
    cfg.update(duration_s=seconds, frame_size=list(size))
    people = synthetic.identities(cfg["seed"], "fakeavceleb", 4)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        rng = np.random.default_rng([7, i])
        frames, audio = synthetic.render_clip(
            cfg, "fakeavceleb", people[i % 4], people[(i + 1) % 4], "ABCD"[i % 4], rng
        )
        paths.append(out_dir / f"clip {i:02d}.mp4")
        ffmpeg.encode_clip(frames, audio, cfg["sample_rate"], cfg["fps"], paths[-1])
    return paths


STAGES = ("demux", "face tracks", "face crops", "log-Mel")
FOLDERS = {"demux": "demux", "face tracks": "faces", "face crops": "crops", "log-Mel": "mel"}


def start_worker(load_mtcnn: bool, decode_threads: int) -> None:
    """What a preprocessing job does once, before its first clip: imports, and MTCNN's weights
    where the shard tracks faces itself."""
    torch.set_num_threads(1)
    ffmpeg.set_decode_threads(decode_threads)
    if load_mtcnn:
        faces.MTCNNDetector().mtcnn(20)


def _index(work: Path, stage: str, shard: tuple[int, int] = (0, 1)) -> str:
    k, n = shard
    name = "index.csv" if n == 1 else f"shards/{k}-of-{n}.csv"
    return str(work / FOLDERS[stage] / name)


def run_stage(work: Path, params: dict, stage: str, shard=(0, 1), executor=None) -> None:
    """One stage, or shard (k, n) of it, over the clips of ``work/manifest.csv``, as its job does."""
    d = {s: str(work / f) for s, f in FOLDERS.items()}
    media, out = DemuxSpec.of(params), _index(work, stage, shard)
    if stage == "demux":
        demux_stage.run(str(work / "manifest.csv"), d["demux"], out, media, shard)
    elif stage == "face tracks":
        face_tracks.run(
            _index(work, "demux"), d["demux"], d[stage], out, FacesSpec.of(params), shard, executor
        )
    elif stage == "face crops":
        crops = CropSpec.of(params)
        face_crops.run(_index(work, "face tracks"), d["demux"], d["face tracks"], d[stage], out, crops, shard)
    else:
        mel = LogMelSpec.of(params)
        log_mel.run(_index(work, "demux"), d["demux"], d[stage], out, media.sample_rate, mel, shard)


@contextlib.contextmanager
def tracking_workers(spec: FacesSpec, workers: int, shared: bool):
    """With ``shared``, the tracking workers and their shared MTCNN, started and loaded (as a
    faces job's are after its first clip); else (None, None): every shard tracks on its own."""
    if not shared:
        yield None, None
        return
    with shared_detector.tracking_pool(spec, workers) as (executor, detector):
        list(executor.map(time.sleep, [0.5] * workers))
        detector.detector.mtcnn(20)  # the smallest face sought in frames scaled to detect_max_side
        yield executor, detector


def detector_use(detector, stage_s: float) -> dict:
    """How busy the shared MTCNN was over the face-tracks stage, and its mean batch."""
    if detector is None:
        return {}
    return {
        "detector_busy": round(detector.busy_s / stage_s, 3),
        "detector_mean_batch": round(detector.frames / max(detector.batches, 1), 1),
    }


def _shard(args: tuple) -> None:
    run_stage(*args)


def chain(work: Path, params: dict, pool, n: int, executor) -> dict[str, float]:
    """Every stage in turn, as ``n`` shards over ``pool``'s processes (merged after), or face
    tracks in ``executor``'s tracking workers when given; the wall seconds of each stage."""
    seconds = {}
    for stage in STAGES:
        start = time.perf_counter()
        if stage == "face tracks" and executor is not None:
            run_stage(work, params, stage, (0, 1), executor)
        else:
            pool.map(_shard, [(work, params, stage, (k, n)) for k in range(n)])
            stage_runner.merge_shards([_index(work, stage, (k, n)) for k in range(n)], _index(work, stage))
        seconds[stage] = time.perf_counter() - start
    return seconds


def rejected_clips(work: Path) -> dict[str, str]:
    """Every clip a stage of the chain rejected, with the first stage's reason: a rate measured over
    rejected clips measures nothing, so each one fails the benchmark (report)."""
    rejected = {}
    for stage in STAGES:
        table = pd.read_csv(_index(work, stage), keep_default_na=False)
        for row in table[table["status"] == "rejected"].itertuples():
            rejected.setdefault(row.clip_id, f"{FOLDERS[stage]}: {row.reason}")
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
    ap.add_argument(
        "--detector",
        choices=("each", "shared"),
        default="each",
        help="face tracks: MTCNN in every shard's process, or one shared by the workers (face_workers)",
    )
    ap.add_argument(
        "--decode-threads",
        type=int,
        default=1,
        help="threads per video decode (1: as stage jobs; 0: ffmpeg's)",
    )
    ap.add_argument("--real", nargs="*", default=[], help="real clips to add")
    args = ap.parse_args()
    params = profile_params(args.profile)

    with tempfile.TemporaryDirectory() as tmp:
        tmp, work = Path(tmp), Path(tmp) / "work"
        clips = render(tmp / "clips", args.clips, args.seconds, SHAPES[args.shape]) + [
            Path(p) for p in args.real
        ]
        video_s = sum(ffmpeg.probe(c).duration_s or 0.0 for c in clips)
        rows = [
            {c: "" for c in manifest.COLUMNS} | {"clip_id": f"c{i:03d}", "path": str(p), "label": 0}
            for i, p in enumerate(clips)
        ]
        atomic.write_csv(work / "manifest.csv", pd.DataFrame(rows))

        # 1. the whole chain, stage after stage, each over the workers
        start = time.perf_counter()
        spawn = multiprocessing.get_context("spawn")
        shared = args.detector == "shared"
        with (
            spawn.Pool(
                args.workers, initializer=start_worker, initargs=(not shared, args.decode_threads)
            ) as pool,
            tracking_workers(FacesSpec.of(params), args.workers, shared) as (executor, detector),
        ):
            pool.map(time.sleep, [0.5] * args.workers)  # every worker started and ready
            startup_s = time.perf_counter() - start
            stage_s = chain(work, params, pool, args.workers, executor)
        chain_s = sum(stage_s.values())
        cache_bytes = sum(p.stat().st_size for f in ("crops", "mel") for p in (work / f).glob("*.np[yz]"))
        measured = {
            "detector": detector_use(detector, stage_s["face tracks"]),
            "wall_s": chain_s,
            "startup_s": startup_s,
            "stage_s": stage_s,
            "rejected": rejected_clips(work),
        }
        if args.chain_only:
            return report(args, params, clips, video_s, measured, cache_bytes, None)

        # 2. face tracking alone on the demuxed frames: avdf's tracker against per-frame MTCNN
        torch.set_num_threads(1)
        fc = FacesSpec.of(params)
        tracker = faces.FaceTracker(fc)
        every = faces.FaceTracker(dataclasses.replace(fc, keyframe_interval=1, detect_max_side=1 << 16))
        warm = np.zeros((1, 64, 64, 3), np.uint8)
        tracker.detect(warm, 0.5), every.detect(warm)  # both load MTCNN's weights before timing
        demuxed = sorted(p for p in (work / "demux").glob("*.json") if not p.name.startswith("."))
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
        "detector": args.detector,
        "decode_threads": args.decode_threads,
        "chain_wall_s": round(chain_s, 2),
        "worker_startup_s": round(startup_s, 2),
        "x_real_time": rt,
        "rejected_clips": len(rejected),
        **chain["detector"],
        "cache_mb_per_video_min": round(cache_bytes / (video_s / 60) / 1e6, 3),
        "keyframe_interval": fc.keyframe_interval,
        "detect_max_side": fc.detect_max_side,
    } | {
        f"share_{name.replace(' ', '_').replace('-', '_').lower()}": round(t / total, 3)
        for name, t in stage_s.items()
    }
    print(
        f"{len(clips)} clips, {video_s:.1f} s of {args.shape} video, "
        f"{fc.crop_size}-px crops, {args.workers} workers, MTCNN: {args.detector}"
    )
    print(f"whole chain (demux, tracks, crops, log-Mel): {chain_s:.1f} s wall = {rt}x real time")
    print(f"    (starting the workers, once per job: {startup_s:.1f} s, not counted)")
    for clip, reason in rejected.items():
        print(f"    REJECTED {clip}: {reason}")
    if rejected:
        print(
            f"    {len(rejected)} of {len(clips)} clips rejected: no target can pass over clips not processed"
        )
    print(f"    target >= 10x real time (2 cores): {verdict(rt >= 10 and not rejected)}")
    if torch.cuda.is_available() and args.shape == "720p":
        print(
            f"    target >= 100x real time on 720p (16-core GPU node): {verdict(rt >= 100 and not rejected)}"
        )
    shares = ", ".join(f"{name} {t / total:.0%}" for name, t in sorted(stage_s.items(), key=lambda x: -x[1]))
    print(f"    share of the time per stage (bottleneck first): {shares}")
    print(f"    crops + log-Mel cache: {result['cache_mb_per_video_min']} MB per video-minute")
    if chain["detector"]:
        print(
            f"    the shared MTCNN was busy {chain['detector']['detector_busy']:.0%} of the face-tracks stage"
            f" (near 100%: it bounds the stage), {chain['detector']['detector_mean_batch']} frames a batch"
        )
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
