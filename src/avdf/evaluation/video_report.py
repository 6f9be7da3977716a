"""``avdf predict --report``: one self-contained HTML page, a section per video, that opens offline.

For each scored video: the verdict at the detector's validation threshold with its probability; a
timeline (SVG) with the windows' fake probability, the audio and video heads per second (MACB-DF),
the threshold, the predicted segments shaded and the true ones when a manifest gives them; keyframe
thumbnails with the face box (JPEG, embedded as data URIs); and the windows' scores. Videos that
could not be scored are listed with the reason. Nothing is fetched: no script, font or image from
elsewhere.

The timeline's shapes carry their numbers (``data-start``, ``data-end``, ``data-score`` in seconds),
so a test can read them back against the JSON.
"""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

import numpy as np
import pandas as pd

from avdf.contracts import atomic
from avdf.media import ffmpeg

WIDTH, HEIGHT, PAD = 900, 220, 40  # the timeline's size in pixels, and its left/bottom margin
THUMBNAILS, THUMB_SIDE = 4, 200

STYLE = """
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1000px}
h1{font-size:22px} h2{font-size:17px;margin-top:36px;word-break:break-all}
.verdict{font-size:18px;font-weight:600;padding:4px 10px;border-radius:4px;display:inline-block}
.fake{background:#fde0dc;color:#a31515} .real{background:#dff3e4;color:#1e6b34}
.thumbs img{margin:4px;border:1px solid #ccc} table{border-collapse:collapse;font-size:13px}
td,th{border:1px solid #ddd;padding:2px 8px;text-align:right} .note{color:#666;font-size:13px}
.legend span{margin-right:14px;font-size:13px} svg{background:#fafafa;border:1px solid #ddd}
"""


def truth_from_manifest(manifest: str | Path) -> dict[str, list | str]:
    """True fake segments per video (resolved path -> [[start, end], ...]) from an avdf manifest
    (``path``, ``label``, ``fake_periods``): ``[]`` for a real clip, ``"whole"`` for a fake clip
    without segments (fake throughout, as FakeAVCeleb's and DFDC's)."""
    table = pd.read_csv(manifest, dtype={"fake_periods": str})
    missing = {"path", "label"} - set(table.columns)
    if missing:
        raise ValueError(f"{manifest}: no {', '.join(sorted(missing))} column (an avdf manifest has both)")
    truth: dict[str, list | str] = {}
    for row in table.to_dict("records"):
        text = row.get("fake_periods")
        periods = json.loads(text) if isinstance(text, str) and text.strip() else []
        fake = int(row["label"]) == 1
        truth[str(Path(row["path"]).resolve())] = periods if periods or not fake else "whole"
    return truth


def write_report(
    results: list[dict], out: str | Path, truth: dict | None = None, detector: dict | None = None
) -> None:
    """The page for ``avdf predict``'s results (with their face tracks), written atomically.
    ``detector``: where the model came from (``source``, ``method``, ``train_dataset``)."""
    truth = truth or {}
    scored = [r for r in results if "error" not in r]
    failed = [r for r in results if "error" in r]
    parts = [f"<h1>avdf predict: {len(scored)} video(s) scored, {len(failed)} not</h1>", _detector(detector)]
    parts += [_section(r, truth.get(str(Path(r["path"]).resolve()))) for r in scored]
    if failed:
        rows = "".join(f"<tr><td>{_e(r['path'])}</td><td>{_e(r['error'])}</td></tr>" for r in failed)
        head = "<tr><th>video</th><th>reason</th></tr>"
        parts.append(f'<h2>Not scored</h2><table id="not-scored">{head}{rows}</table>')
    page = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>avdf predict</title>'
        f"<style>{STYLE}</style></head><body>{''.join(parts)}</body></html>"
    )
    atomic.write_text(out, page)


