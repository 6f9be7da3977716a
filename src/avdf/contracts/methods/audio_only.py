"""Audio-only: MACB-DF's audio encoder and a linear head (a unimodal row of Table 1)."""

from avdf.contracts.methods.registry import Method, register

METHOD = register(Method("audio_only", "audio", "avdf.learning.models.baselines.audio_only:AudioOnly"))
