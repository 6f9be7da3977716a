"""Write (``--write``) or check the golden hashes of the embedded synthetic data.

For every clip of every synthetic dataset in params.yaml (default seed), the sha256 of its
rendered frames and audio and of the frames and audio decoded from its MP4 (avdf.synthetic.golden).
``--write`` records them, with this machine and the package versions, in tests/golden/synthetic.json;
without it, every clip is regenerated and compared, and each mismatch is named with the parts that
differ. ``tests/test_golden.py`` checks a sample on every ``make test``.
Usage: ``python benchmarks/golden.py [--write] [--workers 2]``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import sys
from importlib import metadata

import yaml

from avdf.contracts import atomic
from avdf.contracts.config import REPO_ROOT
from avdf.synthetic import golden

GOLDEN = REPO_ROOT / "tests" / "golden" / "synthetic.json"


def _digest(item):
    clip, job = item
    return clip, golden.clip_digest(job)


def all_jobs(params: dict) -> dict:
    jobs = {}
    for name, spec in params["datasets"].items():
        if spec["source"] == "synthetic":
            jobs |= golden.family_jobs(name, spec["family"], params["synth"])
    return jobs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--write", action="store_true", help="record the hashes instead of comparing")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--clips", type=int, default=0, help="check only the first N clips (0: all)")
    args = ap.parse_args()
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    jobs = all_jobs(params)
    if args.clips:
        if args.write:
            ap.error("--write records every clip; --clips is for a quick check")
        jobs = dict(sorted(jobs.items())[: args.clips])
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        found = dict(pool.imap(_digest, sorted(jobs.items()), chunksize=8))
    if args.write:
        record = {
            "synth": params["synth"],
            "machine": {
                "platform": platform.platform(),
                "processor": platform.processor() or platform.machine(),
            },
            "versions": {p: metadata.version(p) for p in ("numpy", "scipy", "imageio-ffmpeg", "torch")},
            "clips": found,
        }
        atomic.write_json(GOLDEN, record)
        print(f"wrote {len(found)} clips to {GOLDEN.relative_to(REPO_ROOT)}")
        return 0
    expected = json.loads(GOLDEN.read_text())["clips"]
    lines = golden.differences(expected, found)
    print(f"{len(found)} clips regenerated: {len(found) - len(lines)} identical, {len(lines)} differ")
    print("\n".join(lines[:50]))
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main())
