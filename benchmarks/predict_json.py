"""How large ``avdf predict``'s JSON is with and without ``--tracks`` (the per-frame face boxes), and
the ``--report`` page, over clips of several lengths (issue 34, item 2).

Renders talking-face clips (benchmarks/preprocess.py's renderer) of ``--seconds`` each, scores them
all with one checkpoint (``--checkpoint``; default: the first MACB-DF run under ``runs/``), writes the
JSON both ways and the report, and prints bytes per file and per second of video: the boxes grow with
the video's length, the rest with its number of windows and seconds.
Usage: ``python benchmarks/predict_json.py [--checkpoint runs/.../model.pt] [--seconds 4 10 20 34]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from preprocess import SHAPES, render
from record import record

from avdf.evaluation import predict, video_report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--checkpoint", default=None)
    ap.add_argument("--seconds", type=float, nargs="+", default=[4, 10, 20, 34])
    args = ap.parse_args()
    checkpoint = args.checkpoint or str(sorted(Path("runs").glob("*/macbdf/default/seed0/model.pt"))[0])
    model, ckpt = predict.load(checkpoint, None)
    with tempfile.TemporaryDirectory() as tmp:
        clips = []
        for i, seconds in enumerate(args.seconds):
            folder = Path(tmp) / f"c{i}"
            folder.mkdir()
            clips += render(folder, 1, seconds, SHAPES["360p"])
        results = predict.predict([str(c) for c in clips], model, ckpt)
        sizes = {}
        for name, tracks in (("without --tracks", False), ("with --tracks", True)):
            predict.write(results, f"{tmp}/{name}.json", tracks)
            sizes[name] = Path(f"{tmp}/{name}.json").stat().st_size
        video_report.write_report(results, f"{tmp}/report.html")
        sizes["report page"] = Path(f"{tmp}/report.html").stat().st_size
    failed = [r["path"] for r in results if "error" in r]
    total = sum(args.seconds)
    lengths = ", ".join(f"{s:g}" for s in args.seconds)
    print(f"{len(clips)} clips of {lengths} s ({total:g} s), {len(failed)} not scored")
    for name, size in sizes.items():
        print(f"  {name:18s} {size:9,d} bytes  {size / total:8.0f} bytes a second of video")
    print(f"  --tracks makes the JSON {sizes['with --tracks'] / sizes['without --tracks']:.1f}x larger")
    record("predict_json", {"seconds": total, **{k.replace(" ", "_"): v for k, v in sizes.items()}})
    if failed:
        raise SystemExit(f"not scored: {failed}")


if __name__ == "__main__":
    main()
