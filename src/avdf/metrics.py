"""Detection metrics: ACC, AUC, EER (ASVspoof convention) and AP, plus AUC per fake category."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score


def eer(labels: np.ndarray, scores: np.ndarray) -> float:
    """Equal error rate in percent, the ASVspoof way.

    Thresholds are the sorted scores, without interpolation; EER = mean(FRR, FAR) at the threshold
    where |FRR - FAR| is smallest. Here the positive class (label 1) is *fake*, and a clip is called
    fake when its score is at least the threshold.
    """
    labels, scores = np.asarray(labels).astype(bool), np.asarray(scores, float)
    if labels.all() or not labels.any():
        return float("nan")
    thresholds = np.sort(scores)
    called_fake = scores[None, :] >= thresholds[:, None]
    frr = (~called_fake[:, labels]).mean(1)  # fakes missed
    far = called_fake[:, ~labels].mean(1)  # reals called fake
    i = int(np.argmin(np.abs(frr - far)))
    return float(100 * (frr[i] + far[i]) / 2)


def binary_metrics(labels: np.ndarray, probs: np.ndarray, threshold: float = 0.5) -> dict:
    labels, probs = np.asarray(labels).astype(int), np.asarray(probs, float)
    both = 0 < labels.sum() < len(labels)
    return {
        "n": int(len(labels)),
        "acc": float(((probs >= threshold).astype(int) == labels).mean() * 100),
        "auc": float(roc_auc_score(labels, probs) * 100) if both else float("nan"),
        "eer": eer(labels, probs),
        "ap": float(average_precision_score(labels, probs) * 100) if both else float("nan"),
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
        auc = float(roc_auc_score(labels, probs[keep]) * 100) if both else float("nan")
        lo, hi = bootstrap_auc_ci(labels, probs[keep])
        out[cat] = {"auc": auc, "ci95": [lo, hi]}
    return out
