"""The face-crop cache: what a model can sample of a clip, not every frame at full size.

A model sees ``input.frames`` crops spread over each ``input.window_s``-second window, so it
samples at ``frames / window_s`` frames per second (2 in the embedded default, 4 in the paper
profile). The cache keeps the crops at that rate, each one a JPEG (``faces.crop_quality``): at
224 px that is about 3 MB per video-minute on a real face, where every frame as raw uint8 is
226 MB (docs/caches.md has the measurements).

:class:`FaceCrops` keeps the clip's frame numbering at the source rate (``len`` is the clip's
length in video frames, as the window arithmetic in :mod:`avdf.data.clips` counts it) and answers a
frame index with the nearest cached crop. The workflow writes one ``.npz`` per clip
(:func:`write`); ``avdf predict`` builds the same object in memory (:func:`encode`), so both give
a model the same pixels.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from avdf.contracts import atomic


@dataclass(frozen=True)
class FaceCrops:
    """A clip's cached face crops: ``frames`` video frames long at the source rate, of which the
    crops at ``kept`` (source frame numbers) are stored as JPEG bytes (``blob``, split at ``offsets``).
    ``scale`` (1, 2, 4 or 8): crops are decoded at 1/scale of their side, in the JPEG's own DCT
    domain (libjpeg's scaled decoding), for a model that reads them smaller (the localiser)."""

    frames: int
    kept: np.ndarray
    offsets: np.ndarray
    blob: np.ndarray
    scale: int = 1

    def __len__(self) -> int:
        return self.frames

    def __getitem__(self, index) -> np.ndarray:
        """The crops (len(index), S, S, 3) uint8 nearest to source frames ``index``. Decoded with
        Pillow (the same libjpeg-turbo pixels as torchvision's decode_jpeg, measured; importing
        torchvision would cost every training and scoring job about a second)."""
        wanted, back = np.unique(nearest(self.kept, index), return_inverse=True)  # each crop decoded once
        return np.stack([self._decode(j) for j in wanted])[back]

    def _decode(self, j: int) -> np.ndarray:
        image = Image.open(io.BytesIO(self.blob[self.offsets[j] : self.offsets[j + 1]].tobytes()))
        if self.scale > 1:  # libjpeg decodes at 1/2, 1/4 or 1/8 of the side (2.4x faster at 1/4)
            image.draft("RGB", (image.width // self.scale, image.height // self.scale))
        return np.asarray(image.convert("RGB"))

    def encoded(self, index) -> tuple[np.ndarray, np.ndarray]:
        """The JPEG bytes of the crops nearest to source frames ``index``, one after another, and
        each one's length: for a decoder where the batch goes (``train.crop_decode: device``)."""
        j = nearest(self.kept, index)
        return np.concatenate([self.blob[self.offsets[i] : self.offsets[i + 1]] for i in j]), np.diff(
            self.offsets
        )[j]

    def decoded(self) -> DecodedCrops:
        """Every kept crop decoded once, answering as this cache does (for memory caches)."""
        return DecodedCrops(self.frames, self.kept, self[self.kept])

    @property
    def nbytes(self) -> int:
        return int(self.blob.nbytes + self.offsets.nbytes + self.kept.nbytes)


@dataclass(frozen=True)
class DecodedCrops:
    """A clip's kept crops as pixels (len(kept), S, S, 3) uint8, indexed as :class:`FaceCrops` is."""

    frames: int
    kept: np.ndarray
    pixels: np.ndarray

    def __len__(self) -> int:
        return self.frames

    def __getitem__(self, index) -> np.ndarray:
        return self.pixels[nearest(self.kept, index)]

    @property
    def nbytes(self) -> int:
        return int(self.pixels.nbytes + self.kept.nbytes)


def nearest(kept: np.ndarray, index) -> np.ndarray:
    """For each source frame in ``index``, the position in ``kept`` of the nearest kept frame."""
    index = np.atleast_1d(np.asarray(index))
    return np.abs(kept[None, :] - index[:, None]).argmin(axis=1)


def kept_frames(n_frames: int, fps: float, cache_fps: float) -> np.ndarray:
    """Source frame numbers kept at ``cache_fps``: one every ``fps / cache_fps`` frames from the first."""
    step = fps / cache_fps
    return np.unique(np.minimum(np.round(np.arange(0, n_frames, step)).astype(np.int64), n_frames - 1))


def encode(crops: np.ndarray, fps: float, cache_fps: float, quality: int) -> FaceCrops:
    """The cache of a clip's crops (T, S, S, 3) uint8 at the source rate ``fps``."""
    kept = kept_frames(len(crops), fps, cache_fps)
    return encode_kept(crops[kept], kept, len(crops), quality)


def encode_kept(crops: np.ndarray, kept: np.ndarray, frames: int, quality: int) -> FaceCrops:
    """The cache of a clip ``frames`` long from the crops of its ``kept`` frames only."""
    if len(crops) == 0:
        raise ValueError("no face crops to cache (an empty face track)")
    parts = []
    for frame in crops:
        out = io.BytesIO()
        Image.fromarray(frame).save(out, "JPEG", quality=quality)
        parts.append(np.frombuffer(out.getvalue(), np.uint8))
    offsets = np.concatenate([[0], np.cumsum([len(p) for p in parts])]).astype(np.int64)
    return FaceCrops(frames, kept, offsets, np.concatenate(parts))


def write(dest: str | Path, crops: FaceCrops) -> None:
    """An ``.npz`` (np.load reads it) of two arrays: ``index`` (int64: the clip's frame count, then
    ``kept``, then ``offsets``; one array, so that a read opens two members, not four) and ``jpeg``.
    Its bytes depend only on the crops (no timestamps inside): the same clip gives the same file."""
    index = np.concatenate([[crops.frames], crops.kept, crops.offsets]).astype(np.int64)
    arrays = {"index": index, "jpeg": crops.blob}
    with atomic.atomic_path(dest, suffix=".npz") as tmp, zipfile.ZipFile(tmp, "w") as archive:
        for name, array in arrays.items():
            with archive.open(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), "w") as f:
                np.lib.format.write_array(f, np.asarray(array), allow_pickle=False)


def read(path: str | Path, scale: int = 1) -> FaceCrops:
    """A cache file's crops, to be decoded at 1/``scale`` of their side (:class:`FaceCrops`)."""
    with np.load(path) as f:
        index, blob = f["index"], f["jpeg"]
    kept = (len(index) - 2) // 2
    return FaceCrops(int(index[0]), index[1 : 1 + kept], index[1 + kept :], blob, scale)


def frame_count(path: str | Path) -> int:
    """The clip's length in video frames, without reading its crops."""
    with np.load(path) as f:
        return int(f["index"][0])
