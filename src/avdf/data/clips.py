"""Training and evaluation inputs: cached face crops and log-Mels of one dataset split.

A clip is usable when both its face-crop and log-Mel caches exist (both stages accepted it). What
a model sees of a clip is one window of ``spec.window_s`` seconds (:func:`window_inputs`, the same
function ``avdf predict`` uses): ``spec.frames`` crops sampled evenly over it, and the log-Mel
frames of the same span, padded or cut to a fixed length.

Training draws one window per clip and epoch from anywhere in the clip (seeded by seed, epoch and
clip); on clips with known fake segments (LAV-DF, AV-Deepfake1M) the window is labelled fake only
when it overlaps one. Scoring reads every window (:func:`window_starts`: consecutive, the last one
aligned to the clip's end) and turns the windows' logits into one probability per clip
(:func:`clip_probs`, ``spec.aggregate``): evaluation, validation and ``avdf predict`` all use it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from avdf.contracts import stage_runner
from avdf.contracts.input_specs import InputSpec
from avdf.contracts.methods import LOG_MEL_AND_CROPS, Reads
from avdf.data import manifest
from avdf.media import crop_cache, ffmpeg


def usable_clips(manifest_csv: str, crops_index: str, log_mel_index: str, split: str | None) -> pd.DataFrame:
    clips = manifest.read(manifest_csv, manifest.CLIP_COLUMNS)
    ok = set(stage_runner.accepted(crops_index)["clip_id"]) & set(
        stage_runner.accepted(log_mel_index)["clip_id"]
    )
    clips = clips[clips["clip_id"].isin(ok)]
    if split is not None:
        clips = clips[clips["split"] == split]
    return clips.reset_index(drop=True)


@dataclass(frozen=True)
class FramesOnly:
    """A clip's length in video frames without its crops: what a model that reads no crops (an
    audio-only one) needs of the cache, to place its windows as every other model does."""

    frames: int
    nbytes = 0  # nothing held but the length

    def __len__(self) -> int:
        return self.frames

    def decoded(self) -> FramesOnly:
        return self


class ClipSet(torch.utils.data.Dataset):
    """The clips of ``table`` as a model takes them. Training (``train``): one item per clip, a
    window drawn anew each epoch. Scoring: one item per window of every clip; ``owner[k]`` is the
    clip of item k and ``starts[k]`` its first frame."""

    def __init__(
        self,
        table: pd.DataFrame,
        crops_dir: str,
        log_mel_dir: str,
        spec: InputSpec,
        train: bool,
        seed: int = 0,
        waveform_dir: str | None = None,
        reads: Reads = LOG_MEL_AND_CROPS,
    ):
        self.clips, self.spec, self.train, self.crop_scale = table, spec, train, reads.crop_scale
        # False for a model that reads no crops (an audio-only one): its items carry no video, and
        # of each clip's crop cache only its length is read (at the paper profile, decoding a
        # window's 16 crops was most of an item's time)
        self.with_crops = reads.crops
        self.wavs = [Path(waveform_dir) / f"{c}.wav" for c in table["clip_id"]] if waveform_dir else None
        self.seed, self.epoch = seed, 0
        self.crops = [Path(crops_dir) / f"{c}.npz" for c in table["clip_id"]]
        # each clip's length in video frames (source rate), which scoring needs for its windows;
        # training reads it from the clip when it draws a window
        self.lengths = None if train else [crop_cache.frame_count(p) for p in self.crops]
        # paths, opened per item: a memory map per clip held open would hit the kernel's map limit
        # (vm.max_map_count, 65,530 by default) on datasets of a hundred thousand clips
        self.mels = [Path(log_mel_dir) / f"{c}.npy" for c in table["clip_id"]]
        self.labels = torch.tensor(table["label"].to_numpy(), dtype=torch.float32)
        self.audio_fake = torch.tensor(table["audio_fake"].to_numpy(), dtype=torch.float32)
        self.video_fake = torch.tensor(table["video_fake"].to_numpy(), dtype=torch.float32)
        # each label by the name a batch gives it (what a run learns: avdf.contracts.methods.target)
        self.by_target = {"label": self.labels, "audio_fake": self.audio_fake, "video_fake": self.video_fake}
        periods = table["fake_periods"] if "fake_periods" in table else pd.Series("", index=table.index)
        self.periods = [json.loads(p) if isinstance(p, str) and len(p) > 2 else None for p in periods]
        self.mel_norm = (0.0, 1.0)  # (mean, std), set from the training set (see mel_stats)
        # crops kept uint8 until the device makes them pixel values (training on a GPU: a quarter of
        # the bytes through the workers' shared memory, pinning and the copy; a MACB-DF batch at the
        # paper profile is 308 MB as float32). On a CPU the workers make them, where it is faster.
        self.pixels_on_device = False
        # crops left as JPEG bytes, decoded where the batch goes (train.crop_decode: device; collate)
        self.jpeg_on_device = False
        windows = (
            [] if train else [(i, s) for i, n in enumerate(self.lengths) for s in window_starts(n, spec)]
        )
        self.held, self.held_bytes, self.budget = {}, 0, 0  # clips held in memory (keep_in_memory)
        self.owner = np.array([i for i, _ in windows], int)
        self.starts = np.array([s for _, s in windows], int)

    def __len__(self) -> int:
        return len(self.clips) if self.train else len(self.owner)

    def set_epoch(self, epoch: int) -> None:
        """Training draws new windows and frame offsets each epoch: from (seed, epoch, clip index),
        so that a clip gets the same window whichever process or loader worker reads it, in any order."""
        self.epoch = epoch

    def keep_in_memory(self, megabytes: float) -> None:
        """Hold each clip's decoded crops and log-Mel in memory once read, until ``megabytes`` are
        held (train.memory_cache_mb): training reads every clip every epoch, and the embedded default's
        clips fit many times over. Past the budget a clip is read from disk each time, so memory
        stays bounded on any dataset; what a model sees is the same either way."""
        self.budget = int(megabytes * 2**20)

    def inputs(self, i: int) -> tuple[crop_cache.FaceCrops | crop_cache.DecodedCrops, np.ndarray]:
        """Clip ``i``'s crops and log-Mel: from memory if held, else from its cache files."""
        if i in self.held:
            return self.held[i]
        if self.with_crops:
            crops = crop_cache.read(self.crops[i], self.crop_scale)
        else:
            crops = FramesOnly(self.lengths[i] if self.lengths else crop_cache.frame_count(self.crops[i]))
        mel = np.load(self.mels[i], mmap_mode="r")
        if self.held_bytes >= self.budget:
            return crops, mel
        self.held[i] = (crops if self.jpeg_on_device else crops.decoded()), np.array(mel)
        self.held_bytes += self.held[i][0].nbytes + self.held[i][1].nbytes
        return self.held[i]

    def __getitem__(self, k: int) -> dict:
        i = k if self.train else int(self.owner[k])
        crops, mel = self.inputs(i)
        if self.train:
            draw = np.random.default_rng([self.seed, self.epoch, k])
            start = int(draw.integers(0, max(1, len(crops) - self.spec.video_len + 1)))
        else:
            start, draw = int(self.starts[k]), None
        if not self.with_crops:
            item = {"audio": self.window_audio(mel, start)}
        elif self.jpeg_on_device:
            item = self.jpeg_window(crops, mel, start, draw)
        else:
            video, audio = window_inputs(
                crops, mel, start, self.spec, self.mel_norm, draw, self.pixels_on_device
            )
            item = {"video": video, "audio": audio}
        item |= {"index": i} | self.window_labels(i, start)
        item["segments"] = self.window_segments(i, start, item["label"])
        if self.wavs is not None:
            item["waveform"] = window_waveform(self.wavs[i], start, self.spec)
        return item

    def jpeg_window(self, crops: crop_cache.FaceCrops, mel: np.ndarray, start: int, draw) -> dict:
        """A window as :func:`window_inputs` gives it, its crops still JPEG (``video_jpeg``: the
        bytes and each crop's length), for :func:`decode_jpeg_crops` where the batch goes."""
        idx = frame_indices(len(crops), start, self.spec, draw)
        jpeg, lengths = crops.encoded(idx)
        return {
            "video_jpeg": (torch.from_numpy(jpeg), torch.from_numpy(lengths)),
            "audio": self.window_audio(mel, start),
        }

    def window_audio(self, mel: np.ndarray, start: int) -> torch.Tensor:
        """The window's log-Mel as the models take it, without its crops (:func:`audio_input`)."""
        return audio_input(window_mel(mel, start, self.spec), self.spec.audio_len, *self.mel_norm)

    def window_labels(self, i: int, start: int) -> dict:
        """The clip's labels; where its fake segments are known, fake only if the window overlaps
        one (a modality's label likewise: it must be manipulated in the clip)."""
        labels = {k: v[i] for k, v in self.by_target.items()}
        if self.periods[i] is None:
            return labels
        begin, end = start / self.spec.fps, (start + self.spec.video_len) / self.spec.fps
        hit = float(any(s < end and e > begin for s, e in self.periods[i]))
        return {k: v * hit for k, v in labels.items()}

    def window_segments(self, i: int, start: int, label: torch.Tensor) -> torch.Tensor:
        """The fake segments inside the window, in its video frames (MAX_SEGMENTS, 2), padding rows
        (0, 0): what the localiser learns. A clip fake without known segments is fake throughout."""
        length = self.spec.video_len
        if self.periods[i] is None:
            spans = [(0.0, float(length))] if float(label) > 0 else []
        else:
            spans = [(s * self.spec.fps - start, e * self.spec.fps - start) for s, e in self.periods[i]]
        inside = [(max(a, 0.0), min(b, float(length))) for a, b in spans if b > 0 and a < length]
        out = torch.zeros(MAX_SEGMENTS, 2)
        if inside:
            out[: len(inside)] = torch.tensor(inside[:MAX_SEGMENTS], dtype=torch.float32)
        return out


