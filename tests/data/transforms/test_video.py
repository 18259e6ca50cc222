"""Tests for the video transforms: resize, crops, colour jitter, normalize."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF

from fusion.data.sample import DataError
from fusion.data.transforms.video import (
    CenterCrop,
    ColorJitter,
    Normalize,
    RandomResizedCrop,
    Resize,
    crop_box,
    resize_frames,
)


def _reference_resize(frames: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Each frame through torch interpolate directly, one at a time."""
    t, v = frames.shape[:2]
    out = np.empty((t, v, *size, 3), np.uint8)
    for i in range(t):
        for j in range(v):
            x = torch.tensor(frames[i, j], dtype=torch.float32).permute(2, 0, 1)[None]
            y = F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False)
            out[i, j] = y[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy()
    return out


def test_resize_shorter_side_matches_torch_interpolate(make_sample) -> None:
    sample = make_sample()  # 12 x 16 frames
    out = Resize(size=6)(sample, np.random.default_rng(0))
    assert out.video.values.shape == (6, 2, 6, 8, 3) and out.video.values.dtype == np.uint8
    np.testing.assert_array_equal(out.video.values, _reference_resize(sample.video.values, (6, 8)))
    np.testing.assert_array_equal(out.video.times, sample.video.times)
    tall = sample.video.values.transpose(0, 1, 3, 2, 4)  # 16 x 12
    assert resize_frames(tall, 8, 6).shape == (6, 2, 8, 6, 3)


def test_resize_square_and_upsampling() -> None:
    frames = np.random.default_rng(0).integers(0, 256, (2, 1, 12, 16, 3), dtype=np.uint8)
    np.testing.assert_array_equal(
        resize_frames(frames, 20, 20), _reference_resize(frames, (20, 20))
    )
    flat = np.full((1, 1, 12, 16, 3), 77, np.uint8)
    np.testing.assert_array_equal(resize_frames(flat, 5, 5), 77)  # a flat image stays flat


def test_center_crop_is_the_middle_window(make_sample) -> None:
    sample = make_sample()
    out = CenterCrop(size=8)(sample, np.random.default_rng(0))
    np.testing.assert_array_equal(out.video.values, sample.video.values[:, :, 2:10, 4:12])
    with pytest.raises(DataError, match="smaller than a 13 crop"):
        CenterCrop(size=13)(sample, np.random.default_rng(0))


def test_crop_boxes_lie_inside_the_frame() -> None:
    rng = np.random.default_rng(0)
    for height, width in [(12, 16), (64, 48), (5, 200)]:
        for _ in range(300):
            top, left, h, w = crop_box(height, width, (0.08, 1.0), (0.5, 2.0), rng)
            assert top >= 0 and top + h <= height and left >= 0 and left + w <= width
            assert h >= 1 and w >= 1
    areas = [np.prod(crop_box(100, 100, (0.3, 0.5), (1.0, 1.0), rng)[2:]) for _ in range(200)]
    assert min(areas) >= 0.3 * 1e4 - 200 and max(areas) <= 0.5 * 1e4 + 200


def test_random_crop_uses_one_box_per_view(make_sample) -> None:
    sample = make_sample()
    transform = RandomResizedCrop(size=8, scale=(0.2, 0.9))
    out = transform(sample, np.random.default_rng(5))
    assert out.video.values.shape == (6, 2, 8, 8, 3)
    rng = np.random.default_rng(5)
    for view in range(2):
        top, left, h, w = crop_box(12, 16, (0.2, 0.9), transform.ratio, rng)
        box = sample.video.values[:, view, top : top + h, left : left + w]
        np.testing.assert_array_equal(out.video.values[:, view], resize_frames(box, 8, 8))


def test_color_jitter_is_reproducible_and_one_draw_per_clip(make_sample) -> None:
    sample = make_sample()
    jitter = ColorJitter(brightness=0.5, contrast=0.5, saturation=0.5)
    a = jitter(sample, np.random.default_rng(11)).video.values
    b = jitter(sample, np.random.default_rng(11)).video.values
    c = jitter(sample, np.random.default_rng(12)).video.values
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    # Identical frames and views stay identical: the same factors hit every frame.
    still = np.broadcast_to(sample.video.values[:1, :1], sample.video.values.shape).copy()
    out = jitter(sample.replace(video=sample.video.with_values(still)), np.random.default_rng(3))
    assert (out.video.values == out.video.values[:1, :1]).all()


def test_brightness_only_jitter_scales_pixels(make_sample) -> None:
    sample = make_sample()
    jitter = ColorJitter(brightness=0.3, contrast=0.0, saturation=0.0)
    factor = jitter.factors(np.random.default_rng(4))[0]
    assert 0.7 <= factor <= 1.3
    out = jitter(sample, np.random.default_rng(4)).video.values.astype(float)
    expected = np.clip(sample.video.values * factor, 0, 255)
    assert np.abs(out - expected).max() <= 1.0
    channels_first = torch.from_numpy(sample.video.values.copy()).permute(0, 1, 4, 2, 3)
    reference = TF.adjust_brightness(channels_first, factor).permute(0, 1, 3, 4, 2)
    np.testing.assert_array_equal(out, reference.numpy())


def test_normalize_matches_manual_mean_std(make_sample) -> None:
    sample = make_sample()
    out = Normalize()(sample, np.random.default_rng(0)).video.values
    manual = (sample.video.values / 255.0 - [0.485, 0.456, 0.406]) / [0.229, 0.224, 0.225]
    assert out.dtype == np.float32 and out.shape == sample.video.values.shape
    np.testing.assert_allclose(out, manual, rtol=1e-5, atol=1e-5)
    custom = Normalize(mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])(sample, np.random.default_rng(0))
    np.testing.assert_allclose(custom.video.values, sample.video.values / 127.5 - 1.0, atol=1e-5)
    with pytest.raises(DataError, match="uint8"):
        Resize(size=4)(custom, np.random.default_rng(0))
