"""Where do results first differ between two CPU configurations? (issue 20, item 4)

Runs the tiny workflow (tests/conftest.tiny_params: three stand-ins, 1 s clips, three methods, two
seeds) to Table 1 in two fresh folders: once as this machine is, once with the vector instruction
sets a CPU without AVX2 would use, emulated by the libraries' own switches:
``ATEN_CPU_CAPABILITY=default`` (PyTorch's own kernels), ``ONEDNN_MAX_CPU_ISA=SSE41`` (oneDNN's
convolutions) and ``MKL_ENABLE_INSTRUCTIONS=SSE4_2`` (MKL's BLAS). It then compares, stage by
stage, what each run wrote: the decoded synthetic clips, the face tracks, the face crops, the
log-Mels, every checkpoint's weights, and table1.csv, and prints which stage first differs and by
how much (docs/drift.md has a measured run).
Usage: ``python benchmarks/drift.py``.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from conftest import REPO, tiny_params  # noqa: E402

from avdf.contracts import numerics  # noqa: E402

BASELINE_ISA = numerics.BASELINE_ISA  # what numerics.cpu_isa: baseline sets


def run_workflow(folder: Path, env: dict) -> float:
    folder.mkdir(parents=True)
    (folder / "params.yaml").write_text(yaml.safe_dump(tiny_params()))
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "Snakefile"), "--directory", str(folder)]
    environ = dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}", **env)
    started = time.perf_counter()
    subprocess.run([*cmd, "--cores", "2", "results/table1.csv"], check=True, env=environ, capture_output=True)
    return time.perf_counter() - started


def _npy_digest(paths) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.name.encode() + np.load(p).tobytes())
    return h.hexdigest()[:12]


def _max_abs(a: list[Path], b: list[Path]) -> float:
    return max(
        float(np.abs(np.load(x).astype(np.float64) - np.load(y).astype(np.float64)).max())
        for x, y in zip(a, b, strict=True)
    )


def stages(folder: Path) -> dict[str, list[Path]]:
    """The files of each stage, in a fixed order."""
    return {
        "synthetic clips (MP4 bytes)": sorted(folder.glob("data/raw/synthetic/**/*.mp4")),
        "face tracks (boxes)": sorted(folder.glob("data/interim/*/faces/*.npz")),
        "face crops (JPEG bytes)": sorted(folder.glob("data/cache/*/face_crops/*.npz")),
        "log-Mel": sorted(folder.glob("data/cache/*/log_mel/*.npy")),
        "checkpoints (weights)": sorted(folder.glob("runs/**/model.pt")),
        "table1.csv": [folder / "results/table1.csv"],
    }


def differ(stage: str, a: list[Path], b: list[Path]) -> str:
    if [p.name for p in a] != [p.name for p in b]:
        return "different files"
    if stage.startswith("face tracks"):
        diffs = [
            float(np.abs(np.load(x)["boxes"] - np.load(y)["boxes"]).max()) for x, y in zip(a, b, strict=True)
        ]
        return "identical" if max(diffs) == 0 else f"max box difference {max(diffs):.4f} px"
    if stage.startswith("checkpoints"):
        worst = 0.0
        for x, y in zip(a, b, strict=True):
            sx, sy = (torch.load(p, weights_only=True)["state_dict"] for p in (x, y))
            worst = max([worst] + [float((sx[k].double() - sy[k].double()).abs().max()) for k in sx])
        return "identical" if worst == 0 else f"max weight difference {worst:.3g}"
    if a[0].suffix == ".npy":
        return "identical" if _npy_digest(a) == _npy_digest(b) else f"max difference {_max_abs(a, b):.3g}"
    same = all(x.read_bytes() == y.read_bytes() for x, y in zip(a, b, strict=True))
    return "identical" if same else "differ"


def compare(one: Path, two: Path) -> None:
    first = None
    for stage, files in stages(one).items():
        verdict = differ(stage, files, stages(two)[stage])
        first = first or (stage if verdict != "identical" else None)
        print(f"  {stage:30s} {len(files):4d} files  {verdict}")
    print(f"  first stage that differs: {first or 'none'}")


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t_native = run_workflow(tmp / "native", {})
        t_emulated = run_workflow(tmp / "baseline_isa", BASELINE_ISA)
        print(f"this machine's ISA ({t_native:.0f} s) against a baseline x86-64 ISA ({t_emulated:.0f} s):")
        compare(tmp / "native", tmp / "baseline_isa")


if __name__ == "__main__":
    main()
