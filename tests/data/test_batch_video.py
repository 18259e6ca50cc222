"""Per-batch video preparation against torchvision's per-image ops."""

from __future__ import annotations

import pytest
import torch
import torchvision.transforms.v2.functional as TF

from fusion.data.batch_video import adjust, color_jitter, prepare_video, shuffle_channels

MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)


def frames(b: int = 3) -> torch.Tensor:
    return torch.randint(0, 256, (b, 2, 4, 8, 8, 3), generator=torch.Generator().manual_seed(0)).to(
        torch.uint8
    )


def test_prepare_matches_torchvision_normalize_channels_first():
    raw = frames()
    out = prepare_video(raw, MEAN, STD)
    assert out.shape == (3, 2, 4, 3, 8, 8) and out.dtype == torch.float32
    reference = TF.normalize(raw.permute(0, 1, 2, 5, 3, 4).float().flatten(0, 2) / 255, MEAN, STD)
    assert torch.allclose(out.flatten(0, 2), reference, atol=1e-6)


def test_adjust_matches_torchvision_with_one_factor_per_sample():
    x = frames().permute(0, 1, 2, 5, 3, 4).float() / 255
    b, c, s = (
        torch.tensor([0.8, 1.0, 1.3]),
        torch.tensor([1.2, 0.7, 1.0]),
        torch.tensor([0.5, 1.1, 1.4]),
    )
    out = adjust(x, b, c, s)
    for i in range(3):
        ref = TF.adjust_brightness(x[i].flatten(0, 1), float(b[i]))
        ref = TF.adjust_contrast(ref, float(c[i]))
        ref = TF.adjust_saturation(ref, float(s[i]))
        assert torch.allclose(out[i].flatten(0, 1), ref, atol=1e-5)


def test_jitter_is_seeded_and_zero_amount_changes_nothing():
    x = frames().permute(0, 1, 2, 5, 3, 4).float() / 255
    a = color_jitter(x, 0.3, torch.Generator().manual_seed(1))
    b = color_jitter(x, 0.3, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.allclose(a, x)
    assert torch.allclose(color_jitter(x, 0.0), x, atol=1e-6)


def test_float_frames_were_prepared_already_and_are_only_permuted():
    done = torch.randn(1, 1, 2, 4, 4, 3)
    assert torch.equal(prepare_video(done, MEAN, STD), done.permute(0, 1, 2, 5, 3, 4))


def test_channel_shuffle_permutes_each_sample_alike_over_views_and_frames():
    x = torch.rand(6, 2, 3, 3, 4, 4, generator=torch.Generator().manual_seed(2))
    out = shuffle_channels(x, 1.0, torch.Generator().manual_seed(5))
    orders = set()
    for sample, shuffled in zip(x, out, strict=True):
        order = [
            next(c for c in range(3) if torch.equal(shuffled[0, 0, k], sample[0, 0, c]))
            for k in range(3)
        ]
        assert sorted(order) == [0, 1, 2]
        assert torch.equal(shuffled, sample[:, :, order])  # the same order in every view and frame
        orders.add(tuple(order))
    assert len(orders) > 1
    assert torch.equal(shuffle_channels(x, 0.0), x)
    again = shuffle_channels(x, 1.0, torch.Generator().manual_seed(5))
    assert torch.equal(again, out)


def test_a_shuffle_chance_outside_zero_to_one_is_refused():
    from fusion.data.config import data_config

    with pytest.raises(
        ValueError, match=r"data.color_shuffle: expected a chance in \[0, 1\], got 1.5"
    ):
        data_config({"color_shuffle": 1.5})
