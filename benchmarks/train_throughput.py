"""MACB-DF training throughput at paper-scale inputs, through the real data path.

Writes a cache of clips as the preprocessing stages write it (uint8 face crops and float16
log-Mels, ``.npy``), memory-mapped by the training loader (avdf.data.clips.ClipSet, DataLoader
workers), and trains MACB-DF on it with and without OM-Pareto, side by side in one run. Reports:

- clips per second with and without OM-Pareto, and their ratio;
- how busy the loader keeps the device: the share of wall time not spent waiting for the next
  batch (target >= 90 %);
- GPU utilisation (nvidia-smi, sampled every 0.2 s) and peak GPU memory, on a GPU.

``--scale paper``: 16 frames of 224 x 224 faces and 4 s of audio per clip with the paper
profile's model (workflow/profiles/paper/params.yaml). ``--scale tiny`` is for a CPU check.
Usage: ``python benchmarks/train_throughput.py [--device cuda] [--scale paper] [--steps 30]``.
"""

from __future__ import annotations

import argparse
import copy
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

from avdf.contracts.config import REPO_ROOT
from avdf.contracts.specs import InputSpec, ModelSpec, Run, TrainSpec
from avdf.data import clips
from avdf.learning import models, placement
from avdf.learning.distributed import Context
from avdf.learning.train import accelerator, make_optimizer, make_step, to_device
from avdf.media import crop_cache
from avdf.synthetic import generator as synthetic

SCALES = {  # frames, face side, seconds of audio, batch size, model overrides (None: the paper profile's)
    "paper": (16, 224, 4.0, 32, None),
    "tiny": (4, 32, 1.0, 4, {"dim": 32, "depth": 1, "heads": 4}),
}


def params_for(scale: str) -> dict:
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    paper = yaml.safe_load((REPO_ROOT / "workflow/profiles/paper/params.yaml").read_text())
    frames, _, seconds, batch, model = SCALES[scale]
    params["model"].update(model or paper["model"])
    params["macbdf"].update(paper["macbdf"] if model is None else {"ms_depth": 1})
    params["train"].update(batch_size=batch)
    params["input"].update(frames=frames, window_s=seconds)
    return params


def talking_faces(params: dict, side: int, seconds: float, n: int = 4) -> list[np.ndarray]:
    """``n`` rendered talking-face clips (T, side, side, 3) at 25 fps, as the synthetic generator draws
    them: crops that compress like faces (a 4-s clip's 16 crops at 224 px: 195 KB of JPEG, where
    random noise, which this benchmark used before, took 731 KB)."""
    cfg = dict(params["synth"], duration_s=seconds, frame_size=side, fps=25)
    people = synthetic.identities(cfg["seed"], "fakeavceleb", n + 1)
    return [
        synthetic.render_clip(
            cfg, "fakeavceleb", people[k], people[k + 1], "ABCD"[k % 4], np.random.default_rng(k)
        )[0]
        for k in range(n)
    ]


def write_cache(root: Path, scale: str, n_clips: int, params: dict) -> tuple[pd.DataFrame, dict]:
    """Clips in the cache format: JPEG crops of rendered talking faces at the model's rate
    (avdf.media.crop_cache) of a 25-fps clip of ``seconds``, log-Mel float16."""
    frames, side, seconds, _, _ = SCALES[scale]
    rng = np.random.default_rng(0)
    portraits = talking_faces(params, side, seconds)
    crops, mels = root / "face_crops", root / "log_mel"
    crops.mkdir(parents=True)
    mels.mkdir(parents=True)
    mel_frames = int(seconds * params["media"]["sample_rate"] / params["log_mel"]["hop_length"]) + 1
    for i in range(n_clips):
        faces = portraits[i % len(portraits)]
        crop_cache.write(crops / f"c{i}.npz", crop_cache.encode(faces, 25, frames / seconds, 90))
        np.save(
            mels / f"c{i}.npy", rng.normal(size=(params["log_mel"]["n_mels"], mel_frames)).astype(np.float16)
        )
    table = pd.DataFrame(
        {
            "clip_id": [f"c{i}" for i in range(n_clips)],
            "label": [int(i % 4 > 0) for i in range(n_clips)],
            "audio_fake": [int(i % 2 == 1) for i in range(n_clips)],
            "video_fake": [int(i % 4 >= 2) for i in range(n_clips)],
        }
    )
    return table, {"crops_dir": str(crops), "log_mel_dir": str(mels)}


class GpuSampler(threading.Thread):
    """nvidia-smi's utilisation.gpu every 0.2 s while running (empty where there is no nvidia-smi)."""

    def __init__(self, index: int):
        super().__init__(daemon=True)
        self.index, self.samples, self.running = index, [], True

    def run(self) -> None:
        if shutil.which("nvidia-smi") is None:
            return
        while self.running:
            out = subprocess.run(
                [
                    "nvidia-smi",
                    f"--id={self.index}",
                    "--query-gpu=utilization.gpu",
                    "--format=csv,noheader,nounits",
                ],
                capture_output=True,
                text=True,
            ).stdout.strip()
            if out.isdigit():
                self.samples.append(int(out))
            time.sleep(0.2)


