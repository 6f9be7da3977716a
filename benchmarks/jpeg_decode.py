"""Decoding a batch of cached face crops: the loader's path against batched decoders (issue 30, item 3).

A training batch at the paper profile is 32 windows x 16 JPEG crops of 224 px (the localiser's:
every frame of its window), decoded in the loader's workers. This benchmark decodes one batch of
rendered talking-face crops each way, side by side in one run:

- ``avdf``: the loader's path, ``avdf.media.crop_cache.FaceCrops``: crop by crop with Pillow;
- ``torchvision-cpu``: ``torchvision.io.decode_jpeg`` on the whole list at once, on the CPU;
- ``torchvision-cuda``: the same on the GPU (nvJPEG), where there is one, timed to the last pixel
  back on the host.

It prints crops per second for one process and each path's largest pixel difference from avdf's's
(0 means the same pixels). ``--workers`` loader processes decode ``workers`` times the one-process
rate at best; the GPU decoder serves every worker from one process.
Usage: ``python benchmarks/jpeg_decode.py [--batch 32] [--frames 16] [--side 224] [--repeats 5]``.
"""

from __future__ import annotations

import argparse
import io
import time

import numpy as np
import torch
import yaml
from PIL import Image
from record import record
from train_throughput import talking_faces

from avdf.contracts.config import REPO_ROOT
from avdf.media import crop_cache


def jpeg_batch(batch: int, frames: int, side: int) -> list[bytes]:
    """``batch * frames`` JPEG crops (quality 90, as the cache writes them) of rendered faces."""
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    clips = talking_faces(params, side, 4.0)
    out = []
    for k in range(batch * frames):
        frame = clips[k % len(clips)][(k // len(clips)) % len(clips[0])]
        buf = io.BytesIO()
        Image.fromarray(frame).save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def avdf(jpegs: list[bytes], device: str) -> np.ndarray:
    """Every crop of a cache holding ``jpegs``, as the loader reads a window's crops."""
    offsets = np.concatenate([[0], np.cumsum([len(j) for j in jpegs])])
    blob = np.frombuffer(b"".join(jpegs), np.uint8)
    kept = np.arange(len(jpegs))
    return crop_cache.FaceCrops(len(jpegs), kept, offsets, blob)[kept]


def torchvision_batched(jpegs: list[bytes], device: str) -> np.ndarray:
    from torchvision.io import ImageReadMode, decode_jpeg

    data = [torch.frombuffer(bytearray(j), dtype=torch.uint8) for j in jpegs]
    images = decode_jpeg(data, mode=ImageReadMode.RGB, device=device)
    return torch.stack(images).permute(0, 2, 3, 1).cpu().numpy()


def rate(decode, jpegs: list[bytes], device: str, repeats: int) -> tuple[float, np.ndarray]:
    """Crops per second (best of ``repeats``, after one warm-up) and the pixels."""
    pixels = decode(jpegs, device)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        decode(jpegs, device)
        best = min(best, time.perf_counter() - start)
    return len(jpegs) / best, pixels


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--frames", type=int, default=16)
    ap.add_argument("--side", type=int, default=224)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-record", action="store_true", help="print only (tests)")
    args = ap.parse_args()
    torch.set_num_threads(1)  # as in a loader worker
    jpegs = jpeg_batch(args.batch, args.frames, args.side)
    paths = [("avdf", avdf, "cpu"), ("torchvision-cpu", torchvision_batched, "cpu")]
    if torch.cuda.is_available():
        paths.append(("torchvision-cuda", torchvision_batched, "cuda"))
    kb = sum(map(len, jpegs)) / len(jpegs) / 1024
    print(f"{len(jpegs)} crops of {args.side} px ({kb:.1f} KB each), one process, one intra-op thread")
    result, reference = {"crops": len(jpegs), "side": args.side}, None
    for name, decode, device in paths:
        crops_per_s, pixels = rate(decode, jpegs, device, args.repeats)
        reference = pixels if reference is None else reference
        diff = int(np.abs(pixels.astype(int) - reference.astype(int)).max())
        print(f"  {name:<17} {crops_per_s:9.0f} crops/s  largest pixel difference from avdf's: {diff}")
        result |= {f"{name}_crops_per_s": crops_per_s, f"{name}_max_diff": diff}
    if not torch.cuda.is_available():
        print("  torchvision-cuda: not measured (no GPU here)")
    if not args.no_record:
        record("jpeg_decode", result)


if __name__ == "__main__":
    main()
