"""The contracts of the input chain: what demux, face tracks, crops and log-Mel each read, and the
window a model sees of a clip (InputSpec), with the rules every spec follows (``from_dict``,
``to_json``; see avdf.contracts.specs).

Kept apart from the model and training specs (avdf.contracts.specs) because a stage's code fingerprint is
its import closure (avdf.contracts.fingerprints): the preprocessing stages import only this module, so a
change to a training or model field, or a new method, does not rerun face tracking of every
dataset.
"""

from __future__ import annotations

import dataclasses
import json
import typing


class SpecError(ValueError):
    """A spec given fields it does not have, or missing one it needs."""


def from_dict(cls, data: dict, where: str = ""):
    """``cls`` (a spec dataclass) from a dict: nested specs recursively, every field required."""
    where = where or cls.__name__
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown, missing = sorted(set(data) - set(fields)), sorted(set(fields) - set(data))
    if unknown or missing:
        raise SpecError(f"{where}: unknown fields {unknown}, missing fields {missing}")
    values = {}
    for name in fields:
        kind = hints[name]
        value = data[name]
        values[name] = from_dict(kind, value, f"{where}.{name}") if dataclasses.is_dataclass(kind) else value
    return cls(**values)


def to_dict(spec) -> dict:
    return dataclasses.asdict(spec)


def to_json(spec) -> str:
    """The canonical text of a spec: what a rule sends and what a rerun is decided on."""
    return json.dumps(to_dict(spec), sort_keys=True)


def _section(cls, section: dict):
    return cls(**{f.name: section[f.name] for f in dataclasses.fields(cls)})


@dataclasses.dataclass(frozen=True)
class DemuxSpec:
    """Demux: constant-rate video and mono audio; optionally without the leading silence."""

    fps: int
    sample_rate: int
    trim_silence: bool

    @classmethod
    def of(cls, params: dict) -> DemuxSpec:
        return _section(cls, params["media"])


@dataclasses.dataclass(frozen=True)
class FacesSpec:
    """Face tracks (MTCNN on keyframes) and the crops cut along them."""

    keyframe_interval: int
    min_face_size: int
    detect_threshold: float
    crop_size: int
    margin: float
    batch_size: int
    detect_max_side: int
    detect_min_face: int
    track_policy: str
    scene_cut_threshold: float
    crop_quality: int

    @classmethod
    def of(cls, params: dict) -> FacesSpec:
        return _section(cls, params["faces"])


@dataclasses.dataclass(frozen=True)
class CropSpec:
    """Face crops: ``crop_size`` pixels square, ``margin`` of the box added on each side, cached
    at ``fps`` (the rate a model samples: input.frames / input.window_s) as JPEG of ``quality``
    (avdf.media.crop_cache)."""

    crop_size: int
    margin: float
    quality: int
    fps: float

    @classmethod
    def of(cls, params: dict, dataset: str = "") -> CropSpec:
        """The crops of ``dataset``: at its ``crop_fps`` where params.yaml gives one (a dataset
        that a dense method, such as the localiser, trains on), else at the rate of ``input``."""
        crop = InputSpec.of(params).crop
        fps = params["datasets"].get(dataset, {}).get("crop_fps") if dataset else None
        return dataclasses.replace(crop, fps=float(fps)) if fps else crop


@dataclasses.dataclass(frozen=True)
class LogMelSpec:
    """Eq. (1): the log-Mel spectrogram."""

    n_fft: int
    win_length: int
    hop_length: int
    n_mels: int
    f_min: float
    f_max: float

    @classmethod
    def of(cls, params: dict) -> LogMelSpec:
        return _section(cls, params["log_mel"])


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """What a model sees of a clip: ``frames`` face crops and the log-Mel frames of one window of
    ``window_s`` seconds, prepared by demux, face tracks, crops and log-Mel as specified, and how
    a clip's windows make its score (``aggregate``: max or mean); scoring starts a window every
    ``hop_s`` seconds (0: one after another). Stored once in every checkpoint, so that evaluation
    and ``avdf predict`` prepare and score clips the same way. A method may set its own window
    (avdf.contracts.methods.method_params): the localiser reads every frame of longer, overlapping
    windows."""

    window_s: float
    frames: int
    aggregate: str
    hop_s: float
    media: DemuxSpec
    faces: FacesSpec
    log_mel: LogMelSpec

    @classmethod
    def of(cls, params: dict) -> InputSpec:
        window = params["input"]
        return cls(
            window["window_s"],
            window["frames"],
            window["aggregate"],
            window.get("hop_s", 0.0),
            DemuxSpec.of(params),
            FacesSpec.of(params),
            LogMelSpec.of(params),
        )

    @property
    def fps(self) -> int:
        return self.media.fps

    @property
    def crop(self) -> CropSpec:
        """What the crop stage reads: the crops' size and margin, and the cache's rate and quality."""
        f = self.faces
        return CropSpec(f.crop_size, f.margin, f.crop_quality, self.frames / self.window_s)

    @property
    def sample_rate(self) -> int:
        return self.media.sample_rate

    @property
    def n_mels(self) -> int:
        return self.log_mel.n_mels

    @property
    def mel_frames_per_second(self) -> float:
        return self.sample_rate / self.log_mel.hop_length

    @property
    def video_len(self) -> int:
        """Video frames in one window."""
        return int(round(self.window_s * self.fps))

    @property
    def hop_len(self) -> int:
        """Video frames from one scored window's start to the next's."""
        return int(round(self.hop_s * self.fps)) or self.video_len

    @property
    def every_frame(self) -> bool:
        """The model sees each video frame of its window, in order (the localiser)."""
        return self.frames >= self.video_len

    @property
    def audio_len(self) -> int:
        """Log-Mel frames in one window."""
        return int(round(self.window_s * self.mel_frames_per_second))
