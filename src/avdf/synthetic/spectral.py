"""Short-time Fourier analysis and resynthesis for the synthetic generator, in float64 NumPy.

The generator used ``torch.stft``/``torch.istft`` and torchaudio's Griffin-Lim. On x86-64 PyTorch
computes FFTs with MKL, which picks its kernels by CPU vendor and vector unit: the float32
Griffin-Lim vocoder then rendered other audio on an Intel AVX-512 CPU than on the AMD CPUs that
recorded ``tests/golden/synthetic.json`` (issue 31). NumPy's pocketfft runs one code path on every
x86-64 CPU, and float64 leaves any rounding difference ~1e-16, far below the 16-bit grid the audio
is quantised to (:func:`avdf.synthetic.speech.to_pcm_grid`). Semantics follow ``torch.stft`` with
``center=True``, reflect padding, a periodic Hann window and one-sided spectra.
"""

from __future__ import annotations

import numpy as np


def hann(n_fft: int) -> np.ndarray:
    """The periodic Hann window of ``torch.hann_window(n_fft)``."""
    return 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)


def stft(signal: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Complex spectrogram (n_fft // 2 + 1, frames) of a 1-D signal, frames centred on k * hop."""
    padded = np.pad(np.asarray(signal, np.float64), n_fft // 2, mode="reflect")
    n_frames = 1 + (len(padded) - n_fft) // hop
    starts = np.arange(n_frames)[:, None] * hop
    frames = padded[starts + np.arange(n_fft)[None]] * hann(n_fft)[None]
    return np.fft.rfft(frames, axis=1).T


def istft(spec: np.ndarray, n_fft: int, hop: int, length: int | None = None) -> np.ndarray:
    """Inverse of :func:`stft`: windowed overlap-add divided by the summed squared window."""
    window = hann(n_fft)
    frames = np.fft.irfft(spec.T, n=n_fft, axis=1) * window[None]
    n_frames = frames.shape[0]
    total = n_fft + hop * (n_frames - 1)
    signal, envelope = np.zeros(total), np.zeros(total)
    for i in range(n_frames):  # a few hundred frames a clip
        signal[i * hop : i * hop + n_fft] += frames[i]
        envelope[i * hop : i * hop + n_fft] += window**2
    start = n_fft // 2
    end = total - n_fft // 2 if length is None else start + length
    signal, envelope = signal[start:end], envelope[start:end]
    out = signal / np.where(envelope > 1e-11, envelope, 1.0)
    return np.pad(out, (0, max(0, (length or 0) - len(out))))


def griffin_lim(
    magnitude: np.ndarray, n_fft: int, hop: int, n_iter: int, momentum: float = 0.99
) -> np.ndarray:
    """A waveform whose STFT magnitude approximates ``magnitude``: Griffin & Lim (1984) with the fast
    momentum of Perraudin et al. (2013), from zero phase, as torchaudio's ``GriffinLim`` does."""
    angles = np.ones_like(magnitude, dtype=np.complex128)
    previous = np.zeros_like(angles)
    for _ in range(n_iter):
        rebuilt = stft(istft(magnitude * angles, n_fft, hop), n_fft, hop)
        angles = rebuilt - previous * (momentum / (1 + momentum))
        angles = angles / (np.abs(angles) + 1e-16)
        previous = rebuilt
    return istft(magnitude * angles, n_fft, hop)
