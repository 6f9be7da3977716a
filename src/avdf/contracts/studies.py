"""What each table and figure needs: which runs to train and which evaluations to read.

A run is (dataset, method, variant, seed); ``variant`` names a set of parameter changes
(params.yaml: ``variants``), and ``default`` changes nothing. Studies (params.yaml: ``studies``)
name datasets by their ``paper_name``, so the same studies run on the embedded stand-ins and on
the real datasets. A variant whose changes leave the parameters as they are (``depth2`` when
``ms_depth`` is already 2), or that a method does not read (any MACB-DF variant of a baseline),
is the ``default`` run: nothing is trained twice.
"""

from __future__ import annotations

import copy
from typing import NamedTuple

from avdf.contracts import methods as avdf_methods
from avdf.contracts.specs import Run, TrainSpec

TARGETS = (
    "table1",
    "table1_quick",
    "table2",
    "fig5",
    "fig67",
    "table3",
    "contrastive",
    "fig4",
    "frame_level",
)
# A target that reports another's study on other seeds: results/table1_quick.csv is Table 1 on
# train.quick_seeds (make quick), where results/table1.csv is always on the seeds of record.
SAME_STUDY = {"table1_quick": "table1"}


class Eval(NamedTuple):
    train_dataset: str
    method: str
    variant: str
    seed: int
    eval_dataset: str


def _merge(base: dict, changes: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        out[key] = (
            _merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def apply_variant(params: dict, variant: str) -> dict:
    if variant not in params["variants"]:
        raise KeyError(f"unknown variant {variant!r}; params.yaml variants: {', '.join(params['variants'])}")
    return _merge(params, params["variants"][variant])


def canonical(params: dict, method: str, variant: str) -> str:
    """The variant whose run this is: ``default`` when the changes leave everything ``method``'s
    run reads (its TrainSpec) as it is."""
    if variant == "default":
        return variant
    run = Run("", method, "", 0)
    changed = TrainSpec.of(apply_variant(params, variant), run, "", False)
    return "default" if changed == TrainSpec.of(params, run, "", False) else variant


def study_of(params: dict, variant: str) -> str:
    """The study a variant was made for (its MLflow ``table`` tag): the first that lists it."""
    if variant == "default":
        return "table1"
    for target in TARGETS:
        if variant in params["studies"].get(target, {}).get("variants", []):
            return target
    return "extra"


def dataset_named(params: dict, paper_name: str) -> str | None:
    """The configured dataset standing for the paper's ``paper_name`` (None if there is none)."""
    for name, spec in params["datasets"].items():
        if spec.get("paper_name") == paper_name and spec.get("enabled", True):
            return name
    return None


def study_datasets(params: dict, names: list[str]) -> list[str]:
    return [d for d in (dataset_named(params, n) for n in names) if d is not None]


def study_seeds(params: dict) -> list[int]:
    """The seeds of the studies beyond Tables 1 and 3 (ablations, depth sweep, OM-Pareto, objectives,
    latent space, frame level): ``train.study_seeds``, or ``train.seeds`` when it is not set."""
    return params["train"].get("study_seeds") or params["train"]["seeds"]


def quick_seeds(params: dict) -> list[int]:
    """The seeds of the quick Table 1 (``train.quick_seeds``; absent: the first seed of record)."""
    return params["train"].get("quick_seeds") or params["train"]["seeds"][:1]


def evals(params: dict, target: str) -> list[Eval]:
    """The evaluations a table or figure is built from (each implies its training run)."""
    if target in SAME_STUDY:
        quick = _merge(params, {"train": {"seeds": quick_seeds(params)}})
        return evals(quick, SAME_STUDY[target])
    study = params["studies"][target]
    seeds = params["train"]["seeds"] if target in ("table1", "table3") else study_seeds(params)
    methods = params["train"]["methods"]
    studied = avdf_methods.studied()  # the method the ablation and objective studies vary

    def own(datasets, method_variants):
        return [
            Eval(d, m, canonical(params, m, v), s, d)
            for d in datasets
            for m, v in method_variants
            for s in seeds
        ]

    if target == "table1":
        return own(study_datasets(params, study["datasets"]), [(m, "default") for m in methods])
    if target in ("table2", "fig5", "fig67", "contrastive"):
        return own(study_datasets(params, study["datasets"]), [(studied, v) for v in study["variants"]])
    if target == "frame_level":
        return own(study_datasets(params, study["datasets"]), [(studied, "default")])
    if target == "table3":
        train = dataset_named(params, study["train"])
        if train is None:
            return []
        targets = study_datasets(params, study["eval"])
        return [Eval(train, m, "default", s, e) for m in methods for s in seeds for e in targets]
    if target == "fig4":
        d = dataset_named(params, study["dataset"])
        return (
            []
            if d is None
            else [Eval(d, studied, canonical(params, studied, v), seeds[0], d) for v in study["variants"]]
        )
    raise KeyError(f"unknown target {target!r}; known: {', '.join(TARGETS)}")


def runs_of(params: dict, target: str) -> set[tuple[str, str, str, int]]:
    """The training runs one table or figure needs."""
    return {(e.train_dataset, e.method, e.variant, e.seed) for e in evals(params, target)}


def runs(params: dict) -> list[tuple[str, str, str, int]]:
    """Every training run of every study, once."""
    seen = {}
    for target in TARGETS:
        for e in evals(params, target):
            seen[(e.train_dataset, e.method, e.variant, e.seed)] = None
    return list(seen)


def train_specs(params: dict) -> dict[Run, TrainSpec]:
    """The spec of every training run of every study: its variant applied, its MLflow ``table`` tag
    (the first study that needs it) and whether Figs. 6-7 want its test scores after every epoch."""
    fig67 = runs_of(params, "fig67")
    out = {}
    for target in TARGETS:
        for run in runs_of(params, target):
            run = Run(*run)
            if run not in out:
                out[run] = TrainSpec.of(apply_variant(params, run.variant), run, target, run in fig67)
    return out


def table_spec(params: dict, target: str) -> dict:
    """Everything a table or figure of ``target`` reads besides its input files: the data label,
    the datasets' paper names, the methods in row order, the ACC threshold, and the study with its
    datasets and variants resolved (the run each variant is, and its multi-scale depth)."""
    study = dict(params["studies"].get(SAME_STUDY.get(target, target), {}))
    for key in ("datasets", "eval"):
        if key in study:
            study[key] = study_datasets(params, study[key])
    if "train" in study:
        study["train"] = dataset_named(params, study["train"])
    studied = avdf_methods.studied()
    variants = study.get("variants", [])
    return {
        "data_label": f"{params['data_label']}; split: {params['split']['protocol']}",
        "datasets": {
            d: s.get("paper_name", "") for d, s in params["datasets"].items() if s.get("enabled", True)
        },
        "methods": list(params["train"]["methods"]),
        "threshold": params["evaluate"]["threshold"],
        "study": study,
        "run_variant": {v: canonical(params, studied, v) for v in variants},
        "ms_depth": {v: apply_variant(params, v)[studied]["ms_depth"] for v in variants},
        "objective": params[studied]["objective"],
    }
