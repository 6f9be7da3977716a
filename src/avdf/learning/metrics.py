"""Detection metrics: ACC, AUC, EER (at achievable thresholds; ASVspoof's without ties) and AP,
plus AUC per fake category."""

from __future__ import annotations

import numpy as np


def eer(labels: np.ndarray, scores: np.ndarray) -> float:
    """Equal error rate in percent, at thresholds a detector can actually set.

    Thresholds are the sorted scores, without interpolation; EER = mean(FRR, FAR) at the threshold
    where |FRR - FAR| is smallest. Here the positive class (label 1) is *fake*, and a clip is called
    fake when its score is at least the threshold.

    Without tied scores this equals ASVspoof's ``compute_eer`` (which cuts the list of scores sorted
    by a stable sort after every position). On ties it differs: ASVspoof also cuts *inside* a run of
    equal scores, splitting clips no threshold can separate, in the order its inputs were
    concatenated; here a run of ties is called one way as a whole. For a constant scorer ASVspoof
    gives 100 and this gives 50 (docs/paper-notes.md, "EER on tied scores").
    """
    return eer_point(labels, scores)[0]


def eer_point(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The EER (percent, as :func:`eer`) and the threshold where it is reached (a clip whose score
    is at least the threshold is called fake): the decision threshold chosen on a validation split."""
    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, float)
    if labels.all() or not labels.any():
        return float("nan"), float("nan")
    thresholds = np.sort(scores)
    fake, real = np.sort(scores[labels]), np.sort(scores[~labels])
    frr = np.searchsorted(fake, thresholds, "left") / len(fake)  # fakes missed: score < threshold
    far = 1 - np.searchsorted(real, thresholds, "left") / len(real)  # reals called fake: score >= t
    i = int(np.argmin(np.abs(frr - far)))
    return float(100 * (frr[i] + far[i]) / 2), float(thresholds[i])


def decision_threshold(labels: np.ndarray, scores: np.ndarray) -> tuple[float, float]:
    """The EER of ``scores`` and a decision threshold at its operating point, for new clips: every
    threshold between the EER point's score and the next lower score makes the same calls on these
    clips, and this is the middle of that gap (with separable scores, halfway between the highest
    real and the lowest fake) rather than its edge, where a new fake scoring a little lower than
    every one seen so far would be called real."""
    scores = np.asarray(scores, float)
    eer_value, edge = eer_point(labels, scores)
    below = scores[scores < edge]
    return eer_value, float((edge + below.max()) / 2) if len(below) else edge


def rankdata(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n, ties sharing their average rank (numpy only: scipy.stats costs 2 s to import,
    paid by every training and evaluation job)."""
    x = np.asarray(x, float)
    order = np.argsort(x, kind="stable")
    sorted_x = x[order]
    starts = np.r_[0, np.flatnonzero(np.diff(sorted_x)) + 1]
    ends = np.r_[starts[1:], len(x)]
    average = (starts + ends + 1) / 2  # mean of ranks start+1 .. end
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(average, ends - starts)
    return ranks


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC in percent from ranks (ties count half): (R_fake - n_f (n_f + 1) / 2) / (n_f n_r)."""
    labels = np.asarray(labels).astype(bool)
    n_f, n_r = int(labels.sum()), int((~labels).sum())
    if n_f == 0 or n_r == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float(100 * (ranks[labels].sum() - n_f * (n_f + 1) / 2) / (n_f * n_r))


def average_precision(labels: np.ndarray, scores: np.ndarray) -> float:
    """AP in percent, as scikit-learn defines it: sum over thresholds of (R_k - R_{k-1}) P_k,
    one threshold per distinct score."""
    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, float)
    if not labels.any():
        return float("nan")
    order = np.argsort(-scores, kind="stable")
    s, y = scores[order], labels[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]  # last index of each distinct score
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall_gain = np.diff(np.r_[0, tp]) / labels.sum()
    return float(100 * (recall_gain * precision).sum())


METRICS = (
    "acc",
    "acc_val",
    "auc",
    "eer",
    "ap",
)  # acc: at 0.5 (the paper's); acc_val: at the validation threshold


def accuracy(labels: np.ndarray, probs: np.ndarray, threshold: float) -> float:
    """ACC in percent, a clip called fake when its probability is at least ``threshold``."""
    return float(100 * ((np.asarray(probs, float) >= threshold) == np.asarray(labels).astype(bool)).mean())


def _all(labels: np.ndarray, probs: np.ndarray, threshold: float, val_threshold: float) -> np.ndarray:
    return np.array(
        [
            accuracy(labels, probs, threshold),
            accuracy(labels, probs, val_threshold),
            auc(labels, probs),
            eer(labels, probs),
            average_precision(labels, probs),
        ]
    )


def bootstrap_seed_mean_ci(
    labels: np.ndarray,
    probs: np.ndarray,
    threshold: float = 0.5,
    n_boot: int = 1000,
    seed: int = 0,
    val_thresholds: np.ndarray | None = None,
) -> dict[str, tuple[float, float]]:
    """95% percentile bootstrap intervals of the seed-mean of each of :data:`METRICS` over test clips.

    ``probs`` is (seeds, clips): every seed scored the same test clips; ``val_thresholds``
    (seeds,) each seed's validation threshold (ACC at it: ``acc_val``; None: ``threshold`` for
    every seed). Each resample draws clips
    with replacement within each class (so both classes stay present), scores every seed on the
    same draw, and averages over seeds: the interval is that of the number a table cell reports.
    """
    labels, probs = np.asarray(labels).astype(bool), np.atleast_2d(np.asarray(probs, float))
    fake, real = np.flatnonzero(labels), np.flatnonzero(~labels)
    if len(fake) == 0 or len(real) == 0:
        return {m: (float("nan"), float("nan")) for m in METRICS}
    rng = np.random.default_rng(seed)
    val = np.full(len(probs), threshold) if val_thresholds is None else np.asarray(val_thresholds, float)
    draws = np.empty((n_boot, len(METRICS)))
    for b in range(n_boot):
        idx = np.r_[rng.choice(fake, len(fake)), rng.choice(real, len(real))]
        draws[b] = np.mean(
            [_all(labels[idx], p[idx], threshold, v) for p, v in zip(probs, val, strict=True)], axis=0
        )
    lo, hi = np.nanpercentile(draws, [2.5, 97.5], axis=0)
    return {m: (float(lo[i]), float(hi[i])) for i, m in enumerate(METRICS)}


def binary_metrics(labels: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> dict:
    labels, probs = np.asarray(labels).astype(int), np.asarray(probs, float)
    both = 0 < labels.sum() < len(labels)
    return {
        "n": int(len(labels)),
        "acc": accuracy(labels, probs, threshold),
        "auc": auc(labels, probs) if both else float("nan"),
        "eer": eer(labels, probs),
        "ap": average_precision(labels, probs) if both else float("nan"),
    }


def bootstrap_auc_ci(
    labels: np.ndarray, probs: np.ndarray, n_boot: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """95% percentile bootstrap interval (percent) of the AUC, resampling clips within each class."""
    labels, probs = np.asarray(labels).astype(int), np.asarray(probs, float)
    pos, neg = probs[labels == 1], probs[labels == 0]
    if len(pos) == 0 or len(neg) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    p = pos[rng.integers(0, len(pos), (n_boot, len(pos)))]
    n = neg[rng.integers(0, len(neg), (n_boot, len(neg)))]
    # AUC = P(score_fake > score_real) + 0.5 P(tie), over all pairs of each resample
    greater = (p[:, :, None] > n[:, None, :]).mean((1, 2))
    ties = (p[:, :, None] == n[:, None, :]).mean((1, 2))
    aucs = 100 * (greater + 0.5 * ties)
    return float(np.percentile(aucs, 2.5)), float(np.percentile(aucs, 97.5))


def auc_by_category(categories: np.ndarray, probs: np.ndarray, real: str = "RVRA") -> dict:
    """AUC (percent) of each fake category against the real clips alone, with a 95% bootstrap CI."""
    categories, probs = np.asarray(categories), np.asarray(probs, float)
    out = {}
    for cat in sorted(set(categories) - {real}):
        keep = (categories == cat) | (categories == real)
        labels = (categories[keep] == cat).astype(int)
        both = 0 < labels.sum() < len(labels)
        value = auc(labels, probs[keep]) if both else float("nan")
        lo, hi = bootstrap_auc_ci(labels, probs[keep])
        out[cat] = {"auc": value, "ci95": [lo, hi]}
    return out
