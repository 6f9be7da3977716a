"""How many operators one training step dispatches on the host (issue 30, item 2).

On a GPU every operator is at least one kernel launch and its CPU-side dispatch: a step of many
small operators is bound by the host, not the GPU (MACB-DF's step at c8ebd28: about 26,000 aten
operators, 323 ms of CPU against 141 ms of GPU time on an H200). The count is a property of the
code, not of the machine, so it is measured here on the CPU: one step of each method at the paper
profile's sizes (``--profile``) and ``--batch`` clips (8), warmed up twice, under torch.profiler;
every ``aten::`` operator is counted, nested ones included, and the most frequent are listed, with
the step's time on this CPU. ``--compile`` adds each method's step as ``train.compile: true`` runs
it (the forward passes and their backward under ``torch.compile``; Inductor's own kernels are not
aten operators, its calls to matrix products and convolutions are), eager being the reference.
Target for MACB-DF: <= 5,000.
Usage: ``python benchmarks/step_operators.py [--methods macbdf ...] [--batch 8] [--profile paper]
[--threads 2] [--compile]``.
"""

from __future__ import annotations

import argparse
import collections
import time

import torch
from record import record

from avdf.contracts.config import profile_params
from avdf.contracts.specs import InputSpec, ModelSpec, Run, TrainSpec
from avdf.learning import model_sizes, models
from avdf.learning.train import make_optimizer, make_step

TARGET = 5000


BACKWARD_NODE = "autograd::engine::evaluate_function: "  # the profiler's range around one autograd node


def in_backward(event) -> bool:
    """Whether a profiler event ran inside an autograd node of the backward pass."""
    parent = event.cpu_parent
    while parent is not None and not parent.name.startswith(BACKWARD_NODE):
        parent = parent.cpu_parent
    return parent is not None


def backward_share(events) -> dict:
    """Of a step's aten operators, those the backward pass dispatched, and its autograd nodes, nearly
    all of which dispatch one operator or more (AccumulateGrad: one node per parameter tensor)."""
    nodes = collections.Counter(
        e.name[len(BACKWARD_NODE) :] for e in events if e.name.startswith(BACKWARD_NODE)
    )
    ops = sum(1 for e in events if e.name.startswith("aten::") and in_backward(e))
    accumulate = sum(k for name, k in nodes.items() if name.endswith("AccumulateGrad"))
    return {"ops": ops, "nodes": sum(nodes.values()), "accumulate": accumulate}


def warmed_step(method: str, params: dict, n: int, compiled: bool = False):
    """``method``'s training step at ``params``' sizes (``train.compile`` as ``compiled``), its
    optimiser and a batch of ``n`` clips, after two steps of warm-up (which compile where asked)."""
    spec = InputSpec.of(params)
    params = {**params, "train": {**params["train"], "compile": compiled}}
    train = TrainSpec.of(params, Run("ops", method, "default", 0), "ops", False)
    torch.manual_seed(0)
    model = models.build(method, spec.n_mels, ModelSpec.of(params), train.method)
    step, trainable = make_step(train, model)
    opt = make_optimizer(trainable, 1e-4, 0.0, method)
    batch = model_sizes.one_batch(params, n)
    for _ in range(2):
        step(batch, opt)
    return step, opt, batch


def count(
    method: str, params: dict, n: int, compiled: bool = False
) -> tuple[collections.Counter, float, dict]:
    """aten operators of one training step of ``method`` (after two steps of warm-up, which compile
    where ``compiled``), the seconds of a step (mean of three), and the backward pass's share."""
    step, opt, batch = warmed_step(method, params, n, compiled)
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        step(batch, opt)
    start = time.perf_counter()
    for _ in range(3):
        step(batch, opt)
    seconds = (time.perf_counter() - start) / 3
    events = prof.events()
    ops = collections.Counter(e.name for e in events if e.name.startswith("aten::"))
    return ops, seconds, backward_share(events)


def report(method: str, params: dict, batch: int, compiled: bool, top: int, targeted: bool) -> dict:
    """Count, print and return one method's figures; the verdict where ``targeted`` (the target's
    setting: MACB-DF at the paper profile, batch 8)."""
    ops, seconds, backward = count(method, params, batch, compiled)
    total, how = sum(ops.values()), "compiled" if compiled else "eager"
    passed = "PASS" if total <= TARGET else "FAIL"
    verdict = f" (target <= {TARGET:,}: {passed})" if method == "macbdf" and targeted else ""
    print(
        f"{method} ({how}): {total:,} aten operators in one training step, batch {batch}, "
        f"{seconds:.2f} s a step on this CPU{verdict}"
    )
    print(
        f"    of which the backward pass: {backward['ops']:,} in {backward['nodes']:,} autograd nodes "
        f"({backward['accumulate']:,} of them AccumulateGrad, one per parameter tensor)"
    )
    print("    most frequent: " + ", ".join(f"{name[6:]} {k}" for name, k in ops.most_common(top)))
    suffix = "_compiled" if compiled else ""
    return {
        f"{method}_aten_ops{suffix}": total,
        f"{method}_backward_ops{suffix}": backward["ops"],
        f"{method}_step_s{suffix}": round(seconds, 3),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--methods", nargs="+", default=["macbdf"])
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--profile", default="paper", help="a workflow/profiles/ name ('' for params.yaml)")
    ap.add_argument("--top", type=int, default=12)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (a workflow job's: train.threads)")
    ap.add_argument(
        "--compile", action="store_true", help="each method also with train.compile, side by side (minutes)"
    )
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    params = profile_params(args.profile or None)
    result = {"batch": args.batch, "profile": args.profile or "default", "threads": args.threads}
    targeted = args.profile == "paper" and args.batch == 8
    for method in args.methods:
        for compiled in (False, True) if args.compile else (False,):
            result.update(report(method, params, args.batch, compiled, args.top, targeted))
    record("step_operators", result)


if __name__ == "__main__":
    main()
