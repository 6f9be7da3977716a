"""The embedded synthetic dataset: deterministic, real MP4s, real faces, FakeAVCeleb metadata."""

import csv

import numpy as np
import pytest
from conftest import tracker

from avdf.data.fakeavceleb import read_metadata
from avdf.media import ffmpeg
from avdf.synthetic import generator as synthetic


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, tiny_synth_cfg):
    cfg = dict(tiny_synth_cfg, faulty_clips=3)
    a = synthetic.generate(tmp_path_factory.mktemp("a"), "synth_fakeavceleb", "fakeavceleb", cfg)
    b = synthetic.generate(tmp_path_factory.mktemp("b"), "synth_fakeavceleb", "fakeavceleb", cfg, workers=2)
    return a, b


def test_same_seed_gives_identical_metadata_and_bytes(two_runs):
    a, b = two_runs
    assert a.read_bytes() == b.read_bytes()
    for pa, pb in zip(read_metadata(a)[0]["path"], read_metadata(b)[0]["path"], strict=True):
        with open(pa, "rb") as fa, open(pb, "rb") as fb:
            assert fa.read() == fb.read(), pa


def test_same_seed_gives_identical_decoded_content(two_runs):
    a, b = two_runs
    pa, pb = read_metadata(a)[0]["path"][0], read_metadata(b)[0]["path"][0]
    assert np.array_equal(ffmpeg.read_video(pa, 25)[0], ffmpeg.read_video(pb, 25)[0])
    assert np.array_equal(ffmpeg.read_audio(pa, 16000), ffmpeg.read_audio(pb, 16000))


def test_another_seed_gives_other_clips(tmp_path, tiny_synth_cfg, two_runs):
    c = synthetic.generate(
        tmp_path, "synth_fakeavceleb", "fakeavceleb", dict(tiny_synth_cfg, seed=7, faulty_clips=3)
    )
    first = read_metadata(c)[0]["path"][0]
    assert open(first, "rb").read() != open(read_metadata(two_runs[0])[0]["path"][0], "rb").read()


def test_metadata_is_fakeavceleb_format(two_runs):
    lines = two_runs[0].read_text().splitlines()
    assert lines[0] == "source,target1,target2,method,category,type,race,gender,path,"
    rows = list(csv.reader(lines[1:]))
    assert all(len(r) == 10 for r in rows)
    assert {r[4] for r in rows} == {"A", "B", "C", "D"}
    assert all("(" in r[6] and " " in r[9] for r in rows)  # awkward folder names on purpose


def test_clips_are_h264_aac_mp4_with_a_face(two_runs):
    clips, _ = read_metadata(two_runs[0])
    good = clips[~clips["path"].str.contains("/9000")]
    for path in good["path"]:
        info = ffmpeg.probe(path)
        assert info.has_video and info.has_audio and info.fps == 25.0
        track = tracker(keyframe_interval=10).track(ffmpeg.read_video(path, 25)[0])
        assert np.isfinite(track.boxes).all()
        width = track.boxes[:, 2] - track.boxes[:, 0]
        assert (width > 40).all()


def test_faulty_clips_are_faulty(two_runs):
    paths = {p.split("/")[-1]: p for p in read_metadata(two_runs[0])[0]["path"]}
    assert not ffmpeg.probe(paths["90000.mp4"]).has_audio
    with pytest.raises(ffmpeg.MediaError, match="corrupt"):
        ffmpeg.probe(paths["90002.mp4"])


def test_categories_share_identities(params):
    """No identity is more often fake than real, so identity is no shortcut to the label."""
    jobs, rows = synthetic.plan("/tmp/unused", "x", "dfdc", dict(params["synth"], faulty_clips=0))
    by_category = {}
    for job in jobs:
        by_category.setdefault(job.category, []).append(job.who.name)
    counts = {c: sorted(np.unique(names, return_counts=True)[1]) for c, names in by_category.items()}
    assert len({tuple(v) for v in counts.values()}) == 1


