"""The face-crop cache keeps the crops a model samples, as JPEG, and answers any frame index."""

import numpy as np
import pytest
from conftest import FACES, LOG_MEL, demux_spec
from PIL import Image
from skimage import data as images

from avdf.contracts.specs import InputSpec
from avdf.data import clips
from avdf.media import crop_cache


def _paper_spec() -> InputSpec:
    faces = FACES.__class__(**{**FACES.__dict__, "crop_size": 224})
    return InputSpec(4.0, 16, "max", 0.0, demux_spec(), faces, LOG_MEL)


def test_the_cache_keeps_the_models_rate_and_answers_with_the_nearest_kept_crop():
    frames = np.zeros((100, 8, 8, 3), np.uint8)
    frames[:, :, :, 0] = np.arange(100)[:, None, None] * 2  # each frame's red value names it
    cache = crop_cache.encode(frames, 25, 4.0, 95)
    assert len(cache) == 100
    assert list(cache.kept) == [0, 6, 12, 19, 25, 31, 38, 44, 50, 56, 62, 69, 75, 81, 88, 94]
    got = cache[np.array([0, 3, 5, 18, 99])][:, 4, 4, 0].astype(int)
    assert np.all(np.abs(got - 2 * np.array([0, 0, 6, 19, 94])) <= 3)  # JPEG changes a value by a little


def test_a_windows_scoring_frames_are_distinct_kept_crops_at_the_paper_profile():
    spec = _paper_spec()
    assert spec.crop.fps == 4.0
    n = 20 * 25  # a 20-s clip
    kept = crop_cache.kept_frames(n, spec.fps, spec.crop.fps)
    for start in clips.window_starts(n, spec):
        idx = clips.frame_indices(n, start, spec, None)
        nearest = np.abs(kept[None, :] - idx[:, None]).argmin(axis=1)
        assert len(set(nearest)) == spec.frames  # 16 different crops, none shown twice
        assert np.abs(kept[nearest] - idx).max() <= 3  # each within 3 frames (0.12 s) of the asked one


def test_a_real_face_at_224_px_costs_a_few_kb_per_crop_and_stays_faithful():
    face = np.asarray(Image.fromarray(images.astronaut()[20:230, 140:350]).resize((224, 224)))
    cache = crop_cache.encode(np.stack([face] * 25), 25, 4.0, 90)
    per_crop = cache.blob.nbytes / len(cache.kept)
    assert 5_000 < per_crop < 20_000  # 12 KB here: 4 crops/s -> about 3 MB per video-minute
    error = cache[np.array([0])][0].astype(float) - face
    psnr = 10 * np.log10(255**2 / np.mean(error**2))
    assert psnr > 35


def test_written_and_read_back_it_is_the_same(tmp_path):
    frames = np.random.default_rng(0).integers(0, 255, (30, 16, 16, 3), dtype=np.uint8)
    cache = crop_cache.encode(frames, 30, 4.0, 90)
    crop_cache.write(tmp_path / "c.npz", cache)
    back = crop_cache.read(tmp_path / "c.npz")
    assert crop_cache.frame_count(tmp_path / "c.npz") == 30
    assert np.array_equal(back[np.arange(30)], cache[np.arange(30)])
    with pytest.raises(ValueError, match="no face crops"):
        crop_cache.encode(frames[:0], 30, 4.0, 90)


@pytest.mark.parametrize("scale", [2, 4, 8])
def test_a_crop_read_at_a_fraction_of_its_side_is_close_to_its_average_pooled_pixels(tmp_path, scale):
    """The localiser reads its crops at 1/crop_pool of their side, decoded so by libjpeg (DCT
    scaling): within a level or two of pooling the full decode, as the model did before."""
    face = np.asarray(Image.fromarray(images.astronaut()[20:230, 140:350]).resize((224, 224)))
    crop_cache.write(tmp_path / "c.npz", crop_cache.encode(np.stack([face] * 25), 25, 4.0, 90))
    full = crop_cache.read(tmp_path / "c.npz")
    small = crop_cache.read(tmp_path / "c.npz", scale)
    pooled = full[np.array([0])][0].reshape(224 // scale, scale, 224 // scale, scale, 3).mean((1, 3))
    got = small[np.array([0])][0]
    assert got.shape == (224 // scale, 224 // scale, 3) and got.dtype == np.uint8
    assert np.abs(got - pooled).mean() < 1.5  # 0-255 levels
    held = small.decoded()  # a clip held in memory answers as its cache does
    assert np.array_equal(held[np.arange(25)], small[np.arange(25)])
