"""Face detection and tracking with facenet-pytorch's MTCNN.

MTCNN runs on keyframes only (every ``keyframe_interval`` frames, plus the last), in batches; the
boxes of the frames between are interpolated linearly. Where several faces appear, the track
follows the face that overlaps most with the previous keyframe's box, starting from the largest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from avdf.media.ffmpeg import MediaError


@dataclass
class FaceTrack:
    boxes: np.ndarray  # (T, 4) float32: x1, y1, x2, y2 in pixels
    scores: np.ndarray  # (T,) float32: MTCNN probability on keyframes, NaN between
    keyframes: np.ndarray  # (T,) bool: where MTCNN ran


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    x1, y1 = np.maximum(a[..., 0], b[..., 0]), np.maximum(a[..., 1], b[..., 1])
    x2, y2 = np.minimum(a[..., 2], b[..., 2]), np.minimum(a[..., 3], b[..., 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1]) + (b[..., 2] - b[..., 0]) * (
        b[..., 3] - b[..., 1]
    )
    return inter / np.maximum(area - inter, 1e-9)


class FaceTracker:
    def __init__(
        self,
        min_face_size: int = 30,
        threshold: float = 0.95,
        keyframe_interval: int = 5,
        batch_size: int = 16,
        device: str | None = None,
    ):
        from facenet_pytorch import MTCNN

        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.mtcnn = MTCNN(keep_all=True, min_face_size=min_face_size, device=self.device)
        self.threshold, self.interval, self.batch_size = threshold, keyframe_interval, batch_size

    def detect(self, frames: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
        """Boxes (N, 4) and probabilities (N,) of every face in each frame, batched."""
        out = []
        for start in range(0, len(frames), self.batch_size):
            batch = frames[start : start + self.batch_size]
            with torch.inference_mode():
                boxes, probs = self.mtcnn.detect(np.ascontiguousarray(batch))
            for b, p in zip(boxes, probs, strict=True):
                if b is None:
                    out.append((np.zeros((0, 4), np.float32), np.zeros(0, np.float32)))
                else:
                    b, p = np.asarray(b, np.float32), np.asarray(p, np.float32)
                    keep = p >= self.threshold
                    out.append((b[keep], p[keep]))
        return out

    def track(self, frames: np.ndarray) -> FaceTrack:
        """One face track over ``frames`` (T, H, W, 3) uint8. Raises MediaError if no face is found."""
        t = len(frames)
        keys = sorted(set(range(0, t, self.interval)) | {t - 1})
        detections = self.detect(frames[keys])
        chosen_t, chosen_box, chosen_p = [], [], []
        previous = None
        for k, (boxes, probs) in zip(keys, detections, strict=True):
            if len(boxes) == 0:
                continue
            if previous is None:
                areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
                i = int(np.argmax(areas))
            else:
                i = int(np.argmax(_iou(boxes, previous[None])))
            previous = boxes[i]
            chosen_t.append(k)
            chosen_box.append(boxes[i])
            chosen_p.append(probs[i])
        if not chosen_t:
            raise MediaError(f"no detectable face in {len(keys)} keyframes")
        chosen_box = np.stack(chosen_box)
        frames_t = np.arange(t)
        boxes = np.stack([np.interp(frames_t, chosen_t, chosen_box[:, c]) for c in range(4)], 1).astype(
            np.float32
        )
        scores = np.full(t, np.nan, np.float32)
        scores[chosen_t] = chosen_p
        keyframes = np.zeros(t, bool)
        keyframes[keys] = True
        return FaceTrack(boxes, scores, keyframes)


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
