"""Data-parallel training over several processes (``torchrun``), one GPU each (or CPU with gloo).

MACB-DF compares every clip of a batch with every other (MACL's negatives and its queue, the
adaptive temperature's statistics, the clusters of the fusion weights, BatchNorm). Splitting the
batch across processes must not change what those see, so avdf splits only the encoders:

1. Every process draws the same global batch order and loads its own contiguous slice
   (:class:`RankSlices`); batch size B is global, each process holds B / world_size clips.
2. Each process encodes its slice; the encoders are wrapped in
   ``torch.nn.parallel.DistributedDataParallel``, which averages their gradients.
3. The encoder outputs and the labels are all-gathered (:func:`gather`, differentiable), and every
   process runs the head and the losses on the whole global batch: the negatives of the
   contrastive losses are the global batch's, and the negative queue receives the same global
   batch in every process, so the queues stay identical without further communication.
4. Backward: every process holds the same global loss L. The gradient of :func:`gather` at a
   process's slice is the sum over processes, W dL/dh_r; DDP averages the encoder gradients
   over the W processes, which gives sum_r J_r^T dL/dh_r = dL/dtheta, the one-process gradient.
   The head's gradients are already equal in every process; they are averaged all the same, so
   that rounding cannot make the copies drift apart.

BatchNorm inside the encoders normalises with the statistics of the global batch
(:class:`GlobalBatchNorm`; on GPU, ``torch.nn.SyncBatchNorm``), as the one-process run does.
What still differs from one process: dropout masks (other random draws) and the order of
floating-point sums, so losses agree within a tolerance, not bit for bit (tests/test_distributed.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from avdf.data import clips


def to_device(batch: dict, device: torch.device) -> dict:
    """A batch's tensors on ``device``, crops that came as uint8 made pixel values there
    (avdf.data.clips: ``pixels_on_device``) and crops that came as JPEG decoded there first
    (``jpeg_on_device``); on a CPU, a batch of pixel values as it is."""
    if "video_jpeg" in batch:
        jpeg, lengths = batch["video_jpeg"], batch["video_jpeg_lengths"]
        batch = {k: v for k, v in batch.items() if not k.startswith("video_jpeg")}
        batch["video"] = clips.decode_jpeg_crops(jpeg, lengths, device)
    if device.type != "cpu":
        batch = {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}
    return batch | {"video": clips.pixels(batch["video"])} if "video" in batch else batch


@dataclass(frozen=True)
class Context:
    rank: int = 0
    world: int = 1
    device: torch.device = torch.device("cpu")
    launched: bool = False  # started by torchrun: in a process group even when it is the only process

    @property
    def active(self) -> bool:
        """Data-parallel: the encoders wrapped in DDP, batches cut per process, BatchNorm synced."""
        return self.world > 1 or self.launched

    @property
    def main(self) -> bool:
        """The process that writes files and logs to MLflow."""
        return self.rank == 0


ALONE = Context()  # one process, on the CPU


def launched_by_torchrun() -> bool:
    """Whether torchrun started this process (it sets TORCHELASTIC_RUN_ID; a plain start does not)."""
    return "TORCHELASTIC_RUN_ID" in os.environ


def setup(device: str = "auto") -> Context:
    """Join the process group that ``torchrun`` describes (RANK, WORLD_SIZE, LOCAL_RANK), or run
    alone when there is none. NCCL on GPUs, gloo on CPU. Under torchrun a single process joins one
    too (``torchrun --nproc_per_node 1``), so that one GPU runs the data-parallel path: DDP, its
    NCCL all-reduce and the gathered batch."""
    want_cuda = device == "cuda" or (device == "auto" and torch.cuda.is_available())
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    launched = launched_by_torchrun()
    dev = torch.device(f"cuda:{local}" if want_cuda else "cpu")
    if want_cuda:
        torch.cuda.set_device(dev)
    if (world > 1 or launched) and not dist.is_initialized():
        dist.init_process_group("nccl" if want_cuda else "gloo", device_id=dev if want_cuda else None)
    return Context(rank, world, dev, launched)


def _many() -> bool:
    """Whether this process is one of several (a process group of more than one)."""
    return dist.is_initialized() and dist.get_world_size() > 1


def _summed(x: torch.Tensor) -> torch.Tensor:
    """The sum over processes of ``x`` (a new tensor; ``x`` is left as it is)."""
    x = x.contiguous().clone()
    dist.all_reduce(x)
    return x


def teardown(ctx: Context) -> None:
    if ctx.active and dist.is_initialized():
        dist.destroy_process_group()


class _Gather(torch.autograd.Function):
    """y = [x_0; x_1; ...; x_{W-1}] along dim 0; dL/dx_r = (sum over processes of dL_p/dy)[slice r]."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        ctx.rows = x.shape[0]
        return _all_gather(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        rank = dist.get_rank()
        return _summed(grad)[rank * ctx.rows : (rank + 1) * ctx.rows]


class _SumOverProcesses(torch.autograd.Function):
    """y = sum over processes of x (the same y everywhere); dL/dx = sum over processes of dL_p/dy."""

    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:
        return _summed(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        return _summed(grad)


def gather(x: torch.Tensor) -> torch.Tensor:
    """Every process's slice, concatenated in rank order (the global batch); differentiable."""
    if not _many():
        return x
    return _Gather.apply(x) if x.requires_grad else _all_gather(x)


def _all_gather(x: torch.Tensor) -> torch.Tensor:
    parts = [torch.empty_like(x) for _ in range(dist.get_world_size())]
    dist.all_gather(parts, x.contiguous())
    return torch.cat(parts)


def mean_over_processes(value: float) -> float:
    if not _many():
        return value
    dev = f"cuda:{torch.cuda.current_device()}" if dist.get_backend() == "nccl" else "cpu"
    t = torch.tensor([value], dtype=torch.float64, device=dev)
    dist.all_reduce(t)
    return float(t) / dist.get_world_size()


def average_grads(params) -> None:
    """Average ``.grad`` over processes (the head's gradients, equal up to rounding)."""
    if not _many():
        return
    for p in params:
        if p.grad is not None:
            dist.all_reduce(p.grad)
            p.grad /= dist.get_world_size()


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics are those of the global batch (all processes).

    mean_c = sum_r S1_rc / n,  var_c = sum_r S2_rc / n - mean_c^2, with S1, S2 the per-channel sums
    of x and x^2 on each process and n the global count; the sums are combined with a
    differentiable all-reduce, so gradients flow through the statistics as in one process.
    Without a process group (or in eval mode) it is an ordinary BatchNorm.
    """

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() < 2:
            raise ValueError(f"expected at least 2D input, got {x.dim()}D")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and _many()):
            return super().forward(x)
        dims = [0, *range(2, x.dim())]
        count = torch.tensor([x.numel() / x.shape[1]], dtype=x.dtype, device=x.device)
        sums = torch.cat([x.sum(dims), (x * x).sum(dims), count])
        sums = _SumOverProcesses.apply(sums)
        c = x.shape[1]
        n = sums[-1]
        mean, var = sums[:c] / n, sums[c : 2 * c] / n - (sums[:c] / n) ** 2
        with torch.no_grad():
            self.num_batches_tracked += 1
            m = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
            self.running_mean.mul_(1 - m).add_(m * mean.detach())
            self.running_var.mul_(1 - m).add_(m * var.detach() * n / (n - 1))
        shape = [1, c] + [1] * (x.dim() - 2)
        y = (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)
        return y * self.weight.view(shape) + self.bias.view(shape) if self.affine else y


def sync_batchnorm(module: nn.Module, device: torch.device) -> nn.Module:
    """Replace every BatchNorm inside ``module`` (in place) by one that normalises over the global
    batch. Only for parts that see one process's slice: MACB-DF's encoders, a baseline's whole
    model; MACB-DF's head already sees the global batch."""
    if device.type == "cuda":
        return nn.SyncBatchNorm.convert_sync_batchnorm(module)
    for name, child in module.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm):
            new = GlobalBatchNorm(child.num_features, child.eps, child.momentum, child.affine)
            new.load_state_dict(child.state_dict())
            setattr(module, name, new)
        else:
            sync_batchnorm(child, device)
    return module


class RankSlices(torch.utils.data.Sampler):
    """The batches of a one-process loader (``batches``, a batch sampler), each cut into W equal
    contiguous slices; this process gets slice ``rank``. Every process must see the same order,
    so each is given a generator with the same seed."""

    def __init__(self, batches: torch.utils.data.BatchSampler, ctx: Context):
        if batches.batch_size % ctx.world:
            raise ValueError(f"batch size {batches.batch_size} is not divisible by {ctx.world} processes")
        self.batches, self.ctx = batches, ctx

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self):
        for batch in self.batches:
            part = len(batch) // self.ctx.world
            yield batch[self.ctx.rank * part : (self.ctx.rank + 1) * part]
