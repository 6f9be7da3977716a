"""Temporal forgery localisation: segment proposals from frame scores, scored as AV-Deepfake1M and
LAV-DF score them (AP at IoU thresholds, AR at numbers of proposals).

Definitions, written from the benchmark's published evaluation (AV-Deepfake1M, Cai et al. 2024;
its `ap_ar_1d` with fps 1, so every time is in seconds):

- **IoU** of two segments: overlap / (span from the earlier start to the later end), in float32
  and compared with float32 thresholds, as the official evaluator (the Rust extension of the
  ``avdeepfake1m`` package) computes it: times on a 1/25-s frame grid are not exact in binary and
  many IoUs sit exactly on a threshold, so the precision decides (docs/paper-notes.md).
- **AP@t.** NaN when no file has a fake segment (nothing to find: the official value). Every
  proposal of every file, ranked by score (highest first). Within a file, each ground-truth
  segment claims the first proposal, in the file's own order (highest score first), whose IoU
  with it is above ``t`` (strictly) and that no earlier segment claimed: that proposal is a true
  positive, every other one a false positive (a real file's proposals are all false).
  Precision and recall along the ranking give a curve from (recall 1, precision 0) through the
  ranks from last to first; AP = sum over its steps of |Δrecall| × the highest precision seen so
  far along that order.
- **AR@n.** Per file, its first ``n`` proposals; a segment is recalled at ``t`` when one of them
  has IoU above ``t`` with it. Recall = recalled / (recalled + missed), summed over files, at each
  ``t`` of 0.50, 0.55, ..., 0.95, and AR@n is its mean over ``t``. A file with no proposals adds
  nothing to either count (the official code's rule for an empty array; a file it reads from JSON
  always has one, so the tables score :func:`as_submitted` proposals).

Proposals (:func:`proposals`): the frames whose fake probability reaches ``threshold``, merged
into segments across gaps of at most ``merge_gap_s``, segments shorter than ``min_length_s``
dropped; each scored by the mean probability of its frames (params.yaml: ``localisation``).
"""

from __future__ import annotations

import numpy as np

AP_IOUS = (0.5, 0.75, 0.9, 0.95)
AR_PROPOSALS = (50, 30, 20, 10, 5)
AR_IOUS = tuple(np.round(np.arange(0.5, 0.96, 0.05), 2))

Segments = np.ndarray  # (n, 2): start, end in seconds
Proposals = np.ndarray  # (n, 3): score, start, end; highest score first


# A video where nothing was found, as a challenge file holds it: the official evaluator reads each
# file's proposals as an (n, 3) array and panics on an empty list (docs/paper-notes.md, "Challenge
# files"). One proposal of score 0 and no length: it matches nothing and, ranked last, costs no AP;
# the video's segments count as missed in AR, as they do for any file the evaluator reads.
NOTHING_FOUND = [[0.0, 0.0, 0.0]]


def as_submitted(props: Proposals) -> Proposals:
    """A video's proposals as its challenge file entry carries them (``NOTHING_FOUND`` for none):
    what the tables score, so that they give the official numbers of avdf's own submission."""
    props = np.asarray(props, float).reshape(-1, 3)
    return props if len(props) else np.asarray(NOTHING_FOUND, float)


def iou(proposals: Segments, labels: Segments) -> np.ndarray:
    """(proposals × labels) IoU of 1-D segments, in float32 (compare it with ``np.float32(t)``)."""
    p = np.asarray(proposals, np.float32).reshape(-1, 2)
    g = np.asarray(labels, np.float32).reshape(-1, 2)
    inner = np.minimum(p[:, None, 1], g[None, :, 1]) - np.maximum(p[:, None, 0], g[None, :, 0])
    outer = np.maximum(p[:, None, 1], g[None, :, 1]) - np.minimum(p[:, None, 0], g[None, :, 0])
    return np.clip(inner, 0, None) / outer


def _true_positives(props: Proposals, labels: Segments, t: float) -> np.ndarray:
    """Which of a file's proposals some ground-truth segment claims at IoU > t."""
    hit = np.zeros(len(props), bool)
    if len(props) and len(labels):
        above = iou(props[:, 1:], labels) > np.float32(t)
        for j in range(above.shape[1]):
            free = np.flatnonzero(above[:, j] & ~hit)
            if len(free):
                hit[free[0]] = True
    return hit


