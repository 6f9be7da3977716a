"""How many operators one training step dispatches on the host (issue 30, item 2).

On a GPU every operator is at least one kernel launch and its CPU-side dispatch: a step of many
small operators is bound by the host, not the GPU (MACB-DF's step at c8ebd28: about 26,000 aten
operators, 323 ms of CPU against 141 ms of GPU time on an H200). The count is a property of the
code, not of the machine, so it is measured here on the CPU: one step of each method at the paper
profile's sizes (``--profile``) and ``--batch`` clips (8), warmed up once, under torch.profiler;
every ``aten::`` operator is counted, nested ones included, and the most frequent are listed.
Target for MACB-DF: <= 5,000.
Usage: ``python benchmarks/step_operators.py [--methods macbdf ...] [--batch 8] [--profile paper]``.
"""

from __future__ import annotations

import argparse
import collections

import torch
from record import record

from avdf import model_sizes, models
from avdf.config import profile_params
from avdf.specs import InputSpec, ModelSpec, Run, TrainSpec
from avdf.train import make_optimizer, make_step

TARGET = 5000


def count(method: str, params: dict, n: int) -> collections.Counter:
    """aten operators of one training step of ``method`` (after one step of warm-up)."""
    spec = InputSpec.of(params)
    train = TrainSpec.of(params, Run("ops", method, "default", 0), "ops", False)
    torch.manual_seed(0)
    model = models.build(method, spec.n_mels, ModelSpec.of(params), train.method)
    step, trainable = make_step(train, model)
    opt = make_optimizer(trainable, 1e-4, 0.0, method)
    batch = model_sizes.one_batch(params, n)
    step(batch, opt)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        step(batch, opt)
    return collections.Counter(e.name for e in prof.events() if e.name.startswith("aten::"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["macbdf"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--profile", default="paper", help="a workflow/profiles/ name ('' for params.yaml)")
    ap.add_argument("--top", type=int, default=12)
    args = ap.parse_args()
    torch.set_num_threads(2)
    params = profile_params(args.profile or None)
    result = {"batch": args.batch, "profile": args.profile or "default"}
    for method in args.methods:
        ops = count(method, params, args.batch)
        total = sum(ops.values())
        verdict = (
            f" (target <= {TARGET:,}: {'PASS' if total <= TARGET else 'FAIL'})" if method == "macbdf" else ""
        )
        print(f"{method}: {total:,} aten operators in one training step, batch {args.batch}{verdict}")
        print("    most frequent: " + ", ".join(f"{name[6:]} {k}" for name, k in ops.most_common(args.top)))
        result[f"{method}_aten_ops"] = total
    record("step_operators", result)


if __name__ == "__main__":
    main()
