"""The contract of every stage: a frozen, typed spec of exactly what the stage reads.

Each spec is built once from the validated ``params.yaml`` (``X.of(params)``), sent to the job as
its JSON (``to_json``; the Snakemake rule's ``params``, so a job reruns exactly when what it reads
changes) and read back there with ``from_dict``, which refuses a missing or unknown field by name.
Constructors take a spec and have no defaults of their own that could differ from the schema.

Seams, in the order data flows::

    DemuxSpec (media)  ->  FacesSpec (faces)  ->  LogMelSpec (log_mel)
      \\__________ InputSpec: the window, frames per window, and the three above __________/
    ModelSpec (model) + the method's own section + the loss settings it reads  ->  TrainSpec
    Run(dataset, method, variant, seed): which run a job is
    Runtime: what cannot change a result (threads, processes, MLflow); never part of a spec
"""

from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any, NamedTuple

from avdf import methods


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
    def of(cls, params: dict) -> CropSpec:
        return InputSpec.of(params).crop


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
    a clip's windows make its score (``aggregate``: max or mean). Stored once in every checkpoint,
    so that evaluation and ``avdf predict`` prepare and score clips the same way."""

    window_s: float
    frames: int
    aggregate: str
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
    def audio_len(self) -> int:
        """Log-Mel frames in one window."""
        return int(round(self.window_s * self.mel_frames_per_second))


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """The shared encoder and Transformer sizes (params.yaml: model), the visual stem and its
    optional pretrained initialisation, and the crop size it reads (faces.crop_size: with
    ``patch`` it sets the visual token grid)."""

    dim: int
    depth: int
    heads: int
    dropout: float
    attn_dropout: float
    patch: int
    visual_stem: str
    visual_init: str
    crop_size: int

    @classmethod
    def of(cls, params: dict) -> ModelSpec:
        return cls(**params["model"], crop_size=params["faces"]["crop_size"])

    @property
    def visual(self) -> dict:
        """What a visual encoder is built with: its token grid per frame side and its stem."""
        return {"grid": max(1, self.crop_size // self.patch), "stem": self.visual_stem}


@dataclasses.dataclass(frozen=True)
class NoSection:
    """A method configured by ``model`` alone (audio-only, visual-only, AV concatenation)."""


@dataclasses.dataclass(frozen=True)
class ECAPATDNNSpec:
    """params.yaml baselines.ecapa_tdnn: its own widths (models/baselines/ecapa_tdnn.py)."""

    channels: int
    scale: int
    se_bottleneck: int
    attention_hidden: int
    embedding: int


@dataclasses.dataclass(frozen=True)
class AASISTSpec:
    """params.yaml baselines.aasist (models/baselines/aasist.py), in AASIST's configuration names."""

    front_end: str
    sinc_bands: int
    sinc_kernel: int
    blocks: list
    gat_dims: list
    pool_ratios: list
    temperatures: list
    dropout: float


@dataclasses.dataclass(frozen=True)
class MCLSpec:
    """params.yaml baselines.mcl: the pair loss's weight and margin."""

    lambda_pair: float
    margin: float


@dataclasses.dataclass(frozen=True)
class MACBDFSpec:
    """params.yaml macbdf: the model's multi-scale depth and fusion weights (eqs. 9-18), its
    contrastive loss L_C (MACL, eqs. 2-8, or another ``objective``) and OM-Pareto (eqs. 21-24);
    the switches give the ablations."""

    ms_depth: int
    contrastive: bool
    cross: bool
    intra: bool
    fusion_weights: bool
    om_pareto: bool
    lambda_c: float
    tau0: float
    margin: float
    k_nearest: int
    queue_size: int
    fusion_beta: float
    fusion_gamma: float
    k_max: int
    om_lambda0: float
    om_kappa: float
    om_pgd_steps: int
    objective: str


