"""Whole clips: training draws windows from anywhere in a clip (labelled by its fake segments where
they are known), scoring reads every window, and a clip's score is made from its windows'."""

import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import FACES, GPU, LOG_MEL, needs_gpu

from avdf.contracts.specs import DemuxSpec, InputSpec
from avdf.data import clips
from avdf.learning import metrics, models, scoring, steps, train
from avdf.media import crop_cache

FPS, SECONDS, WINDOW_S = 4, 6, 2.0  # 24 frames, three 2-s windows of 8 frames
SPEC = InputSpec(WINDOW_S, 4, "max", 0.0, DemuxSpec(FPS, 16000, False), FACES, LOG_MEL)


def _caches(tmp_path, n: int = 24) -> pd.DataFrame:
    """``n`` clips of 6 s, half fake; a fake clip's face turns bright only in its last 2 s (after
    the first window), where its fake segment lies. Audio is the same noise for every clip."""
    rng = np.random.default_rng(0)
    (tmp_path / "crops").mkdir()
    (tmp_path / "mel").mkdir()
    rows = []
    for i in range(n):
        fake = i % 2
        crops = rng.integers(60, 100, (SECONDS * FPS, 16, 16, 3), dtype=np.uint8)
        if fake:
            crops[4 * FPS :] += 120
        crop_cache.write(tmp_path / "crops" / f"c{i}.npz", crop_cache.encode(crops, FPS, SPEC.crop.fps, 90))
        np.save(tmp_path / "mel" / f"c{i}.npy", rng.standard_normal((16, 600)).astype(np.float16))
        periods = json.dumps([[4.0, 6.0]]) if fake else "[]"
        rows.append(
            {"clip_id": f"c{i}", "label": fake, "video_fake": fake, "audio_fake": 0, "fake_periods": periods}
        )
    return pd.DataFrame(rows)


def test_scoring_reads_every_window_and_the_last_one_ends_at_the_clip_end(tmp_path):
    table = _caches(tmp_path, n=2)
    data = clips.ClipSet(table, str(tmp_path / "crops"), str(tmp_path / "mel"), SPEC, train=False)
    assert len(data) == 6 and list(data.owner) == [0, 0, 0, 1, 1, 1] and list(data.starts) == [0, 8, 16] * 2
    assert clips.window_starts(26, SPEC) == [0, 8, 16, 18]  # the last window aligned to the end
    logits = torch.tensor([-4.0, -4.0, 4.0, -4.0, -4.0, -4.0])
    probs = clips.clip_probs(logits, data.owner, 2, "max")
    assert probs[0] > 0.98 and probs[1] < 0.02
    mean = clips.clip_probs(logits, data.owner, 2, "mean")
    assert np.isclose(mean[0], (2 * torch.sigmoid(torch.tensor(-4.0)) + torch.sigmoid(torch.tensor(4.0))) / 3)


def test_training_windows_come_from_anywhere_and_follow_the_fake_segments(tmp_path):
    table = _caches(tmp_path, n=2)
    data = clips.ClipSet(table, str(tmp_path / "crops"), str(tmp_path / "mel"), SPEC, train=True, seed=3)
    seen = {}
    for epoch in range(40):
        data.set_epoch(epoch)
        item = data[1]  # the fake clip
        bright = item["video"].mean().item() > 0.2
        seen.setdefault(bright, set()).add(float(item["label"]))
    # windows showing the manipulated frames are fake; windows inside the real part are real (a
    # window that overlaps the segment between its sampled frames is fake, though it looks real)
    assert seen[True] == {1.0} and 0.0 in seen[False]
    data.set_epoch(5)
    assert torch.equal(data[1]["video"], data[1]["video"])  # the same draw for the same epoch


