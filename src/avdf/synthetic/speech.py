"""Speech-like audio for the synthetic dataset: a source-filter voice with an identity of its own.

A voice is a glottal pulse train at a pitch contour (f0) shaped by formant resonances (F1-F3), plus
noise bursts for consonants. Each identity has its own base pitch and formant scale, so a
voice-conversion fake that borrows another identity's voice is a real change of speaker.
Everything is computed from a ``numpy.random.Generator``: the same seed gives the same samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from avdf.synthetic import spectral

# (F1, F2, F3) in Hz for five vowels of an adult male vocal tract; a voice scales them.
VOWEL_FORMANTS = np.array(
    [[730, 1090, 2440], [530, 1840, 2480], [270, 2290, 3010], [570, 840, 2410], [300, 870, 2240]], float
)
FORMANT_BANDWIDTHS = np.array([90.0, 110.0, 170.0])
N_FFT, HOP = 512, 80


@dataclass(frozen=True)
class Voice:
    """The acoustic identity of a speaker."""

    f0_hz: float  # base pitch
    formant_scale: float  # vocal-tract length: >1 is a shorter tract (higher formants)
    breathiness: float  # share of noise in the excitation
    room_noise_db: float  # level of the recording's background noise

    @staticmethod
    def sample(rng: np.random.Generator) -> Voice:
        return Voice(
            f0_hz=float(rng.uniform(95, 230)),
            formant_scale=float(rng.uniform(0.88, 1.22)),
            breathiness=float(rng.uniform(0.02, 0.08)),
            room_noise_db=float(rng.uniform(-52, -44)),
        )


@dataclass(frozen=True)
class Utterance:
    """What is said: syllables with their timing (seconds), independent of who says it."""

    onsets: np.ndarray  # syllable start times
    durations: np.ndarray  # syllable lengths
    vowels: np.ndarray  # index into VOWEL_FORMANTS
    consonants: np.ndarray  # 0 none, 1 plosive, 2 fricative
    accents: np.ndarray  # pitch accent per syllable, relative
    intonation_phase: float

    @staticmethod
    def sample(rng: np.random.Generator, duration_s: float) -> Utterance:
        t = float(rng.uniform(0.04, 0.10))
        onsets, durs = [], []
        while True:
            d = float(rng.uniform(0.13, 0.26))
            if t + d > duration_s - 0.04:
                break
            onsets.append(t)
            durs.append(d)
            t += d + (float(rng.uniform(0.05, 0.16)) if rng.random() < 0.25 else 0.0)
        n = len(onsets)
        return Utterance(
            onsets=np.array(onsets),
            durations=np.array(durs),
            vowels=rng.integers(0, len(VOWEL_FORMANTS), n),
            consonants=rng.choice(3, n, p=[0.3, 0.4, 0.3]),
            accents=rng.uniform(-0.06, 0.12, n),
            intonation_phase=float(rng.uniform(0, 2 * np.pi)),
        )


def _frame_tracks(utt: Utterance, voice: Voice, n_frames: int, sr: int):
    """Per-STFT-frame formant targets, voiced amplitude and consonant noise amplitude."""
    times = np.arange(n_frames) * HOP / sr
    formants = np.tile(VOWEL_FORMANTS[1] * 0.9, (n_frames, 1))  # neutral schwa between syllables
    voiced = np.zeros(n_frames)
    noise = np.zeros(n_frames)
    fricative = np.zeros(n_frames, bool)
    for on, d, v, c in zip(utt.onsets, utt.durations, utt.vowels, utt.consonants, strict=True):
        cons = 0.035 if c else 0.0
        inside = (times >= on) & (times < on + d)
        vowel = (times >= on + cons) & (times < on + d)
        phase = np.clip((times[vowel] - on - cons) / max(d - cons, 1e-3), 0, 1)
        voiced[vowel] = np.sin(np.pi * phase) ** 0.6
        formants[inside] = VOWEL_FORMANTS[v]
        burst = inside & ~vowel
        noise[burst] = 0.6 if c == 1 else 0.35
        fricative[burst] = c == 2
    kernel = np.hanning(7) / np.hanning(7).sum()  # ~30 ms co-articulation
    formants = np.stack([convolve_same(formants[:, k], kernel) for k in range(3)], 1)
    return formants * voice.formant_scale, voiced, noise, fricative


def f0_contour(utt: Utterance, voice: Voice, n: int, sr: int, monotone: bool = False) -> np.ndarray:
    """Pitch per sample: declination, slow intonation and syllable accents (flat if ``monotone``)."""
    t = np.arange(n) / sr
    dur = n / sr
    if monotone:
        return np.full(n, voice.f0_hz * 0.97)
    contour = 1 + 0.09 * np.sin(2 * np.pi * 0.55 * t + utt.intonation_phase) - 0.07 * t / dur
    for on, d, a in zip(utt.onsets, utt.durations, utt.accents, strict=True):
        contour += a * np.exp(-0.5 * ((t - on - d / 2) / (d / 3)) ** 2)
    return voice.f0_hz * contour


def synthesize(
    utt: Utterance,
    voice: Voice,
    duration_s: float,
    sr: int,
    rng: np.random.Generator,
    monotone: bool = False,
    vocoder_noise: float = 0.0,
) -> np.ndarray:
    """Render ``utt`` spoken by ``voice`` as float32 samples in [-1, 1]."""
    n = int(round(duration_s * sr))
    f0 = f0_contour(utt, voice, n, sr, monotone) * (1 + 0.004 * rng.standard_normal(n).cumsum() / np.sqrt(n))
    phase = 2 * np.pi * np.cumsum(f0) / sr
    n_harm = int(7000 / f0.min())
    k = np.arange(1, n_harm + 1)[:, None]
    # band-limited glottal pulse: harmonics decaying as k^-1.3, muted above 7 kHz per sample
    harmonics = np.sin(k * phase[None]) * k**-1.3 * (k * f0[None] < 7000)
    excitation = (
        harmonics.sum(0) + voice.breathiness * rng.standard_normal(n) + vocoder_noise * rng.standard_normal(n)
    )
    spec = spectral.stft(excitation, N_FFT, HOP)
    n_frames = spec.shape[1]
    formants, voiced, noise_amp, fricative = _frame_tracks(utt, voice, n_frames, sr)
    freqs = np.fft.rfftfreq(N_FFT, 1 / sr)[:, None]
    envelope = sum(
        1.0 / (1 + ((freqs - formants[None, :, i]) / (FORMANT_BANDWIDTHS[i] / 2)) ** 2) * (0.9**i)
        for i in range(3)
    )
    voiced_wave = spectral.istft(spec * (envelope * voiced[None]), N_FFT, HOP, length=n)

    noise = rng.standard_normal(n)
    nspec = spectral.stft(noise, N_FFT, HOP)
    shape = np.where(fricative[None], (freqs > 3000) * 1.0, 0.5 + 0.5 * (freqs < 4000))
    noise_wave = spectral.istft(nspec * (shape * noise_amp[None]), N_FFT, HOP, length=n)
    speech = voiced_wave / (np.abs(voiced_wave).max() + 1e-9) + 0.25 * noise_wave / (
        np.abs(noise_wave).max() + 1e-9
    )
    speech = 0.5 * speech / (np.abs(speech).max() + 1e-9)
    return (speech + room_noise(voice.room_noise_db, n, rng)).astype(np.float32)


def convolve_same(signal: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """``np.convolve(signal, kernel, "same")`` as shifted, scaled sums: ``np.convolve`` calls the BLAS
    dot product, whose kernels (and so roundings) OpenBLAS picks by CPU."""
    n, m = len(signal), len(kernel)
    full = np.zeros(n + m - 1)
    for j, weight in enumerate(kernel):
        full[j : j + n] += weight * signal
    start = (m - 1) // 2
    return full[start : start + n]


def to_pcm_grid(audio: np.ndarray) -> np.ndarray:
    """``audio`` rounded to the 16-bit PCM values it is encoded as (float32 in [-1, 1]). The encoder
    quantises the same way (avdf.media.ffmpeg.write_wav); quantising before the mouth is animated from
    the audio keeps rounding differences of ~1e-16 between CPUs out of every rendered pixel and sample."""
    return ((np.clip(audio, -1.0, 1.0) * 32767.0).round() / 32767.0).astype(np.float32)


def room_noise(level_db: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Background noise of a recording: low-passed white noise at ``level_db`` dBFS (RMS)."""
    white = rng.standard_normal(n)
    smooth = convolve_same(white, np.ones(4) / 4)
    return smooth / (smooth.std() + 1e-12) * 10 ** (level_db / 20)


def speech_envelope(audio: np.ndarray, sr: int, fps: int) -> np.ndarray:
    """Loudness per video frame in [0, 1]: what opens the mouth of the animated face."""
    per_frame = sr // fps
    n = len(audio) // per_frame
    rms = np.sqrt((audio[: n * per_frame].reshape(n, per_frame) ** 2).mean(1))
    rms = convolve_same(rms, np.array([0.25, 0.5, 0.25]))
    return np.clip(rms / (np.percentile(rms, 95) + 1e-9), 0, 1)
