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


def emulated_cpus() -> dict[str, dict[str, str]]:
    """Switches that make the numerical libraries on this CPU take the code paths of other CPUs:
    each setting stands in for another family or vector width (issue 31), and a result that must
    be the same on every x86-64 CPU must be the same under each. Only settings this CPU can run are
    listed (PyTorch ignores a capability the CPU lacks; NumPy refuses to disable what it lacks)."""
    import numpy as np
    import torch

    aten = {"default"} | {c for c in ("avx2", "avx512") if _has(torch, c)}
    numpy_found = [
        f for f, on in np._core._multiarray_umath.__cpu_features__.items() if on and f.startswith("X86_V")
    ]
    baseline_numpy = [f for f in numpy_found if f != "X86_V2"]
    settings = {f"ATEN_CPU_CAPABILITY={c}": {"ATEN_CPU_CAPABILITY": c} for c in sorted(aten)}
    settings |= {
        "MKL_ENABLE_INSTRUCTIONS=SSE4_2": {"MKL_ENABLE_INSTRUCTIONS": "SSE4_2"},
        "MKL_CBWR=COMPATIBLE": {"MKL_CBWR": "COMPATIBLE"},
        "MKL_DEBUG_CPU_TYPE=5": {"MKL_DEBUG_CPU_TYPE": "5"},
        "OPENBLAS_CORETYPE=Prescott": {"OPENBLAS_CORETYPE": "Prescott"},
    }
    if baseline_numpy:
        settings["NPY_DISABLE_CPU_FEATURES"] = {"NPY_DISABLE_CPU_FEATURES": " ".join(baseline_numpy)}
    settings["all baselines at once"] = {k: v for s in settings.values() for k, v in s.items()} | BASELINE_ISA
    return settings


def _has(torch, capability: str) -> bool:
    """Whether this CPU runs PyTorch's ``capability`` kernels (its own capability or a lower one)."""
    order = ["default", "avx2", "avx512"]
    found = torch.backends.cpu.get_cpu_capability().lower()
    return found in order and order.index(capability) <= order.index(found)
