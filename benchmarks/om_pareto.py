"""Cost of OM-Pareto per training step, measured side by side in one run.

Times three steps of the same MACB-DF model on the same batch:

- plain: the summed loss L_m + L_u^audio + L_u^video, one backward pass;
- avdf: OM-Pareto as avdf's trainer runs it (avdf.learning.steps.MACBDFStep): one backward pass through
  the head gives each loss's gradient at the encoder features, one through the encoders applies
  the combined gradient;
- mmpareto-style: the work pattern of MMPareto's public script: a backward pass per loss with
  ``retain_graph=True``, gradients cloned and gathered by parameter name, the same combination
  (avdf.learning.optim.om_pareto.combine) over each encoder's parameters, and a fourth backward pass of
  the summed loss whose gradient norms rescale the result.

Prints the median time of each and the ratios avdf/plain (target <= 1.3) and mmpareto/avdf
(target >= 2) at each input scale: ``embedded`` (what ``make run`` trains: 16 clips x 8 frames of
64x64 faces, 2 s of audio) and ``paper`` (8 clips x 16 frames of 224x224 faces, 4 s of audio).
It also prints mmpareto/plain: no OM-Pareto step costs less than a plain step, so this is the most
any implementation can reach. With F the forward pass, B_h the head's backward pass and B_e the
encoders', it is about (F + 2 B_h + 3 B_e) / (F + B_h + B_e): it grows with the encoders' share of a
step, and is lowest at the embedded scale, where F weighs about as much as B_e.
Usage: ``python benchmarks/om_pareto.py [--device cuda] [--scales embedded,paper] [--reps 15]``.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
import yaml

from avdf.contracts.config import REPO_ROOT
from avdf.contracts.specs import ModelSpec, Run, TrainSpec
from avdf.learning import models
from avdf.learning.optim import om_pareto
from avdf.learning.train import make_optimizer, make_step


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


SCALES = {  # batch, frames, face crop side, seconds of audio
    "embedded": (16, 8, 64, 2.0),
    "paper": (8, 16, 224, 4.0),
}


def run_scale(params: dict, dev: torch.device, scale: str, reps: int, threads: int) -> dict:
    b, frames, crop, seconds = SCALES[scale]
    mel_frames = int(seconds * params["media"]["sample_rate"] / params["log_mel"]["hop_length"])
    g = torch.Generator().manual_seed(0)
    batch = {
        "video": torch.randn(b, frames, 3, crop, crop, generator=g),
        "audio": torch.randn(b, params["log_mel"]["n_mels"], mel_frames, generator=g),
        "label": (torch.arange(b) % 4 > 0).float(),
        "audio_fake": (torch.arange(b) % 2 == 1).float(),
        "video_fake": (torch.arange(b) % 4 >= 2).float(),
    }
    batch = {k: v.to(dev) for k, v in batch.items()}

    def build(om: bool):
        p = copy.deepcopy(params)
        p["macbdf"]["om_pareto"] = om
        torch.manual_seed(0)
        model = models.build("macbdf", p["log_mel"]["n_mels"], ModelSpec.of(p), p["macbdf"]).to(dev)
        step, trainable = make_step(
            TrainSpec.of(p, Run("bench", "macbdf", "default", 0), "bench", False), model
        )
        step.objective.to(dev)
        return model, step, make_optimizer(trainable, p["train"]["lr"], p["train"]["weight_decay"], "macbdf")

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
    print(
        f"scale={scale} device={dev.type} batch={b} frames={frames} crop={crop} audio={seconds:g}s "
        f"threads={threads} reps={reps}"
    )
    for k, v in med.items():
        print(f"{k:>16}: {1000 * v:8.1f} ms/step (median)")
    ratios = {
        "avdf/plain": med["avdf"] / med["plain"],
        "mmpareto/avdf": med["mmpareto-style"] / med["avdf"],
        "mmpareto/plain": med["mmpareto-style"] / med["plain"],
    }
    print(f"avdf OM-Pareto / plain step      = {ratios['avdf/plain']:.2f}x   (target <= 1.30)")
    print(f"mmpareto-style / avdf OM-Pareto  = {ratios['mmpareto/avdf']:.2f}x   (target >= 2.00)")
    print(
        f"mmpareto-style / plain step      = {ratios['mmpareto/plain']:.2f}x   (the most any OM-Pareto step "
        "can gain: it costs at least a plain step)"
    )
    return ratios


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--scales", default="embedded,paper", help=f"comma-separated, of {sorted(SCALES)}")
    parser.add_argument("--reps", type=int, default=15)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    summary = {
        s: run_scale(params, torch.device(args.device), s, args.reps, args.threads)
        for s in args.scales.split(",")
    }
    print("\nscale       avdf/plain (<= 1.30)   mmpareto/avdf (>= 2.00)   mmpareto/plain (ceiling)")
    for scale, r in summary.items():
        print(
            f"{scale:<10}  {r['avdf/plain']:>8.2f}x {'ok' if r['avdf/plain'] <= 1.3 else 'MISSED':>7}"
            f"  {r['mmpareto/avdf']:>10.2f}x {'ok' if r['mmpareto/avdf'] >= 2.0 else 'MISSED':>7}"
            f"  {r['mmpareto/plain']:>12.2f}x"
        )


if __name__ == "__main__":
    main()
