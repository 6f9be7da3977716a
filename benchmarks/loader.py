"""Is data loading ever the bottleneck? Samples per second the loader delivers against samples per
second a MACB-DF training step consumes, measured side by side in one run on the CPU.

The loader reads the cache format the workflow writes (uint8 face crops and float16 log-Mels as
``.npy``, memory-mapped) for 128 clips of the embedded size (2 s: 50 frames of 64x64 crops, 201
log-Mel frames), through ``avdf.clips.ClipSet`` and a ``DataLoader`` in the main process
(``num_workers=0``, as training runs), with training-time frame sampling. The model side is
``avdf.steps.MACBDFStep`` (OM-Pareto on) at the embedded configuration, one thread.
Target: the loader is at least 10x faster. Usage: ``python benchmarks/loader.py [--epochs 5]``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import yaml
from record import record

from avdf import clips, models
from avdf.config import REPO_ROOT
from avdf.specs import InputSpec, ModelSpec, Run, TrainSpec
from avdf.train import make_optimizer, make_step

N_CLIPS, FRAMES, CROP, MELS, MEL_FRAMES = 128, 50, 64, 64, 201


def write_cache(root: Path) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    (root / "crops").mkdir()
    (root / "mel").mkdir()
    rows = []
    for i in range(N_CLIPS):
        np.save(root / "crops" / f"c{i}.npy", rng.integers(0, 255, (FRAMES, CROP, CROP, 3), dtype=np.uint8))
        np.save(root / "mel" / f"c{i}.npy", rng.normal(size=(MELS, MEL_FRAMES)).astype(np.float16))
        rows.append({"clip_id": f"c{i}", "label": i % 2, "audio_fake": i % 2, "video_fake": (i // 2) % 2})
    return pd.DataFrame(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--steps", type=int, default=8, help="training steps timed")
    args = ap.parse_args()
    torch.set_num_threads(1)
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    batch_size = params["train"]["batch_size"]

    with tempfile.TemporaryDirectory() as tmp:
        table = write_cache(Path(tmp))
        data = clips.ClipSet(table, f"{tmp}/crops", f"{tmp}/mel", InputSpec.of(params), train=True)
        loader = torch.utils.data.DataLoader(data, batch_size=batch_size, shuffle=True)
        batches = []
        start = time.perf_counter()
        for _ in range(args.epochs):
            for batch in loader:
                batches.append(batch)
        load_rate = args.epochs * N_CLIPS / (time.perf_counter() - start)

    model = models.build("macbdf", MELS, ModelSpec.of(params), params["macbdf"])
    step, trainable = make_step(
        TrainSpec.of(params, Run("bench", "macbdf", "default", 0), "bench", False), model
    )
    opt = make_optimizer(trainable, 1e-3, 0.0)
    full = [b for b in batches if len(b["label"]) == batch_size]
    step(full[0], opt)  # warm-up
    start = time.perf_counter()
    for i in range(args.steps):
        step(full[(i + 1) % len(full)], opt)
    train_rate = args.steps * batch_size / (time.perf_counter() - start)

    ratio = load_rate / train_rate
    print(f"loader: {load_rate:.0f} samples/s   MACB-DF training step: {train_rate:.1f} samples/s")
    print(f"loader / training = {ratio:.1f}x   (target >= 10x: {'PASS' if ratio >= 10 else 'FAIL'})")
    record(
        "loader",
        {
            "loader_samples_s": round(load_rate, 1),
            "train_samples_s": round(train_rate, 2),
            "ratio": round(ratio, 2),
        },
    )


if __name__ == "__main__":
    main()
