"""Face detection and tracking with facenet-pytorch's MTCNN.

MTCNN runs on keyframes only, in batches, on frames scaled down to ``detect_max_side`` pixels (boxes
are scaled back; the preprocessing stage has ffmpeg decode them at that size). Faces are sought
down to ``min_face_size`` source pixels, but never below ``detect_min_face`` pixels of the
scaled-down frame (MTCNN's own default, 20): scaling down then shrinks MTCNN's image pyramid,
which is where the time goes. The boxes of the frames between keyframes are interpolated
linearly. Keyframes are every ``keyframe_interval``-th frame, the last frame, and both sides of
every scene cut. A clip is cut into shots at its scene cuts; within a shot, detections are linked
across keyframes into tracks by overlap, and one track is followed: the most ``persistent``
(found on the most keyframes) or the ``largest``. Where the followed face jumps between two
keyframes (overlap below ``lost_iou``, the track was lost), the frame between them is detected
too, until the track holds or the keyframes are neighbours. MTCNN's three networks run in the
channels-last memory layout (1.7x faster on a CPU; the same boxes up to float rounding).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from avdf.contracts.input_specs import FacesSpec
from avdf.media.ffmpeg import MediaError

POLICIES = ("persistent", "largest")
LOST_IOU = 0.3  # overlap below which the followed face is taken as lost between two keyframes


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


def scene_cuts(frames: np.ndarray, threshold: float) -> list[int]:
    """Frames that start a new shot: the mean absolute difference of 32x32 grey thumbnails to the
    previous frame exceeds ``threshold`` (0-255 scale) and three times the clip's median change."""
    if len(frames) < 2:
        return []
    h, w = frames.shape[1:3]
    thumbs = frames[:, :: max(1, h // 32), :: max(1, w // 32)].mean(-1)
    change = np.abs(np.diff(thumbs, axis=0)).mean((1, 2))
    limit = max(threshold, 3 * float(np.median(change)))
    return [int(i) + 1 for i in np.flatnonzero(change > limit)]


def _link(keys: list[int], detections: dict, link_iou: float) -> list[list[tuple[int, np.ndarray, float]]]:
    """Detections of consecutive keyframes joined into tracks, greedily by overlap."""
    tracks: list[list[tuple[int, np.ndarray, float]]] = []
    for k in keys:
        boxes, probs = detections[k]
        free = list(range(len(tracks)))
        for box, p in sorted(zip(boxes, probs, strict=True), key=lambda bp: -float(bp[1])):
            best, best_iou = None, link_iou
            for j in free:
                overlap = float(_iou(box, tracks[j][-1][1]))
                if overlap >= best_iou:
                    best, best_iou = j, overlap
            if best is None:
                tracks.append([(k, box, float(p))])
            else:
                tracks[best].append((k, box, float(p)))
                free.remove(best)
    return tracks


def _pick(tracks: list, policy: str) -> list[tuple[int, np.ndarray, float]]:
    def area(track):
        return float(np.mean([(b[2] - b[0]) * (b[3] - b[1]) for _, b, _ in track]))

    if policy == "largest":
        return max(tracks, key=area)
    return max(tracks, key=lambda tr: (len(tr), area(tr)))


class MTCNNDetector:
    """facenet-pytorch's MTCNN in this process on ``device``, one per smallest face size, called
    ``batch_size`` frames at a time: ``detector(frames, min_face)`` gives each frame's boxes and
    probabilities (None where MTCNN found nothing), in the pixels of ``frames`` (N, H, W, 3) uint8.
    A FaceTracker calls it; so does the shared detector (avdf.media.shared_detector) for its workers."""

    def __init__(self, device: str | None = None, batch_size: int = 16):
        self.device = device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.batch_size = batch_size
        self._mtcnn: dict[int, object] = {}

    def mtcnn(self, min_face_size: int):
        if min_face_size not in self._mtcnn:
            from facenet_pytorch import MTCNN

            mtcnn = MTCNN(keep_all=True, min_face_size=min_face_size, device=self.device)
            for net in (mtcnn.pnet, mtcnn.rnet, mtcnn.onet):  # 1.7x faster on CPU (its max-pooling
                net.to(memory_format=torch.channels_last)  # above all); the same boxes up to rounding
            self._mtcnn[min_face_size] = mtcnn
        return self._mtcnn[min_face_size]

    def __call__(self, frames: np.ndarray, min_face: int) -> list[tuple]:
        mtcnn, out = self.mtcnn(min_face), []
        for start in range(0, len(frames), self.batch_size):
            with torch.inference_mode():
                boxes, probs = mtcnn.detect(np.ascontiguousarray(frames[start : start + self.batch_size]))
            out += zip(boxes, probs, strict=True)
        return out


class FaceTracker:
    """Follows one face through a clip as ``spec`` (params.yaml: faces) says; the crop settings of
    ``spec`` are the crop stage's (avdf.media.face_crops). ``detector`` runs MTCNN: by default in
    this process (MTCNNDetector), or a shared one's client (avdf.media.shared_detector)."""

    def __init__(self, spec: FacesSpec, device: str | None = None, detector=None):
        if spec.track_policy not in POLICIES:
            raise ValueError(f"unknown face track policy {spec.track_policy!r}; choose from {POLICIES}")
        self.detector = detector or MTCNNDetector(device, spec.batch_size)
        self.min_face_size, self.threshold = spec.min_face_size, spec.detect_threshold
        self.interval = spec.keyframe_interval
        self.detect_max_side, self.policy = spec.detect_max_side, spec.track_policy
        self.scene_cut_threshold, self.lost_iou = spec.scene_cut_threshold, LOST_IOU
        self.detect_min_face = spec.detect_min_face

    def _scale(self, frames: np.ndarray) -> float:
        side = max(frames.shape[1:3])
        return (
            1.0 if not self.detect_max_side or side <= self.detect_max_side else self.detect_max_side / side
        )

    def detect(self, frames: np.ndarray, source_scale: float = 1.0) -> list[tuple[np.ndarray, np.ndarray]]:
        """Boxes (N, 4) and probabilities (N,) of every face in each frame, batched, in source pixels
        (``frames`` are the source scaled by ``source_scale``; detection runs at ``detect_max_side``)."""
        scale = self._scale(frames)
        smallest = self.min_face_size * scale * source_scale  # min_face_size source pixels, as detected
        min_face = max(min(self.detect_min_face, self.min_face_size), round(smallest))
        if scale < 1.0:
            size = (round(frames.shape[1] * scale), round(frames.shape[2] * scale))
            frames = (
                torch.nn.functional.interpolate(
                    torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float(),
                    size=size,
                    mode="area",
                )
                .round()
                .clamp(0, 255)
                .byte()
                .permute(0, 2, 3, 1)
                .numpy()
            )
        out = []
        for b, p in self.detector(frames, min_face):
            if b is None:
                out.append((np.zeros((0, 4), np.float32), np.zeros(0, np.float32)))
            else:
                b, p = np.asarray(b, np.float32) / (scale * source_scale), np.asarray(p, np.float32)
                keep = p >= self.threshold
                out.append((b[keep], p[keep]))
        return out

    def _detect_at(self, frames: np.ndarray, keys: list[int], detections: dict, source_scale: float) -> None:
        new = [k for k in keys if k not in detections]
        if new:
            detections.update(zip(new, self.detect(frames[new], source_scale), strict=True))

    def track(self, frames: np.ndarray, source_scale: float = 1.0) -> FaceTrack:
        """One face track over ``frames`` (T, H, W, 3) uint8, the source scaled by ``source_scale``
        (boxes come back in source pixels). Raises MediaError if no face is found."""
        t = len(frames)
        cuts = scene_cuts(frames, self.scene_cut_threshold)
        bounds = [0, *cuts, t]
        detections: dict = {}
        keys = set(range(0, t, self.interval)) | {t - 1} | set(cuts) | {c - 1 for c in cuts}
        self._detect_at(frames, sorted(keys), detections, source_scale)
        chosen = []
        for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):  # one shot at a time
            for _ in range(8):  # re-detect between keyframes where the followed face jumped
                shot_keys = sorted(k for k in detections if lo <= k < hi)
                tracks = _link(shot_keys, detections, self.lost_iou)
                if not tracks:
                    break
                track = _pick(tracks, self.policy)
                gaps = [
                    (a[0] + b[0]) // 2
                    for a, b in zip(track[:-1], track[1:], strict=True)
                    if b[0] - a[0] > 1 and float(_iou(a[1], b[1])) < self.lost_iou
                ]
                todo = sorted(set(gaps) - set(detections))
                if not todo:
                    break
                self._detect_at(frames, todo, detections, source_scale)
            if tracks:
                chosen += track
        if not chosen:
            raise MediaError(f"no detectable face in {len(detections)} keyframes")
        chosen_t = [k for k, _, _ in chosen]
        chosen_box = np.stack([b for _, b, _ in chosen])
        frames_t = np.arange(t)
        boxes = np.stack([np.interp(frames_t, chosen_t, chosen_box[:, c]) for c in range(4)], 1).astype(
            np.float32
        )
        scores = np.full(t, np.nan, np.float32)
        scores[chosen_t] = [p for _, _, p in chosen]
        keyframes = np.zeros(t, bool)
        keyframes[sorted(detections)] = True
        return FaceTrack(boxes, scores, keyframes)
