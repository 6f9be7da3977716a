"""AdamW over one flat buffer per parameter group: a handful of operators a step, not thousands.

PyTorch's fused AdamW on a CPU visits its tensors one by one (the step counter's add, a copy and a
read of it per tensor): 5,300 aten operators a step for MACB-DF's 758 parameter tensors at the paper
profile (benchmarks/step_operators.py). Here each group's parameters are views of one flat tensor,
and their gradients views of one flat gradient, so AdamW sees one tensor per group.

- A parameter keeps its shape, strides and memory format (channels-last kernels stay so): its data
  becomes ``flat.as_strided(size, stride, offset)``, and its ``.grad`` the same view of the flat
  gradient. Autograd accumulates into a defined ``.grad`` in place, so a backward pass fills the
  flat gradient directly (as DDP's ``gradient_as_bucket_view`` does).
- ``zero_grad`` zeroes the flat gradients and keeps the views (``set_to_none`` is ignored). A
  parameter that no loss reached has a zero gradient, not None: AdamW then still decays it.
- Code that assigns a new ``p.grad`` still works: ``step`` copies any such gradient into its view first.

The update rule is AdamW's, element by element, whatever the tensors' split.
"""

from __future__ import annotations

import torch
from torch import nn


def _dense_strides(p: torch.Tensor) -> tuple[int, ...]:
    """``p``'s strides when it is dense and non-overlapping (its view spans numel elements), else
    the contiguous ones."""
    span = sum((s - 1) * st for s, st in zip(p.shape, p.stride(), strict=True)) + 1
    if p.numel() == 0 or span == p.numel() and all(st > 0 for st in p.stride()):
        return tuple(p.stride())
    return tuple(torch.empty(p.shape, device="meta").stride())


class FlatGroup:
    """One group's parameters re-seated as views of a flat data tensor and a flat gradient."""

    def __init__(self, params: list[nn.Parameter]):
        kinds = {(p.dtype, p.device) for p in params}
        if len(kinds) != 1:
            raise ValueError(f"one flat buffer holds one dtype on one device, not {sorted(map(str, kinds))}")
        dtype, device = kinds.pop()
        total = sum(p.numel() for p in params)
        data = torch.empty(total, dtype=dtype, device=device)
        self.grad = torch.zeros(total, dtype=dtype, device=device)
        self.views: list[tuple[nn.Parameter, torch.Tensor]] = []
        offset = 0
        with torch.no_grad():
            for p in params:
                stride = _dense_strides(p)
                view = data.as_strided(p.shape, stride, offset)
                view.copy_(p)
                p.data = view
                self.views.append((p, self.grad.as_strided(p.shape, stride, offset)))
                offset += p.numel()
        self.flat = nn.Parameter(data)
        self.flat.grad = self.grad
        self.reseat()

    def reseat(self) -> None:
        """Point every parameter's ``.grad`` at its view, copying in one assigned meanwhile."""
        for p, view in self.views:
            if p.grad is view:
                continue
            if p.grad is None:
                view.zero_()
            else:
                view.copy_(p.grad)
            p.grad = view


class FlatAdamW(torch.optim.AdamW):
    """``torch.optim.AdamW`` (fused) over flat buffers; groups as AdamW's (``params``, ``weight_decay``)."""

    def __init__(self, groups: list[dict], lr: float):
        self.flat_groups = [FlatGroup(list(g["params"])) for g in groups if len(g["params"])]
        kept = [g for g in groups if len(g["params"])]
        flat = [{**g, "params": [f.flat]} for g, f in zip(kept, self.flat_groups, strict=True)]
        super().__init__(flat, lr=lr, fused=True)

    def zero_grad(self, set_to_none: bool = True) -> None:
        for group in self.flat_groups:
            group.grad.zero_()
            group.reseat()

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.flat_groups:
            group.reseat()
        return super().step(closure)
