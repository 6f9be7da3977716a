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

The input chain's specs (the first two lines) live in avdf.contracts.input_specs, so that the preprocessing
stages' code fingerprints do not include this module; they are re-exported here.
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

from avdf.contracts import methods
from avdf.contracts.input_specs import (  # noqa: F401  (the input chain's specs, re-exported: one place to read every contract)
    CropSpec,
    DemuxSpec,
    FacesSpec,
    InputSpec,
    LogMelSpec,
    SpecError,
    _section,
    from_dict,
    to_dict,
    to_json,
)


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


def method_spec(method: str, section: dict):
    """The typed spec of a method's own params.yaml section (its registered spec class)."""
    return methods.spec_of(method, section)


@dataclasses.dataclass(frozen=True)
class OptimSpec:
    """The optimisation of a training run, and the device it runs on (bf16, channels-last and
    compiling change the numbers' rounding, so they belong to the result)."""

    epochs: int
    batch_size: int
    micro_batch: int
    lr: float
    weight_decay: float
    balance: bool
    device: str
    bf16: bool
    channels_last: bool
    compile: bool

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
    (``objective``), the optimisation, the label it learns (``target``: avdf.contracts.methods.target), the
    ACC threshold of its in-dataset scores, and what the studies want of it (its MLflow ``table``
    tag; test scores after every epoch for Figs. 6-7)."""

    run: Run
    input: InputSpec
    model: ModelSpec
    method: Any  # the method's spec: its registered class (avdf.contracts.methods), e.g. MACBDFSpec
    objective: dict
    optim: OptimSpec
    target: str
    threshold: float
    table: str
    test_every_epoch: bool

    @classmethod
    def of(cls, params: dict, run: Run, table: str, test_every_epoch: bool) -> TrainSpec:
        """The spec of ``run`` from ``params`` with the run's variant already applied."""
        own = methods.method_params(run[1], params)  # the method's own window and training settings
        return cls(
            Run(*run),
            InputSpec.of(own),
            ModelSpec.of(params),
            method_spec(run[1], methods.section(run[1], params)),
            methods.objective_settings(run[1], params),
            OptimSpec.of(own),
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
    crop_decode: str = "workers"  # where training decodes its JPEG crops: workers | device (the GPU)

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
            t["crop_decode"],
        )


def runtime_of(data: dict | None) -> Runtime:
    return from_dict(Runtime, data)