MAX_SEGMENTS = 16  # fake segments a window can hold (AV-Deepfake1M clips have at most a few)


def window_starts(n_frames: int, spec: InputSpec) -> list[int]:
    """Start frames of windows covering the clip, one every ``spec.hop_len`` frames (consecutive
    by default); the last one ends at its end."""
    length = max(1, spec.video_len)
    if n_frames <= length:
        return [0]
    starts = list(range(0, n_frames - length + 1, spec.hop_len))
    if starts[-1] + length < n_frames:
        starts.append(n_frames - length)
    return starts


def clip_windows(owner: np.ndarray, n_clips: int) -> list[slice]:
    """The rows of each clip's windows in a scoring ClipSet's outputs (``owner``: whose each row
    is; a clip's windows are listed together, in order)."""
    bounds = np.searchsorted(owner, np.arange(n_clips + 1))
    return [slice(bounds[i], bounds[i + 1]) for i in range(n_clips)]


def clip_probs(window_logits: torch.Tensor, owner: np.ndarray, n_clips: int, how: str) -> np.ndarray:
    """One fake probability per clip from its windows' logits: ``max`` (a clip is as fake as its
    most fake window: a manipulation anywhere counts) or ``mean`` (of the windows' probabilities)."""
    probs = torch.sigmoid(window_logits.float()).numpy()
    out = np.full(n_clips, -np.inf if how == "max" else 0.0)
    if how == "max":
        np.maximum.at(out, owner, probs)
        return out
    np.add.at(out, owner, probs)
    return out / np.bincount(owner, minlength=n_clips).clip(min=1)


