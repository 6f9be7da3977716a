"""What each table and figure needs: which runs to train and which evaluations to read.

Every table and figure is one registered :class:`Study` (avdf.reporting.studies.registry); the
imports below are the registry's one line per module, in the order the studies claim runs (a run's
MLflow ``table`` tag is the first study that needs it). The workflow's targets and rules, ``avdf
table`` and ``results/metrics.json`` all read the registry.
"""

from __future__ import annotations

from avdf.contracts import methods
from avdf.contracts.specs import Run, TrainSpec
from avdf.contracts.variants import Eval, apply_variant, canonical, dataset_named, study_datasets  # noqa: F401  (what the rules plan with)

# registry: one line per module of studies; importing it registers them, in this order
# isort: off
from avdf.reporting.studies import paper  # noqa: E402, F401
from avdf.reporting.studies import extensions  # noqa: E402, F401

# isort: on
from avdf.reporting.studies.registry import STUDIES, Study, register  # noqa: F401


def get(name: str) -> Study:
    if name not in STUDIES:
        raise KeyError(f"unknown study {name!r}; known: {', '.join(STUDIES)}")
    return STUDIES[name]


def evals(params: dict, name: str) -> list[Eval]:
    """The evaluations a table or figure is built from (each implies its training run)."""
    return get(name).evals(params)


def runs_of(params: dict, name: str) -> set[tuple[str, str, str, int]]:
    """The training runs one table or figure needs."""
    return {(e.train_dataset, e.method, e.variant, e.seed) for e in evals(params, name)}


def runs(params: dict) -> list[tuple[str, str, str, int]]:
    """Every training run of every study, once."""
    seen = {}
    for name in STUDIES:
        for e in evals(params, name):
            seen[(e.train_dataset, e.method, e.variant, e.seed)] = None
    return list(seen)


def study_of(params: dict, variant: str) -> str:
    """The study a variant was made for (its MLflow ``table`` tag): the first that lists it."""
    if variant == "default":
        return "table1"
    for study in STUDIES.values():
        if variant in params["studies"].get(study.params_section, {}).get("variants", []):
            return study.name
    return "extra"


def train_specs(params: dict) -> dict[Run, TrainSpec]:
    """The spec of every training run of every study: its variant applied, its MLflow ``table`` tag
    (the first study that needs it) and whether Figs. 6-7 want its test scores after every epoch."""
    fig67 = runs_of(params, "fig67")
    out = {}
    for name in STUDIES:
        for run in runs_of(params, name):
            run = Run(*run)
            if run not in out:
                out[run] = TrainSpec.of(apply_variant(params, run.variant), run, name, run in fig67)
    return out


def built(params: dict) -> list[Study]:
    """The studies the ``all`` target builds: every one, but an optional one without evaluations."""
    return [s for s in STUDIES.values() if not (s.optional and not s.evals(params))]


def table_spec(params: dict, name: str) -> dict:
    """Everything a table or figure reads besides its input files: the data label, the datasets'
    paper names, the methods in row order, the ACC threshold, the study with its datasets and
    variants resolved (the run each variant is, and its multi-scale depth), and the params.yaml
    sections it names (``spec_sections``)."""
    study = dict(params["studies"].get(get(name).params_section, {}))
    for key in ("datasets", "eval"):
        if key in study:
            study[key] = study_datasets(params, study[key])
    if "train" in study:
        study["train"] = dataset_named(params, study["train"])
    studied = methods.studied()
    variants = study.get("variants", [])
    spec = {
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
    return spec | {section: params[section] for section in get(name).spec_sections}
