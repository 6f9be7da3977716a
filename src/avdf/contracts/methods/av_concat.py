"""AV concatenation: both encoders, their pooled features concatenated, one head (Table 1)."""

from avdf.contracts.methods.registry import Method, register

METHOD = register(Method("av_concat", "audio-visual", "avdf.learning.models.baselines.av_concat:AVConcat"))
