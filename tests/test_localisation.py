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


# --- the stand-in, the boundary localiser and the challenge files (issue 33) ---


def test_the_stand_in_has_one_to_four_frame_grid_edits_of_0_2_to_1_5_s_in_4_to_10_s_clips():
    import yaml
    from conftest import REPO

    from avdf.synthetic import generator

    cfg = yaml.safe_load((REPO / "params.yaml").read_text())["synth"]
    jobs, _ = generator.plan("/nonexistent", "synth_lavdf", "lavdf", cfg)
    clips = [j for j in jobs if j.fault is None]
    assert all(4.0 <= j.cfg["duration_s"] <= 10.0 for j in clips)
    fakes = [j for j in clips if j.category != "A"]
    assert {len(j.periods) for j in fakes} == {1, 2, 3, 4} and not any(
        j.periods for j in clips if j.category == "A"
    )
    assert {j.category for j in fakes} == {"B", "C", "D"}  # audio-only, visual-only, both
    for j in fakes:
        edges = np.asarray(j.periods).ravel()
        assert np.allclose(edges * 25, np.round(edges * 25), atol=1e-6)  # on the 1/25-s grid
        lengths = np.diff(np.asarray(j.periods), axis=1)
        assert (lengths >= 0.2 - 1e-9).all() and (lengths <= 1.5 + 1e-9).all()
        assert (np.diff(edges) > 0).all() and edges[0] > 0 and edges[-1] < j.cfg["duration_s"]


def test_a_step_learns_the_shortest_segment_near_its_middle_at_its_level():
    import torch

    from avdf.learning.losses.boundary import assign, level_ranges

    # level 0 (stride 1): steps at 0.5, 1.5, ...; segment [2, 6): offsets up to 4 -> level 0 range (0, 4]
    centres = torch.tensor([0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 2.0, 6.0])
    strides = torch.tensor([1.0] * 7 + [2.0, 2.0])
    ranges = torch.cat(
        [level_ranges(2, torch.device("cpu"))[[0] * 7], level_ranges(2, torch.device("cpu"))[[1, 1]]]
    )
    segments = torch.tensor([[[2.0, 6.0], [0.0, 0.0]]])  # the second row is padding
    labels, target = assign(centres, strides, ranges, segments, radius=1.5)
    # centre 4; within 1.5 strides: 2.5, 3.5, 4.5, 5.5; level 1 steps reach 4 at most: (4, 8] excludes them
    assert labels[0].tolist() == [0, 0, 1, 1, 1, 1, 0, 0, 0]
    assert target[0, 2].tolist() == [2.0, 6.0]


def test_diou_is_one_for_a_perfect_segment_and_penalises_distance():
    import torch

    from avdf.learning.losses.boundary import diou_1d

    target = torch.tensor([[2.0, 6.0], [2.0, 6.0]])
    pred = torch.tensor([[2.0, 6.0], [8.0, 10.0]])
    d = diou_1d(pred, target)
    assert d[0] == 1.0 and torch.isclose(d[1], torch.tensor(0.0 - (5.0 / 8.0) ** 2))


def test_soft_nms_keeps_near_duplicates_with_decayed_scores():
    cands = np.array([[0.9, 1.0, 2.0], [0.8, 1.0, 2.0], [0.7, 5.0, 6.0]])
    out = loc.soft_nms(cands, sigma=0.5, keep=10)
    assert out[0].tolist() == [0.9, 1.0, 2.0] and out[1].tolist() == [0.7, 5.0, 6.0]
    assert np.isclose(out[2, 0], 0.8 * np.exp(-1 / 0.5))  # the duplicate, IoU 1, last
    assert len(loc.soft_nms(cands, 0.5, keep=2)) == 2


