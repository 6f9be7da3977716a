"""Where a model's tensors live and in which memory layout: one function per concern.

:func:`memory_format` chooses the layout per module kind, as ``Module.to(memory_format=...)``
cannot: it converts every parameter of rank 4 *or 5* to the one format given, and channels-last
needs rank 4, so MACB-DF's 3-D depthwise convolutions (rank-5 weights) made the whole-model
conversion raise on CUDA (issue 30). Training, ``avdf predict`` and the benchmarks call it.
"""

from __future__ import annotations

import torch
from torch import nn

# Per module kind: the layout of its weight. Rank-4 convolution kernels (the encoders' stems,
# AASIST's and ECAPA-TDNN's 2-D blocks) channels-last; rank-5 ones (MACB-DF's multi-scale 3-D
# depthwise blocks) channels-last-3d. Nothing else has a layout to choose. Training applies it on
# CUDA only (``train.channels_last``): the CPU results stay those of record.
FORMATS: dict[type[nn.Module], torch.memory_format] = {
    nn.Conv2d: torch.channels_last,
    nn.Conv3d: torch.channels_last_3d,
}


def device(choice: str = "auto") -> torch.device:
    """``auto``: the GPU when there is one; ``cpu`` or ``cuda`` as asked."""
    want_cuda = choice == "cuda" or (choice == "auto" and torch.cuda.is_available())
    return torch.device("cuda" if want_cuda else "cpu")


def place(model: nn.Module, where: torch.device, channels_last: bool = True) -> nn.Module:
    """``model`` on ``where``, in the per-kind layouts there when ``channels_last`` and on CUDA."""
    model = model.to(where)
    return memory_format(model) if where.type == "cuda" and channels_last else model


def memory_format(model: nn.Module) -> nn.Module:
    """``model`` with each convolution's weight in its kind's layout (:data:`FORMATS`); in place."""
    for module in model.modules():
        layout = FORMATS.get(type(module))
        if layout is not None:
            module.weight.data = module.weight.data.contiguous(memory_format=layout)
    return model


def layouts(model: nn.Module) -> dict[str, int]:
    """How many convolution weights are in each layout (tests, the GPU check's report)."""
    counts: dict[str, int] = {}
    for module in model.modules():
        if type(module) in FORMATS:
            w, layout = module.weight, FORMATS[type(module)]
            # a kernel with one channel or a 1x1 window is both: it counts as its kind's layout
            name = (
                str(layout).removeprefix("torch.") if w.is_contiguous(memory_format=layout) else "contiguous"
            )
            counts[name] = counts.get(name, 0) + 1
    return counts