METHOD_SPECS = {
    "ecapa_tdnn": ECAPATDNNSpec,
    "aasist": AASISTSpec,
    "mcl": MCLSpec,
    "macbdf": MACBDFSpec,
}


def method_spec(method: str, section: dict):
    """The typed spec of a method's own params.yaml section (NoSection for one without)."""
    cls = METHOD_SPECS.get(method, NoSection)
    return from_dict(cls, section, f"{method} section")


@dataclasses.dataclass(frozen=True)
class OptimSpec:
    """The optimisation of a training run, and the device it runs on (bf16 and channels-last change
    the numbers on a GPU, so they belong to the result)."""

    epochs: int
    batch_size: int
    micro_batch: int
    lr: float
    weight_decay: float
    balance: bool
    device: str
    bf16: bool
    channels_last: bool

    @classmethod
    def of(cls, params: dict) -> OptimSpec:
        return _section(cls, params["train"])


class Run(NamedTuple):
    """One training run: a dataset, a method, a variant (params.yaml: variants) and a seed."""

    dataset: str
    method: str
    variant: str
    seed: int


@dataclasses.dataclass(frozen=True)
class TrainSpec:
    """Everything a training job reads: its run, its inputs, its model, its method's own section
    (``method``; empty for a method without one), the loss settings its objective reads
    (``objective``), the optimisation, the label it learns (``target``: avdf.methods.target), the
    ACC threshold of its in-dataset scores, and what the studies want of it (its MLflow ``table``
    tag; test scores after every epoch for Figs. 6-7)."""

    run: Run
    input: InputSpec
    model: ModelSpec
    method: Any  # the method's spec: MACBDFSpec, ECAPATDNNSpec, AASISTSpec, MCLSpec or NoSection
    objective: dict
    optim: OptimSpec
    target: str
    threshold: float
    table: str
    test_every_epoch: bool

    @classmethod
    def of(cls, params: dict, run: Run, table: str, test_every_epoch: bool) -> TrainSpec:
        """The spec of ``run`` from ``params`` with the run's variant already applied."""
        return cls(
            Run(*run),
            InputSpec.of(params),
            ModelSpec.of(params),
            method_spec(run[1], methods.section(run[1], params)),
            methods.objective_settings(run[1], params),
            OptimSpec.of(params),
            methods.target(run[1], params["train"]["unimodal_target"]),
            params["evaluate"]["threshold"],
            table,
            test_every_epoch,
        )

    @classmethod
    def from_dict(cls, data: dict) -> TrainSpec:
        run = Run(*data["run"])
        spec = from_dict(cls, data, "TrainSpec")
        return dataclasses.replace(spec, run=run, method=method_spec(run.method, data["method"]))


SCORING_BATCH = 32  # windows scored at once unless train.micro_batch asks for fewer


@dataclasses.dataclass(frozen=True)
class Runtime:
    """How a job runs, never what it computes: a change here reruns nothing."""

    threads: int
    processes: int
    loader_workers: int
    tracking_uri: str
    experiment: str
    data_label: str
    register_best: list
    memory_cache_mb: float = 0.0  # training clips held in memory (ClipSet.keep_in_memory)
    checkpoint_every_s: float = 0.0  # progress.pt at most this often (0: after every epoch)
    scoring_batch: int = SCORING_BATCH  # train.micro_batch where set (AASIST scoring 32 at once holds 7 GB)

    @classmethod
    def of(cls, params: dict) -> Runtime:
        t, m = params["train"], params["mlflow"]
        return cls(
            t["threads"],
            t["processes"],
            t["loader_workers"],
            m["tracking_uri"],
            m["experiment"],
            params["data_label"],
            list(m["register_best"]),
            t["memory_cache_mb"],
            t["checkpoint_every_s"],
            t["micro_batch"] or SCORING_BATCH,
        )


def runtime_of(data: dict | None) -> Runtime:
    return from_dict(Runtime, data)
