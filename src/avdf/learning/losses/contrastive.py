"""The contrastive term L_C of MACB-DF's multimodal loss, by name: MACL (the paper's, eq. 8) or one
of the alternatives of the contrastive-objective study (results/table_contrastive.csv).

Every objective maps (z_a, z_v, y_a, y_v, ids), the L2-normalised audio and video embeddings (B, D),
the audio and video fake labels (B,) and the clips' dataset indices (B,; None when unknown; MACL's
queue uses them), to a dict whose ``L_C`` is the loss and whose other entries
are detached values to log.
"""

from __future__ import annotations

from torch import nn

from avdf.contracts.methods import OBJECTIVE_SETTINGS
from avdf.learning.losses.infonce import InfoNCE
from avdf.learning.losses.macl import MACL
from avdf.learning.losses.siglip import SigLIP
from avdf.learning.losses.supcon import SupCon
from avdf.learning.losses.svr import SVR

OBJECTIVES = tuple(OBJECTIVE_SETTINGS)


def build(objective: str, dim: int, macbdf: dict, contrastive: dict, batch_size: int) -> nn.Module:
    """``macbdf`` is that section of params.yaml; ``contrastive`` holds (at least) the settings the
    objective reads (avdf.contracts.methods.OBJECTIVE_SETTINGS)."""
    c = contrastive
    if objective == "macl":
        return MACL(
            dim,
            tau0=macbdf["tau0"],
            margin=macbdf["margin"],
            k_nearest=macbdf["k_nearest"],
            queue_size=macbdf["queue_size"],
            use_cross=macbdf["cross"],
            use_intra=macbdf["intra"],
        )
    if objective == "infonce":
        return InfoNCE(c["infonce_tau"])
    if objective == "siglip":
        return SigLIP(c["siglip_t0"], c["siglip_b0"])
    if objective in ("svr_static", "svr_dynamic"):
        radius = objective.removeprefix("svr_")
        return SVR(radius, batch_size, c["svr_tau"], c["svr_alpha"], c["svr_beta"], c["svr_r0"])
    if objective.startswith("supcon_"):
        kind = objective.split("_")[1]
        queue = c["supcon_queue_size"] if objective.endswith("_queue") else 0
        return SupCon(dim, kind, c[f"supcon_tau_{kind}"], queue, c["supcon_queue_warmup_epochs"])
    raise ValueError(f"unknown contrastive objective {objective!r}; known: {', '.join(OBJECTIVES)}")
