"""Every method's training throughput at paper-scale inputs: its own step, and end to end through
the real loader, side by side in one run (issue 30, item 4).

Writes a cache of clips as the preprocessing stages write it (JPEG face crops of rendered talking
faces at the rate each method samples, float16 log-Mels, WAVs for a method that reads the
waveform), and for each method:

- **pure step**: clips per second of its training step alone, on one batch already on the device,
  repeated (what the model and its objective cost);
- **end to end**: clips per second through the training loader (``avdf.learning.train.make_loader``:
  the same workers, pinning and prefetch as a run), the host's share of wall time spent waiting for
  a batch, and the ratio to the pure step (target >= 0.80 for every method but MACB-DF);
- on a GPU: utilisation (nvidia-smi, sampled every 0.2 s, end to end) and peak memory per method
  (MACB-DF's targets: >= 1,000 clips/s end to end at batch 32, GPU busy >= 80 %).

Also reports how many intra-op threads a loader worker runs (one, as PyTorch's DataLoader sets it),
and the loader's rate alone (``--loader-only``: that only, which a CPU can measure at paper scale).
``--scale paper``: 16 frames of 224 x 224 faces and 4 s of audio per window, the paper profile's model
and batch 32 (workflow/profiles/paper/params.yaml); the localiser reads its own window, every frame.
``--scale tiny`` is for a CPU check. ``--compile`` runs each step as ``train.compile: true`` does.
Usage: ``python benchmarks/train_throughput.py [--device cuda] [--scale paper] [--methods ...]
[--steps 30] [--workers 14] [--compile]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from record import record

from avdf.contracts import methods
from avdf.contracts.config import REPO_ROOT
from avdf.contracts.specs import InputSpec, Run, TrainSpec
from avdf.data import clips
from avdf.learning import models, placement
from avdf.learning.distributed import Context
from avdf.learning.train import accelerator, make_loader, make_optimizer, make_step, reads, to_device
from avdf.media import crop_cache, ffmpeg
from avdf.synthetic import generator as synthetic

SCALES = {  # frames, face side, seconds of audio, batch size, model overrides (None: the paper profile's)
    "paper": (16, 224, 4.0, 32, None),
    "tiny": (4, 32, 1.0, 4, {"dim": 32, "depth": 1, "heads": 4}),
}
MACBDF_TARGET, SHARE_TARGET, BUSY_TARGET = 1000.0, 0.80, 80.0


def params_for(scale: str, compiled: bool) -> dict:
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    paper = yaml.safe_load((REPO_ROOT / "workflow/profiles/paper/params.yaml").read_text())
    frames, side, seconds, batch, model = SCALES[scale]
    params["model"].update(model or paper["model"])
    params["macbdf"].update(paper["macbdf"] if model is None else {"ms_depth": 1})
    params["train"].update(batch_size=batch, compile=compiled)
    params["input"].update(frames=frames, window_s=seconds)
    params["faces"].update(crop_size=side)
    params["localiser"].update(window_s=seconds)
    return params


FACES = "AVDF_BENCH_FACES"  # a folder of faces rendered ahead (--save-faces), for a node without the renderer


def talking_faces(params: dict, side: int, seconds: float, n: int = 4) -> list[np.ndarray]:
    """``n`` rendered talking-face clips (T, side, side, 3) at 25 fps, as the synthetic generator draws
    them: crops that compress like faces (a 4-s clip's 16 crops at 224 px: 195 KB of JPEG, where
    random noise, which this benchmark used before, took 731 KB). Read from ``$AVDF_BENCH_FACES``
    where they were saved at this size (the renderer needs scikit-image and matplotlib, which a GPU
    node may not have: benchmarks/gpu_deps.sh saves them)."""
    saved = sorted(_faces_folder(side, seconds).glob("*.npz")) if os.environ.get(FACES) else []
    if saved:
        return [crop_cache.read(p)[np.arange(crop_cache.frame_count(p))] for p in saved[:n]]
    cfg = dict(params["synth"], duration_s=seconds, frame_size=side, fps=25)
    people = synthetic.identities(cfg["seed"], "fakeavceleb", n + 1)
    return [
        synthetic.render_clip(
            cfg, "fakeavceleb", people[k], people[k + 1], "ABCD"[k % 4], np.random.default_rng(k)
        )[0]
        for k in range(n)
    ]


def _faces_folder(side: int, seconds: float) -> Path:
    return Path(os.environ[FACES]) / f"{side}px_{seconds:g}s"


def save_faces(params: dict, scale: str) -> None:
    """The talking faces of ``scale`` into ``$AVDF_BENCH_FACES``, as the crop cache keeps crops (JPEG 90)."""
    _, side, seconds, _, _ = SCALES[scale]
    folder = _faces_folder(side, seconds)
    folder.mkdir(parents=True, exist_ok=True)
    for k, clip in enumerate(talking_faces(params, side, seconds)):
        crop_cache.write(folder / f"c{k}.npz", crop_cache.encode(clip, 25, 25, 90))
    print(f"saved {k + 1} talking-face clips of {side} px, {seconds:g} s, in {folder}")


def write_cache(
    root: Path, scale: str, n_clips: int, params: dict, crop_fps: float
) -> tuple[pd.DataFrame, dict]:
    """Clips in the cache format: JPEG crops (avdf.media.crop_cache) of a 25-fps clip of ``seconds``
    kept at ``crop_fps``, log-Mel float16, 16-kHz WAVs."""
    _, side, seconds, _, _ = SCALES[scale]
    rng = np.random.default_rng(0)
    portraits = talking_faces(params, side, seconds)
    dirs = {k: root / k for k in ("face_crops", "log_mel", "demux")}
    for d in dirs.values():
        d.mkdir(parents=True)
    rate = params["media"]["sample_rate"]
    mel_frames = int(seconds * rate / params["log_mel"]["hop_length"]) + 1
    for i in range(n_clips):
        faces = portraits[i % len(portraits)]
        crop_cache.write(dirs["face_crops"] / f"c{i}.npz", crop_cache.encode(faces, 25, crop_fps, 90))
        mel = rng.normal(size=(params["log_mel"]["n_mels"], mel_frames)).astype(np.float16)
        np.save(dirs["log_mel"] / f"c{i}.npy", mel)
        ffmpeg.write_wav(dirs["demux"] / f"c{i}.wav", rng.normal(0, 0.1, int(seconds * rate)), rate)
    table = pd.DataFrame(
        {
            "clip_id": [f"c{i}" for i in range(n_clips)],
            "label": [int(i % 4 > 0) for i in range(n_clips)],
            "audio_fake": [int(i % 2 == 1) for i in range(n_clips)],
            "video_fake": [int(i % 4 >= 2) for i in range(n_clips)],
            "fake_periods": [f"[[{seconds / 4}, {seconds / 2}]]" if i % 4 else "[]" for i in range(n_clips)],
        }
    )
    caches = {"crops_dir": str(dirs["face_crops"]), "log_mel_dir": str(dirs["log_mel"])}
    return table, caches | {"demux_dir": str(dirs["demux"])}


class GpuSampler(threading.Thread):
    """nvidia-smi's utilisation.gpu every 0.2 s while running (empty where there is no nvidia-smi)."""

    def __init__(self, index: int):
        super().__init__(daemon=True)
        self.index, self.samples, self.running = index, [], True

    def run(self) -> None:
        if shutil.which("nvidia-smi") is None:
            return
        query = [f"--id={self.index}", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"]
        while self.running:
            out = subprocess.run(["nvidia-smi", *query], capture_output=True, text=True).stdout.strip()
            if out.isdigit():
                self.samples.append(int(out))
            time.sleep(0.2)


class ThreadCount(torch.utils.data.Dataset):
    """Answers with the intra-op threads of the process that reads it (a loader worker)."""

    def __len__(self) -> int:
        return 1

    def __getitem__(self, k: int) -> int:
        return torch.get_num_threads()


def worker_threads() -> int:
    """Intra-op threads in a worker of the training loader."""
    batches = torch.utils.data.BatchSampler(range(1), 1, drop_last=False)
    return int(next(iter(make_loader(ThreadCount(), batches, 1, torch.device("cpu"))))[0])


class Setup:
    """One method's step, optimiser and loader on ``dev``, as a training run builds them."""

    def __init__(
        self, params: dict, method: str, table: pd.DataFrame, caches: dict, dev, workers: int, pixels: str
    ):
        on_device = {"auto": dev.type == "cuda", "workers": False, "device": True}[pixels]
        spec = TrainSpec.of(params, Run("bench", method, "default", 0), "bench", False)
        self.batch_size, self.dev = spec.optim.batch_size, dev
        torch.manual_seed(0)
        model = models.build(method, spec.input.n_mels, spec.model, spec.method)
        model = placement.place(model, dev, spec.optim.channels_last)
        ctx = Context(device=dev)
        self.step, trainable = make_step(spec, model, ctx, accelerator(spec.optim, ctx))
        self.opt = make_optimizer(trainable, spec.optim.lr, spec.optim.weight_decay, method)
        data = clips.make_clipset(table, caches, spec.input, True, 0, reads(spec))
        data.pixels_on_device = on_device  # auto: as a run sets it (avdf.learning.train)
        data.jpeg_on_device = params["train"]["crop_decode"] == "device" and data.crop_scale == 1
        order = torch.utils.data.RandomSampler(data, generator=torch.Generator().manual_seed(0))
        batches = torch.utils.data.BatchSampler(order, self.batch_size, drop_last=True)
        self.loader = make_loader(data, batches, workers, dev)

    def sync(self) -> None:
        if self.dev.type == "cuda":
            torch.cuda.synchronize(self.dev)

    def batches(self):
        """The loader's batches on the device, endlessly (epoch after epoch)."""
        while True:
            for batch in self.loader:
                yield to_device(batch, self.dev)


def pure_step(s: Setup, steps: int, warmup: int) -> float:
    """Clips per second of the step alone: one batch on the device, stepped ``steps`` times."""
    batch = next(s.batches())
    for _ in range(warmup):
        s.step(batch, s.opt)
    s.sync()
    start = time.perf_counter()
    for _ in range(steps):
        s.step(batch, s.opt)
    s.sync()
    return steps * s.batch_size / (time.perf_counter() - start)


def end_to_end(s: Setup, steps: int, warmup: int) -> dict:
    """Clips per second through the loader, the share of wall time the host waited for a batch,
    GPU utilisation and peak memory."""
    feed = s.batches()
    for _ in range(warmup):
        s.step(next(feed), s.opt)
    s.sync()
    if s.dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(s.dev)
    sampler = GpuSampler(s.dev.index or 0) if s.dev.type == "cuda" else None
    if sampler is not None:
        sampler.start()
    waited, start = 0.0, time.perf_counter()
    for _ in range(steps):
        t0 = time.perf_counter()
        batch = next(feed)
        waited += time.perf_counter() - t0
        s.step(batch, s.opt)
    s.sync()
    wall = time.perf_counter() - start
    if sampler is not None:
        sampler.running = False
        sampler.join()
    cuda = s.dev.type == "cuda"
    return {
        "clips_per_s": steps * s.batch_size / wall,
        "wait_pct": 100 * waited / wall,
        "gpu_util_pct": statistics.mean(sampler.samples) if sampler is not None and sampler.samples else None,
        "peak_mem_gib": torch.cuda.max_memory_allocated(s.dev) / 2**30 if cuda else None,
    }


def loader_alone(s: Setup, steps: int, workers: int) -> float:
    """Clips per second the loader delivers to the device with no step taken, once the batches its
    workers prepared ahead (two each) are spent: timed from there, not from a full queue."""
    feed = s.batches()
    for _ in range(2 * workers + 1):
        next(feed)
    start = time.perf_counter()
    for _ in range(steps):
        next(feed)
    s.sync()
    return steps * s.batch_size / (time.perf_counter() - start)


def measure(params: dict, method: str, cache: tuple, dev, args: argparse.Namespace) -> dict:
    steps, workers = args.steps, args.workers
    s = Setup(params, method, *cache, dev, workers, args.pixels)
    result, warmup = {"loader_clips_per_s": loader_alone(s, steps, workers)}, 3
    if not args.loader_only:
        pure = pure_step(s, steps, warmup)
        result |= {"pure_clips_per_s": pure, **end_to_end(s, steps, warmup)}
        result["share"] = result["clips_per_s"] / pure
    del s
    if dev.type == "cuda":
        torch.cuda.empty_cache()
    return result


def verdict(method: str, r: dict, dev) -> str:
    """The issue's targets, where they can be read (GPU figures on a GPU only)."""
    if method == "macbdf":
        if dev.type != "cuda":
            return "targets are GPU figures"
        busy = r["gpu_util_pct"] or 0.0
        ok = r["clips_per_s"] >= MACBDF_TARGET and busy >= BUSY_TARGET
        return (
            f"target >= {MACBDF_TARGET:,.0f} clips/s, GPU >= {BUSY_TARGET:.0f} %: {'PASS' if ok else 'FAIL'}"
        )
    return f"target share >= {SHARE_TARGET:.2f}: {'PASS' if r['share'] >= SHARE_TARGET else 'FAIL'}"


def crop_rate(params: dict, method: str) -> float:
    """Crops a second the method samples (its crop cache's rate)."""
    return InputSpec.of(methods.method_params(method, params)).crop.fps


def variants(params: dict, method: str, args: argparse.Namespace) -> list[tuple[str, dict]]:
    """The method as measured, side by side: once per ``--crop-decode`` (where its JPEG crops are
    decoded), and the localiser once per ``--crop-pool`` too (its crops read at 1/n of their side)."""
    out = [(method, params)]
    if method == "boundary" and args.crop_pool:
        out = [
            (f"{name}/pool{n}", _set(p, "localiser", crop_pool=n)) for name, p in out for n in args.crop_pool
        ]
    if args.crop_decode:
        out = [(f"{name}/{d}", _set(p, "train", crop_decode=d)) for name, p in out for d in args.crop_decode]
    return out


def _set(params: dict, section: str, **values) -> dict:
    return {**params, section: {**params[section], **values}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--scale", default="paper", choices=sorted(SCALES))
    ap.add_argument("--methods", nargs="+", default=list(methods.METHODS), choices=list(methods.METHODS))
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--clips", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--compile", action="store_true", help="train.compile: true (compiles in the warm-up)")
    ap.add_argument(
        "--pixels",
        default="auto",
        choices=["auto", "workers", "device"],
        help="where uint8 crops become pixel values (auto: on a GPU the device, as a run does)",
    )
    ap.add_argument(
        "--loader-only", action="store_true", help="the loader's rate only, no step (a CPU check)"
    )
    ap.add_argument(
        "--crop-pool",
        type=int,
        nargs="+",
        help="the localiser at each localiser.crop_pool (1: full-size crops)",
    )
    ap.add_argument(
        "--crop-decode",
        nargs="+",
        choices=["workers", "device"],
        help="where JPEG crops are decoded (train.crop_decode)",
    )
    ap.add_argument("--no-record", action="store_true", help="print only (tests)")
    ap.add_argument("--save-faces", action="store_true", help=f"render the faces into ${FACES}, and stop")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    params = params_for(args.scale, args.compile)
    if args.save_faces:
        return save_faces(params, args.scale)
    frames, side, seconds, batch, _ = SCALES[args.scale]
    if args.clips < batch:
        ap.error(f"--clips {args.clips} holds no full batch of {batch} at --scale {args.scale}")
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    m = params["model"]
    print(
        f"scale={args.scale} device={dev} ({name}) torch={torch.__version__} batch={batch} frames={frames} "
        f"face={side}x{side} audio={seconds:g}s model dim={m['dim']} depth={m['depth']} "
        f"bf16={dev.type == 'cuda' and params['train']['bf16']} compile={args.compile} "
        f"workers={args.workers} steps={args.steps} pixels={args.pixels}; "
        f"intra-op threads per loader worker: {worker_threads()}"
    )
    results, caches = {}, {}
    with tempfile.TemporaryDirectory() as tmp:
        for method, named, setting in (
            (m, name, p) for m in args.methods for name, p in variants(params, m, args)
        ):
            fps = crop_rate(setting, method)
            if fps not in caches:
                caches[fps] = write_cache(Path(tmp) / f"fps{fps:g}", args.scale, args.clips, setting, fps)
            r = results[named] = measure(setting, method, caches[fps], dev, args)
            if args.loader_only:
                print(f"  {named:<12} loader alone {r['loader_clips_per_s']:8.1f} clips/s", flush=True)
                continue
            gpu = f"{r['gpu_util_pct']:.0f} %" if r["gpu_util_pct"] is not None else "n/a"
            mem = f"{r['peak_mem_gib']:.2f} GiB" if r["peak_mem_gib"] is not None else "n/a"
            print(
                f"  {named:<12} pure step {r['pure_clips_per_s']:8.1f} clips/s  end to end "
                f"{r['clips_per_s']:8.1f} clips/s  share {r['share']:.2f}  waiting for data "
                f"{r['wait_pct']:5.1f} %  GPU {gpu}  peak memory {mem}  loader alone "
                f"{r['loader_clips_per_s']:.1f} clips/s  ({verdict(method, r, dev)})",
                flush=True,
            )
    if not args.no_record:
        flat = {f"{k}_{key}": v for k, r in results.items() for key, v in r.items() if v is not None}
        how = {"scale": args.scale, "device": str(dev), "compile": args.compile, "workers": args.workers}
        how["pixels"] = args.pixels
        record("train_throughput", how | flat)


if __name__ == "__main__":
    main()
