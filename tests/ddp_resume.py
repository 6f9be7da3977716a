"""Run under torchrun by tests/test_distributed.py: MACB-DF trained data-parallel for EPOCHS epochs
of fixed batches, its progress saved after each epoch as a run saves it (avdf.learning.progress).

``python -m torch.distributed.run --nproc_per_node 1 tests/ddp_resume.py DEVICE OUT STOP``: train
until epoch STOP (the whole run when STOP is EPOCHS) from ``OUT/progress.pt`` if there is one, then
write the model's weights to ``OUT/model_<STOP>.pt``. The process group is the one torchrun
describes: gloo on a CPU, NCCL on a GPU.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch
import torch.distributed as dist
import yaml

from avdf.contracts.config import REPO_ROOT
from avdf.contracts.specs import Run, TrainSpec
from avdf.learning import distributed, models, placement, progress
from avdf.learning.train import make_optimizer, make_step, one_cycle, to_device

EPOCHS, BATCHES, BATCH = 3, 2, 8


def params() -> dict:
    """MACB-DF small enough for a test, dropout off (its masks are other draws in each process)."""
    p = yaml.safe_load((REPO_ROOT / "params.yaml").read_text())
    p["model"].update(dim=32, depth=1, dropout=0.0)
    p["macbdf"].update(ms_depth=1, queue_size=16, k_nearest=8)
    p["train"]["batch_size"] = BATCH
    return p


def batches(n: int = BATCHES) -> list[dict]:
    """``n`` fixed random global batches of 4 crops of 32 px and 48 log-Mel frames."""
    g = torch.Generator().manual_seed(0)
    return [
        {
            "video": torch.randn(BATCH, 4, 3, 32, 32, generator=g),
            "audio": torch.randn(BATCH, 64, 48, generator=g),
            "label": (torch.arange(BATCH) % 4 > 0).float(),
            "audio_fake": (torch.arange(BATCH) % 2 == 1).float(),
            "video_fake": (torch.arange(BATCH) % 4 >= 2).float(),
        }
        for _ in range(n)
    ]


def main(device: str, out: Path, stop: int) -> None:
    ctx = distributed.setup(device)
    assert ctx.active and dist.is_initialized(), "torchrun's process group was not joined"
    backend = dist.get_backend()
    torch.manual_seed(0)
    p = params()
    spec = TrainSpec.of(p, Run("ddp", "macbdf", "default", 0), "ddp", False)
    model = models.build("macbdf", 64, spec.model, spec.method)
    for encoder in model.encoders().values():
        distributed.sync_batchnorm(encoder, ctx.device)
    model = placement.place(model, ctx.device)
    step, trainable = make_step(spec, model, ctx)
    opt = make_optimizer(trainable, 1e-3, 0.0, "macbdf")
    sched = one_cycle(opt, 1e-3, EPOCHS * BATCHES)
    gen = torch.Generator().manual_seed(0)
    path = out / "progress.pt"
    first, history = progress.load(path, "ddp", step, opt, sched, gen)
    for epoch in range(first, stop):
        step.start_epoch(epoch)
        for batch in batches():
            _, loss, _ = step(to_device(batch, ctx.device), opt)
            sched.step()
            history["loss"].append(loss)
        if ctx.main and epoch + 1 < EPOCHS:
            progress.save(path, epoch, "ddp", step, opt, sched, history, gen)
    if ctx.main:
        state = {k: v.cpu() for k, v in model.state_dict().items()}
        torch.save({"state": state, "losses": history["loss"], "backend": backend}, out / f"model_{stop}.pt")
    distributed.teardown(ctx)


if __name__ == "__main__":
    main(sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]))
