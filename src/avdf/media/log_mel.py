"""Log-Mel spectrogram, eq. (1): M(t, m) = sum_f H_m(f) |S(t, f)|^2, then log M(t, m).

torchaudio 2.9 has no I/O backend: the waveform comes from ffmpeg, the features from
``torchaudio.transforms``.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import torch
import torchaudio

from avdf.contracts.input_specs import LogMelSpec
from avdf.media import ffmpeg

LOG_FLOOR = 1e-6  # keeps log M finite in digital silence


class LogMel(torch.nn.Module):
    def __init__(
        self,
        sample_rate: int,
        n_fft: int,
        win_length: int,
        hop_length: int,
        n_mels: int,
        f_min: float,
        f_max: float,
    ):
        super().__init__()
        # power=2.0 gives |S(t, f)|^2; the Mel filter bank H_m(f) sums it into M(t, m).
        self.mel = torchaudio.transforms.MelSpectrogram(
            sample_rate=sample_rate,
            n_fft=n_fft,
            win_length=win_length,
            hop_length=hop_length,
            n_mels=n_mels,
            f_min=f_min,
            f_max=f_max,
            power=2.0,
        )

    def forward(self, waveform: torch.Tensor) -> torch.Tensor:
        """(samples,) float -> (n_mels, frames) log-Mel."""
        return torch.log(self.mel(waveform) + LOG_FLOOR)


def log_mel(waveform: np.ndarray, sample_rate: int, spec: LogMelSpec) -> np.ndarray:
    """float16 (n_mels, frames), the cache format."""
    module = LogMel(sample_rate, **dataclasses.asdict(spec))
    with torch.inference_mode():
        return module(torch.from_numpy(waveform)).numpy().astype(np.float16)


def log_mel_of_wav(wav: str | Path, sample_rate: int, spec: LogMelSpec) -> np.ndarray:
    """The log-Mel of a demuxed clip's WAV; MediaError for another rate or too little audio."""
    return log_mel_of_waveform(*ffmpeg.read_wav(wav), sample_rate, spec)


def log_mel_of_waveform(waveform: np.ndarray, rate: int, sample_rate: int, spec: LogMelSpec) -> np.ndarray:
    """:func:`log_mel_of_wav` for a waveform already read (``rate``: the rate it was read at)."""
    if rate != sample_rate:
        raise ffmpeg.MediaError(f"expected {sample_rate} Hz audio, found {rate} Hz")
    if len(waveform) < spec.n_fft:
        raise ffmpeg.MediaError(f"audio too short ({len(waveform)} samples)")
    return log_mel(waveform, sample_rate, spec)
