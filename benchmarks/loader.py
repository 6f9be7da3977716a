"""Is data loading ever the bottleneck? Samples per second the loader delivers against samples per
second a MACB-DF training step consumes, measured side by side in one run on the CPU.

The loader reads the cache format the workflow writes (face crops as JPEG at the rate a model
samples, ``avdf.media.crop_cache``; float16 log-Mels as memory-mapped ``.npy``) through
``avdf.data.clips.ClipSet`` and a ``DataLoader`` in the main process (``num_workers=0``, as training
runs), with training-time window and frame sampling. The crops are a real face (scikit-image's
``astronaut``) shifted a little each frame, so JPEG decoding costs what it costs on real faces.
The model side is ``avdf.learning.steps.MACBDFStep`` (OM-Pareto on), one thread.

``--scale embedded``: 2-s clips, 64-px crops, params.yaml's model. ``--scale paper``: 10-s clips
at 224 px, 16 frames per 4-s window, and the paper profile's model (dim 256, depth 6, patch 32).
Target: the loader is at least 10x faster. It also prints the cache's bytes per video-minute.
Usage: ``python benchmarks/loader.py [--scale paper] [--epochs 2]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image
from record import record
from skimage import data as images

from avdf.contracts.config import profile_params
from avdf.contracts.specs import InputSpec, ModelSpec, Run, TrainSpec
from avdf.data import clips
from avdf.learning import models
from avdf.learning.train import make_optimizer, make_step
from avdf.media import crop_cache

SCALES = {"embedded": (None, 2.0, 32), "paper": ("paper", 10.0, 32)}  # profile, clip seconds, clips


def face_frames(n: int, side: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` crops of a real face, each shifted by a few pixels (a face moving in its track)."""
    photo = images.astronaut()
    out = np.empty((n, side, side, 3), np.uint8)
    for i in range(n):
        dx, dy = rng.integers(-6, 7, 2)
        region = photo[20 + dy : 230 + dy, 140 + dx : 350 + dx]
        out[i] = np.asarray(Image.fromarray(region).resize((side, side), Image.BILINEAR))
    return out


def write_cache(root: Path, params: dict, seconds: float, n_clips: int) -> tuple[pd.DataFrame, int]:
    """``n_clips`` clips' caches as the workflow writes them; the bytes written."""
    spec, rng = InputSpec.of(params), np.random.default_rng(0)
    (root / "crops").mkdir()
    (root / "mel").mkdir()
    n_frames, n_mel = int(seconds * spec.fps), int(seconds * spec.mel_frames_per_second) + 1
    crops = face_frames(n_frames, spec.faces.crop_size, rng)
    rows, written = [], 0
    for i in range(n_clips):
        cache = crop_cache.encode(np.roll(crops, i, axis=0), spec.fps, spec.crop.fps, spec.crop.quality)
        crop_cache.write(root / "crops" / f"c{i}.npz", cache)
        np.save(root / "mel" / f"c{i}.npy", rng.normal(size=(spec.n_mels, n_mel)).astype(np.float16))
        written += (root / "crops" / f"c{i}.npz").stat().st_size + (root / "mel" / f"c{i}.npy").stat().st_size
        rows.append({"clip_id": f"c{i}", "label": i % 2, "audio_fake": i % 2, "video_fake": (i // 2) % 2})
    return pd.DataFrame(rows), written


def load_rate(table, root: Path, params: dict, epochs: int, memory_mb: float = 0) -> tuple[float, list]:
    """Samples per second over ``epochs`` epochs, and their batches; with ``memory_mb``, clips are
    held in memory as training holds them (train.memory_cache_mb), the epochs after the first are
    timed, and no batches are kept."""
    data = clips.ClipSet(table, f"{root}/crops", f"{root}/mel", InputSpec.of(params), train=True)
    data.keep_in_memory(memory_mb)
    loader = torch.utils.data.DataLoader(data, batch_size=params["train"]["batch_size"], shuffle=True)
    first = 1 if memory_mb else 0
    for _ in range(first):  # the first epoch reads the clips into memory, untimed
        for _ in loader:
            pass
    batches, start = [], time.perf_counter()
    for epoch in range(first, first + epochs):
        data.set_epoch(epoch)
        for batch in loader:
            if not memory_mb:  # the batches the training step is timed on
                batches.append(batch)
    return epochs * len(table) / (time.perf_counter() - start), batches


def train_rate(params: dict, batches: list, steps: int) -> float:
    spec = InputSpec.of(params)
    model = models.build("macbdf", spec.n_mels, ModelSpec.of(params), params["macbdf"])
    step, trainable = make_step(
        TrainSpec.of(params, Run("bench", "macbdf", "default", 0), "bench", False), model
    )
    opt = make_optimizer(trainable, 1e-3, 0.0, "macbdf")
    full = [b for b in batches if len(b["label"]) == params["train"]["batch_size"]]
    step(full[0], opt)  # warm-up
    start = time.perf_counter()
    for i in range(steps):
        step(full[(i + 1) % len(full)], opt)
    return steps * params["train"]["batch_size"] / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scale", choices=SCALES, default="embedded")
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--steps", type=int, default=3, help="training steps timed")
    args = ap.parse_args()
    torch.set_num_threads(1)
    profile, seconds, n_clips = SCALES[args.scale]
    params = profile_params(profile)
    with tempfile.TemporaryDirectory() as tmp:
        table, written = write_cache(Path(tmp), params, seconds, n_clips)
        loads, batches = load_rate(table, Path(tmp), params, args.epochs)
        held, _ = load_rate(table, Path(tmp), params, args.epochs, params["train"]["memory_cache_mb"])
    trains = train_rate(params, batches, args.steps)
    per_minute = written / (n_clips * seconds / 60) / 1e6
    ratio, held_ratio = loads / trains, held / trains
    print(f"{args.scale}: crops + log-Mel cache {per_minute:.2f} MB per video-minute")
    print(f"loader from disk: {loads:.1f} samples/s   held in memory (after the first epoch): {held:.1f}")
    print(f"MACB-DF training step: {trains:.2f} samples/s (1 thread)")
    print(f"loader / training = {ratio:.1f}x from disk (target >= 10x: {'PASS' if ratio >= 10 else 'FAIL'}),")
    print(f"                    {held_ratio:.1f}x held in memory")
    record(
        f"loader_{args.scale}",
        {"mb_per_video_min": round(per_minute, 3), "loader_samples_s": round(loads, 1)}
        | {"train_samples_s": round(trains, 3), "ratio": round(ratio, 2)}
        | {"held_samples_s": round(held, 1), "held_ratio": round(held_ratio, 2)},
    )


if __name__ == "__main__":
    main()