def _detector(detector: dict | None) -> str:
    """Which model scored, and on what it was trained: a detector trained on avdf's embedded
    synthetic stand-ins (``synth_*``) says nothing about real videos, and the page says so."""
    if not detector:
        return ""
    trained = detector.get("train_dataset")
    line = f"Detector: {_e(detector.get('method'))} from {_e(detector.get('source'))}, trained on "
    line += _e(trained) if trained else "data this checkpoint does not record"
    if trained and str(trained).startswith("synth_"):
        line += (
            ' <strong class="synthetic">(synthetic data: avdf\'s embedded stand-ins; these scores '
            "check the pipeline and say nothing about real videos)</strong>"
        )
    return f'<p class="detector">{line}</p>'


def _e(text) -> str:
    return html.escape(str(text))


def _section(r: dict, truth: list | str | None) -> str:
    verdict = "fake" if r["fake"] else "real"
    heads = (
        f", audio head {r['audio_score']:.3f}, video head {r['video_score']:.3f}"
        if "audio_score" in r
        else ""
    )
    head = (
        f'<section class="video" data-path="{_e(r["path"])}"><h2>{_e(r["path"])}</h2>'
        f'<span class="verdict {verdict}">{verdict.upper()}</span> '
        f"probability {r['prob_fake']:.3f} at threshold {r['threshold']:.3f} "
        f'<span class="note">({r["duration_s"]:.1f} s scored{heads})</span>'
    )
    return head + timeline(r, truth) + _thumbnails(r) + _windows(r) + "</section>"


def legend(r: dict, truth: list | str | None) -> str:
    """The timeline's key: only what it can draw for this result (a model without frame heads, or one
    that proposes no segments, has no line or band of theirs; true segments only with ``truth``)."""
    keys = ["<span>— windows (fused)</span>"]
    if "per_second" in r:
        keys.append(
            '<span style="color:#2ca02c">— audio head</span><span style="color:#9467bd">— video head</span>'
        )
    keys.append('<span style="color:#d62728">- - threshold</span>')
    if "fake_segments" in r:
        keys.append('<span style="background:#fcae91">predicted fake</span>')
    if truth:
        keys.append('<span style="background:#9ecae1">true fake</span>')
    return '<div class="legend">' + "".join(keys) + "</div>"


def timeline(r: dict, truth: list | str | None) -> str:
    """The SVG timeline of one result: x is time in seconds, y a probability from 0 to 1. ``truth``:
    true segments ([[start, end], ...]), ``"whole"`` for a clip fake throughout, or None."""
    duration = max(r["duration_s"], 1e-3)

    def x(t: float) -> float:
        return PAD + (WIDTH - PAD - 10) * min(max(t, 0.0), duration) / duration

    def y(p: float) -> float:
        return 10 + (HEIGHT - PAD - 10) * (1 - p)

    shapes = []
    for start, end in [(0.0, duration)] if truth == "whole" else truth or []:
        shapes.append(_band("truth", (x(start), x(end), y(1.0), y(0.0)), "#9ecae1", (start, end), None))
    for score, start, end in r.get("fake_segments", []):
        shapes.append(_band("predicted", (x(start), x(end), y(1.0), y(0.0)), "#fcae91", (start, end), score))
    shapes += _series(r, x, y) + _axes(duration, x, y)
    svg = f'<svg class="timeline" width="{WIDTH}" height="{HEIGHT}" role="img">{"".join(shapes)}</svg>'
    return svg + legend(r, truth)


def _series(r: dict, x, y) -> list[str]:
    """The windows' probabilities (a step each), the heads per second, the threshold."""
    window = r.get("window_s", r["duration_s"])
    steps = " ".join(
        f"{x(w['start_s']):.1f},{y(p):.1f} {x(w['start_s'] + window):.1f},{y(p):.1f}"
        for w in r["windows"]
        for p in [w["prob_fake"]]
    )
    lines = [f'<polyline class="windows" points="{steps}" fill="none" stroke="#222" stroke-width="2"/>']
    for modality, colour in (("audio", "#2ca02c"), ("video", "#9467bd")):
        seconds = [s for s in r.get("per_second", []) if s.get(modality) is not None]
        if seconds:
            points = " ".join(f"{x(s['second'] + 0.5):.1f},{y(s[modality]):.1f}" for s in seconds)
            style = f'fill="none" stroke="{colour}" stroke-width="1.5"'
            lines.append(f'<polyline class="{modality}" points="{points}" {style}/>')
    level = f"{y(r['threshold']):.1f}"
    lines.append(
        f'<line class="threshold" x1="{PAD}" x2="{WIDTH - 10}" y1="{level}" y2="{level}" '
        'stroke="#d62728" stroke-dasharray="6,4"/>'
    )
    return lines


