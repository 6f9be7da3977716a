"""One clip pipeline: the workflow's stages, piece by piece, and ``avdf predict``, whole, give a
model the same input tensors for the same clip and input spec, leading-silence trimming included."""

import dataclasses
import subprocess

import pandas as pd
import pytest
import torch
from conftest import FACES, LOG_MEL, run_stages, tiny_params, train_spec

from avdf.contracts import methods
from avdf.contracts.specs import DemuxSpec, InputSpec
from avdf.data import clip_pipeline, clips, manifest
from avdf.learning import models, train
from avdf.media import crop_cache, faces, ffmpeg


def _with_leading_silence(face_clip, path, seconds=0.4):
    frames = ffmpeg.read_video(face_clip, 25)[0]
    audio = ffmpeg.read_audio(face_clip, 16000).copy()
    audio[: int(seconds * 16000)] = 0.0
    ffmpeg.encode_clip(frames, audio, 16000, 25, path)
    return path


def test_a_trimmed_clip_gives_the_same_inputs_in_the_workflow_and_in_predict(tmp_path, face_clip):
    clip = _with_leading_silence(face_clip, tmp_path / "silent start.mp4")
    row = {c: "" for c in manifest.COLUMNS} | {
        "clip_id": "c0",
        "path": str(clip),
        "label": 1,
        "split": "test",
    }
    row |= {"audio_fake": 0, "video_fake": 1, "category": "FVRA"}
    pd.DataFrame([row]).to_csv(tmp_path / "m.csv", index=False)
    run_stages(tmp_path / "m.csv", tmp_path / "work", trim_silence=True)
    spec = InputSpec(1.0, 4, "max", 0.0, DemuxSpec(25, 16000, True), FACES, LOG_MEL)
    mel_norm = (-4.0, 3.0)
    # a detector trained with trim_silence: its checkpoint stores the input spec once
    run = dataclasses.replace(train_spec(tiny_params()), input=spec)
    model = models.build("macbdf", spec.n_mels, run.model, run.method)
    train.save_checkpoint(model, run, mel_norm, {"val_threshold": 0.5}, tmp_path / "model.pt")
    _, ckpt = models.load_model(str(tmp_path / "model.pt"))
    assert ckpt.input == spec and ckpt.input.media.trim_silence

    table = manifest.read(str(tmp_path / "m.csv"))
    stored = clips.ClipSet(table, str(tmp_path / "work/crops"), str(tmp_path / "work/mel"), spec, train=False)
    stored.mel_norm = mel_norm
    workflow = stored[0]
    whole = clip_pipeline.prepare_clip(clip, ckpt.input, faces.FaceTracker(ckpt.input.faces))
    starts, batch = clip_pipeline.windows(whole, ckpt.input, ckpt.mel_norm)
    assert 0.3 < whole.start_s < 0.5  # the silence was cut, from both streams
    assert len(whole.crops) == crop_cache.frame_count(tmp_path / "work/crops/c0.npz") < 25
    assert starts[0] == 0 and torch.equal(batch["video"][0], workflow["video"])
    assert torch.equal(batch["audio"][0], workflow["audio"])

    # a model that reads its crops at a quarter of their side (the localiser) gets them so either way
    quarter = methods.Reads(crop_scale=4)
    stored = clips.make_clipset(table, _caches(tmp_path / "work"), spec, False, 0, quarter)
    stored.mel_norm = mel_norm
    _, batch = clip_pipeline.windows(whole, ckpt.input, ckpt.mel_norm, quarter)
    assert batch["video"].shape[-1] == FACES.crop_size // 4
    assert torch.equal(batch["video"][0], stored[0]["video"])


def _caches(work):
    return {
        "crops_dir": str(work / "crops"),
        "log_mel_dir": str(work / "mel"),
        "demux_dir": str(work / "demux"),
    }


