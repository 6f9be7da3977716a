"""How long ``avdf predict`` takes for one 10 s 360p clip on this CPU, decoding and face tracking
included (target: 2 s on 2 cores). Renders the clip (benchmarks/preprocess.py's 360p talking face),
scores it with a checkpoint (``--checkpoint``; default: the first MACB-DF run under ``runs/``), and
prints the time of each step of ``avdf.evaluation.predict.score_video`` (profiled) and the total.
Usage: ``python benchmarks/predict.py [--checkpoint runs/.../model.pt] [--seconds 10] [--reps 3]``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import tempfile
import time
from pathlib import Path

from preprocess import SHAPES, render
from record import record

from avdf.evaluation import predict


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    checkpoint = args.checkpoint or str(sorted(Path("runs").glob("*/macbdf/default/seed0/model.pt"))[0])
    model, ckpt = predict.load(checkpoint, None)
    with tempfile.TemporaryDirectory() as tmp:
        clip = render(Path(tmp), 1, args.seconds, SHAPES["360p"])[0]
        predict.predict([str(clip)], model, ckpt)  # warm-up (MTCNN weights, allocations)
        times = []
        for _ in range(args.reps):
            start = time.perf_counter()
            result = predict.predict([str(clip)], model, ckpt)[0]
            times.append(time.perf_counter() - start)
        profile = cProfile.Profile()
        profile.runcall(predict.predict, [str(clip)], model, ckpt)
    stats = pstats.Stats(profile)
    print("where the time goes (cumulative s):")
    for name in ("extract_audio", "read_video", "read_wav", "track", "crop_faces", "log_mel", "_call_impl"):
        found = [(v[3], k) for k, v in stats.stats.items() if k[2] == name]
        if found:
            print(f"    {name:12s} {max(found)[0]:6.2f}")
    best = min(times)
    if "error" in result:  # a clip that was not scored has no time to compare with the target
        print(f"the clip was not scored ({result['error']}): FAIL")
        raise SystemExit(1)
    print(
        f"{args.seconds:.0f} s 360p clip scored in {best:.2f} s (median {statistics.median(times):.2f} s) "
        f"-> target <= 2 s: {'PASS' if best <= 2 else 'FAIL'}; prob_fake {result['prob_fake']:.3f}"
    )
    record(
        "predict",
        {
            "clip_seconds": args.seconds,
            "best_s": round(best, 3),
            "median_s": round(statistics.median(times), 3),
        },
    )


if __name__ == "__main__":
    main()