def test_a_segment_across_a_window_seam_is_proposed_once_whole():
    """Windows of 100 frames every 50: steps of the first window see [90, 100) of a segment
    [90, 110); the second, centred at 100, sees it whole and owns it; the first's cut proposal
    is dropped, so one proposal covers the segment."""
    from types import SimpleNamespace

    from avdf.evaluation import boundaries

    spec = SimpleNamespace(video_len=100, fps=25)  # what video_proposals reads of an InputSpec
    cls = np.full((2, 3), -9.0)
    bounds = np.zeros((2, 3, 2))
    cls[0, 0], bounds[0, 0] = 3.0, [90, 100]  # window 0 (frames 0-99): the cut part
    cls[1, 0], bounds[1, 0] = 2.0, [40, 60]  # window 1 (frames 50-149): the whole, at its middle
    out = {"cls": cls, "bounds": bounds, "edges": np.full((2, 100, 2), -9.0)}
    decoding = {"snap": True, "nms_sigma": 0.5, "max_proposals": 5, "refine_frames": 3}
    props = boundaries.video_proposals(out, [0, 50], 150, spec, decoding)
    assert props[0, 1:].tolist() == [3.6, 4.4] and np.isclose(props[0, 0], 1 / (1 + np.exp(-2.0)))
    assert not any(np.allclose(p[1:], [3.6, 4.0]) for p in props)


def test_challenge_scores_are_the_mean_of_mean_ap_and_mean_ar():
    scores = {f"ap_{t}": 80.0 for t in loc.AP_IOUS} | {f"ar_{n}": 60.0 for n in loc.AR_PROPOSALS}
    assert loc.challenge_score(scores) == 0.7


def _read_as_the_evaluator_does(text: str, metadata: list[str]) -> dict:
    """The official evaluator's reading of a localisation submission: a JSON object; every file of
    the metadata a key (else "no entry found for key"); each value an (n, 3) array of numbers with
    n > 0 (an empty list panics: "shape should be allocated by now")."""
    import json

    submission = json.loads(text)
    out = {}
    for name in metadata:
        if name not in submission:
            raise KeyError(f"no entry found for key {name}")
        rows = submission[name]
        if not rows or any(len(r) != 3 for r in rows):
            raise ValueError("internal error: shape should be allocated by now")
        out[name] = np.asarray(rows, np.float32)
    return out


def test_challenge_files_give_every_video_an_entry_the_evaluator_reads(tmp_path):
    from avdf.evaluation import predict

    results = [
        {
            "path": str(tmp_path / "a/1.mp4"),
            "prob_fake": 0.9,
            "fake_segments": [[0.8, 1.0, 1.4], [0.7, 2.0, 2.4]],
        },
        {"path": str(tmp_path / "a/2.mp4"), "prob_fake": 0.1, "fake_segments": []},  # nothing found
        {"path": str(tmp_path / "b/3.mp4"), "error": "corrupt or unreadable container"},
    ]
    out = tmp_path / "sub.json"
    missing = predict.write_submission(results, str(out), "localisation", tmp_path)
    assert missing == [str(tmp_path / "b/3.mp4")]  # named on stderr by avdf predict
    read = _read_as_the_evaluator_does(out.read_text(), ["a/1.mp4", "a/2.mp4", "b/3.mp4"])
    assert read["a/2.mp4"].tolist() == [[0.0, 0.0, 0.0]] == read["b/3.mp4"].tolist()
    with pytest.raises(ValueError, match="shape should be allocated"):  # the check itself can fail
        _read_as_the_evaluator_does('{"a/1.mp4": []}', ["a/1.mp4"])
    truth = np.array([[1.0, 1.4], [2.0, 2.4]])
    files = {k: (v, truth if k == "a/1.mp4" else np.zeros((0, 2))) for k, v in read.items()}
    # the official curve starts at the first proposal's recall (1/2 here): AP 1/2 with or without
    # the entries of nothing, which rank last
    assert loc.average_precision(files, 0.5) == 0.5 == loc.average_precision({"a": files["a/1.mp4"]}, 0.5)
    detection = tmp_path / "det.txt"
    predict.write_submission(results, str(detection), "detection", tmp_path)
    assert [line.split(";")[0] for line in detection.read_text().splitlines()] == [
        "a/1.mp4",
        "a/2.mp4",
        "b/3.mp4",
    ]


