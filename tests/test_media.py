"""Demux, face tracks, face crops and log-Mel (eq. 1) on real and bad clips."""

import numpy as np
import pandas as pd
import pytest
import torch
import torchaudio
from conftest import FACES, demux_spec, tracker

from avdf.media import ffmpeg
from avdf.media.face_crops import crop_faces
from avdf.media.log_mel import LOG_FLOOR, LogMel
from avdf.stages import demux as demux_stage
from avdf.stages import face_tracks


def test_audio_is_extracted_as_16k_mono_wav(face_clip, tmp_path):
    ffmpeg.extract_audio(face_clip, tmp_path / "a.wav", 16000)
    audio, rate = ffmpeg.read_wav(tmp_path / "a.wav")
    assert rate == 16000 and abs(len(audio) - 16000) < 1100 and np.abs(audio).max() > 0.05


def test_video_is_read_at_25fps_and_scaled_down_on_request(tmp_path, face_clip):
    """A 30 fps clip with 48 kHz audio is read at 25 fps and 16 kHz; max_side scales the frames."""
    frames = ffmpeg.read_video(face_clip, 25)[0]
    audio = ffmpeg.read_audio(face_clip, 48000)
    src = tmp_path / "odd.mp4"
    ffmpeg.encode_clip(frames[:24], audio[:48000], 48000, 30, src)  # 0.8 s at 30 fps
    full, scale = ffmpeg.read_video(src, 25)
    assert scale == 1.0 and len(full) == 20 and full.shape[1:] == frames.shape[1:]
    small, scale = ffmpeg.read_video(src, 25, max_side=80)
    assert len(small) == 20 and max(small.shape[1:3]) == 80 and scale == 80 / frames.shape[2]
    ffmpeg.extract_audio(src, tmp_path / "a.wav", 16000)
    assert ffmpeg.read_wav(tmp_path / "a.wav")[1] == 16000


def test_probe_names_the_problem(bad_clips):
    assert not ffmpeg.probe(bad_clips["no_audio"]).has_audio
    with pytest.raises(ffmpeg.MediaError, match="corrupt"):
        ffmpeg.probe(bad_clips["corrupt"])
    with pytest.raises(ffmpeg.MediaError, match="empty file"):
        ffmpeg.probe(bad_clips["empty"])


def test_tracker_follows_the_face_and_rejects_no_face(face_clip, bad_clips):
    frames = ffmpeg.read_video(face_clip, 25)[0]
    track = tracker(keyframe_interval=5).track(frames)
    assert (
        track.boxes.shape == (len(frames), 4) and track.keyframes.sum() == len(range(0, len(frames), 5)) + 1
    )
    # interpolated boxes agree with per-frame detection (IoU)
    full = tracker(keyframe_interval=1).track(frames).boxes
    inter = np.clip(
        np.minimum(track.boxes[:, 2:], full[:, 2:]) - np.maximum(track.boxes[:, :2], full[:, :2]), 0, None
    )
    area = lambda b: (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])  # noqa: E731
    iou = inter.prod(1) / (area(track.boxes) + area(full) - inter.prod(1))
    assert iou.mean() > 0.85
    with pytest.raises(ffmpeg.MediaError, match="no detectable face"):
        tracker(keyframe_interval=5).track(ffmpeg.read_video(bad_clips["no_face"], 25)[0])


def test_crops_are_uint8_squares():
    frames = np.random.default_rng(0).integers(0, 255, (3, 100, 120, 3), dtype=np.uint8)
    boxes = np.array([[10, 10, 50, 60], [0, 0, 30, 30], [90, 70, 130, 110]], np.float32)  # last one off-frame
    crops = crop_faces(frames, boxes, 32, 0.2)
    assert crops.shape == (3, 32, 32, 3) and crops.dtype == np.uint8


