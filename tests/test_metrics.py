"""Metrics against hand-computed cases."""

import math

import numpy as np
import pandas as pd

from avdf.learning.metrics import auc_by_category, binary_metrics, bootstrap_auc_ci, decision_threshold, eer


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


def test_the_decision_threshold_is_the_middle_of_the_eer_points_gap():
    labels = np.array([0, 0, 1, 1])
    separable = np.array([0.1, 0.2, 0.8, 0.9])
    assert decision_threshold(labels, separable) == (0.0, 0.5)  # not 0.8, the lowest fake
    # the hand-computed case above: EER point at 0.6, the next lower score 0.4
    labels = np.array([1, 1, 1, 0, 0, 0])
    assert decision_threshold(labels, np.array([0.9, 0.6, 0.4, 0.7, 0.3, 0.1])) == (100 / 3, 0.5)
    assert decision_threshold(np.array([0, 1]), np.array([0.5, 0.5])) == (50.0, 0.5)  # no lower score


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


def test_fast_auc_and_ap_match_scikit_learn_with_ties():
    from sklearn.metrics import average_precision_score, roc_auc_score

    from avdf.learning.metrics import auc, average_precision

    rng = np.random.default_rng(0)
    for _ in range(20):
        labels = rng.integers(0, 2, 30)
        labels[:2] = [0, 1]
        scores = rng.integers(0, 6, 30) / 5  # many ties
        assert np.isclose(auc(labels, scores), 100 * roc_auc_score(labels, scores))
        assert np.isclose(average_precision(labels, scores), 100 * average_precision_score(labels, scores))


def test_eer_matches_the_quadratic_definition():
    rng = np.random.default_rng(1)
    for _ in range(20):
        labels = rng.integers(0, 2, 25).astype(bool)
        labels[:2] = [False, True]
        scores = rng.integers(0, 8, 25) / 7
        t = np.sort(scores)
        called = scores[None, :] >= t[:, None]
        frr, far = (~called[:, labels]).mean(1), called[:, ~labels].mean(1)
        i = np.argmin(np.abs(frr - far))
        assert np.isclose(eer(labels, scores), 100 * (frr[i] + far[i]) / 2)


def test_seed_mean_interval_contains_the_seed_mean_and_narrows_with_more_clips():
    from avdf.learning.metrics import bootstrap_seed_mean_ci

    rng = np.random.default_rng(2)

    def width(n):
        labels = np.r_[np.zeros(n), np.ones(n)].astype(int)
        probs = np.clip(labels * 0.3 + rng.random((3, 2 * n)) * 0.7, 0, 1)  # 3 seeds, overlapping
        ci = bootstrap_seed_mean_ci(labels, probs, n_boot=300)
        mean_auc = np.mean([binary_metrics(labels, p)["auc"] for p in probs])
        assert ci["auc"][0] <= mean_auc <= ci["auc"][1]
        return ci["auc"][1] - ci["auc"][0]

    assert width(200) < width(20)


def asvspoof_eer(fake_scores, real_scores):
    """ASVspoof's compute_eer as its algorithm reads (target = fake here): stable-sort the scores
    concatenated targets first, cut after each position k = 0..n, FRR = targets among the k lowest,
    FAR = non-targets above them; EER = mean(FRR, FAR) where they are closest."""
    scores = np.r_[fake_scores, real_scores]
    is_fake = np.r_[np.ones(len(fake_scores)), np.zeros(len(real_scores))][
        np.argsort(scores, kind="mergesort")
    ]
    frr = np.r_[0, np.cumsum(is_fake)] / len(fake_scores)
    far = np.r_[len(real_scores), len(real_scores) - np.cumsum(1 - is_fake)] / len(real_scores)
    i = np.argmin(np.abs(frr - far))
    return 100 * (frr[i] + far[i]) / 2


def test_eer_equals_asvspoof_without_ties_and_differs_on_ties_as_documented():
    rng = np.random.default_rng(3)
    for _ in range(20):
        labels = rng.integers(0, 2, 30).astype(bool)
        labels[:2] = [False, True]
        scores = rng.random(30)  # distinct
        assert np.isclose(eer(labels, scores), asvspoof_eer(scores[labels], scores[~labels]))
    constant = np.full(4, 0.5)  # a constant scorer: no threshold separates anything
    assert eer(np.array([1, 1, 0, 0]), constant) == 50.0
    assert asvspoof_eer(constant[:2], constant[2:]) == 100.0  # ASVspoof cuts inside the tie


def test_a_variant_is_called_different_from_the_full_model_only_when_the_intervals_part():
    from avdf.reporting.tables import against_full_model

    table = pd.DataFrame(
        {
            "variant": ["no_cross", "no_intra", "depth8", "default"],
            "d_acc_ci_lo": [60.0, 80.0, 95.0, 85.0],
            "d_acc_ci_hi": [84.0, 90.0, 99.0, 94.0],
            "d_auc_ci_lo": [90.0, 90.0, 90.0, 90.0],
            "d_auc_ci_hi": [100.0, 100.0, 100.0, 100.0],
        }
    )
    out = against_full_model(table, ["d"])
    assert list(out["d_acc_vs_full"]) == ["lower", "not resolved", "higher", "full model"]
    assert list(out["d_auc_vs_full"]) == ["not resolved"] * 3 + ["full model"]
