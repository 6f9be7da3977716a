"""Visual-only: MACB-DF's visual encoder and a linear head (a unimodal row of Table 1)."""

from avdf.contracts.methods.registry import Method, register

METHOD = register(Method("visual_only", "visual", "avdf.learning.models.baselines.visual_only:VisualOnly"))
