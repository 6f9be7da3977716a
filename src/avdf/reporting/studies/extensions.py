"""avdf's studies beyond the paper's: the contrastive objectives, and the frame-level and
localisation scores on datasets with fake segments."""

from __future__ import annotations

from avdf.contracts import methods
from avdf.contracts.variants import Eval, own_evals, study_seeds
from avdf.reporting.studies.paper import TABLES, variants_of
from avdf.reporting.studies.registry import Study, register


def frame_level(params: dict) -> list[Eval]:
    """The studied method on each dataset with fake segments (LAV-DF), on the study seeds."""
    names = params["studies"]["frame_level"]["datasets"]
    return own_evals(params, names, [(methods.studied(), "default")], study_seeds(params))


def localisation(params: dict) -> list[Eval]:
    """The frame-head rule's runs (the frame-level study's) and each localising method on the
    same datasets, on the seeds of record."""
    section = params["studies"].get("localisation", {"datasets": [], "methods": []})
    localisers = [(m, "default") for m in section["methods"]]
    return frame_level(params) + own_evals(params, section["datasets"], localisers, params["train"]["seeds"])


register(
    Study(
        "contrastive",
        variants_of("contrastive"),
        f"{TABLES}:table_contrastive",
        "table_contrastive",
        metrics=True,
    )
)
register(Study("frame_level", frame_level, f"{TABLES}:table_frame_level", "table_frame_level", optional=True))
register(
    Study(
        "localisation",
        localisation,
        f"{TABLES}:table_localisation",
        "table_localisation",
        spec_sections=("localisation",),
        optional=True,
    )
)
