"""A training run's progress after each epoch, so that a killed run resumes to the same result.

``progress.pt`` holds the model, the objective (and every buffer of both: MACL's and SupCon's
negative queues, the adaptive temperature's state), the optimiser, the scheduler, the history so
far and every random state; it is reused only when made for the same spec (its fingerprint).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch

from avdf.contracts import atomic

log = logging.getLogger(__name__)


def _buffers(step) -> dict[str, torch.Tensor]:
    """Every buffer of the model and the objective, non-persistent ones too (MACL's and SupCon's
    negative queues, the adaptive temperature's state), which a resumed run needs back."""
    parts = {"model": step.model, "objective": getattr(step, "objective", None)}
    return {f"{p}.{n}": b.clone() for p, m in parts.items() if m is not None for n, b in m.named_buffers()}


def _restore_buffers(step, saved: dict[str, torch.Tensor]) -> None:
    for path, value in saved.items():
        owner = step.model if path.startswith("model.") else step.objective
        *inner, leaf = path.split(".")[1:]
        for name in inner:
            owner = getattr(owner, name)
        setattr(owner, leaf, value)


def save(path: Path, epoch: int, fingerprint: str, step, opt, sched, history, gen) -> None:
    """Everything the next epoch depends on, so that a killed run resumes to the same result."""
    state = {
        "fingerprint": fingerprint,
        "epoch": epoch,
        "model": step.model.state_dict(),
        "objective": step.objective.state_dict() if hasattr(step, "objective") else None,
        "buffers": _buffers(step),
        "optimizer": opt.state_dict(),
        "scheduler": sched.state_dict(),
        "history": dict(history),
        "rng": {
            "torch": torch.get_rng_state(),
            "numpy": np.random.get_state(),
            "loader": gen.get_state(),
        },
    }
    with atomic.atomic_path(path) as tmp:
        torch.save(state, tmp)


def load(path: Path, fingerprint: str, step, opt, sched, gen) -> tuple[int, dict]:
    """The epoch to start from and the history so far (0 and empty when there is nothing to resume)."""
    if not path.exists():
        return 0, defaultdict(list)
    state = torch.load(path, map_location="cpu", weights_only=False)  # written by save_progress above
    if state["fingerprint"] != fingerprint:
        log.info("%s: made with other parameters, starting over", path)
        return 0, defaultdict(list)
    try:  # first: it checks the layout before it changes anything
        opt.load_state_dict(state["optimizer"])
    except (
        ValueError
    ) as err:  # e.g. per-tensor state from before the flat optimizer (avdf.learning.optim.flat)
        log.info("%s: its optimizer state does not fit this optimizer (%s), starting over", path, err)
        return 0, defaultdict(list)
    step.model.load_state_dict(state["model"])
    if state["objective"] is not None:
        step.objective.load_state_dict(state["objective"])
    _restore_buffers(step, state["buffers"])
    sched.load_state_dict(state["scheduler"])
    torch.set_rng_state(state["rng"]["torch"])
    np.random.set_state(state["rng"]["numpy"])
    gen.set_state(state["rng"]["loader"])
    log.info("%s: resuming after epoch %d", path, state["epoch"] + 1)
    return state["epoch"] + 1, defaultdict(list, state["history"])
