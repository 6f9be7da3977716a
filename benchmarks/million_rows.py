"""Ingest at AV-Deepfake1M's size: a generated metadata set of 1.15 million rows (the dataset's
train + validation + test counts: 746,180 + 57,340 + 343,240, arXiv 2311.15308 Table 2), laid out
as the official repository publishes it, through ``avdf ingest`` in a separate process, as the
workflow runs it. Measured at two sizes (a tenth, and the full count) side by side, so the cost's
growth with size shows: wall time, peak RSS of the ingest process, and the manifest's size.
Targets at 1.15 M rows: <= 2 minutes and <= 3 GB. Usage: ``python benchmarks/million_rows.py
[--sizes 115000 1146760]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from record import record

from avdf.contracts.config import profile_params

SPLIT_SHARE = {"train": 746_180, "val": 57_340, "test": 343_240}
TYPES = ("real", "visual_modified", "audio_modified", "both_modified")


def _record(rng: random.Random, split: str, i: int) -> dict:
    person, take = f"id{i // 40:05d}", f"{i // 4:06d}"
    kind = TYPES[i % 4]
    fake = kind != "real"
    start = round(rng.uniform(0, 6), 2)
    segments = [[start, round(start + rng.uniform(0.2, 1.5), 2)]] if fake else []
    return {
        "file": f"lrs3/{person}/{take}/{'real' if not fake else kind}.mp4",
        "original": f"lrs3/{person}/{take}/real.mp4" if fake else None,
        "split": split,
        "fake_segments": segments,
        "visual_fake_segments": segments if kind in ("visual_modified", "both_modified") else [],
        "audio_fake_segments": segments if kind in ("audio_modified", "both_modified") else [],
        "audio_model": "your_tts" if kind in ("audio_modified", "both_modified") else "",
        "modify_type": kind,
        "video_frames": 250,
        "audio_frames": 160_000,
    }


def generate(root: Path, rows: int) -> None:
    total = sum(SPLIT_SHARE.values())
    rng = random.Random(0)
    counts = {s: round(rows * n / total) for s, n in SPLIT_SHARE.items()}
    for split in ("train", "val"):
        with open(root / f"{split}_metadata.json", "w") as f:
            json.dump([_record(rng, split, i) for i in range(counts[split])], f)
    with open(root / "test_files.txt", "w") as f:
        f.writelines(f"lrs3/t{i // 40:05d}/{i:07d}/000.mp4\n" for i in range(counts["test"]))


def ingest(root: Path, out: Path) -> dict:
    spec = json.dumps(profile_params()["split"] | {"protocol": "official"})  # as the ingest rule passes it
    cmd = [sys.executable, "-m", "avdf", "ingest", "--source", "avdeepfake1m", "--root", str(root)]
    cmd += ["--manifest", str(out / "m.csv"), "--split", str(out / "split.csv"), "--spec", spec]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    subprocess.run(cmd, check=True)
    seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    assert peak_kb >= before, "peak RSS of children only grows: run sizes from small to large"
    return {
        "seconds": round(seconds, 1),
        "peak_rss_mb": round(peak_kb / 1024),
        "manifest_mb": round(os.path.getsize(out / "m.csv") / 2**20, 1),
    }


def read_cost(manifest_csv: Path, columns: list[str] | None) -> dict:
    """Seconds and peak RSS of a fresh process that reads the manifest (whole, or ``columns``)."""
    code = (
        "import resource, sys, time, json; from avdf.data import manifest; t = time.perf_counter(); "
        f"manifest.read(sys.argv[1], {columns!r}); "
        "print(json.dumps([time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(manifest_csv)], check=True, capture_output=True, text=True
    )
    seconds, rss_kb = json.loads(out.stdout.splitlines()[-1])
    return {"seconds": round(seconds, 1), "peak_rss_mb": round(rss_kb / 1024)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[114_676, 1_146_760])
    args = parser.parse_args()
    results = {}
    for rows in sorted(args.sizes):
        with tempfile.TemporaryDirectory() as tmp:
            root, out = Path(tmp) / "av1m", Path(tmp) / "out"
            root.mkdir()
            out.mkdir()
            generate(root, rows)
            meta_mb = sum(p.stat().st_size for p in root.iterdir()) / 2**20
            results[rows] = ingest(root, out) | {"metadata_mb": round(meta_mb, 1)}
            print(f"{rows:>9} rows: {results[rows]}")
            from avdf.data import manifest

            for reader, columns in (
                ("whole", None),
                ("stage", manifest.STAGE_COLUMNS),
                ("clips", manifest.CLIP_COLUMNS),
            ):
                cost = read_cost(out / "m.csv", columns)
                results[rows] |= {f"read_{reader}_{k}": v for k, v in cost.items()}
                print(f"{rows:>9} rows: reading the manifest ({reader}): {cost}")
    small, large = min(results), max(results)
    growth = results[large]["seconds"] / max(results[small]["seconds"], 1e-9)
    print(f"time grows {growth:.1f}x for {large / small:.1f}x the rows")
    ok = results[large]["seconds"] <= 120 and results[large]["peak_rss_mb"] <= 3 * 1024
    print(
        f"at {large} rows: {results[large]['seconds']} s, {results[large]['peak_rss_mb']} MB peak RSS "
        f"(targets <= 120 s and <= 3072 MB: {'PASS' if ok else 'FAIL'})"
    )
    record(
        "million_rows",
        {f"{k}_{n}": v for n, r in results.items() for k, v in r.items()} | {"time_growth": round(growth, 2)},
    )


if __name__ == "__main__":
    main()