def average_precision(files: dict[str, tuple[Proposals, Segments]], t: float) -> float:
    """AP at IoU ``t`` over ``{file: (proposals, ground-truth segments)}``."""
    scores, hits = [], []
    for props, labels in files.values():
        props = np.asarray(props, float).reshape(-1, 3)
        scores.append(props[:, 0])
        hits.append(_true_positives(props, np.asarray(labels, float).reshape(-1, 2), t))
    n_labels = sum(len(np.asarray(g).reshape(-1, 2)) for _, g in files.values())
    if n_labels == 0:
        return float("nan")
    order = np.argsort(-np.concatenate(scores), kind="stable")
    tp = np.cumsum(np.concatenate(hits)[order])
    precision, recall = tp / np.arange(1, len(tp) + 1), tp / max(n_labels, 1)
    x = np.concatenate([[1.0], recall[::-1]])
    y = np.maximum.accumulate(np.concatenate([[0.0], precision[::-1]]))
    return float(np.sum(np.abs(np.diff(x)) * y[:-1]))


def average_recall(files: dict[str, tuple[Proposals, Segments]], n: int, ious=AR_IOUS) -> float:
    """AR with each file's first ``n`` proposals, averaged over the IoU thresholds ``ious``."""
    found, missed = np.zeros(len(ious)), np.zeros(len(ious))
    for props, labels in files.values():
        props = np.asarray(props, float).reshape(-1, 3)[:n]
        labels = np.asarray(labels, float).reshape(-1, 2)
        if not len(props):
            continue
        best = iou(props[:, 1:], labels).max(axis=0) if len(labels) else np.zeros(0)
        for k, t in enumerate(ious):
            found[k] += np.sum(best > np.float32(t))
            missed[k] += len(labels) - np.sum(best > np.float32(t))
    total = found + missed
    return float(np.mean(np.where(total > 0, found / np.where(total > 0, total, 1), 0.0)))


def proposals(
    times: np.ndarray, probs: np.ndarray, threshold: float, merge_gap_s: float, min_length_s: float
) -> Proposals:
    """Segments of frames at or above ``threshold`` (frame ``i`` spans times[i] to the next frame's
    time), merged across gaps up to ``merge_gap_s``, at least ``min_length_s`` long, scored by their
    frames' mean probability; highest score first."""
    times, probs = np.asarray(times, float), np.asarray(probs, float)
    step = np.median(np.diff(times)) if len(times) > 1 else 1.0
    ends = np.append(times[1:], times[-1] + step) if len(times) else times
    runs: list[list[int]] = []
    for i in np.flatnonzero(probs >= threshold):
        if runs and times[i] - ends[runs[-1][-1]] <= merge_gap_s + 1e-9:
            runs[-1].append(i)
        else:
            runs.append([i])
    out = [
        [probs[r[0] : r[-1] + 1].mean(), times[r[0]], ends[r[-1]]]
        for r in runs
        if ends[r[-1]] - times[r[0]] >= min_length_s - 1e-9
    ]
    out.sort(key=lambda p: -p[0])
    return np.asarray(out, float).reshape(-1, 3)


def scores(files: dict[str, tuple[Proposals, Segments]]) -> dict[str, float]:
    """AP at every AP_IOUS and AR at every AR_PROPOSALS, in percent: ``ap_0.5``, ``ar_50``, ..."""
    out = {f"ap_{t}": 100 * average_precision(files, t) for t in AP_IOUS}
    return out | {f"ar_{n}": 100 * average_recall(files, n) for n in AR_PROPOSALS}


def soft_nms(candidates: Proposals, sigma: float, keep: int, min_score: float = 1e-4) -> Proposals:
    """Gaussian Soft-NMS (Bodla et al. 2017) of (n, 3) [score, start, end] candidates: take the
    highest score, decay every other by exp(-IoU^2 / sigma) with it, repeat; at most ``keep``,
    highest score first. Near-duplicates stay, with lower scores (what AR at many proposals reads)."""
    left = np.asarray(candidates, float).reshape(-1, 3).copy()
    out = []
    while len(left) and len(out) < keep:
        top = int(np.argmax(left[:, 0]))
        if left[top, 0] < min_score:
            break
        best, left = left[top], np.delete(left, top, axis=0)
        out.append(best)
        overlap = iou(left[:, 1:], best[None, 1:])[:, 0].astype(float)
        left[:, 0] *= np.exp(-(overlap**2) / sigma)
    return np.asarray(out, float).reshape(-1, 3)


def challenge_score(scores: dict[str, float]) -> float:
    """The 1M-Deepfakes challenge's Task 2 score (0-1) from :func:`scores` (percent): the mean of
    mean AP over AP_IOUS and mean AR over AR_PROPOSALS."""
    ap = np.mean([scores[f"ap_{t}"] for t in AP_IOUS])
    ar = np.mean([scores[f"ar_{n}"] for n in AR_PROPOSALS])
    return float((ap + ar) / 200)
