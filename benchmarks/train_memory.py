"""Peak memory of one training step per method at the paper profile's sizes, against batch size.

A training job's memory does not grow with the dataset (benchmarks/scale.py measures that); it
grows with the batch: activations kept for the backward pass of 16 frames of 224 x 224 faces, or
of 4 s of raw audio for AASIST's sinc front end. Each (method, batch) runs in a fresh process:
the model at the paper profile's sizes, one training step (the method's own step: OM-Pareto,
contrastive terms) on random inputs, then the process's peak RSS (``ru_maxrss``) and, apart, the
RSS before the step (the interpreter, torch and the model). On a GPU the activations are the GPU
memory a batch needs; on this CPU they are RAM. ``--micro-batches 0 8`` measures each batch also
in slices of 8 clips (``train.micro_batch``, avdf.learning.steps: the same batch and gradient, the
activations of 8 clips at a time).
Usage: ``python benchmarks/train_memory.py [--batches 8 32] [--micro-batches 0 8] [--methods macbdf ...]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

from record import record

from avdf.contracts.config import profile_params

STEP = """
import json, resource, sys, torch
from avdf.contracts import methods, specs
from avdf.learning import models
from avdf.contracts.config import profile_params
from avdf.contracts.specs import InputSpec, ModelSpec, Run, TrainSpec
from avdf.learning.train import make_optimizer, make_step
torch.set_num_threads(2)
method, batch, micro = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
params = profile_params("paper")
params["train"]["micro_batch"] = micro
spec = InputSpec.of(params)
train = TrainSpec.of(params, Run("bench", method, "default", 0), "bench", False)
model = models.build(method, spec.n_mels, ModelSpec.of(params), train.method)
step, trainable = make_step(train, model)
side, labels = spec.faces.crop_size, torch.arange(batch) % 2
data = {"video": torch.randn(batch, spec.frames, 3, side, side),
        "audio": torch.randn(batch, spec.n_mels, spec.audio_len), "label": labels.float(),
        "audio_fake": labels.float(), "video_fake": (torch.arange(batch) // 2 % 2).float(),
        "index": torch.arange(batch)}
if methods.reads(method, specs.to_dict(train.method)).waveform:
    data["waveform"] = torch.randn(batch, round(spec.window_s * spec.sample_rate))
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
step(data, make_optimizer(trainable, 1e-4, 0.0, method))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"before_mb": round(before), "peak_mb": round(peak)}))
"""


def measure(method: str, batch: int, micro: int) -> dict:
    cmd = [sys.executable, "-c", STEP, method, str(batch), str(micro)]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        return {"error": done.stderr.strip().splitlines()[-1][:200]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batches", type=int, nargs="+", default=[8, 32])
    ap.add_argument("--micro-batches", type=int, nargs="+", default=[0], help="0: the whole batch at once")
    ap.add_argument("--methods", nargs="+", default=profile_params("paper")["train"]["methods"])
    args = ap.parse_args()
    print(f"{'method':12s} {'batch':>5s} {'micro':>5s} {'RSS before (MB)':>16s} {'peak (MB)':>10s}")
    for method in args.methods:
        for batch in args.batches:
            for micro in args.micro_batches:
                result = measure(method, batch, micro)
                print(
                    f"{method:12s} {batch:5d} {micro or batch:5d} {result.get('before_mb', '-'):>16} "
                    f"{result.get('peak_mb', '-'):>10}  {result.get('error', '')}"
                )
                record("train_memory", {"method": method, "batch": batch, "micro_batch": micro} | result)


if __name__ == "__main__":
    main()
