"""Training and evaluation inputs: cached face crops and log-Mels of one dataset split, in memory.

A clip is usable when both its face-crop and log-Mel caches exist (both stages accepted it).
Video: ``frames`` crops sampled evenly over the first ``clip_seconds``; audio: the log-Mel frames
of the same span, padded or cut to a fixed length.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import torch

from avdf.data import manifest
from avdf.media import clip_stage


def usable_clips(manifest_csv: str, crops_index: str, log_mel_index: str, split: str | None) -> pd.DataFrame:
    clips = manifest.read(manifest_csv)
    ok = set(clip_stage.accepted(crops_index)["clip_id"]) & set(clip_stage.accepted(log_mel_index)["clip_id"])
    clips = clips[clips["clip_id"].isin(ok)]
    if split is not None:
        clips = clips[clips["split"] == split]
    return clips.reset_index(drop=True)


class ClipSet(torch.utils.data.Dataset):
    def __init__(
        self,
        clips: pd.DataFrame,
        crops_dir: str,
        log_mel_dir: str,
        frames: int,
        clip_seconds: float,
        fps: int,
        mel_frames_per_second: float,
        train: bool,
        seed: int = 0,
    ):
        self.clips = clips
        self.frames, self.train = frames, train
        self.video_len = int(round(clip_seconds * fps))
        self.audio_len = int(round(clip_seconds * mel_frames_per_second))
        self.seed, self.epoch = seed, 0
        self.video = [np.load(Path(crops_dir) / f"{c}.npy", mmap_mode="r") for c in clips["clip_id"]]
        self.audio = [np.load(Path(log_mel_dir) / f"{c}.npy", mmap_mode="r") for c in clips["clip_id"]]
        self.labels = torch.tensor(clips["label"].to_numpy(), dtype=torch.float32)
        self.audio_fake = torch.tensor(clips["audio_fake"].to_numpy(), dtype=torch.float32)
        self.video_fake = torch.tensor(clips["video_fake"].to_numpy(), dtype=torch.float32)
        self.mel_mean, self.mel_std = 0.0, 1.0  # set from the training set (see mel_stats)

    def __len__(self) -> int:
        return len(self.clips)

    def set_epoch(self, epoch: int) -> None:
        """Training draws new frame offsets each epoch: from (seed, epoch, clip index), so that a clip
        gets the same frames whichever process or loader worker reads it, and in whatever order."""
        self.epoch = epoch

    def frame_indices(self, n_available: int, i: int) -> np.ndarray:
        span = min(self.video_len, n_available)
        step = span / self.frames
        offset = (
            np.random.default_rng([self.seed, self.epoch, i]).uniform(0, step) if self.train else step / 2
        )
        return np.minimum((offset + step * np.arange(self.frames)).astype(int), n_available - 1)

    def __getitem__(self, i: int) -> dict:
        crops = self.video[i]
        video, audio = model_inputs(
            crops[self.frame_indices(len(crops), i)],
            self.audio[i],
            self.audio_len,
            self.mel_mean,
            self.mel_std,
        )
        return {
            "video": video,
            "audio": audio,
            "label": self.labels[i],
            "audio_fake": self.audio_fake[i],
            "video_fake": self.video_fake[i],
        }


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


def make_clipset(table, caches: dict, spec: dict, train: bool, seed: int) -> ClipSet:
    return ClipSet(
        table,
        caches["crops_dir"],
        caches["log_mel_dir"],
        spec["frames"],
        spec["clip_seconds"],
        spec["fps"],
        spec["mel_frames_per_second"],
        train=train,
        seed=seed,
    )


def scoring_clipset(caches: dict, spec: dict, split: str | None, seed: int) -> tuple:
    """The usable clips of ``split`` (None: all) prepared as a trained model expects them: the
    clip table and its ClipSet, normalised with the training clips' log-Mel statistics in ``spec``."""
    table = usable_clips(caches["manifest"], caches["crops_index"], caches["log_mel_index"], split)
    data = make_clipset(table, caches, spec, train=False, seed=seed)
    data.mel_mean, data.mel_std = spec["mel_mean"], spec["mel_std"]
    return table, data
