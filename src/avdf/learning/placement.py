"""Where a model's tensors live and in which memory layout: one function per concern.

:func:`memory_format` chooses the layout per convolution by its kernel's rank, as
``Module.to(memory_format=...)`` cannot: it converts every parameter of rank 4 *or 5* to the one
format given, and channels-last needs rank 4, so MACB-DF's 3-D depthwise convolutions (rank-5
weights) made the whole-model conversion raise on CUDA (issue 30). Training, ``avdf predict`` and
the benchmarks call it.
"""

from __future__ import annotations

import torch
from torch import nn

from avdf.learning.models.blocks import GroupedDepthwise

# The convolutions, and the layout of a kernel by its rank: rank-4 kernels (the encoders' stems,
# AASIST's and ECAPA-TDNN's 2-D blocks, MACB-DF's audio blocks) channels-last; rank-5 ones (MACB-DF's
# 3-D depthwise video blocks) channels-last-3d. Nothing else has a layout to choose. Training applies
# it on CUDA only (``train.channels_last``): the CPU results stay those of record.
CONVOLUTIONS = (nn.Conv2d, nn.Conv3d, GroupedDepthwise)
FORMATS: dict[int, torch.memory_format] = {4: torch.channels_last, 5: torch.channels_last_3d}


def _kernel(module: nn.Module) -> torch.Tensor | None:
    """A convolution's kernel, when it has one of a rank with a layout."""
    if isinstance(module, CONVOLUTIONS) and module.weight.ndim in FORMATS:
        return module.weight
    return None


def device(choice: str = "auto") -> torch.device:
    """``auto``: the GPU when there is one; ``cpu`` or ``cuda`` as asked."""
    want_cuda = choice == "cuda" or (choice == "auto" and torch.cuda.is_available())
    return torch.device("cuda" if want_cuda else "cpu")


def place(model: nn.Module, where: torch.device, channels_last: bool = True) -> nn.Module:
    """``model`` on ``where``, in the per-kind layouts there when ``channels_last`` and on CUDA."""
    model = model.to(where)
    return memory_format(model) if where.type == "cuda" and channels_last else model


def memory_format(model: nn.Module) -> nn.Module:
    """``model`` with each convolution's kernel in its rank's layout (:data:`FORMATS`); in place."""
    for module in model.modules():
        kernel = _kernel(module)
        if kernel is not None:
            kernel.data = kernel.data.contiguous(memory_format=FORMATS[kernel.ndim])
    return model


def layouts(model: nn.Module) -> dict[str, int]:
    """How many convolution kernels are in each layout (tests, the GPU check's report)."""
    counts: dict[str, int] = {}
    for module in model.modules():
        kernel = _kernel(module)
        if kernel is not None:
            layout = FORMATS[kernel.ndim]
            # a kernel with one channel or a 1x1 window is both: it counts as its rank's layout
            name = (
                str(layout).removeprefix("torch.")
                if kernel.is_contiguous(memory_format=layout)
                else "contiguous"
            )
            counts[name] = counts.get(name, 0) + 1
    return counts