def frame_indices(n_frames: int, start: int, spec: InputSpec, draw: np.random.Generator | None) -> np.ndarray:
    """``spec.frames`` frames spread evenly over the window from frame ``start``: one per stride, at
    a random point of it (``draw``, training) or at its middle (scoring). A model that sees every
    frame (``spec.every_frame``) gets them in order, the last one repeated past the clip's end."""
    if spec.every_frame:
        return np.minimum(start + np.arange(spec.frames), n_frames - 1)
    span = min(spec.video_len, n_frames - start)
    step = span / spec.frames
    offset = draw.uniform(0, step) if draw is not None else step / 2
    return np.minimum(start + (offset + step * np.arange(spec.frames)).astype(int), n_frames - 1)


def window_inputs(
    crops: crop_cache.FaceCrops | np.ndarray,
    mel: np.ndarray,
    start: int,
    spec: InputSpec,
    mel_norm: tuple[float, float],
    draw: np.random.Generator | None = None,
    pixels_on_device: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The model inputs of the window of a clip that starts at video frame ``start``: crops (F, 3, H, W)
    and its log-Mel frames (n_mels, spec.audio_len), as :func:`model_inputs` makes them. ``crops``
    is indexed by video frame (a cache answers with its nearest kept crop)."""
    idx = frame_indices(len(crops), start, spec, draw)
    return model_inputs(crops[idx], window_mel(mel, start, spec), spec.audio_len, *mel_norm, pixels_on_device)


def window_mel(mel: np.ndarray, start: int, spec: InputSpec) -> np.ndarray:
    """The log-Mel from the window that starts at video frame ``start`` on."""
    return mel[:, int(start * spec.mel_frames_per_second / spec.fps) :]


def window_waveform(source, start: int, spec: InputSpec) -> torch.Tensor:
    """The raw audio of the window that starts at video frame ``start`` (``window_s`` seconds at the
    sample rate, zero-padded): ``source`` a demuxed WAV (read in part) or the whole waveform."""
    first, n = round(start / spec.fps * spec.sample_rate), round(spec.window_s * spec.sample_rate)
    if isinstance(source, np.ndarray):
        part = source[first : first + n]
        wave = np.pad(part, (0, n - len(part)))
    else:
        wave = ffmpeg.read_wav_window(source, first, n)
    return torch.from_numpy(np.asarray(wave, np.float32))


def model_inputs(
    crops: np.ndarray,
    mel: np.ndarray,
    audio_len: int,
    mel_mean: float,
    mel_std: float,
    pixels_on_device: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sampled uint8 face crops (F, H, W, 3) and a float16 log-Mel (n_mels, T) as the models take
    them: video (F, 3, H, W) in [-0.5, 0.5] (:func:`pixels`), audio (n_mels, audio_len) normalised,
    edge-padded. ``pixels_on_device``: the crops stay uint8, made pixel values where the batch goes
    (avdf.learning.distributed.to_device)."""
    video = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2)
    return video if pixels_on_device else pixels(video), audio_input(mel, audio_len, mel_mean, mel_std)


