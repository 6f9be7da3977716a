"""The checkpoint: what training writes to ``model.pt`` and evaluation, predict and the figures read.

One typed record with a format version. ``Checkpoint.load`` refuses a file of another format with
a message that names both versions, instead of failing later on a missing key.

Format history:
    1  an untyped dict (avdf before the registries); no ``format`` key
    2  this dataclass: the same fields, plus ``format``
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from avdf.contracts import atomic, methods
from avdf.contracts.errors import InputError
from avdf.contracts.input_specs import InputSpec, from_dict, to_dict

FORMAT = 3  # 3: InputSpec.hop_s (the localiser's overlapping windows)


class CheckpointFormatError(InputError):
    """A checkpoint written in a format this avdf does not read."""


@dataclasses.dataclass(frozen=True)
class Checkpoint:
    """A trained detector: its run, its model's configuration, its input and its weights."""

    method: str
    train_dataset: str
    variant: str
    ablation: str  # avdf.contracts.methods.ablation_of
    objective: str  # avdf.contracts.methods.objective_of
    model: dict  # the ModelSpec, as a dict
    method_cfg: dict  # the method's own section (its spec, as a dict)
    input: InputSpec
    mel_norm: tuple[float, float]  # the training split's log-Mel mean and standard deviation
    val_threshold: float  # the decision threshold chosen on the validation split
    state_dict: dict = dataclasses.field(repr=False)
    format: int = FORMAT

    @property
    def reads(self) -> methods.Reads:
        """What the model reads besides its window (the raw waveform, crops at a fraction of their side)."""
        return methods.reads(self.method, self.method_cfg)

    def describes(self) -> dict:
        """What identifies the detector in a run's tags and in the evaluation JSON."""
        return {
            "method": self.method,
            "variant": self.variant,
            "ablation": self.ablation,
            "objective": self.objective,
        }

    def save(self, path: str | Path) -> None:
        import torch

        record = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        record |= {"input": to_dict(self.input), "mel_norm": list(self.mel_norm)}
        with atomic.atomic_path(path) as tmp:
            torch.save(record, tmp)

    @classmethod
    def load(cls, path: str | Path) -> Checkpoint:
        import torch

        record = torch.load(path, map_location="cpu", weights_only=True)
        version = record.get("format", 1)
        if version != FORMAT:
            raise CheckpointFormatError(
                f"{path}: checkpoint format {version}; this avdf reads format {FORMAT} "
                "(avdf.contracts.checkpoint). Retrain it: the workflow reruns its train job."
            )
        record["input"] = from_dict(InputSpec, record["input"], f"{path}: input")
        record["mel_norm"] = tuple(record["mel_norm"])
        return cls(**record)