def test_an_audio_edit_of_the_stand_in_changes_its_segments_and_nothing_else():
    """Inside every labelled segment the soundtrack is another recording; outside (past the 10-ms
    crossfades) it is the true one, sample for sample: the labels say where the edit is."""
    import yaml
    from conftest import REPO

    from avdf.synthetic import generator

    cfg = yaml.safe_load((REPO / "params.yaml").read_text())["synth"]
    jobs, _ = generator.plan("/nonexistent", "synth_lavdf", "lavdf", cfg)
    job = next(j for j in jobs if j.category == "B" and len(j.periods) >= 2)

    def soundtrack(category, periods):
        rng = np.random.default_rng(list(job.rng_key))
        return generator.render_stream(job.cfg, "lavdf", job.who, job.donor, category, rng, periods)[1]

    fake, real = soundtrack("B", job.periods), soundtrack("A", ())
    t = np.arange(len(real)) / cfg["sample_rate"]
    near = np.any([np.abs(t - e) < 0.02 for e in np.ravel(job.periods)], axis=0)
    inside = generator.inside(job.periods, t)
    assert np.array_equal(fake[~inside & ~near], real[~inside & ~near])
    for a, b in job.periods:
        part = (t >= a + 0.02) & (t < b - 0.02)
        assert np.mean(fake[part] != real[part]) > 0.9, (a, b)


def test_refinement_moves_an_end_to_a_likely_boundary_frame_nearby_only():
    from avdf.evaluation import boundaries

    bounds = np.array([[[10.4, 30.0], [50.0, 60.0]]])  # one window, two proposals, in its frames
    edges = np.full((1, 100, 2), -5.0)
    edges[0, 12, 0] = 2.0  # a likely start 2 frames from the first proposal's
    edges[0, 40, 1] = 2.0  # a likely end 10 frames from its end: out of reach
    edges[0, 58, 1] = -1.0  # probability 0.27: above EDGE_PROBABILITY (0.2)
    refined = boundaries.refine(bounds, edges, radius=3)
    assert refined.tolist() == [[[12.0, 30.0], [50.0, 58.0]]]
    assert boundaries.refine(bounds, edges, radius=0) is bounds


def test_edge_targets_mark_segment_ends_inside_the_window_only():
    import torch

    from avdf.learning.losses.boundary import edge_targets

    segments = torch.tensor([[[0.0, 5.0], [8.0, 10.0], [0.0, 0.0]]])  # the first cut by the window's start
    target = edge_targets(segments, 10)
    assert target[0, :, 0].nonzero().ravel().tolist() == [8]  # starts: not 0 (the window's edge)
    assert target[0, :, 1].nonzero().ravel().tolist() == [5]  # ends: not 10 (past the window)


@pytest.mark.parametrize("pool", [1, 4])
def test_the_localiser_reads_its_crops_at_a_fraction_of_their_side(params, pool):
    """localiser.crop_pool: the loader decodes the crops smaller (avdf.media.crop_cache); the model
    takes them as they come, and its step runs on them."""
    import torch

    from avdf.contracts import methods
    from avdf.learning import model_sizes

    params = {**params, "localiser": {**params["localiser"], "crop_pool": pool}}
    assert methods.reads("boundary", methods.section("boundary", params)).crop_scale == pool
    batch = model_sizes.one_batch(params, 2, "boundary")
    assert batch["video"].shape[-1] == params["faces"]["crop_size"] // pool
    model = model_sizes.build(params, "boundary")
    loss, _ = model.loss(model(batch), batch)
    loss.backward()
    assert torch.isfinite(loss)
