"""The method registry: each method registers itself, in its own module, with what others ask of it.

A method's module (``avdf/contracts/methods/<name>.py``) defines the typed spec of its own
params.yaml section and calls :func:`register` with a :class:`Method`. Nothing here imports model
code: the model class is named as ``"module:Class"`` and imported by ``avdf.learning.models.build``
(the code fingerprints follow such names, avdf.contracts.fingerprints), so that the workflow, the
studies and the tables read the registry without loading PyTorch.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from avdf.contracts.named import add_once


@dataclasses.dataclass(frozen=True)
class NoSection:
    """A method configured by ``model`` alone (audio-only, visual-only, AV concatenation)."""


def _as_given(section: dict) -> dict:
    return dict(section)


def _never(section: dict) -> bool:
    return False


def _full_size(section: dict) -> int:
    return 1


def _same_input(window: dict, section: dict, fps: int) -> dict:
    return window


def _same_training(train: dict, section: dict) -> dict:
    return train


@dataclasses.dataclass(frozen=True)
class Reads:
    """What a method's model reads of a clip besides its window of log-Mel and crops (the
    InputSpec): the raw waveform (AASIST's sinc front end), its crops decoded at 1/``crop_scale``
    of their cached side (avdf.media.crop_cache.FaceCrops: the localiser), and whether it reads
    crops at all (``crops``: an audio-only model does not, and its windows carry none)."""

    waveform: bool = False
    crop_scale: int = 1
    crops: bool = True


LOG_MEL_AND_CROPS = Reads()  # a model that reads its window alone


@dataclasses.dataclass(frozen=True)
class Method:
    name: str
    modality: str  # audio | visual | audio-visual
    model: str  # its nn.Module, as "module:Class" (imported only when a model is built)
    spec: type = NoSection  # the typed spec of its own params.yaml section
    section: tuple[str, ...] = ()  # where that section is in params.yaml (() for none)
    defaults: dict = dataclasses.field(
        default_factory=dict
    )  # the section's values where params.yaml has none
    step: str = "baseline"  # "baseline": its own loss in one backward pass; "two_branch": encoders + head
    studied: bool = False  # the ablation, depth, OM-Pareto and objective studies vary this method
    frame_heads: bool = False  # has frame-level heads per modality (branch scores, frame-level AUC)
    shared_encoders: bool = True  # sized by params.yaml `model` (the published audio baselines are not)
    objective: str = "none"  # its contrastive objective (MLflow tag); "" = the one its section names
    model_args: Callable[[dict], dict] = _as_given  # its section -> the model's keyword arguments
    needs_waveform: Callable[[dict], bool] = _never  # reads the raw waveform besides log-Mel and crops
    crop_scale: Callable[[dict], int] = _full_size  # reads its crops at 1/this of their side (Reads)
    input: Callable[[dict, dict, int], dict] = (
        _same_input  # (params.yaml input, its section, fps) -> its window
    )
    training: Callable[[dict, dict], dict] = _same_training  # (params.yaml train, its section) -> its own
    segments: bool = False  # trained on fake segments and proposes them (temporal localisation)


METHODS: dict[str, Method] = {}


def register(method: Method) -> Method:
    return add_once(METHODS, method.name, method, "method")
