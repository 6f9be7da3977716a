"""The paper's tables and figures: Tables 1-3 and Figs. 4-7 (and Table 1 per category, and on one seed)."""

from __future__ import annotations

from avdf.contracts import methods
from avdf.contracts.variants import (
    Eval,
    canonical,
    dataset_named,
    merge,
    own_evals,
    quick_seeds,
    study_datasets,
    study_seeds,
)
from avdf.reporting.studies.registry import Study, register

TABLES = "avdf.reporting.tables"
FIGURES = "avdf.reporting.figures"


def table1(params: dict) -> list[Eval]:
    """Every method of ``train.methods`` on each dataset's own split, on the seeds of record."""
    methods_ = [(m, "default") for m in params["train"]["methods"]]
    return own_evals(params, params["studies"]["table1"]["datasets"], methods_, params["train"]["seeds"])


def table1_quick(params: dict) -> list[Eval]:
    """Table 1 on ``train.quick_seeds`` (make quick), a file of its own."""
    return table1(merge(params, {"train": {"seeds": quick_seeds(params)}}))


def variants_of(section: str):
    """The studied method's variants that study ``section`` lists, on each of its datasets."""

    def evals(params: dict) -> list[Eval]:
        study = params["studies"][section]
        variants = [(methods.studied(), v) for v in study["variants"]]
        return own_evals(params, study["datasets"], variants, study_seeds(params))

    return evals


def table3(params: dict) -> list[Eval]:
    """Every method trained on one dataset and evaluated on the others (cross-dataset)."""
    study = params["studies"]["table3"]
    train = dataset_named(params, study["train"])
    if train is None:
        return []
    targets = study_datasets(params, study["eval"])
    methods_, seeds = params["train"]["methods"], params["train"]["seeds"]
    return [Eval(train, m, "default", s, e) for m in methods_ for s in seeds for e in targets]


def fig4(params: dict) -> list[Eval]:
    """The studied method's variants on one dataset, first study seed: the latent-space panels."""
    study, studied = params["studies"]["fig4"], methods.studied()
    d, seed = dataset_named(params, study["dataset"]), study_seeds(params)[0]
    return (
        []
        if d is None
        else [Eval(d, studied, canonical(params, studied, v), seed, d) for v in study["variants"]]
    )


register(Study("table1", table1, f"{TABLES}:table1", metrics=True))
register(Study("table1_quick", table1_quick, f"{TABLES}:table1", section="table1"))
register(Study("table1_by_category", table1, f"{TABLES}:table1_by_category", section="table1"))
register(Study("table2", variants_of("table2"), f"{TABLES}:table2", metrics=True))
register(
    Study(
        "fig5",
        variants_of("fig5"),
        f"{TABLES}:depth_sweep",
        output="fig5_depth",
        figure=f"{FIGURES}:depth_sweep",
        figures=("fig5_depth",),
        metrics=True,
        rule="fig5_depth",
    )
)
register(
    Study(
        "fig67",
        variants_of("fig67"),
        f"{TABLES}:om_pareto_curves",
        output="fig67_ompareto",
        figure=f"{FIGURES}:om_pareto",
        figures=("fig6_ompareto_loss", "fig7_ompareto_auc"),
        rule="fig67_om_pareto",
    )
)
register(Study("table3", table3, f"{TABLES}:table3", metrics=True))
register(
    Study(
        "fig4",
        fig4,
        "",  # drawn by `avdf latent` from the checkpoints (its own rule), not from evaluation files
        output="fig4_latent",
        figures=("fig4_latent",),
        rule="fig4_latent",
    )
)
