"""Cost of OM-Pareto per training step, measured side by side in one run.

Times three steps of the same MACB-DF model on the same batch:

- plain: the summed loss L_m + L_u^audio + L_u^video, one backward pass;
- avdf: OM-Pareto as avdf's trainer runs it (avdf.steps.MACBDFStep): the head differentiated once
  per loss, the encoders once, with the combined gradient;
- mmpareto-style: the work pattern of MMPareto's public script: a backward pass per loss with
  ``retain_graph=True``, gradients cloned and gathered by parameter name, the same combination
  (avdf.optim.om_pareto.combine) over each encoder's parameters, and a fourth backward pass of
  the summed loss whose gradient norms rescale the result.

Prints the median time of each and the ratios avdf/plain (target <= 1.3) and mmpareto/avdf
(target >= 2), for each input configuration BATCHxFRAMES given (default: 16x8, the size trained
on the embedded data, and 8x16, the 16-frame clips of paper-scale inputs).
Usage: ``python benchmarks/om_pareto.py [--device cuda] [--configs 16x8,8x16] [--reps 9]``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
import yaml

from avdf import models
from avdf.config import REPO_ROOT
from avdf.optim import om_pareto
from avdf.train import make_step


def mmpareto_style_step(model, objective, batch, opt, cfg) -> None:
    """The work pattern of MMPareto's public training script (the counter-example in STYLE.md).

    One backward pass per loss with ``retain_graph=True``, every encoder gradient cloned into a
    dict keyed by parameter name, the balance solved on the concatenated vectors, then a fourth
    backward pass of the summed loss whose per-parameter norms rescale the combined gradient,
    written back parameter by parameter by name.
    """
    out = model(batch)
    parts = objective(out, batch)
    losses = {
        "both": parts["multimodal"],
        "audio": parts["unimodal"]["audio"],
        "video": parts["unimodal"]["video"],
    }
    encoders = {
        e: [(n, p) for n, p in model.named_parameters() if n.startswith(f"{e}.")] for e in ("audio", "video")
    }
    grads = {}
    for key, loss in losses.items():
        loss.backward(retain_graph=True)
        for e, named in encoders.items():
            if key in ("both", e):
                grads[(key, e)] = {
                    n: (p.grad.clone() if p.grad is not None else torch.zeros_like(p)) for n, p in named
                }
        opt.zero_grad(set_to_none=True)
    combined = {}
    for e, named in encoders.items():
        g_m = torch.cat([grads[("both", e)][n].flatten() for n, _ in named])
        g_u = torch.cat([grads[(e, e)][n].flatten() for n, _ in named])
        h, _ = om_pareto.combine(g_m, g_u, cfg)
        offset = 0
        for n, p in named:
            combined[n] = h[offset : offset + p.numel()].view_as(p)
            offset += p.numel()
    (losses["both"] + losses["audio"] + losses["video"]).backward()
    for name, p in model.named_parameters():
        if name in combined and p.grad is not None:
            ratio = p.grad.norm() / combined[name].norm().clamp_min(1e-12)
            p.grad = combined[name] * ratio.clamp_min(1.0)
    opt.step()


def run_config(
    params: dict, dev: torch.device, batch_size: int, frames: int, crop: int, reps: int, threads: int
) -> None:
    g = torch.Generator().manual_seed(0)
    b = batch_size
    batch = {
        "video": torch.randn(b, frames, 3, crop, crop, generator=g),
        "audio": torch.randn(b, params["log_mel"]["n_mels"], 200, generator=g),
        "label": (torch.arange(b) % 4 > 0).float(),
        "audio_fake": (torch.arange(b) % 2 == 1).float(),
        "video_fake": (torch.arange(b) % 4 >= 2).float(),
    }
    batch = {k: v.to(dev) for k, v in batch.items()}

    def build(om: bool):
        p = copy.deepcopy(params)
        p["macbdf"]["om_pareto"] = om
        torch.manual_seed(0)
        model = models.build("macbdf", p["log_mel"]["n_mels"], p["model"], p["macbdf"]).to(dev)
        step, trainable = make_step("macbdf", model, p)
        step.objective.to(dev)
        return model, step, torch.optim.AdamW(trainable, lr=1e-4)

    plain_model, plain_step, plain_opt = build(False)
    om_model, om_step, om_opt = build(True)
    mm_model, mm_step, mm_opt = build(True)
    cfg = om_pareto.OMParetoConfig(
        params["macbdf"]["om_lambda0"], params["macbdf"]["om_kappa"], params["macbdf"]["om_pgd_steps"]
    )
    runs = {
        "plain": lambda: plain_step(batch, plain_opt),
        "avdf": lambda: om_step(batch, om_opt),
        "mmpareto-style": lambda: mmpareto_style_step(mm_model, mm_step.objective, batch, mm_opt, cfg),
    }
    times = {k: [] for k in runs}
    for rep in range(reps + 2):  # interleaved, the first two are warm-up
        for name, fn in runs.items():
            if dev.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if dev.type == "cuda":
                torch.cuda.synchronize()
            if rep >= 2:
                times[name].append(time.perf_counter() - start)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(f"device={dev.type} batch={b} frames={frames} crop={crop} threads={threads} reps={reps}")
    for k, v in med.items():
        print(f"{k:>16}: {1000 * v:8.1f} ms/step (median)")
    print(f"avdf OM-Pareto / plain step      = {med['avdf'] / med['plain']:.2f}x   (target <= 1.30)")
    print(f"mmpareto-style / avdf OM-Pareto  = {med['mmpareto-style'] / med['avdf']:.2f}x   (target >= 2.00)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--configs", default="16x8,8x16", help="comma-separated BATCHxFRAMES")
    parser.add_argument("--crop", type=int, default=64)
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    for config in args.configs.split(","):
        batch_size, frames = (int(x) for x in config.split("x"))
        run_config(params, torch.device(args.device), batch_size, frames, args.crop, args.reps, args.threads)


if __name__ == "__main__":
    main()
