"""The forms of MACB-DF's multi-scale depthwise convolutions, side by side (issue 30, item 2).

Eq. (16)'s attention (MSTLKA on video, MFTLKA on audio) is, per channel group i, a gate conv G_i and
the large-kernel branch PW_i(DWD_i(DW_i(x))). Four forms of it, forward plus backward on this CPU,
with the aten operators each dispatches and its largest difference from the paper's literal form:

- ``per-group``: the literal form, three groups of three depthwise convs and a pointwise each (avdf
  before issue 30);
- ``masked``: avdf's form (avdf.learning.models.blocks): one masked depthwise conv per kind, one
  block-diagonal pointwise; the same function;
- ``masked, every tap convolved``: the same as avdf ran it before 2026-12-07, each depthwise
  convolution over every tap of its kernel; avdf's form now cuts a kernel to the taps that can
  reach the map (``blocks.reachable``: the audio maps' 2 frequency bands) and makes a convolution
  one matrix product per channel where the map has no more positions than the kernel has taps
  (``blocks.small_map_depthwise``: the embedded default's 4 x 4 x 4 video maps);
- ``masked, contiguous``: the same on a channels-first contiguous copy of the map (avdf's maps are
  channels-last views);
- ``separable``: each group's k x k x k kernel replaced by (1, k, k) then (k, 1, 1), as the issue
  suggests: fewer taps, but another function (rank-1 kernels), so no difference is printed; it is
  not used.

GPU figures: not measured here (no GPU in this run); ``benchmarks/gpu_check.sh`` would.
``--steps N`` also times MACB-DF's whole training step both ways (N steps a round, ``--rounds``
each, alternating). Usage: ``python benchmarks/depthwise.py [--profile paper] [--batch 8]
[--repeats 5] [--threads 2] [--steps 0] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import time
from unittest import mock

import torch
from record import record
from torch.nn import functional as F

from avdf.contracts.config import profile_params
from avdf.learning.models import blocks
from avdf.learning.models.blocks import SCALES, MultiScaleLKA


def own_kernel(layer, start: int, c: int, k: int, d: int, dims: int) -> torch.Tensor:
    """Group's own (k,)*dims kernel, read out of the masked kernel of ``layer``."""
    offset = (layer.weight.shape[-1] - ((k - 1) * d + 1)) // 2
    taps = (slice(start, start + c), slice(None), *(slice(offset, offset + (k - 1) * d + 1, d),) * dims)
    return layer.weight[taps]


