"""Baselines of Table 1, one module each, implemented from their published descriptions at a size
that trains on a CPU. Every model maps a batch ``{"video": (B, T, 3, S, S), "audio": (B, n_mels,
frames)}`` to a dict with ``logit`` (B,), the clip-level fake score before the sigmoid; a model
with its own training objective also has a ``loss(out, batch)`` method.
"""

from avdf.models.baselines.aasist import AASIST
from avdf.models.baselines.audio_only import AudioOnly
from avdf.models.baselines.av_concat import AVConcat
from avdf.models.baselines.ecapa_tdnn import ECAPATDNN
from avdf.models.baselines.mcl import MCL
from avdf.models.baselines.visual_only import VisualOnly

__all__ = ["AASIST", "AVConcat", "AudioOnly", "ECAPATDNN", "MCL", "VisualOnly"]
