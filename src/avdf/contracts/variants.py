"""Runs, variants and the datasets the studies name: what every study plans with.

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

from avdf.contracts.specs import Run, TrainSpec


class Eval(NamedTuple):
    train_dataset: str
    method: str
    variant: str
    seed: int
    eval_dataset: str


def merge(base: dict, changes: dict) -> dict:
    """``base`` with ``changes`` merged in, nested keys replacing nested keys."""
    out = copy.deepcopy(base)
    for key, value in changes.items():
        out[key] = (
            merge(out[key], value) if isinstance(value, dict) and isinstance(out.get(key), dict) else value
        )
    return out


def apply_variant(params: dict, variant: str) -> dict:
    if variant not in params["variants"]:
        raise KeyError(f"unknown variant {variant!r}; params.yaml variants: {', '.join(params['variants'])}")
    return merge(params, params["variants"][variant])


def canonical(params: dict, method: str, variant: str) -> str:
    """The variant whose run this is: ``default`` when the changes leave everything ``method``'s
    run reads (its TrainSpec) as it is."""
    if variant == "default":
        return variant
    run = Run("", method, "", 0)
    changed = TrainSpec.of(apply_variant(params, variant), run, "", False)
    return "default" if changed == TrainSpec.of(params, run, "", False) else variant


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


def own_evals(
    params: dict, paper_names: list[str], method_variants: list[tuple], seeds: list[int]
) -> list[Eval]:
    """Each (method, variant) trained and evaluated on each named dataset's own split, per seed."""
    return [
        Eval(d, m, canonical(params, m, v), s, d)
        for d in study_datasets(params, paper_names)
        for m, v in method_variants
        for s in seeds
    ]