def _band(kind: str, box: tuple, colour: str, segment: tuple, score) -> str:
    """One segment as a rectangle: ``box`` its (x0, x1, top, bottom) in pixels, ``segment`` its
    (start, end) in seconds, kept as data attributes (with the score) for tests and readers."""
    x0, x1, top, bottom = box
    data = f'data-start="{segment[0]:.4f}" data-end="{segment[1]:.4f}"'
    data += f' data-score="{score:.4f}"' if score is not None else ""
    return (
        f'<rect class="{kind}" {data} x="{x0:.1f}" y="{top:.1f}" width="{max(x1 - x0, 1):.1f}" '
        f'height="{bottom - top:.1f}" fill="{colour}" fill-opacity="0.5"/>'
    )


def _axes(duration: float, x, y) -> list[str]:
    step = max(1, int(np.ceil(duration / 15)))
    label = 'font-size="11" text-anchor'
    ticks = [
        f'<text x="{x(t):.1f}" y="{HEIGHT - PAD + 16}" {label}="middle">{t:g} s</text>'
        for t in range(0, int(duration) + 1, step)
    ]
    ticks += [f'<text x="{PAD - 6}" y="{y(p) + 4:.1f}" {label}="end">{p:g}</text>' for p in (0, 0.5, 1)]
    ticks.append(f'<line x1="{PAD}" x2="{WIDTH - 10}" y1="{y(0):.1f}" y2="{y(0):.1f}" stroke="#888"/>')
    return ticks


def _thumbnails(r: dict) -> str:
    """Keyframes spread over the video, the face box drawn on each (empty when the track is absent)."""
    track, fps = r.get("face_track", {}), r.get("fps")
    boxes = np.asarray(track.get("boxes", []), dtype=float)
    if not len(boxes) or not fps:
        return ""
    keys = np.asarray(track.get("keyframes") or range(len(boxes)))
    chosen = np.unique(keys[np.linspace(0, len(keys) - 1, min(THUMBNAILS, len(keys))).round().astype(int)])
    try:
        frames, scale = ffmpeg.read_video(r["path"], fps, r.get("start_s", 0.0), THUMB_SIDE, keep=chosen)
    except ffmpeg.MediaError as e:
        return f'<p class="note">keyframes: {_e(e)}</p>'
    images = [_jpeg(frame, boxes[k] * scale, k / fps) for frame, k in zip(frames, chosen, strict=False)]
    return '<div class="thumbs">' + "".join(images) + "</div>"


def _jpeg(frame: np.ndarray, box: np.ndarray, t: float) -> str:
    from PIL import Image, ImageDraw

    image = Image.fromarray(frame)
    if np.isfinite(box).all():
        ImageDraw.Draw(image).rectangle([float(v) for v in box], outline=(255, 60, 60), width=2)
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=80)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img class="keyframe" alt="frame at {t:.2f} s" src="data:image/jpeg;base64,{data}">'


def _windows(r: dict) -> str:
    rows = "".join(f"<tr><td>{w['start_s']:.2f}</td><td>{w['prob_fake']:.3f}</td></tr>" for w in r["windows"])
    head = "<tr><th>start (s)</th><th>fake probability</th></tr>"
    summary = f"<summary>{len(r['windows'])} window(s)</summary>"
    return f'<details>{summary}<table class="windows">{head}{rows}</table></details>'
