"""The page `avdf predict --report` writes (avdf.evaluation.video_report), and the slimmer JSON (issue 34)."""

import json
import re

import pytest

from avdf.evaluation import predict, video_report
from avdf.evaluation.video_report import PAD, WIDTH


def _result(**extra) -> dict:
    return {
        "path": "clip.mp4",
        "prob_fake": 0.8,
        "fake": True,
        "threshold": 0.5,
        "duration_s": 4.0,
        "window_s": 2.0,
        "windows": [{"start_s": 0.0, "prob_fake": 0.2}, {"start_s": 2.0, "prob_fake": 0.9}],
        "per_second": [{"second": i, "audio": 0.1 * i, "video": 0.2} for i in range(4)],
        "fake_segments": [[0.9, 1.0, 2.0]],
        "face_track": {"boxes": [[0, 0, 10, 10]] * 100, "keyframes": [0, 10]},
        **extra,
    }


def test_timeline_places_segments_at_their_seconds():
    """4 s over the 850 px between the left margin (40) and the right one (10): 1 s is 212.5 px, so
    the predicted segment 1-2 s starts at x = 252.5 and the true one 0.5-1.5 s at 146.25."""
    svg = video_report.timeline(_result(), [[0.5, 1.5]])
    numbers = r'x="([\d.]+)" y="[\d.]+" width="([\d.]+)"'
    predicted = re.search(
        r'class="predicted" data-start="1.0000" data-end="2.0000" data-score="0.9000" ' + numbers, svg
    )
    truth = re.search(r'class="truth" data-start="0.5000" data-end="1.5000" ' + numbers, svg)
    px = (WIDTH - PAD - 10) / 4
    assert float(predicted[1]) == pytest.approx(PAD + px, abs=0.05)
    assert float(predicted[2]) == pytest.approx(px, abs=0.05)
    assert float(truth[1]) == pytest.approx(PAD + 0.5 * px, abs=0.06)
    assert 'class="threshold"' in svg and 'class="audio"' in svg and 'class="video"' in svg


def test_a_fake_clip_without_periods_is_fake_throughout(tmp_path):
    manifest = tmp_path / "m.csv"
    manifest.write_text(
        'clip_id,path,label,fake_periods\na,a.mp4,0,[]\nb,b.mp4,1,"[[0.5, 1.25]]"\nc,c.mp4,1,\n'
    )
    truth = video_report.truth_from_manifest(manifest)
    assert list(truth.values()) == [[], [[0.5, 1.25]], "whole"]
    svg = video_report.timeline(_result(), "whole")
    assert 'class="truth" data-start="0.0000" data-end="4.0000"' in svg
    (tmp_path / "bad.csv").write_text("clip_id,label\na,0\n")
    with pytest.raises(ValueError, match="bad.csv: no path column"):
        video_report.truth_from_manifest(tmp_path / "bad.csv")


def test_the_page_lists_what_was_not_scored_and_fetches_nothing(tmp_path):
    out = tmp_path / "r.html"
    detector = {"source": "runs/x/model.pt", "method": "macbdf", "train_dataset": "synth_dfdc"}
    video_report.write_report(
        [_result(), {"path": "gone.mp4", "error": "file not found: gone.mp4"}], out, None, detector
    )
    page = out.read_text()
    assert "trained on synth_dfdc" in page and "synthetic data" in page
    assert "1 video(s) scored, 1 not" in page and "file not found: gone.mp4" in page
    assert 'class="verdict fake">FAKE' in page
    assert not re.search(r'(src|href)="(https?:)?//', page)  # opens offline


def test_the_json_keeps_face_boxes_only_with_tracks(tmp_path):
    results = [_result(), {"path": "gone.mp4", "error": "x"}]
    predict.write(results, str(tmp_path / "slim.json"))
    predict.write(results, str(tmp_path / "full.json"), tracks=True)
    slim, full = (json.loads((tmp_path / f"{n}.json").read_text()) for n in ("slim", "full"))
    assert slim[0]["face_track"] == {"keyframes": [0, 10]} and len(full[0]["face_track"]["boxes"]) == 100
    assert results[0]["face_track"]["boxes"]  # the caller's results keep them (the report draws them)


def test_the_key_names_only_what_the_timeline_can_draw():
    """A model without frame heads or segment proposals (an audio-only one) has no key for them,
    and the true segments are keyed only where they are given."""
    full = video_report.timeline(_result(), [[0.5, 1.5]])
    assert all(k in full for k in ("audio head", "video head", "predicted fake", "true fake"))
    audio_only = {
        k: v for k, v in _result().items() if k not in ("per_second", "fake_segments", "face_track")
    }
    plain = video_report.timeline(audio_only, None)
    assert "windows (fused)" in plain and "threshold" in plain
    assert not any(k in plain for k in ("audio head", "video head", "predicted fake", "true fake"))