def test_log_mel_is_equation_1():
    """M(t, m) = sum_f H_m(f) |S(t, f)|^2, then log; computed by hand from an STFT and the filter bank."""
    wave = torch.randn(4000, generator=torch.Generator().manual_seed(0))
    ours = LogMel(16000, n_fft=400, win_length=400, hop_length=160, n_mels=40, f_min=20.0, f_max=8000.0)(wave)
    spec = (
        torch.stft(
            wave,
            400,
            160,
            window=torch.hann_window(400),
            center=True,
            pad_mode="reflect",
            return_complex=True,
        ).abs()
        ** 2
    )  # (f, t)
    fb = torchaudio.functional.melscale_fbanks(201, 20.0, 8000.0, 40, 16000)  # (f, m)
    by_hand = torch.log(fb.T @ spec + LOG_FLOOR)
    assert torch.allclose(ours, by_hand, atol=1e-4)


def _manifest(tmp_path, paths):
    rows = [
        {
            "clip_id": f"c{i}",
            "path": str(p),
            "label": 0,
            "video_fake": 0,
            "audio_fake": 0,
            "category": "RVRA",
            "identity": "x",
            "method": "real",
            "split": "train",
        }
        for i, p in enumerate(paths)
    ]
    pd.DataFrame(rows).to_csv(tmp_path / "manifest.csv", index=False)
    return tmp_path / "manifest.csv"


def test_bad_clips_are_rejected_with_reasons_and_good_ones_pass(tmp_path, face_clip, bad_clips):
    manifest = _manifest(
        tmp_path,
        [
            face_clip,
            bad_clips["no_audio"],
            bad_clips["corrupt"],
            bad_clips["no_face"],
            bad_clips["empty"],
            tmp_path / "missing.mp4",
        ],
    )
    demux_stage.run(str(manifest), str(tmp_path / "demux"), str(tmp_path / "demux/index.csv"), demux_spec())
    demux = pd.read_csv(tmp_path / "demux/index.csv", keep_default_na=False).set_index("clip_id")
    assert demux.loc["c0", "status"] == "ok"
    assert demux.loc["c1", "reason"] == "no audio stream"
    assert demux.loc["c2", "reason"].startswith("corrupt or unreadable container")
    assert demux.loc["c4", "reason"] == "empty file (0 bytes)"
    assert demux.loc["c5", "reason"].startswith("file not found")
    assert demux.loc["c3", "status"] == "ok"  # a faceless clip demuxes fine ...
    face_tracks.run(
        str(tmp_path / "demux/index.csv"),
        str(tmp_path / "demux"),
        str(tmp_path / "faces"),
        str(tmp_path / "faces/index.csv"),
        FACES,
    )
    faces = pd.read_csv(tmp_path / "faces/index.csv", keep_default_na=False).set_index("clip_id")
    assert list(faces.index) == ["c0", "c3"]
    assert faces.loc["c0", "status"] == "ok"
    assert faces.loc["c3", "reason"].startswith("no detectable face")  # ... and is rejected here


def _box_centre_x(boxes):
    return (boxes[:, 0] + boxes[:, 2]) / 2


def test_a_scene_cut_forces_a_detection_and_the_track_follows_the_new_shot(face_clip):
    frames = ffmpeg.read_video(face_clip, 25)[0][:20]  # 160x160, the face in the middle
    canvas = np.zeros((20, 160, 400, 3), np.uint8)
    canvas[:11, :, :160] = frames[:11]  # shot 1: face on the left
    canvas[11:, :, 240:] = frames[11:]  # shot 2 (cut at frame 11): face on the right
    track = tracker(keyframe_interval=10, scene_cut_threshold=10).track(canvas)
    assert track.keyframes[10] and track.keyframes[11]  # both sides of the cut were detected
    x = _box_centre_x(track.boxes)
    assert (x[:11] < 160).all() and (x[11:] > 240).all()  # no box interpolated across the cut


