"""The manipulation methods of the synthetic dataset, each named as a deepfake method of its kind.

Video methods edit the portrait (before the head-motion view), so artefacts move with the head:

- ``faceswap_blend``: the inner face of another identity, feathered in with a colour mismatch
  (DeepFaceLab/DFAE-like, the DFDC stand-in).
- ``faceswap_wav2lip``: a hard-edged face swap (a visible blending seam) whose mouth region is
  regenerated at low resolution, as Wav2Lip does (the FakeAVCeleb stand-in).
- ``gan_resample``: the face re-rendered through a low-resolution generator: upsampling grid
  artefacts and frame-to-frame flicker (the DefakeAVMiT stand-in).

Audio methods:

- ``griffinlim``: vocoder resynthesis of the true voice from its magnitude spectrogram.
- ``voice_clone``: the same words in an imitation of the voice: flat TTS prosody, slightly wrong
  formants, vocoder hiss, and no energy above 4.5 kHz (a vocoder run at a lower sample rate); in
  the segmented family, other words, as LAV-DF's edits are words said by a TTS in the cloned voice.
- ``splice``: a middle segment replaced by other words recorded elsewhere (a different noise
  floor), joined with hard cuts; in the segmented family, the segments the generator chooses.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from avdf.synthetic import spectral, speech
from avdf.synthetic.portraits import PORTRAIT_SIZE, Portrait, draw_mouth, face_mask

VIDEO_METHODS = ("faceswap_blend", "faceswap_wav2lip", "gan_resample")
AUDIO_METHODS = ("griffinlim", "voice_clone", "splice")


class VideoFake:
    """Makes the portrait image of each frame for one fake video."""

    def __init__(self, method: str, src: Portrait, donor: Portrait, rng: np.random.Generator):
        if method not in VIDEO_METHODS:
            raise ValueError(f"unknown video manipulation {method!r}")
        self.method, self.src, self.donor = method, src, donor
        if method == "faceswap_blend":
            gain = rng.uniform(0.8, 1.2, 3).astype(np.float32)
            mask = face_mask(src, feather=8.0)[..., None]
            self.base = src.image * (1 - mask) + np.clip(donor.image * gain, 0, 255) * mask
        elif method == "faceswap_wav2lip":
            mask = face_mask(src, feather=1.0)[..., None]
            self.base = src.image * (1 - mask) + donor.image * mask
        else:  # gan_resample
            mask = face_mask(src, feather=4.0)[..., None]
            low = Image.fromarray(src.image.astype(np.uint8)).resize(
                (PORTRAIT_SIZE // 8,) * 2, Image.BILINEAR
            )
            up = np.asarray(low.resize((PORTRAIT_SIZE,) * 2, Image.NEAREST), np.float32)
            yy, xx = np.mgrid[0:PORTRAIT_SIZE, 0:PORTRAIT_SIZE]
            grid = (((yy // 4) % 2) ^ ((xx // 4) % 2)).astype(np.float32)[..., None] * 16.0  # checkerboard
            self.base = src.image * (1 - mask) + (up + grid) * mask
            self.mask = mask
            self.flicker = rng.uniform(0.85, 1.15, 4096).astype(np.float32)

    def frame(self, index: int, opening: float) -> np.ndarray:
        image = draw_mouth(self.base, self.src, opening)
        if self.method == "faceswap_wav2lip":
            mx, my = self.src.mouth_center
            half = int(1.3 * self.src.mouth_width) + 6
            y0, x0 = int(my - half * 0.7), int(mx - half)
            patch = Image.fromarray(
                np.clip(image[y0 : y0 + 2 * half, x0 : x0 + 2 * half], 0, 255).astype(np.uint8)
            )
            small = patch.resize((max(2, half // 3),) * 2, Image.BILINEAR)
            image[y0 : y0 + 2 * half, x0 : x0 + 2 * half] = np.asarray(
                small.resize(patch.size, Image.BILINEAR)
            )
        elif self.method == "gan_resample":
            gain = self.flicker[index % len(self.flicker)]
            image = image * (1 - self.mask) + image * self.mask * gain
        return image


def fake_audio(
    method: str,
    real: np.ndarray,
    utt: speech.Utterance,
    voice: speech.Voice,
    duration_s: float,
    sr: int,
    rng: np.random.Generator,
    everywhere: bool = False,
) -> np.ndarray:
    """A manipulated soundtrack for a clip whose true soundtrack is ``real``. ``everywhere``: no
    part of it is left real (``splice`` otherwise keeps the ends), for a caller that confines the
    manipulation to segments of its own."""
    if method == "griffinlim":
        n_fft, hop = 256, 64  # a coarse vocoder: smeared harmonics and phasiness
        magnitude = np.abs(spectral.stft(real, n_fft, hop))
        out = spectral.griffin_lim(magnitude, n_fft, hop, n_iter=4)
        out = np.pad(out, (0, max(0, len(real) - len(out))))[: len(real)]
        return (0.5 * out / (np.abs(out).max() + 1e-9)).astype(np.float32)
    if method == "voice_clone":
        imitation = speech.Voice(
            f0_hz=voice.f0_hz * float(rng.uniform(0.9, 1.1)),
            formant_scale=voice.formant_scale * float(rng.uniform(0.94, 1.06)),
            breathiness=voice.breathiness,
            room_noise_db=voice.room_noise_db,
        )
        words = speech.Utterance.sample(rng, duration_s) if everywhere else utt  # edits say other words
        cloned = speech.synthesize(words, imitation, duration_s, sr, rng, monotone=True, vocoder_noise=0.15)
        return _low_pass(cloned, sr, cutoff_hz=4500.0)  # a vocoder run at a lower sample rate
    if method == "splice":
        other = speech.Utterance.sample(rng, duration_s)
        elsewhere = speech.Voice(
            voice.f0_hz, voice.formant_scale, voice.breathiness, voice.room_noise_db + 14
        )
        insert = speech.synthesize(other, elsewhere, duration_s, sr, rng)
        a, b = sorted(rng.uniform(0.2, 0.8, 2) * len(real))
        a, b = int(a), int(max(b, a + 0.3 * sr))
        b = min(b, len(real) - 1)
        if everywhere:
            return insert[: len(real)].astype(np.float32)
        return np.concatenate([real[:a], insert[a:b], real[b:]]).astype(np.float32)
    raise ValueError(f"unknown audio manipulation {method!r}")


def _low_pass(audio: np.ndarray, sr: int, cutoff_hz: float) -> np.ndarray:
    spectrum = np.fft.rfft(audio)
    spectrum[np.fft.rfftfreq(len(audio), 1 / sr) > cutoff_hz] = 0
    return np.fft.irfft(spectrum, len(audio)).astype(np.float32)