def test_fake_audio_differs_from_real_only_where_it_should(tiny_synth_cfg):
    """RVFA keeps the real video; FVRA keeps the real audio (the same seed otherwise)."""
    people = synthetic.identities(0, "dfdc", 3)
    clip = {
        c: synthetic.render_clip(tiny_synth_cfg, "dfdc", people[0], people[1], c, np.random.default_rng(5))
        for c in "ABC"
    }
    assert np.array_equal(clip["A"][0], clip["B"][0]) and not np.array_equal(clip["A"][1], clip["B"][1])
    assert np.array_equal(clip["A"][1], clip["C"][1]) and not np.array_equal(clip["A"][0], clip["C"][0])


def test_frames_can_be_landscape_or_portrait_with_the_face_at_the_same_scale():
    """A (width, height) frame shows the face at the same size as a square frame of its shorter
    side, centred; a square frame is unchanged by the (width, height) form."""
    import numpy as np

    from avdf.synthetic.portraits import HeadMotion, identity_portrait, view

    src = identity_portrait("astronaut", False, np.ones(3))
    still = HeadMotion.sample(np.random.default_rng(0))
    background = np.array([40, 40, 40])
    square = view(src.image, still, 0.0, 180, background)
    assert np.array_equal(view(src.image, still, 0.0, (180, 180), background), square)
    wide = view(src.image, still, 0.0, (320, 180), background)
    tall = view(src.image, still, 0.0, (180, 320), background)
    assert wide.shape == (180, 320, 3) and tall.shape == (320, 180, 3)
    assert np.abs(wide[:, 70:250].astype(int) - square).mean() < 2  # the middle is the square frame
    assert np.abs(tall[70:250].astype(int) - square).mean() < 2


REAL_SHAPE = {
    "clips": 10,
    "sizes": [[96, 54], [54, 96]],
    "fps": [25, 30],
    "duration_s": [1.0, 1.6],
    "category_share": [500, 500, 9709, 10857],  # FakeAVCeleb's category counts
    "fake_lead_silence_s": [0.3, 0.5],
}


def test_a_real_shaped_family_varies_size_rate_duration_and_balance(tmp_path, tiny_synth_cfg):
    """real_shape: landscape and portrait frames, 25 and 30 fps, durations over a range, categories
    in FakeAVCeleb's proportions (each at least once), and leading silence on fakes only."""
    import numpy as np

    from avdf.media import ffmpeg
    from avdf.synthetic.generator import category_counts, generate, plan

    cfg = tiny_synth_cfg | {"real_shape": REAL_SHAPE, "faulty_clips": 0, "identities": 4}
    counts = category_counts(cfg)
    assert sum(counts.values()) == 10 and counts["A"] == counts["B"] == 1 and counts["D"] >= counts["C"]
    jobs, _ = plan(tmp_path, "real", "fakeavceleb", cfg)
    shapes = {(tuple(j.cfg["frame_size"]), j.cfg["fps"]) for j in jobs}
    assert {s for s, _ in shapes} == {(96, 54), (54, 96)} and {f for _, f in shapes} == {25, 30}
    assert all(1.0 <= j.cfg["duration_s"] <= 1.6 for j in jobs)
    assert all((j.lead_s > 0) == (j.category != "A") for j in jobs)
    generate(tmp_path, "real", "fakeavceleb", cfg)
    for job in jobs[:4]:  # A, B, then two fakes
        info = ffmpeg.probe(job.dest)
        audio = ffmpeg.read_audio(job.dest, 16000)
        lead = np.abs(audio[: int(0.25 * 16000)]).max()
        assert (info.width, info.height) == tuple(job.cfg["frame_size"])
        assert (lead < 0.01) == (job.category != "A"), job.category


def test_clips_of_other_generator_code_are_not_kept(monkeypatch, params):
    """A rerun of the synth stage keeps the clips an interrupted run left only when both the
    parameters and the generator's code are the same: a changed manipulation with unchanged
    parameters (issue 33's stand-in) must not leave clips of the old one on disk."""
    from avdf.contracts import fingerprints
    from avdf.synthetic import generator

    before = generator._params_fingerprint(params["synth"], "lavdf")
    assert generator._params_fingerprint(params["synth"], "lavdf") == before  # same code: resumed
    monkeypatch.setattr(fingerprints, "code_fingerprint", lambda *modules: "another")
    assert generator._params_fingerprint(params["synth"], "lavdf") != before