def measure(params: dict, om: bool, data, dev: torch.device, steps: int, workers: int) -> dict:
    p = copy.deepcopy(params)
    p["macbdf"]["om_pareto"] = om
    torch.manual_seed(0)
    model = models.build("macbdf", p["log_mel"]["n_mels"], ModelSpec.of(p), p["macbdf"]).to(dev)
    ctx = Context(device=dev)
    if dev.type == "cuda" and p["train"]["channels_last"]:
        placement.memory_format(model)
    spec = TrainSpec.of(p, Run("bench", "macbdf", "default", 0), "bench", False)
    step, trainable = make_step(spec, model, ctx, accelerator(spec.optim, ctx))
    step.objective.to(dev)
    opt = make_optimizer(trainable, p["train"]["lr"], p["train"]["weight_decay"], "macbdf")
    loader = torch.utils.data.DataLoader(
        data,
        batch_size=p["train"]["batch_size"],
        shuffle=True,
        drop_last=True,
        num_workers=workers,
        pin_memory=dev.type == "cuda",
        persistent_workers=workers > 0,
        prefetch_factor=4 if workers > 0 else None,
    )
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    warmup, waits, computes = 3, [], []
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats(dev)
    sampler = GpuSampler(dev.index or 0) if dev.type == "cuda" else None
    it, done = iter(loader), 0
    while done < warmup + steps:
        t0 = time.perf_counter()
        try:
            batch = next(it)
        except StopIteration:
            it = iter(loader)
            batch = next(it)
        batch = to_device(batch, dev)
        t1 = time.perf_counter()
        step(batch, opt)
        sync()
        t2 = time.perf_counter()
        if done == warmup and sampler is not None:
            sampler.start()
        if done >= warmup:
            waits.append(t1 - t0)
            computes.append(t2 - t1)
        done += 1
    if sampler is not None:
        sampler.running = False
        sampler.join()
    wall = sum(waits) + sum(computes)
    return {
        "clips_per_s": steps * p["train"]["batch_size"] / wall,
        "loader_busy_pct": 100 * sum(computes) / wall,
        "median_step_s": statistics.median(computes),
        "gpu_util_pct": statistics.mean(sampler.samples) if sampler is not None and sampler.samples else None,
        "peak_mem_gib": torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == "cuda" else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--scale", default="paper", choices=sorted(SCALES))
    ap.add_argument("--steps", type=int, default=30)
    ap.add_argument("--workers", type=int, default=8)
    ap.add_argument("--clips", type=int, default=256)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-record", action="store_true", help="print only (tests)")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    dev = torch.device(args.device)
    params = params_for(args.scale)
    frames, side, seconds, batch, _ = SCALES[args.scale]
    with tempfile.TemporaryDirectory() as tmp:
        table, spec = write_cache(Path(tmp), args.scale, args.clips, params)
        data = clips.ClipSet(table, spec["crops_dir"], spec["log_mel_dir"], InputSpec.of(params), train=True)
        results = {om: measure(params, om, data, dev, args.steps, args.workers) for om in (False, True)}
    name = torch.cuda.get_device_name(dev) if dev.type == "cuda" else "CPU"
    m = params["model"]
    print(
        f"scale={args.scale} device={dev} ({name}) batch={batch} frames={frames} face={side}x{side} "
        f"audio={seconds:g}s model dim={m['dim']} depth={m['depth']} ms_depth={params['macbdf']['ms_depth']} "
        f"bf16={dev.type == 'cuda' and params['train']['bf16']} workers={args.workers} steps={args.steps}"
    )
    for om, r in results.items():
        gpu = f"{r['gpu_util_pct']:.0f} %" if r["gpu_util_pct"] is not None else "n/a"
        mem = f"{r['peak_mem_gib']:.1f} GiB" if r["peak_mem_gib"] is not None else "n/a"
        print(
            f"  OM-Pareto {'on ' if om else 'off'}: {r['clips_per_s']:8.1f} clips/s  loader keeps the device "
            f"busy {r['loader_busy_pct']:5.1f} % (target >= 90)  GPU utilisation {gpu}  peak memory {mem}"
        )
    ratio = results[False]["clips_per_s"] / results[True]["clips_per_s"]
    print(f"  cost of OM-Pareto: {ratio:.2f}x the time of a plain step")
    if not args.no_record:
        flat = {
            f"{'om' if om else 'plain'}_{k}": v
            for om, r in results.items()
            for k, v in r.items()
            if v is not None
        }
        record("train_throughput", {"scale": args.scale, "device": str(dev), **flat, "om_cost": ratio})


if __name__ == "__main__":
    main()
