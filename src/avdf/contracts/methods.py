"""The methods avdf trains, and the facts about each that other modules ask for.

A module that needs to know something about a method reads its entry here instead of testing its
name: which modalities it sees, which section of params.yaml configures it beyond ``model``, which
optimisation step trains it, and whether the ablation and objective studies vary it. The models
themselves are built by :func:`avdf.learning.models.build`; this module imports no model code, so tables
and studies can read it cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Method:
    name: str
    modality: str  # audio | visual | audio-visual
    section: tuple[str, ...]  # its own params.yaml section beyond `model` (() for none)
    step: str  # "baseline": its own loss in one backward pass; "two_branch": encoders + head (learning.steps)
    studied: bool  # the ablation, depth, OM-Pareto and objective studies vary this method
    frame_heads: bool  # has frame-level heads per modality (branch scores, frame-level AUC)
    shared_encoders: bool  # sized by params.yaml `model` (the published audio baselines are not)
    objective: str  # its contrastive objective (MLflow tag); "" = the one its section names


METHODS: dict[str, Method] = {
    m.name: m
    for m in (
        Method("ecapa_tdnn", "audio", ("baselines", "ecapa_tdnn"), "baseline", False, False, False, "none"),
        Method("aasist", "audio", ("baselines", "aasist"), "baseline", False, False, False, "none"),
        Method("audio_only", "audio", (), "baseline", False, False, True, "none"),
        Method("visual_only", "visual", (), "baseline", False, False, True, "none"),
        Method("av_concat", "audio-visual", (), "baseline", False, False, True, "none"),
        Method(
            "mcl", "audio-visual", ("baselines", "mcl"), "baseline", False, False, True, "pair_contrastive"
        ),
        Method("macbdf", "audio-visual", ("macbdf",), "two_branch", True, True, True, ""),
    )
}


MODALITY_LABELS = {"audio": "audio_fake", "visual": "video_fake", "audio-visual": "label"}


def target(name: str, unimodal_target: str) -> str:
    """The label a run of ``name`` learns, as a batch names it. ``unimodal_target: modality``
    (params.yaml train): a model that sees one modality learns that modality's own fake label, as
    MACB-DF's unimodal branches do (eqs. 19-20); ``clip``: every model learns the clip's label.
    Audio-visual models always learn the clip's label (docs/paper-notes.md, "Unimodal baselines")."""
    if unimodal_target == "clip":
        return "label"
    return MODALITY_LABELS[get(name).modality]


def get(name: str) -> Method:
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    return METHODS[name]


def studied() -> str:
    """The method the paper's studies vary (MACB-DF)."""
    return next(m.name for m in METHODS.values() if m.studied)


def section(name: str, params: dict) -> dict:
    """The method's own params.yaml section (empty for a method without one)."""
    out = params
    for key in get(name).section:
        out = out.get(key, {})
    return dict(out) if get(name).section else {}


def objective_of(name: str, section: dict) -> str:
    """The contrastive objective a run of ``name`` trains with (its MLflow ``objective`` tag)."""
    fixed = get(name).objective
    if fixed:
        return fixed
    return section["objective"] if section["contrastive"] else "none"


def ablation_of(name: str, section: dict) -> str:
    """Which parts of the studied method a run switches off ("none" for the full model and the
    other methods)."""
    if not get(name).studied:
        return "none"
    parts = (("L_C", "contrastive"), ("L_intra", "intra"), ("L_cross", "cross"), ("w", "fusion_weights"))
    off = [label for label, key in (*parts, ("om_pareto", "om_pareto")) if not section[key]]
    return "w/o " + ",".join(off) if off else "none"


# The settings of params.yaml `contrastive` that each objective of L_C reads (MACL reads the
# `macbdf` section only): a run's spec holds these and no others, so tuning one objective
# retrains no run of another.
OBJECTIVE_SETTINGS: dict[str, tuple[str, ...]] = {
    "macl": (),
    "infonce": ("infonce_tau",),
    "siglip": ("siglip_t0", "siglip_b0"),
    "svr_static": ("svr_tau", "svr_alpha", "svr_beta", "svr_r0"),
    "svr_dynamic": ("svr_tau", "svr_alpha", "svr_beta", "svr_r0"),
    "supcon_cosine": ("supcon_tau_cosine", "supcon_queue_warmup_epochs"),
    "supcon_angular": ("supcon_tau_angular", "supcon_queue_warmup_epochs"),
    "supcon_cosine_queue": ("supcon_tau_cosine", "supcon_queue_size", "supcon_queue_warmup_epochs"),
    "supcon_angular_queue": ("supcon_tau_angular", "supcon_queue_size", "supcon_queue_warmup_epochs"),
}


def objective_settings(name: str, params: dict) -> dict:
    """The ``contrastive`` settings a run of ``name`` reads (none for a method without L_C choice)."""
    if get(name).objective:
        return {}
    objective = params[get(name).section[0]]["objective"]
    return {k: params["contrastive"][k] for k in OBJECTIVE_SETTINGS[objective]}


def needs_waveform(method: str, section: dict) -> bool:
    """Whether the method's model reads the raw waveform (AASIST with its sinc front end) besides
    the cached log-Mel and crops."""
    return method == "aasist" and section.get("front_end") == "sinc"
