"""Face crops along a face track: square crops of ``crop_size`` pixels around each frame's box,
``margin`` added on each side, decoding only the part of the source that holds them."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from avdf.contracts.input_specs import CropSpec
from avdf.media import crop_cache, ffmpeg
from avdf.media.demux import demuxed_video


def crop_region(boxes: np.ndarray, margin: float, width: int, height: int) -> tuple[int, int, int, int]:
    """The rectangle (x, y, w, h; even numbers, inside the frame) holding every frame's crop of
    :func:`crop_faces`: decoding only that much of each frame gives the same crops."""
    cx, cy = (boxes[:, 0] + boxes[:, 2]) / 2, (boxes[:, 1] + boxes[:, 3]) / 2
    half = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * (0.5 + margin)
    x1 = max(0, int(np.floor((cx - half).min())) - 1) // 2 * 2
    y1 = max(0, int(np.floor((cy - half).min())) - 1) // 2 * 2
    x2 = min(width, int(np.ceil((cx + half).max())) + 2)
    y2 = min(height, int(np.ceil((cy + half).max())) + 2)
    w, h = max(2, (x2 - x1) // 2 * 2), max(2, (y2 - y1) // 2 * 2)
    return x1, y1, min(w, (width - x1) // 2 * 2), min(h, (height - y1) // 2 * 2)


def decode_crops(
    src, fps: int, boxes: np.ndarray, spec: CropSpec, start_s: float = 0.0, info=None
) -> crop_cache.FaceCrops:
    """The cached crops of a track (JPEG at ``spec.fps``), converting only the frames the cache
    keeps and only the rectangle of them that holds the face (:func:`crop_region`); ``info`` is the
    source's StreamInfo (probed when not given)."""
    info = info or ffmpeg.probe(src)
    x, y, *_ = region = crop_region(boxes, spec.margin, *info.display_size)
    kept = crop_cache.kept_frames(len(boxes), fps, spec.fps)
    frames, _ = ffmpeg.read_video(src, fps, start_s, info=info, region=region, keep=kept)
    kept = kept[: len(frames)]
    shifted = boxes[kept] - np.array([x, y, x, y], np.float32)
    crops = crop_faces(frames, shifted, spec.crop_size, spec.margin)
    return crop_cache.encode_kept(crops, kept, len(boxes), spec.quality)


def crop_faces(frames: np.ndarray, boxes: np.ndarray, size: int, margin: float) -> np.ndarray:
    """Square face crops (T, size, size, 3) uint8 around each frame's box, ``margin`` added per side."""
    from PIL import Image

    crops = np.empty((len(frames), size, size, 3), np.uint8)
    for i, (frame, (x1, y1, x2, y2)) in enumerate(zip(frames, boxes, strict=True)):
        cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
        half = max(x2 - x1, y2 - y1) * (0.5 + margin)
        region = (round(cx - half), round(cy - half), round(cx + half), round(cy + half))
        crops[i] = np.asarray(Image.fromarray(frame).crop(region).resize((size, size), Image.BILINEAR))
    return crops


def cached_crops_along(video_json: str | Path, boxes: np.ndarray, spec: CropSpec) -> crop_cache.FaceCrops:
    """The crop cache of a demuxed clip along its face track."""
    video, info = demuxed_video(video_json)
    return decode_crops(video["source"], video["fps"], boxes, spec, video["start_s"], info)