def per_group(lka: MultiScaleLKA, x: torch.Tensor) -> torch.Tensor:
    """The literal eq. (16) on a channels-first map, with ``lka``'s weights."""
    dims, conv = x.dim() - 2, F.conv3d if x.dim() == 5 else F.conv2d
    out, start = [], 0
    for c, (k, d) in zip(lka.splits, SCALES, strict=True):
        part, bias = x[:, start : start + c], slice(start, start + c)
        dw, dwd = (
            own_kernel(lka.dw, start, c, 2 * d - 1, 1, dims),
            own_kernel(lka.dwd, start, c, -(-k // d), d, dims),
        )
        h = conv(part, dw, lka.dw.bias[bias], padding=d - 1, groups=c)
        h = conv(h, dwd, lka.dwd.bias[bias], padding=(-(-k // d) // 2) * d, dilation=d, groups=c)
        h = torch.einsum("bc...,oc->bo...", h, lka.pw.weight[bias, bias]) + lka.pw.bias[bias].view(
            -1, *(1,) * dims
        )
        gate = conv(
            part, own_kernel(lka.gate, start, c, 3, 1, dims), lka.gate.bias[bias], padding=1, groups=c
        )
        out.append(gate * h)
        start += c
    return torch.cat(out, 1)


def separable(lka: MultiScaleLKA, x: torch.Tensor, kernels: dict) -> torch.Tensor:
    """Each group's 3-D kernels as (1, k, k) then (k, 1, 1) (video maps only)."""
    out, start = [], 0
    for c, (k, d) in zip(lka.splits, SCALES, strict=True):
        part = x[:, start : start + c]
        h = part
        for name, size, dil in (("dw", 2 * d - 1, 1), ("dwd", -(-k // d), d)):
            spatial, temporal = kernels[(name, start)]
            h = F.conv3d(
                h,
                spatial,
                padding=(0, (size // 2) * dil, (size // 2) * dil),
                dilation=(1, dil, dil),
                groups=c,
            )
            h = F.conv3d(h, temporal, padding=((size // 2) * dil, 0, 0), dilation=(dil, 1, 1), groups=c)
        h = torch.einsum("bcthw,oc->bothw", h, lka.pw.weight[start : start + c, start : start + c])
        out.append(F.conv3d(part, kernels[("gate", start)], padding=1, groups=c) * h)
        start += c
    return torch.cat(out, 1)


def separable_kernels(lka: MultiScaleLKA) -> dict:
    kernels, start = {}, 0
    for c, (k, d) in zip(lka.splits, SCALES, strict=True):
        for name, size in (("dw", 2 * d - 1), ("dwd", -(-k // d))):
            kernels[(name, start)] = (
                torch.randn(c, 1, 1, size, size) * 0.1,
                torch.randn(c, 1, size, 1, 1) * 0.1,
            )
        kernels[("gate", start)] = torch.randn(c, 1, 3, 3, 3) * 0.1
        start += c
    return kernels


def measure(fn, x: torch.Tensor, repeats: int) -> tuple[float, int]:
    """Milliseconds of forward + backward (median of ``repeats``) and its aten operators."""

    def once():
        x.grad = None
        fn(x).square().mean().backward()

    once()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        once()
    ops = sum(1 for e in prof.events() if e.name.startswith("aten::"))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        once()
        times.append(time.perf_counter() - start)
    return 1000 * sorted(times)[len(times) // 2], ops


@contextlib.contextmanager
def every_tap_convolved():
    """Within it, the blocks' depthwise convolutions are as before avdf cut kernels to the taps that
    reach the map (``blocks.reachable``) and took small maps as matrix products
    (``blocks.small_map_depthwise``): each a convolution over every tap."""
    whole = lambda weight, size: (weight, (weight.shape[-1] // 2,) * len(size))  # noqa: E731
    with (
        mock.patch.object(blocks, "as_matrix", lambda positions, taps: False),
        mock.patch.object(blocks, "reachable", whole),
    ):
        yield


def every_tap(lka: MultiScaleLKA, x: torch.Tensor) -> torch.Tensor:
    with every_tap_convolved():
        return lka(x).movedim(-1, 1)


def forms(lka: MultiScaleLKA, cl: torch.Tensor) -> dict:
    """name -> (function of a leaf map giving a channels-first map, the map it reads)."""
    cf = cl.movedim(-1, 1).contiguous().requires_grad_()
    found = {
        "per-group": (lambda x: per_group(lka, x), cf),
        "masked": (lambda x: lka(x).movedim(-1, 1), cl),
        "masked, every tap convolved": (lambda x: every_tap(lka, x), cl),
        "masked, contiguous": (lambda x: lka(x.movedim(1, -1)).movedim(-1, 1), cf),
    }
    if cl.dim() == 5:
        kernels = separable_kernels(lka)
        found["separable (another function)"] = (lambda x: separable(lka, x, kernels), cf)
    return found


def map_shapes(params: dict, batch: int) -> dict[str, tuple]:
    """The channels-last maps MACB-DF's blocks see at ``params``' sizes: video (B, T, g, g, C) and
    audio (B, T_a, 2, C), from one pass of its encoders."""
    from avdf.contracts.specs import InputSpec, ModelSpec
    from avdf.learning import model_sizes, models

    spec = InputSpec.of(params)
    model = models.build("macbdf", spec.n_mels, ModelSpec.of(params), params["macbdf"]).eval()
    with torch.no_grad():
        h_a, h_v = model.encode(model_sizes.one_batch(params, 1))
    g, dim = model.video.grid, h_a.shape[-1]
    return {"video": (batch, h_v.shape[1] // (g * g), g, g, dim), "audio": (batch, h_a.shape[1] // 2, 2, dim)}


def step_times(params: dict, batch: int, steps: int, rounds: int = 3) -> dict[str, list[float]]:
    """Milliseconds of one MACB-DF training step (mean of ``steps``) per round, avdf's form against
    every tap convolved, the rounds alternating between the two."""
    from step_operators import warmed_step

    times: dict[str, list[float]] = {"avdf": [], "every tap convolved": []}
    for _ in range(rounds):
        for form, within in (("avdf", contextlib.nullcontext), ("every tap convolved", every_tap_convolved)):
            with within():
                step, opt, data = warmed_step("macbdf", params, batch)
                start = time.perf_counter()
                for _ in range(steps):
                    step(data, opt)
                times[form].append(1000 * (time.perf_counter() - start) / steps)
    return times


def report_steps(params: dict, batch: int, steps: int, rounds: int, result: dict) -> None:
    times = step_times(params, batch, steps, rounds)
    for form, ms in times.items():
        print(f"  MACB-DF training step, {form}: best {min(ms):.1f} ms, rounds {[round(t, 1) for t in ms]}")
    ratio = min(times["avdf"]) / min(times["every tap convolved"])
    print(f"  ratio avdf / every tap convolved (best of each): {ratio:.2f}")
    result["step_ms"] = round(min(times["avdf"]), 1)
    result["step_every_tap_ms"] = round(min(times["every tap convolved"]), 1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="paper", help="a workflow/profiles/ name ('' for params.yaml)")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="torch threads (a workflow job's: train.threads)")
    ap.add_argument("--steps", type=int, default=0, help="> 0: also MACB-DF's whole step, both forms")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of --steps steps, each form")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    p = profile_params(args.profile or None)
    maps = map_shapes(p, args.batch)
    result = collections.OrderedDict(profile=args.profile or "default", batch=args.batch)
    print(f"profile {result['profile']}, batch {args.batch}; forward + backward on this CPU")
    for name, shape in maps.items():
        lka = MultiScaleLKA(shape[-1], len(shape) - 2)
        cl = torch.randn(*shape, requires_grad=True)
        with torch.no_grad():
            reference = per_group(lka, cl.movedim(-1, 1))
        for form, (fn, x) in forms(lka, cl).items():
            ms, ops = measure(fn, x, args.repeats)
            with torch.no_grad():
                diff = (
                    "" if "another" in form else f", max |diff| {float((fn(x) - reference).abs().max()):.1e}"
                )
            print(f"  {name} {tuple(shape)} {form}: {ms:.2f} ms, {ops} aten operators{diff}")
            suffix = next((f"_{w}" for w in ("contiguous", "convolved") if w in form), "")
            key = form.split(" ")[0].strip(",") + suffix
            result[f"{name}_{key}_ms"], result[f"{name}_{key}_ops"] = round(ms, 3), ops
    if args.steps:
        report_steps(p, args.batch, args.steps, args.rounds, result)
    record("depthwise", dict(result))


if __name__ == "__main__":
    main()