def audio_input(mel: np.ndarray, audio_len: int, mel_mean: float, mel_std: float) -> torch.Tensor:
    """A float16 log-Mel (n_mels, T) as the models take it: (n_mels, audio_len), normalised, edge-padded."""
    mel = np.asarray(mel[:, :audio_len], np.float32)
    if mel.shape[1] < audio_len:
        mel = np.pad(mel, ((0, 0), (0, audio_len - mel.shape[1])), mode="edge")
    return torch.from_numpy((mel - mel_mean) / mel_std)


def collate(items: list[dict]) -> dict:
    """PyTorch's default collation; windows whose crops are still JPEG (``video_jpeg``, of many
    lengths) give ``video_jpeg`` (every byte, one after another) and ``video_jpeg_lengths`` (B, F)."""
    if not isinstance(items[0], dict) or "video_jpeg" not in items[0]:
        return torch.utils.data.default_collate(items)
    jpegs = [item["video_jpeg"] for item in items]
    batch = torch.utils.data.default_collate(
        [{k: v for k, v in it.items() if k != "video_jpeg"} for it in items]
    )
    return batch | {
        "video_jpeg": torch.cat([b for b, _ in jpegs]),
        "video_jpeg_lengths": torch.stack([n for _, n in jpegs]),
    }


def decode_jpeg_crops(jpeg: torch.Tensor, lengths: torch.Tensor, device: torch.device) -> torch.Tensor:
    """A batch's JPEG crops (:func:`collate`) as uint8 (B, F, 3, S, S) on ``device``, decoded there
    in one call (torchvision; nvJPEG on a GPU): the pixels Pillow gives on a CPU (a test checks it)."""
    from torchvision.io import ImageReadMode, decode_jpeg

    images = decode_jpeg(
        list(torch.split(jpeg, lengths.flatten().tolist())), mode=ImageReadMode.RGB, device=device
    )
    return torch.stack(images).view(*lengths.shape, *images[0].shape)


def pixels(video: torch.Tensor) -> torch.Tensor:
    """uint8 crops as the models take them: float32 x / 255 - 0.5, where the tensor is (the values
    numpy's float32 arithmetic gives, bit for bit); crops already in float are returned as they are."""
    return video.float() / 255.0 - 0.5 if video.dtype == torch.uint8 else video


def mel_stats(dataset: ClipSet) -> tuple[float, float]:
    """Mean and standard deviation of the log-Mel values of a (training) set, for normalisation,
    streamed clip by clip (one clip in memory at a time, whatever the dataset's size): each clip's
    count, mean and sum of squared deviations are merged into the running ones (Chan et al.'s
    pairwise update, in float64)."""
    n, mean, m2 = 0, 0.0, 0.0
    for path in dataset.mels:
        x = np.load(path).astype(np.float64)
        k, clip_mean = x.size, float(x.mean())
        clip_m2 = float(((x - clip_mean) ** 2).sum())
        delta, total = clip_mean - mean, n + k
        mean += delta * k / total
        m2 += clip_m2 + delta**2 * n * k / total
        n = total
    return mean, float(np.sqrt(m2 / n) + 1e-6)


def make_clipset(
    table: pd.DataFrame,
    caches: dict,
    spec: InputSpec,
    train: bool,
    seed: int,
    reads: Reads = LOG_MEL_AND_CROPS,
) -> ClipSet:
    """``reads``: what else the model reads (raw audio from the demuxed WAVs; crops at a fraction
    of their side)."""
    wavs = caches["demux_dir"] if reads.waveform else None
    dirs = caches["crops_dir"], caches["log_mel_dir"]
    return ClipSet(table, *dirs, spec, train, seed, wavs, reads)


def scoring_clipset(
    caches: dict,
    spec: InputSpec,
    mel_norm: tuple[float, float],
    split: str | None,
    seed: int,
    reads: Reads = LOG_MEL_AND_CROPS,
) -> tuple[pd.DataFrame, ClipSet]:
    """The usable clips of ``split`` (None: all) prepared as a trained model expects them: the
    clip table and its ClipSet, normalised with the training clips' log-Mel statistics."""
    table = usable_clips(caches["manifest"], caches["crops_index"], caches["log_mel_index"], split)
    data = make_clipset(table, caches, spec, train=False, seed=seed, reads=reads)
    data.mel_norm = mel_norm
    return table, data
