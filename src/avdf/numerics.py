"""Which CPU instruction sets the numerical libraries may use (params.yaml: numerics.cpu_isa).

``native`` lets PyTorch, oneDNN and MKL pick the fastest kernels of the CPU at hand, so two machines
with different vector units round differently and tables drift (docs/drift.md). ``baseline`` pins
all three to instruction sets every x86-64 CPU since 2008 has, so that MTCNN, the log-Mel front
end, training and evaluation take the same code paths on every machine (with the same thread
count), at 1.4-1.6x the training time measured here.
"""

from __future__ import annotations

import os

# Each library's own switch, read when it loads: they must be in a job's environment at start.
BASELINE_ISA = {
    "ATEN_CPU_CAPABILITY": "default",  # PyTorch's own vectorised kernels
    "ONEDNN_MAX_CPU_ISA": "SSE41",  # oneDNN: convolutions
    "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",  # MKL: matrix products
}
CHOICES = ("native", "baseline")


def environment(cpu_isa: str) -> dict[str, str]:
    """The environment variables that give a job the instruction sets ``cpu_isa`` asks for."""
    if cpu_isa not in CHOICES:
        raise ValueError(f"numerics.cpu_isa: {cpu_isa!r}; choose from {CHOICES}")
    return dict(BASELINE_ISA) if cpu_isa == "baseline" else {}


def shell_prefix(cpu_isa: str) -> str:
    """``VAR=value ...`` to put before a job's command (empty for ``native``)."""
    return " ".join(f"{k}={v}" for k, v in environment(cpu_isa).items())


def in_effect() -> dict[str, str]:
    """The switches this process runs with: part of the fingerprint of every result they change, so
    that outputs made under other instruction sets are never reused (stage folders, progress.pt)."""
    return {k: os.environ.get(k, "") for k in BASELINE_ISA}
