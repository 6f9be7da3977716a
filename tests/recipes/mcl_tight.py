"""A new method: MCL with a tighter margin and a heavier pair loss, by its own defaults (recipe test)."""

from avdf.contracts.methods.mcl import MCLSpec
from avdf.contracts.methods.registry import Method, register

METHOD = register(
    Method(
        "mcl_tight",
        "audio-visual",
        "avdf.learning.models.baselines.mcl:MCL",
        spec=MCLSpec,
        section=("baselines", "mcl_tight"),
        defaults={"lambda_pair": 1.0, "margin": 0.5},
        objective="pair_contrastive",
    )
)