def test_with_two_faces_the_policy_picks_the_track(face_clip):
    frames = ffmpeg.read_video(face_clip, 25)[0][:21]
    small = frames[:, ::2, ::2]  # the same face at half size
    canvas = np.zeros((21, 160, 400, 3), np.uint8)
    canvas[:, 40:120, 10:90] = small  # a small face on every frame
    canvas[:11, :, 240:] = frames[:11]  # a large face on the first half only
    largest = tracker(keyframe_interval=5, track_policy="largest", scene_cut_threshold=255).track(canvas)
    persistent = tracker(keyframe_interval=5, track_policy="persistent", scene_cut_threshold=255).track(
        canvas
    )
    assert (_box_centre_x(largest.boxes)[:10] > 240).all()
    assert (_box_centre_x(persistent.boxes) < 100).all()


@pytest.mark.parametrize("how", ["by the tracker", "by ffmpeg"])
def test_detection_on_scaled_down_frames_finds_the_same_boxes(face_clip, tmp_path, how):
    """At half size (as 640x360 -> detect_max_side 320), in source pixels, whether the tracker
    scales the frames or ffmpeg decodes them scaled (as the faces stage does)."""
    frames = ffmpeg.read_video(face_clip, 25)[0][:10]
    big = np.repeat(np.repeat(frames, 2, axis=1), 2, axis=2)  # 320x320
    full = tracker(keyframe_interval=1).detect(big)
    if how == "by the tracker":
        small = tracker(keyframe_interval=1, detect_max_side=160).detect(big)
    else:
        ffmpeg.encode_clip(big, None, 16000, 25, tmp_path / "big.mp4", crf=10)
        scaled, scale = ffmpeg.read_video(tmp_path / "big.mp4", 25, max_side=160)
        small = tracker(keyframe_interval=1, detect_max_side=160).detect(scaled[:10], scale)
    ious = []
    for (a, _), (b, _) in zip(full, small, strict=True):
        assert len(a) == len(b) == 1
        inter = np.clip(np.minimum(a[0, 2:], b[0, 2:]) - np.maximum(a[0, :2], b[0, :2]), 0, None).prod()
        union = np.prod(a[0, 2:] - a[0, :2]) + np.prod(b[0, 2:] - b[0, :2]) - inter
        ious.append(inter / union)
    # MTCNN's boxes wobble from frame to frame at any size (0.85-0.97 here); on average they agree
    assert np.mean(ious) > 0.88 and min(ious) > 0.75, np.round(ious, 2)


def test_a_rejection_is_finished_work_and_is_not_redone(tmp_path, bad_clips, caplog):
    caplog.set_level("INFO")
    manifest = _manifest(tmp_path, [bad_clips["corrupt"]])
    args = (str(manifest), str(tmp_path / "demux"), str(tmp_path / "demux/index.csv"), demux_spec())
    demux_stage.run(*args)
    caplog.clear()
    demux_stage.run(*args)
    index = pd.read_csv(tmp_path / "demux/index.csv", keep_default_na=False)
    assert index.loc[0, "status"] == "rejected" and index.loc[0, "reason"].startswith("corrupt")
    assert "1 reused from an earlier run" in caplog.text and "rejected /" not in caplog.text


def test_encoding_and_decoding_do_not_depend_on_the_cpus_vector_units(tmp_path, monkeypatch):
    """The same frames give the same H.264 and decode to the same pixels whether ffmpeg may use
    every SIMD instruction set of this CPU or none (``-cpuflags 0``, through AVDF_FFMPEG): swscale
    rounds differently per instruction set unless asked to be bit-exact."""
    rng = np.random.default_rng(0)
    frames = np.clip(np.cumsum(rng.integers(0, 9, (6, 48, 64, 3)), axis=2), 0, 255).astype(np.uint8)
    plain = tmp_path / "ffmpeg-no-simd"
    plain.write_text(f'#!/bin/sh\nexec "{ffmpeg.ffmpeg_exe()}" -cpuflags 0 "$@"\n')
    plain.chmod(0o755)

    def encode_then_decode(name):
        dest = tmp_path / f"{name}.mp4"
        ffmpeg.encode_clip(frames, None, 16000, 25, dest)
        return dest.read_bytes(), ffmpeg.read_video(dest, 25, max_side=40)[0]

    native = encode_then_decode("native")
    monkeypatch.setenv("AVDF_FFMPEG", str(plain))
    ffmpeg.ffmpeg_exe.cache_clear()
    try:
        no_simd = encode_then_decode("no-simd")
    finally:
        ffmpeg.ffmpeg_exe.cache_clear()
    assert native[0] == no_simd[0]
    np.testing.assert_array_equal(native[1], no_simd[1])


