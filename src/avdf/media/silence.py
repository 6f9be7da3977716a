"""Leading silence: how long a clip is quiet before its speech starts.

Fakes of FakeAVCeleb begin with a short silence (arXiv 2412.00175): the shortcut audit measures it
(avdf.evaluation.audit) and demux can cut it (``media.trim_silence``), with this one definition.
"""

from __future__ import annotations

import numpy as np


def leading_silence(
    audio: np.ndarray, sample_rate: int, silence_db: float = -20.0, window_s: float = 0.02
) -> float:
    """Seconds of quiet before the first window whose RMS is within ``silence_db`` of the loud level."""
    n = max(1, int(window_s * sample_rate))
    frames = len(audio) // n
    if frames == 0:
        return 0.0
    rms = np.sqrt(np.mean(audio[: frames * n].reshape(frames, n).astype(np.float64) ** 2, axis=1))
    loud = np.percentile(rms, 95)
    if loud <= 1e-6:  # a silent clip: all of it is leading silence
        return frames * n / sample_rate
    first = int(np.argmax(rms >= loud * 10 ** (silence_db / 20)))
    return first * n / sample_rate
