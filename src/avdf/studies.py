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

TARGETS = ("table1", "table2", "fig5", "fig67", "table3", "contrastive", "fig4", "frame_level")


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
    """The variant whose run this is: ``default`` when the changes make no difference to ``method``."""
    if variant == "default":
        return variant
    changed = apply_variant(params, variant)
    sections = ["model", "train"] + (["macbdf", "contrastive"] if method == "macbdf" else ["baselines"])
    if all(changed.get(s) == params.get(s) for s in sections):
        return "default"
    return variant


def study_of(params: dict, variant: str) -> str:
    """The study a variant was made for (its MLflow ``table`` tag): the first that lists it."""
    if variant == "default":
        return "table1"
    for target in TARGETS:
        if variant in params["studies"].get(target, {}).get("variants", []):
            return target
    return "extra"


def objective_of(params: dict, method: str) -> str:
    """The contrastive objective a run trains with (its MLflow ``objective`` tag)."""
    if method == "mcl":
        return "pair_contrastive"
    if method != "macbdf":
        return "none"
    return params["macbdf"]["objective"] if params["macbdf"]["contrastive"] else "none"


def dataset_named(params: dict, paper_name: str) -> str | None:
    """The configured dataset standing for the paper's ``paper_name`` (None if there is none)."""
    for name, spec in params["datasets"].items():
        if spec.get("paper_name") == paper_name and spec.get("enabled", True):
            return name
    return None


def study_datasets(params: dict, names: list[str]) -> list[str]:
    return [d for d in (dataset_named(params, n) for n in names) if d is not None]


def evals(params: dict, target: str) -> list[Eval]:
    """The evaluations a table or figure is built from (each implies its training run)."""
    study = params["studies"][target]
    seeds = params["train"]["seeds"]
    methods = params["train"]["methods"]

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
        return own(study_datasets(params, study["datasets"]), [("macbdf", v) for v in study["variants"]])
    if target == "frame_level":
        return own(study_datasets(params, study["datasets"]), [("macbdf", "default")])
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
            else [Eval(d, "macbdf", canonical(params, "macbdf", v), seeds[0], d) for v in study["variants"]]
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
