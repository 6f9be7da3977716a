"""Baselines of Table 1, one module each, implemented from their published descriptions at a size
that trains on a CPU. Every model maps a batch ``{"video": (B, T, 3, S, S), "audio": (B, n_mels,
frames)}`` to a dict with ``logit`` (B,), the clip-level fake score before the sigmoid; a model
with its own training objective also has a ``loss(out, batch)`` method.
"""

from avdf.learning.models.baselines.aasist import AASIST
from avdf.learning.models.baselines.audio_only import AudioOnly
from avdf.learning.models.baselines.av_concat import AVConcat
from avdf.learning.models.baselines.ecapa_tdnn import ECAPATDNN
from avdf.learning.models.baselines.mcl import MCL
from avdf.learning.models.baselines.visual_only import VisualOnly

__all__ = ["AASIST", "AVConcat", "AudioOnly", "ECAPATDNN", "MCL", "VisualOnly"]