def test_an_audio_only_model_gets_the_same_windows_without_its_crops_being_read(tmp_path, monkeypatch):
    """An audio-only method (methods.reads: crops False) gets, in training and scoring, the windows
    and log-Mel every other model gets, with no video, and none of its clips' crops is decoded."""
    from avdf.contracts import methods

    assert not methods.reads("ecapa_tdnn", {}).crops and methods.reads("visual_only", {}).crops
    table = _caches(tmp_path, n=3)
    dirs = str(tmp_path / "crops"), str(tmp_path / "mel")
    wanted = []
    for training in (True, False):
        every = clips.ClipSet(table, *dirs, SPEC, training, seed=3)
        every.set_epoch(2)
        wanted.append([every[k] for k in range(len(every))])
    monkeypatch.setattr(crop_cache, "read", lambda *a: pytest.fail("an audio-only item read its crops"))
    for training, want in zip((True, False), wanted, strict=True):
        alone = clips.ClipSet(table, *dirs, SPEC, training, seed=3, reads=methods.Reads(crops=False))
        alone.set_epoch(2)
        got = [alone[k] for k in range(len(alone))]
        assert len(got) == len(want)
        for g, w in zip(got, want, strict=True):
            assert set(w) - set(g) == {"video"}
            assert all(torch.equal(torch.as_tensor(g[k]), torch.as_tensor(w[k])) for k in g)


def test_crops_made_pixel_values_on_the_device_are_those_the_workers_make(tmp_path):
    """A GPU run keeps a batch's crops uint8 until the device (a quarter of the bytes through the
    workers' shared memory and the copy); there they become the values a CPU run's workers make,
    bit for bit."""
    from avdf.learning.distributed import to_device

    data = clips.ClipSet(_caches(tmp_path, n=2), str(tmp_path / "crops"), str(tmp_path / "mel"), SPEC, True)
    here = data[1]
    data.pixels_on_device = True
    there = torch.utils.data.default_collate([data[1]])
    assert there["video"].dtype == torch.uint8 and here["video"].dtype == torch.float32
    assert torch.equal(to_device(there, torch.device("cpu"))["video"][0], here["video"])


def test_crops_sent_as_jpeg_decode_where_the_batch_goes_to_the_workers_pixels(tmp_path):
    """train.crop_decode: device. The loader's workers leave a window's crops JPEG, a batch carries
    their bytes, and the device decodes them in one call: on a CPU to the workers' pixels, bit for
    bit (libjpeg-turbo both); a clip held in memory stays JPEG."""
    from avdf.learning.distributed import to_device

    data = clips.ClipSet(_caches(tmp_path, n=3), str(tmp_path / "crops"), str(tmp_path / "mel"), SPEC, True)
    data.keep_in_memory(64)
    here = clips.collate([data[k] for k in range(3)])
    data.jpeg_on_device = True
    data.held.clear()
    there = clips.collate([data[k] for k in range(3)])
    assert "video" not in there and there["video_jpeg"].dtype == torch.uint8
    assert there["video_jpeg_lengths"].shape == (3, SPEC.frames)
    assert all(isinstance(crops, crop_cache.FaceCrops) for crops, _ in data.held.values())
    decoded = to_device(there, torch.device("cpu"))
    assert set(decoded) == set(here) and torch.equal(decoded["video"], here["video"])
    assert all(torch.equal(decoded[k], here[k]) for k in here)


@pytest.mark.gpu
@needs_gpu
def test_crops_sent_as_jpeg_decode_on_the_gpu_within_a_level_of_the_workers(tmp_path):
    """The same on a GPU, where nvJPEG decodes: its inverse DCT may round otherwise than libjpeg's."""
    from avdf.learning.distributed import to_device

    data = clips.ClipSet(_caches(tmp_path, n=3), str(tmp_path / "crops"), str(tmp_path / "mel"), SPEC, True)
    here = clips.collate([data[k] for k in range(3)])
    data.jpeg_on_device = True
    there = to_device(clips.collate([data[k] for k in range(3)]), GPU)
    assert there["video"].device.type == GPU.type and there["video"].shape == here["video"].shape
    assert (there["video"].cpu() - here["video"]).abs().max() <= 2 / 255  # two levels of 255