def test_frames_streamed_to_the_encoder_make_the_same_file_as_frames_held(tmp_path):
    """A clip's frames may come one at a time (the synthesis of long clips holds one frame, not 1.7
    GB): the encoder receives the same bytes either way, and no frames at all is a clear error."""
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 255, (12, 48, 64, 3), dtype=np.uint8)
    audio = rng.uniform(-0.3, 0.3, 16000).astype(np.float32)
    held, streamed = tmp_path / "held.mp4", tmp_path / "streamed.mp4"
    ffmpeg.encode_clip(frames, audio, 16000, 25, held)
    ffmpeg.encode_clip((f for f in frames), audio, 16000, 25, streamed)
    assert held.read_bytes() == streamed.read_bytes()
    assert ffmpeg.read_video(streamed, 25)[0].shape == (12, 48, 64, 3)
    with pytest.raises(ffmpeg.MediaError, match="empty.mp4.*no frames"):
        ffmpeg.encode_clip(iter([]), None, 16000, 25, tmp_path / "empty.mp4")


def test_every_frame_of_a_long_clip_can_be_kept(tmp_path):
    """The localiser's crops keep every frame: 250 frames (10 s) as one ``between`` run, not 250
    ``eq`` terms, which ffmpeg refuses ("Cannot allocate memory")."""
    frames = np.repeat(np.arange(250, dtype=np.uint8)[:, None, None, None], 16, 1).repeat(16, 2).repeat(3, 3)
    ffmpeg.encode_clip(frames, None, 16000, 25, tmp_path / "long.mp4")
    assert ffmpeg.select_expression(np.arange(250)) == "between(n,0,249)"
    assert ffmpeg.select_expression(np.array([0, 1, 2, 5, 7, 8])) == "between(n,0,2)+eq(n,5)+between(n,7,8)"
    video, _ = ffmpeg.read_video(tmp_path / "long.mp4", 25, keep=np.arange(250))
    assert len(video) == 250
    kept, _ = ffmpeg.read_video(tmp_path / "long.mp4", 25, keep=np.array([3, 100, 101, 240]))
    assert np.abs(kept[:, 8, 8, 0].astype(int) - [3, 100, 101, 240]).max() <= 3  # the frames asked for


def test_x264_is_capped_at_avx2_only_where_the_cpu_has_all_of_it():
    """x264's AVX-512 code encodes the same frames to other bytes than its AVX2 code (the golden
    hashes moved on an Intel AVX-512 Xeon); capping it must never ask for what the CPU lacks."""
    everything = set(ffmpeg.X264_UP_TO_AVX2.values()) | {"avx512f", "avx512bw"}
    assert ffmpeg.x264_cap(everything)["x264-params"].endswith(",BMI2,AVX2")
    assert ffmpeg.x264_cap(everything - {"avx2"}) == {}
    assert ffmpeg.x264_cap(set()) == {}


def test_one_decode_thread_gives_the_pixels_of_ffmpegs_own_choice(face_clip, monkeypatch):
    """Stage jobs decode with one thread each (ffmpeg.set_decode_threads); the frames are the same."""
    auto = ffmpeg.read_video(face_clip, 25)[0]
    monkeypatch.setattr(ffmpeg, "_decode_threads", 1)
    one = ffmpeg.read_video(face_clip, 25)[0]
    assert one.shape == auto.shape and np.array_equal(one, auto)
