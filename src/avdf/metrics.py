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


def auc_by_category(categories: np.ndarray, probs: np.ndarray, real: str = "RVRA") -> dict:
    """AUC (percent) of each fake category against the real clips alone."""
    categories, probs = np.asarray(categories), np.asarray(probs, float)
    out = {}
    for cat in sorted(set(categories) - {real}):
        keep = (categories == cat) | (categories == real)
        labels = (categories[keep] == cat).astype(int)
        both = 0 < labels.sum() < len(labels)
        out[cat] = float(roc_auc_score(labels, probs[keep]) * 100) if both else float("nan")
    return out
