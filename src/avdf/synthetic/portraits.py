"""Talking-head frames for the synthetic dataset, made from real face photographs.

The faces come from sample images shipped inside installed packages: scikit-image's ``astronaut``
(Eileen Collins) and ``camera`` (the cameraman), and matplotlib's ``grace_hopper``. Each photo is
cropped to a portrait with the face at a fixed place and scale, so that face swaps align. Frames
are views of the portrait under slow head motion (pan, zoom, tilt), with a mouth whose opening
follows the speech envelope.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image

PORTRAIT_SIZE = 320  # side of the portrait canvas, in pixels
# Face boxes (x1, y1, x2, y2) and mouth corners ((x, y), (x, y)) measured once with facenet-pytorch's
# MTCNN on the original images; tests/test_synthetic.py checks that MTCNN still finds the faces.
SOURCES = {
    "astronaut": ((181.1, 62.2, 267.7, 172.1), ((201.7, 139.2), (245.3, 141.9))),
    "camera": ((199.2, 118.9, 254.3, 192.3), ((231.2, 180.4), (243.5, 181.9))),
    "grace_hopper": ((174.4, 119.6, 355.6, 340.5), ((232.7, 279.6), (306.6, 275.9))),
}


def _load_source(name: str) -> np.ndarray:
    if name == "grace_hopper":
        import matplotlib.cbook

        with matplotlib.cbook.get_sample_data("grace_hopper.jpg") as f:
            return np.asarray(Image.open(f).convert("RGB"))
    from skimage import data

    image = getattr(data, name)()
    return np.stack([image] * 3, -1) if image.ndim == 2 else image


@dataclass(frozen=True)
class Portrait:
    """A face photo on a square canvas: face box and mouth in canvas pixels."""

    image: np.ndarray  # (P, P, 3) float32 in [0, 255]
    face_box: tuple[float, float, float, float]
    mouth_center: tuple[float, float]
    mouth_width: float


@functools.cache
def base_portrait(name: str) -> Portrait:
    (x1, y1, x2, y2), ((mx1, my1), (mx2, my2)) = SOURCES[name]
    image = _load_source(name)
    side = 2.0 * max(x2 - x1, y2 - y1)
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2 + 0.05 * (y2 - y1)
    left, top = cx - side / 2, cy - side / 2
    crop = Image.fromarray(image).crop((round(left), round(top), round(left + side), round(top + side)))
    scale = PORTRAIT_SIZE / round(side)
    canvas = np.asarray(crop.resize((PORTRAIT_SIZE, PORTRAIT_SIZE), Image.BICUBIC), np.float32)

    def to_canvas(x, y):
        return ((x - round(left)) * scale, (y - round(top)) * scale)

    fx1, fy1 = to_canvas(x1, y1)
    fx2, fy2 = to_canvas(x2, y2)
    a, b = to_canvas(mx1, my1), to_canvas(mx2, my2)
    return Portrait(
        image=canvas,
        face_box=(fx1, fy1, fx2, fy2),
        mouth_center=((a[0] + b[0]) / 2, (a[1] + b[1]) / 2),
        mouth_width=float(np.hypot(a[0] - b[0], a[1] - b[1])),
    )


def identity_portrait(source: str, mirror: bool, tint: np.ndarray) -> Portrait:
    """A new identity from a base face: optionally mirrored, with its own skin and light tint."""
    p = base_portrait(source)
    image = p.image[:, ::-1] if mirror else p.image
    image = np.clip(image * tint[None, None, :], 0, 255).astype(np.float32)
    if not mirror:
        return Portrait(image, p.face_box, p.mouth_center, p.mouth_width)
    x1, y1, x2, y2 = p.face_box
    w = PORTRAIT_SIZE
    return Portrait(
        image, (w - x2, y1, w - x1, y2), (w - p.mouth_center[0], p.mouth_center[1]), p.mouth_width
    )


def face_mask(p: Portrait, feather: float) -> np.ndarray:
    """Elliptic mask (P, P) over the inner face; ``feather`` is the edge width in pixels."""
    x1, y1, x2, y2 = p.face_box
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2 + 0.05 * (y2 - y1)
    rx, ry = 0.42 * (x2 - x1), 0.50 * (y2 - y1)
    yy, xx = np.mgrid[0:PORTRAIT_SIZE, 0:PORTRAIT_SIZE].astype(np.float32)
    r = np.sqrt(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2)
    edge = max(feather, 0.5) / min(rx, ry)
    return np.clip((1 - r) / edge + 0.5, 0, 1)


def draw_mouth(image: np.ndarray, p: Portrait, opening: float) -> np.ndarray:
    """Paint an open mouth (dark ellipse) whose height follows ``opening`` in [0, 1]."""
    mx, my = p.mouth_center
    rx = max(0.55 * p.mouth_width, 4.0)
    ry = 1.0 + opening * 0.45 * rx
    half = int(rx + 4)
    y0, y1 = int(my - half), int(my + half)
    x0, x1 = int(mx - half), int(mx + half)
    yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
    r = np.sqrt(((xx - mx) / rx) ** 2 + ((yy - my) / ry) ** 2)
    alpha = np.clip((1 - r) * 3, 0, 1)[..., None] * min(1.0, 0.3 + opening)
    out = image.copy()
    patch = out[y0:y1, x0:x1]
    out[y0:y1, x0:x1] = patch * (1 - alpha) + np.array([70, 25, 30], np.float32) * alpha
    return out


@dataclass(frozen=True)
class HeadMotion:
    """Slow, smooth head motion: pan in pixels, zoom and tilt as sinusoids."""

    amp_x: float
    amp_y: float
    amp_zoom: float
    amp_tilt_deg: float
    freqs: tuple[float, float, float, float]
    phases: tuple[float, float, float, float]

    @staticmethod
    def sample(rng: np.random.Generator) -> HeadMotion:
        return HeadMotion(
            amp_x=float(rng.uniform(4, 12)),
            amp_y=float(rng.uniform(3, 8)),
            amp_zoom=float(rng.uniform(0.02, 0.06)),
            amp_tilt_deg=float(rng.uniform(1, 4)),
            freqs=tuple(float(f) for f in rng.uniform(0.2, 0.9, 4)),
            phases=tuple(float(f) for f in rng.uniform(0, 2 * np.pi, 4)),
        )

    def at(self, t: float) -> tuple[float, float, float, float]:
        s = [np.sin(2 * np.pi * f * t + ph) for f, ph in zip(self.freqs, self.phases, strict=True)]
        return self.amp_x * s[0], self.amp_y * s[1], 1 + self.amp_zoom * s[2], self.amp_tilt_deg * s[3]


def view(
    image: np.ndarray,
    motion: HeadMotion,
    t: float,
    frame_size: int | tuple[int, int],
    background: np.ndarray,
) -> np.ndarray:
    """One camera frame (height, width, 3) uint8 of a portrait at time ``t``: ``frame_size`` is the
    side of a square frame or (width, height), landscape or portrait; the face fills the same share
    of the frame's shorter side either way."""
    width, height = (frame_size, frame_size) if isinstance(frame_size, int) else frame_size
    dx, dy, zoom, tilt = motion.at(t)
    field = 0.85 * PORTRAIT_SIZE / zoom  # portrait pixels across the frame's shorter side
    step = field / min(width, height)
    c, s = np.cos(np.radians(tilt)), np.sin(np.radians(tilt))
    cx, cy = PORTRAIT_SIZE / 2 + dx, PORTRAIT_SIZE / 2 + dy
    half_w, half_h = width / 2, height / 2
    # PIL's affine maps output (x, y) to input (a x + b y + c, d x + e y + f)
    coeffs = (
        step * c,
        -step * s,
        cx - step * (c * half_w - s * half_h),
        step * s,
        step * c,
        cy - step * (s * half_w + c * half_h),
    )
    out = Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).transform(
        (width, height),
        Image.AFFINE,
        coeffs,
        resample=Image.BILINEAR,
        fillcolor=tuple(int(c) for c in background),
    )
    return np.asarray(out)