def test_an_audio_only_model_seeks_no_face_and_scores_a_video_without_one(
    tmp_path, face_clip, bad_clips, monkeypatch
):
    """``avdf predict`` with an audio-only checkpoint (ECAPA-TDNN): no face is sought (MTCNN is not
    even loaded), the windows and their audio are those that tracking the face gives, and a video
    in which no face is found, which the video models cannot score, is scored by its audio."""
    from avdf.evaluation import predict

    run = train_spec(tiny_params(), "ecapa_tdnn")
    model = models.build("ecapa_tdnn", run.input.n_mels, run.model, run.method)
    train.save_checkpoint(model, run, (-4.0, 3.0), {"val_threshold": 0.5}, tmp_path / "model.pt")
    model, ckpt = predict.load(str(tmp_path / "model.pt"), None)
    assert not ckpt.reads.crops
    spec = ckpt.input

    tracked = clip_pipeline.prepare_clip(face_clip, spec, faces.FaceTracker(spec.faces))
    untracked = clip_pipeline.prepare_clip(face_clip, spec, None)
    assert untracked.track is None and len(untracked.crops) == len(tracked.crops)
    starts, batch = clip_pipeline.windows(tracked, spec, ckpt.mel_norm)
    starts_alone, alone = clip_pipeline.windows(untracked, spec, ckpt.mel_norm, ckpt.reads)
    assert starts_alone == starts and set(alone) == {"audio"} and torch.equal(alone["audio"], batch["audio"])

    def no_mtcnn(*args, **kwargs):
        raise AssertionError("MTCNN loaded for an audio-only model")

    monkeypatch.setattr(faces, "MTCNNDetector", no_mtcnn)
    scored, faceless = predict.predict([str(face_clip), str(bad_clips["no_face"])], model, ckpt)
    for result in (scored, faceless):
        assert "error" not in result and 0 < result["prob_fake"] < 1 and "face_track" not in result
    with torch.inference_mode():
        expected = torch.sigmoid(model(alone)["logit"])
    assert [w["prob_fake"] for w in scored["windows"]] == pytest.approx(expected.tolist(), abs=1e-6)


def test_an_audio_only_model_scores_a_sound_file_as_the_sound_of_a_video(tmp_path, face_clip):
    """A file with no picture (here the face clip's own sound as WAV) is scored by an audio-only
    model as the video it came from (the same windows, the same audio), and named as unreadable
    by a model that reads faces."""
    from avdf.evaluation import predict

    wav = tmp_path / "its sound.wav"
    ffmpeg.extract_audio(face_clip, wav, 16000)
    params = tiny_params()
    checkpoints = {}
    for method in ("ecapa_tdnn", "macbdf"):
        run = train_spec(params, method)
        model = models.build(method, run.input.n_mels, run.model, run.method)
        train.save_checkpoint(model, run, (-4.0, 3.0), {"val_threshold": 0.5}, tmp_path / f"{method}.pt")
        checkpoints[method] = predict.load(str(tmp_path / f"{method}.pt"), None)

    model, ckpt = checkpoints["ecapa_tdnn"]
    video, sound = predict.predict([str(face_clip), str(wav)], model, ckpt)
    assert "error" not in sound and sound["windows"] == video["windows"]
    assert sound["duration_s"] == video["duration_s"] and sound["prob_fake"] == video["prob_fake"]
    model, ckpt = checkpoints["macbdf"]
    assert predict.predict([str(wav)], model, ckpt)[0]["error"] == "no video stream"

    # an MP3 with a cover picture, which ffmpeg lists as a video stream of one frame
    cover, mp3 = tmp_path / "cover.jpg", tmp_path / "with a cover.mp3"
    exe = ffmpeg.ffmpeg_exe()
    subprocess.run([exe, "-v", "error", "-i", str(face_clip), "-frames:v", "1", str(cover)], check=True)
    tagged = [exe, "-v", "error", "-i", str(wav), "-i", str(cover), "-map", "0:a", "-map", "1:v"]
    tagged += ["-c:v", "mjpeg", "-disposition:v", "attached_pic", str(mp3)]
    subprocess.run(tagged, check=True)
    assert ffmpeg.probe(mp3).has_video and not clip_pipeline.moving_picture(mp3)
    model, ckpt = checkpoints["ecapa_tdnn"]
    (song,) = predict.predict([str(mp3)], model, ckpt)
    assert "error" not in song and song["duration_s"] == pytest.approx(video["duration_s"], abs=0.1)
    model, ckpt = checkpoints["macbdf"]
    assert predict.predict([str(mp3)], model, ckpt)[0]["error"] == "no video stream (only a cover picture)"
