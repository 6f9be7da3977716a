"""The methods avdf trains, and the facts about each that other modules ask for.

Each method is one module here that registers itself (avdf.contracts.methods.registry); the
imports below are the registry's one line per method. A module that needs to know something
about a method reads its entry instead of testing its name: which modalities it sees, which
section of params.yaml configures it beyond ``model`` and its typed spec, which optimisation step
trains it, and whether the ablation and objective studies vary it. The models themselves are
built by :func:`avdf.learning.models.build`; nothing here imports model code, so the workflow,
the studies and the tables read it cheaply.
"""

from __future__ import annotations

from avdf.contracts.input_specs import from_dict

# registry: one line per method; importing its module registers it (the order is the registry's)
# isort: off
from avdf.contracts.methods import ecapa_tdnn  # noqa: E402, F401
from avdf.contracts.methods import aasist  # noqa: E402, F401
from avdf.contracts.methods import audio_only  # noqa: E402, F401
from avdf.contracts.methods import visual_only  # noqa: E402, F401
from avdf.contracts.methods import av_concat  # noqa: E402, F401
from avdf.contracts.methods import mcl  # noqa: E402, F401
from avdf.contracts.methods import macbdf  # noqa: E402, F401
from avdf.contracts.methods import boundary  # noqa: E402, F401

# isort: on
from avdf.contracts.methods.registry import (  # noqa: F401
    LOG_MEL_AND_CROPS,
    METHODS,
    Method,
    NoSection,
    Reads,
    register,
)

MODALITY_LABELS = {"audio": "audio_fake", "visual": "video_fake", "audio-visual": "label"}


def get(name: str) -> Method:
    if name not in METHODS:
        raise KeyError(f"unknown method {name!r}; known: {', '.join(METHODS)}")
    return METHODS[name]


def target(name: str, unimodal_target: str) -> str:
    """The label a run of ``name`` learns, as a batch names it. ``unimodal_target: modality``
    (params.yaml train): a model that sees one modality learns that modality's own fake label, as
    MACB-DF's unimodal branches do (eqs. 19-20); ``clip``: every model learns the clip's label.
    Audio-visual models always learn the clip's label (docs/paper-notes.md, "Unimodal baselines")."""
    if unimodal_target == "clip":
        return "label"
    return MODALITY_LABELS[get(name).modality]


def studied() -> str:
    """The method the paper's studies vary (MACB-DF)."""
    return next(m.name for m in METHODS.values() if m.studied)


def section(name: str, params: dict) -> dict:
    """The method's own params.yaml section over its registered defaults (empty for a method
    without one)."""
    method = get(name)
    if not method.section:
        return {}
    out = params
    for key in method.section:
        out = out.get(key, {})
    return dict(method.defaults) | dict(out)


def spec_of(name: str, section: dict):
    """The typed spec of a method's own section (NoSection for one without)."""
    return from_dict(get(name).spec, section, f"{name} section")


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
    objective = section(name, params)["objective"]
    return {k: params["contrastive"][k] for k in OBJECTIVE_SETTINGS[objective]}


def reads(name: str, section: dict) -> Reads:
    """What the method's model reads besides its window of cached log-Mel and crops: the raw
    waveform (AASIST with its sinc front end), its crops at a fraction of their side, and no crops
    at all for an audio-only model."""
    method = get(name)
    return Reads(method.needs_waveform(section), method.crop_scale(section), method.modality != "audio")


def method_params(name: str, params: dict) -> dict:
    """``params`` with the window the method reads as its ``input`` and the ``train`` settings
    it trains with (the localiser sets its own window and epochs)."""
    method, own = get(name), section(name, params)
    window = method.input(params["input"], own, params["media"]["fps"])
    return params | {"input": window, "train": method.training(params["train"], own)}


def localising() -> list[str]:
    """The methods that propose fake segments themselves (trained on segment labels)."""
    return [m.name for m in METHODS.values() if m.segments]