def test_a_manipulation_after_the_first_window_is_detected(tmp_path):
    """A visual-only model trained on windows drawn from whole clips detects fakes whose
    manipulation starts after the first window; scored on the first window alone they look real."""
    table = _caches(tmp_path)
    torch.manual_seed(0)
    data = clips.ClipSet(table, str(tmp_path / "crops"), str(tmp_path / "mel"), SPEC, train=True, seed=0)
    model = models.build(
        "visual_only",
        16,
        {"dim": 16, "depth": 1, "heads": 2, "dropout": 0.0, "attn_dropout": 0.0}
        | {"patch": 8, "visual_stem": "conv", "visual_init": "", "crop_size": 16},
    )
    opt = train.make_optimizer(list(model.parameters()), lr=3e-3, weight_decay=0.0)
    for epoch in range(6):
        data.set_epoch(epoch)
        for batch in torch.utils.data.DataLoader(data, batch_size=8, shuffle=True):
            loss = torch.nn.functional.binary_cross_entropy_with_logits(model(batch)["logit"], batch["label"])
            opt.zero_grad()
            loss.backward()
            opt.step()
    windows = clips.ClipSet(table, str(tmp_path / "crops"), str(tmp_path / "mel"), SPEC, train=False)
    out, probs = scoring.score(model, windows, SPEC)
    labels = table["label"].to_numpy()
    assert metrics.auc(labels, probs) == 100.0
    first = torch.sigmoid(out["logit"][windows.starts == 0]).numpy()  # what reading 2 s would see
    assert metrics.auc(labels, first) < 80.0


def test_the_balanced_sampler_draws_both_classes_equally(tmp_path):
    table = _caches(tmp_path, n=20)
    table["label"] = [1] * 16 + [0] * 4
    data = clips.ClipSet(table, str(tmp_path / "crops"), str(tmp_path / "mel"), SPEC, train=True)
    gen = torch.Generator().manual_seed(0)
    drawn = [int(data.labels[i]) for _ in range(50) for i in train.clip_sampler(data, True, gen)]
    assert len(drawn) == 50 * 20 and 0.45 < np.mean(drawn) < 0.55
    shuffled = [int(data.labels[i]) for i in train.clip_sampler(data, False, gen)]
    assert np.mean(shuffled) == 0.8
    data.audio_fake[:] = torch.tensor([1.0] * 2 + [0.0] * 18)  # an audio model balances audio fakes
    draws = (train.clip_sampler(data, True, gen, "audio_fake") for _ in range(50))
    drawn = [int(data.audio_fake[i]) for epoch in draws for i in epoch]
    assert 0.45 < np.mean(drawn) < 0.55


def test_a_baseline_step_fits_the_label_the_run_learns():
    class Scale(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(()))

        def forward(self, batch):
            return {"logit": self.w * batch["x"]}

    batch = {"x": torch.ones(4), "label": torch.ones(4), "audio_fake": torch.zeros(4)}
    moved = {}
    for target in ("label", "audio_fake"):  # FVRA clips: fake, with their real audio
        model = Scale()
        steps.BaselineStep(model, target=target)(batch, torch.optim.SGD(model.parameters(), lr=1.0))
        moved[target] = model.w.item()
    assert moved["label"] > 0 > moved["audio_fake"]


def test_a_raw_audio_front_end_reads_the_window_of_the_demuxed_wav(tmp_path):
    from avdf.media import ffmpeg

    table = _caches(tmp_path, n=1)
    (tmp_path / "demux").mkdir()
    audio = np.sin(np.arange(SECONDS * 16000) / 16000 * 2 * np.pi * 3).astype(np.float32) * 0.5
    ffmpeg.write_wav(tmp_path / "demux" / "c0.wav", audio, 16000)
    args = (table, str(tmp_path / "crops"), str(tmp_path / "mel"), SPEC)
    data = clips.ClipSet(*args, train=False, waveform_dir=str(tmp_path / "demux"))
    third = data[2]["waveform"]  # the window from 4 s to 6 s
    assert third.shape == (32000,)
    assert np.allclose(third.numpy(), audio[64000:96000], atol=1 / 32768)
    assert "waveform" not in clips.ClipSet(*args, train=False)[0]  # read only when a model needs it


def test_sinc_filters_pass_their_own_mel_band():
    from avdf.learning.models.baselines.aasist import SincFrontEnd, mel_band_edges

    front = SincFrontEnd(bands=20, kernel=128)
    edges = mel_band_edges(20, 16000)
    t = torch.arange(16000) / 16000
    for k in (3, 10, 17):
        centre = (edges[k] + edges[k + 1]) / 2
        tone = torch.sin(2 * np.pi * centre * t)[None, None]
        response = torch.nn.functional.conv1d(tone, front.filters).abs().mean(2)[0]  # (bands,)
        assert int(response.argmax()) == k  # the band that holds the tone answers most


