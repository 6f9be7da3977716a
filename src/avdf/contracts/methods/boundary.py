"""The boundary localiser: temporal forgery localisation trained on fake segments (issue 33).

An anchor-free boundary model in the ActionFormer / UMMAFormer family on avdf's encoders
(avdf.learning.models.boundary): a fake probability and start/end offsets at every time step of a
temporal feature pyramid, decoded with Soft-NMS. It reads every video frame of a
``window_s``-second window, and scoring overlaps its windows by half (``hop_s``), so that each
moment is proposed from the window where it sits nearest the middle.
"""

from __future__ import annotations

import dataclasses

from avdf.contracts.methods.registry import Method, register


@dataclasses.dataclass(frozen=True)
class BoundarySpec:
    """params.yaml localiser: the window, the pyramid and how segments are assigned and decoded."""

    window_s: float  # seconds of every frame the model sees at once
    epochs: int  # its own (train.epochs is the detectors')
    levels: int  # pyramid levels: strides 1, 2, 4, ... video frames
    context_depth: int  # Transformer layers over the window's frames before the pyramid (0: none)
    center_radius: float  # a time step learns a segment when this many strides from its middle
    crop_pool: int  # face crops are read at 1/this of their side (1, 2, 4 or 8: JPEG's scaled decoding)
    focal_alpha: float  # the classification loss: sigmoid focal loss (Lin et al. 2017)
    focal_gamma: float
    reg_weight: float  # weight of the 1-D DIoU loss of the offsets
    edge_weight: float  # weight of the boundary heads' loss (start and end frames)
    refine_frames: int  # decoding moves each end to the likeliest boundary frame within this many (0: off)
    nms_sigma: float  # Gaussian Soft-NMS (Bodla et al. 2017): score x exp(-IoU^2 / sigma)
    max_proposals: int  # proposals kept per video
    snap: bool  # round boundaries to the video frame grid (where labels are)


DEFAULTS = {
    "window_s": 4.0,
    "epochs": 60,
    "levels": 5,
    "context_depth": 2,
    "center_radius": 1.5,
    "crop_pool": 4,
    "focal_alpha": 0.25,
    "focal_gamma": 2.0,
    "reg_weight": 1.0,
    "edge_weight": 1.0,
    "refine_frames": 8,
    "nms_sigma": 0.5,
    "max_proposals": 100,
    "snap": True,
}


def window(inputs: dict, section: dict, fps: int) -> dict:
    """Every frame of ``window_s`` seconds, windows scored every half window."""
    seconds = section["window_s"]
    return inputs | {"window_s": seconds, "frames": int(round(seconds * fps)), "hop_s": seconds / 2}


def training(train: dict, section: dict) -> dict:
    return train | {"epochs": section["epochs"]}


def crop_scale(section: dict) -> int:
    return section["crop_pool"]


def model_args(section: dict) -> dict:
    return {k: section[k] for k in ("levels", "context_depth", "center_radius")} | {
        "loss": {k: section[k] for k in ("focal_alpha", "focal_gamma", "reg_weight", "edge_weight")},
        "decoding": {k: section[k] for k in ("nms_sigma", "max_proposals", "snap", "refine_frames")},
    }


METHOD = register(
    Method(
        "boundary",
        "audio-visual",
        "avdf.learning.models.boundary:BoundaryLocaliser",
        spec=BoundarySpec,
        section=("localiser",),
        defaults=DEFAULTS,
        objective="boundary",
        model_args=model_args,
        crop_scale=crop_scale,
        input=window,
        training=training,
        segments=True,
    )
)
