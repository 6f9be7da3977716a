"""Peak memory of rendering one synthetic clip: every frame held at once against frames streamed
to the encoder, side by side in one run.

The rehearsal's longest clips (``synth.real_shape``: up to 20 s, 30 fps, 1280 x 720 or 720 x 1280)
are 1.7 GB of RGB frames; held at once and copied into the encoder's pipe, one clip took several
GB, and a synthesis job with two rendering processes about 8 GB (docs/scale/). Each way runs in a
fresh process on the same clip (a fake, so the face swap is rendered too) at each size given; the
process's peak RSS (``ru_maxrss``) is printed, with the two ways' ratio, and whether both wrote the
same file (the same frames go to the same bit-exact encoder either way).
Usage: ``python benchmarks/synth_memory.py [--seconds 4 20] [--size 1280 720] [--fps 30]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile

from record import record

RENDER = """
import hashlib, json, resource, sys
from pathlib import Path
import numpy as np
from avdf.synthetic import generator as synthetic
from avdf.media import ffmpeg
way, seconds, width, height, fps, dest = sys.argv[1:7]
cfg = {"seed": 20250512, "duration_s": float(seconds), "fps": int(fps), "sample_rate": 16000,
       "frame_size": [int(width), int(height)]}
people = synthetic.identities(cfg["seed"], "fakeavceleb", 2)
args = (cfg, "fakeavceleb", people[0], people[1], "D", np.random.default_rng([7, 0]))
if way == "held":
    frames, audio = synthetic.render_clip(*args)
else:
    frames, audio = synthetic.render_stream(*args)
ffmpeg.encode_clip(frames, audio, cfg["sample_rate"], cfg["fps"], dest)
print(json.dumps({"peak_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                  "file_sha": hashlib.sha256(Path(dest).read_bytes()).hexdigest()[:16]}))
"""


def measure(way: str, seconds: float, size: tuple[int, int], fps: int, tmp: str) -> dict:
    dest = f"{tmp}/{way}_{seconds}.mp4"
    out = subprocess.run(
        [sys.executable, "-c", RENDER, way, str(seconds), *map(str, size), str(fps), dest],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, nargs="+", default=[4.0, 20.0])
    ap.add_argument("--size", type=int, nargs=2, default=[1280, 720], metavar=("WIDTH", "HEIGHT"))
    ap.add_argument("--fps", type=int, default=30)
    args = ap.parse_args()
    print(f"one fake clip at {args.size[0]}x{args.size[1]}, {args.fps} fps, rendered and encoded:")
    with tempfile.TemporaryDirectory() as tmp:
        for seconds in args.seconds:
            held = measure("held", seconds, tuple(args.size), args.fps, tmp)
            streamed = measure("streamed", seconds, tuple(args.size), args.fps, tmp)
            same = held["file_sha"] == streamed["file_sha"]
            ratio = held["peak_mb"] / streamed["peak_mb"]
            print(
                f"  {seconds:g} s: every frame held {held['peak_mb']} MB, streamed {streamed['peak_mb']} MB "
                f"({ratio:.1f}x less); same file: {same}"
            )
            record(
                "synth_memory",
                {
                    "seconds": seconds,
                    "width": args.size[0],
                    "height": args.size[1],
                    "fps": args.fps,
                    "held_peak_mb": held["peak_mb"],
                    "streamed_peak_mb": streamed["peak_mb"],
                    "ratio": round(ratio, 2),
                    "same_file": same,
                },
            )


if __name__ == "__main__":
    main()
