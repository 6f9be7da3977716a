"""Training and evaluation inputs: cached face crops and log-Mels of one dataset split.

A clip is usable when both its face-crop and log-Mel caches exist (both stages accepted it). What
a model sees of a clip is one window (:func:`window_inputs`, the same function ``avdf predict``
uses): ``spec.frames`` crops sampled evenly over ``spec.window_s`` seconds from the window's start,
and the log-Mel frames of the same span, padded or cut to a fixed length.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from avdf import stage_runner
from avdf.data import manifest
from avdf.specs import InputSpec


def usable_clips(manifest_csv: str, crops_index: str, log_mel_index: str, split: str | None) -> pd.DataFrame:
    clips = manifest.read(manifest_csv, manifest.CLIP_COLUMNS)
    ok = set(stage_runner.accepted(crops_index)["clip_id"]) & set(
        stage_runner.accepted(log_mel_index)["clip_id"]
    )
    clips = clips[clips["clip_id"].isin(ok)]
    if split is not None:
        clips = clips[clips["split"] == split]
    return clips.reset_index(drop=True)


class ClipSet(torch.utils.data.Dataset):
    """The clips of ``table`` as a model takes them: the first window of each (training draws its
    frame offsets anew each epoch; scoring takes the middle of each stride)."""

    def __init__(
        self,
        table: pd.DataFrame,
        crops_dir: str,
        log_mel_dir: str,
        spec: InputSpec,
        train: bool,
        seed: int = 0,
    ):
        self.clips, self.spec, self.train = table, spec, train
        self.seed, self.epoch = seed, 0
        self.video = [np.load(Path(crops_dir) / f"{c}.npy", mmap_mode="r") for c in table["clip_id"]]
        self.audio = [np.load(Path(log_mel_dir) / f"{c}.npy", mmap_mode="r") for c in table["clip_id"]]
        self.labels = torch.tensor(table["label"].to_numpy(), dtype=torch.float32)
        self.audio_fake = torch.tensor(table["audio_fake"].to_numpy(), dtype=torch.float32)
        self.video_fake = torch.tensor(table["video_fake"].to_numpy(), dtype=torch.float32)
        self.mel_norm = (0.0, 1.0)  # (mean, std), set from the training set (see mel_stats)

    def __len__(self) -> int:
        return len(self.clips)

    def set_epoch(self, epoch: int) -> None:
        """Training draws new frame offsets each epoch: from (seed, epoch, clip index), so that a clip
        gets the same frames whichever process or loader worker reads it, and in whatever order."""
        self.epoch = epoch

    def __getitem__(self, i: int) -> dict:
        draw = np.random.default_rng([self.seed, self.epoch, i]) if self.train else None
        video, audio = window_inputs(self.video[i], self.audio[i], 0, self.spec, self.mel_norm, draw)
        return {
            "video": video,
            "audio": audio,
            "label": self.labels[i],
            "audio_fake": self.audio_fake[i],
            "video_fake": self.video_fake[i],
            "index": i,  # which clip: MACL's queue never offers a clip its own earlier copy
        }


def frame_indices(n_frames: int, start: int, spec: InputSpec, draw: np.random.Generator | None) -> np.ndarray:
    """``spec.frames`` frames spread evenly over the window from frame ``start``: one per stride, at
    a random point of it (``draw``, training) or at its middle (scoring)."""
    span = min(spec.video_len, n_frames - start)
    step = span / spec.frames
    offset = draw.uniform(0, step) if draw is not None else step / 2
    return np.minimum(start + (offset + step * np.arange(spec.frames)).astype(int), n_frames - 1)


def window_inputs(
    crops: np.ndarray,
    mel: np.ndarray,
    start: int,
    spec: InputSpec,
    mel_norm: tuple[float, float],
    draw: np.random.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """The model inputs of the window of a clip that starts at video frame ``start``: crops (F, 3, H, W)
    and its log-Mel frames (n_mels, spec.audio_len), as :func:`model_inputs` makes them."""
    idx = frame_indices(len(crops), start, spec, draw)
    first_mel = int(start * spec.mel_frames_per_second / spec.fps)
    return model_inputs(crops[idx], mel[:, first_mel:], spec.audio_len, *mel_norm)


def model_inputs(
    crops: np.ndarray, mel: np.ndarray, audio_len: int, mel_mean: float, mel_std: float
) -> tuple[torch.Tensor, torch.Tensor]:
    """Sampled uint8 face crops (F, H, W, 3) and a float16 log-Mel (n_mels, T) as the models take
    them: video (F, 3, H, W) in [-0.5, 0.5], audio (n_mels, audio_len) normalised, edge-padded."""
    video = torch.from_numpy(np.asarray(crops, np.float32) / 255.0 - 0.5).permute(0, 3, 1, 2)
    mel = np.asarray(mel[:, :audio_len], np.float32)
    if mel.shape[1] < audio_len:
        mel = np.pad(mel, ((0, 0), (0, audio_len - mel.shape[1])), mode="edge")
    return video, torch.from_numpy((mel - mel_mean) / mel_std)


def mel_stats(dataset: ClipSet) -> tuple[float, float]:
    """Mean and standard deviation of the log-Mel values of a (training) set, for normalisation."""
    values = np.concatenate([np.asarray(a, np.float32).ravel() for a in dataset.audio])
    return float(values.mean()), float(values.std() + 1e-6)


def make_clipset(table: pd.DataFrame, caches: dict, spec: InputSpec, train: bool, seed: int) -> ClipSet:
    return ClipSet(table, caches["crops_dir"], caches["log_mel_dir"], spec, train, seed)


def scoring_clipset(
    caches: dict, spec: InputSpec, mel_norm: tuple[float, float], split: str | None, seed: int
) -> tuple[pd.DataFrame, ClipSet]:
    """The usable clips of ``split`` (None: all) prepared as a trained model expects them: the
    clip table and its ClipSet, normalised with the training clips' log-Mel statistics."""
    table = usable_clips(caches["manifest"], caches["crops_index"], caches["log_mel_index"], split)
    data = make_clipset(table, caches, spec, train=False, seed=seed)
    data.mel_norm = mel_norm
    return table, data
