"""Localisation metrics (evaluation.localisation) on cases computed by hand from the benchmark's rules."""

import numpy as np
import pytest

from avdf.evaluation import localisation as loc

# file a: two fake segments; its proposals hit the first exactly and the second at IoU 0.9 (in
# float32, 3.0 - 2.1f = 0.90000010, just above 0.9f = 0.89999998).
# file b: a real clip with one (false) proposal. Ranked: 0.9 (a), 0.8 (b), 0.7 (a).
A = (np.array([[0.9, 0.0, 1.0], [0.7, 2.1, 3.0]]), np.array([[0.0, 1.0], [2.0, 3.0]]))
B = (np.array([[0.8, 0.0, 1.0]]), np.zeros((0, 2)))


def test_iou_is_overlap_over_the_span_of_both():
    assert loc.iou([[0, 2]], [[1, 3]])[0, 0] == pytest.approx(1 / 3)
    assert loc.iou([[0, 1]], [[2, 3]])[0, 0] == 0.0


def test_ap_at_0_5_follows_the_ranking_across_files():
    # TP, FP, TP: precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1. The curve runs (1, 0), (1, 2/3),
    # (1/2, 1/2), (1/2, 1); only the step from recall 1 to 1/2 has width: 1/2 x 2/3.
    assert loc.average_precision({"a": A, "b": B}, 0.5) == pytest.approx(1 / 3)


def test_ap_at_0_95_loses_the_second_hit():
    # IoU 0.9 is not above 0.95: TP, FP, FP; every point at recall 1/2; the one step of width
    # (from recall 1) has precision 0 so far along the curve
    assert loc.average_precision({"a": A, "b": B}, 0.95) == 0.0


def test_each_segment_claims_one_proposal_only():
    twice = (np.array([[0.9, 0.0, 1.0], [0.8, 0.0, 1.0]]), np.array([[0.0, 1.0], [5.0, 6.0]]))
    hits = loc._true_positives(twice[0], twice[1], 0.5)
    assert hits.tolist() == [True, False]


def test_ar_counts_segments_recalled_by_the_first_n_proposals():
    files = {"a": A, "b": B}
    assert loc.average_recall(files, 1) == pytest.approx(0.5)  # the first proposal finds one of two
    # two proposals: the second segment is found at IoU 0.90000010 (float32), above 0.50 ... 0.90
    # but not 0.95
    assert loc.average_recall(files, 2) == pytest.approx((9 * 1.0 + 1 * 0.5) / 10)


def test_a_file_without_proposals_adds_nothing_to_ar():
    silent = (np.zeros((0, 3)), np.array([[0.0, 1.0]]))
    assert loc.average_recall({"a": A, "c": silent}, 2) == loc.average_recall({"a": A}, 2)


def test_proposals_threshold_merge_and_drop_short_segments():
    times = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.25])
    probs = np.array([0.1, 0.8, 0.9, 0.2, 0.7, 0.1])
    kept = loc.proposals(times, probs, threshold=0.5, merge_gap_s=0.0, min_length_s=0.0)
    np.testing.assert_allclose(kept, [[0.85, 0.25, 0.75], [0.7, 1.0, 1.25]])
    merged = loc.proposals(times, probs, threshold=0.5, merge_gap_s=0.25, min_length_s=0.0)
    np.testing.assert_allclose(merged, [[0.65, 0.25, 1.25]])
    long_only = loc.proposals(times, probs, threshold=0.5, merge_gap_s=0.0, min_length_s=0.5)
    np.testing.assert_allclose(long_only, [[0.85, 0.25, 0.75]])


def test_scores_name_every_threshold_and_count():
    out = loc.scores({"a": A, "b": B})
    assert list(out) == ["ap_0.5", "ap_0.75", "ap_0.9", "ap_0.95", "ar_50", "ar_30", "ar_20", "ar_10", "ar_5"]
    assert out["ap_0.5"] == pytest.approx(100 / 3)


def test_iou_and_its_thresholds_are_float32_as_the_official_evaluator_computes_them():
    """Segments on the 1/25-s frame grid whose exact IoU is 1/2, worked out by hand.

    (a) proposal [0, 0.28], label [0.12, 0.32]: overlap 0.16, span 0.32. In float64,
        0.28 - 0.12 = 0.16000000000000003 and the IoU is 0.5000000000000001 > 0.5: a hit. In float32,
        0.28f - 0.12f = 0.15999999642372131 (0.28f = 0.2800000011920929, 0.12f = 0.11999999731779099,
        the difference rounded to float32), 0.32f = 0.31999999284744263, and their quotient rounds to
        0.5 exactly, which is not above 0.5: a miss.
    (b) proposal [0, 0.36], label [0.04, 0.64]: overlap 0.32, span 0.64. In float64 the IoU is 0.5: a
        miss. In float32, 0.36f - 0.04f = 0.36000001430511475 - 0.03999999910593033 rounds up to
        0.32000002264976501, and / 0.64f (0.63999998569488525) = 0.5000000469…, which rounds to the
        float32 above 0.5, 0.50000005960464478: a hit.
    """
    a = {"a": (np.array([[0.9, 0.0, 0.28]]), np.array([[0.12, 0.32]]))}
    b = {"b": (np.array([[0.9, 0.0, 0.36]]), np.array([[0.04, 0.64]]))}
    assert loc.iou(a["a"][0][:, 1:], a["a"][1])[0, 0] == np.float32(0.5)
    assert loc._true_positives(*a["a"], 0.5).tolist() == [False]
    assert loc.average_recall(a, 5, ious=(0.5,)) == 0.0
    assert loc.iou(b["b"][0][:, 1:], b["b"][1])[0, 0] == np.float32(0.50000005960464478)
    assert loc._true_positives(*b["b"], 0.5).tolist() == [True]
    assert loc.average_recall(b, 5, ious=(0.5, 0.55)) == 0.5


def test_ap_is_nan_where_no_file_has_a_fake_segment():
    real = {"r": (np.array([[0.8, 0.0, 1.0]]), np.zeros((0, 2)))}
    assert np.isnan(loc.average_precision(real, 0.5))