def test_log_mel_statistics_are_streamed_and_exact(tmp_path):
    """The streamed mean and standard deviation equal those of all values concatenated."""
    table = _caches(tmp_path, n=5)
    rng = np.random.default_rng(1)
    for i in range(5):  # clips of different lengths and levels
        np.save(
            tmp_path / "mel" / f"c{i}.npy",
            (rng.standard_normal((16, 100 + 37 * i)) * (i + 1) - i).astype(np.float16),
        )
    data = clips.ClipSet(table, str(tmp_path / "crops"), str(tmp_path / "mel"), SPEC, train=True)
    values = np.concatenate(
        [np.load(tmp_path / "mel" / f"c{i}.npy").astype(np.float64).ravel() for i in range(5)]
    )
    mean, std = clips.mel_stats(data)
    assert np.isclose(mean, values.mean(), rtol=0, atol=1e-9) and np.isclose(
        std, values.std() + 1e-6, atol=1e-9
    )


def test_clips_held_in_memory_give_the_same_items_and_stop_at_the_budget(tmp_path):
    """keep_in_memory changes where a clip is read from, never what a model sees; past its budget
    it holds no more clips."""
    table = _caches(tmp_path, n=6)
    args = (table, str(tmp_path / "crops"), str(tmp_path / "mel"), SPEC)
    from_disk, held = clips.ClipSet(*args, train=True, seed=1), clips.ClipSet(*args, train=True, seed=1)
    one_clip = 12 * 16 * 16 * 3 + 16 * 600 * 2  # one decoded clip (12 crops kept at 2 fps) and its log-Mel
    held.keep_in_memory(2.5 * one_clip / 2**20)
    for epoch in range(3):
        from_disk.set_epoch(epoch), held.set_epoch(epoch)
        for k in range(len(table)):
            a, b = from_disk[k], held[k]
            assert torch.equal(a["video"], b["video"]) and torch.equal(a["audio"], b["audio"])
    assert sorted(held.held) == [0, 1, 2] and not from_disk.held


@pytest.mark.parametrize("total_steps", [1, 2, 3, 5, 10, 210])
def test_the_learning_rate_schedule_takes_any_number_of_steps(total_steps):
    """One epoch of 5 batches (a warm-up of exactly one step) divided by zero in PyTorch's
    OneCycleLR; every length now warms up to the peak and anneals from it."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = train.one_cycle(opt, 0.1, total_steps)
    rates = [sched.get_last_lr()[0]]
    for _ in range(total_steps - 1):
        opt.step()
        sched.step()
        rates.append(sched.get_last_lr()[0])
    assert all(0 < r <= 0.1 + 1e-12 for r in rates) and max(rates) >= rates[-1]
    if total_steps >= 5:
        assert rates[0] < max(rates) and rates[-1] < max(rates)


def test_the_localisers_windows_overlap_by_half_and_read_every_frame():
    """Its own window (avdf.contracts.methods.boundary): every frame, scored every half window."""
    import dataclasses

    dense = dataclasses.replace(SPEC, frames=8, hop_s=1.0)  # 8 frames = every frame of 2 s at 4 fps
    assert dense.every_frame and clips.window_starts(24, dense) == [0, 4, 8, 12, 16]
    assert clips.window_starts(22, dense) == [0, 4, 8, 12, 14]  # the last one ends at the end
    assert clips.frame_indices(22, 14, dense, np.random.default_rng(0)).tolist() == list(range(14, 22))
    assert clips.frame_indices(5, 0, dense, None).tolist() == [0, 1, 2, 3, 4, 4, 4, 4]  # past the end


def test_a_window_learns_the_parts_of_segments_inside_it_in_its_frames(tmp_path):
    table = _caches(tmp_path, n=2)
    table.loc[1, "fake_periods"] = json.dumps([[1.0, 2.5], [5.5, 6.0]])
    data = clips.ClipSet(table, str(tmp_path / "crops"), str(tmp_path / "mel"), SPEC, train=False)
    k = int(np.flatnonzero((data.owner == 1) & (data.starts == 8))[0])  # the window over 2-4 s
    assert data[k]["segments"][0].tolist() == [0.0, 2.0]  # [1.0, 2.5] s, cut to the window: frames 8-10
    last = int(np.flatnonzero((data.owner == 1) & (data.starts == 16))[0])
    assert data[last]["segments"][0].tolist() == [6.0, 8.0]  # [5.5, 6] s in the window from 4 s
    assert data[int(np.flatnonzero(data.owner == 0)[0])]["segments"].abs().sum() == 0  # a real clip
