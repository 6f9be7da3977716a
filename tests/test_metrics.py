"""Metrics against hand-computed cases."""

import math

import numpy as np

from avdf.metrics import auc_by_category, binary_metrics, bootstrap_auc_ci, eer


def test_eer_hand_computed():
    # fakes (label 1) score 0.9, 0.6, 0.4; reals score 0.7, 0.3, 0.1.
    # threshold 0.4: FRR = 0/3... reals above: 0.7 -> FAR 1/3; fakes below 0.4: none -> FRR 0/3 -> |diff| 1/3
    # threshold 0.6: fakes below: 0.4 -> FRR 1/3; reals >= 0.6: 0.7 -> FAR 1/3 -> |diff| 0 -> EER = 33.33 %
    labels = np.array([1, 1, 1, 0, 0, 0])
    scores = np.array([0.9, 0.6, 0.4, 0.7, 0.3, 0.1])
    assert math.isclose(eer(labels, scores), 100 / 3)


def test_eer_of_perfect_and_inverted_scores():
    labels = np.array([0, 0, 1, 1])
    assert eer(labels, np.array([0.1, 0.2, 0.8, 0.9])) == 0.0
    assert eer(labels, np.array([0.9, 0.8, 0.2, 0.1])) == 100.0


def test_binary_metrics():
    m = binary_metrics(np.array([0, 0, 1, 1]), np.array([0.2, 0.6, 0.4, 0.9]))
    assert m["acc"] == 50.0
    assert m["auc"] == 75.0  # 3 of 4 (fake, real) pairs ordered correctly
    assert m["n"] == 4


def test_auc_by_category_compares_each_fake_category_with_real_only():
    cats = np.array(["RVRA", "RVRA", "RVFA", "RVFA", "FVRA", "FVRA"])
    probs = np.array([0.1, 0.2, 0.9, 0.8, 0.15, 0.05])
    out = auc_by_category(cats, probs)
    assert {c: v["auc"] for c, v in out.items()} == {"FVRA": 25.0, "RVFA": 100.0}
    assert out["RVFA"]["ci95"] == [100.0, 100.0]
    lo, hi = out["FVRA"]["ci95"]
    assert 0 <= lo <= 25.0 <= hi <= 100


def test_bootstrap_interval_covers_chance_for_identical_classes():
    rng = np.random.default_rng(0)
    probs = rng.random(40)
    lo, hi = bootstrap_auc_ci(np.array([0, 1] * 20), probs)
    assert lo < 50 < hi
