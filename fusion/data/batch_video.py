"""Per-pixel video work done once per batch on the training device, not per sample in workers.

Loader workers hand over uint8 frames (4x less to copy than float32); after the batch reaches
the device the DataModule turns them into normalised floats here, with colour jitter for
training. torchvision's adjust_* ops take one factor per call, so the per-sample factors are
applied with the same blend formulas, vectorised over the batch.
"""

from __future__ import annotations

import torch
from einops import rearrange

# Luma weights as in torchvision's rgb_to_grayscale (ITU-R 601, red rounded to 0.2989).
LUMA = (0.2989, 0.587, 0.114)


def _gray(x: torch.Tensor) -> torch.Tensor:
    """Luma of (..., 3, H, W) images, keeping a channel axis of 1."""
    weights = torch.tensor(LUMA, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return (x * weights).sum(dim=-3, keepdim=True)


def _blend(a: torch.Tensor, b: torch.Tensor, factor: torch.Tensor) -> torch.Tensor:
    return (factor * a + (1.0 - factor) * b).clamp(0.0, 1.0)


def adjust(
    video: torch.Tensor, brightness: torch.Tensor, contrast: torch.Tensor, saturation: torch.Tensor
) -> torch.Tensor:
    """torchvision's brightness, contrast, saturation adjustments with one factor per sample.

    `video` is float (B, V, T, 3, H, W) in [0, 1]; factors are (B,). Contrast blends with the
    mean luma of each (view, frame) image, as torchvision does per image.
    """
    shape = (len(video), 1, 1, 1, 1, 1)
    video = (video * brightness.view(shape)).clamp(0.0, 1.0)
    mean = _gray(video).mean(dim=(-3, -2, -1), keepdim=True)
    video = _blend(video, mean, contrast.view(shape))
    return _blend(video, _gray(video), saturation.view(shape))


def color_jitter(
    video: torch.Tensor, amount: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Factors drawn from [1 - amount, 1 + amount], one set per sample.

    Every view and frame of a sample share them, so the jitter looks like a lighting change,
    not flicker.
    """
    u = torch.rand((3, len(video)), generator=generator)
    factors = (1.0 - amount + 2.0 * amount * u).clamp_min(0.0).to(video.device, video.dtype)
    return adjust(video, *factors)


def shuffle_channels(
    video: torch.Tensor, p: float, generator: torch.Generator | None = None
) -> torch.Tensor:
    """Each sample's RGB channels permuted at random with probability `p`, one permutation for
    all its views and frames: with a few lifters, each in their own clothes, the colours name
    the person, and a model learns whose pose it is instead of reading the body."""
    chosen = torch.rand(len(video), generator=generator) < p
    orders = [
        torch.randperm(3, generator=generator) if pick else torch.arange(3) for pick in chosen
    ]
    return torch.stack([sample[:, :, order] for sample, order in zip(video, orders, strict=True)])


def normalize(video: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """(x - mean) / std per RGB channel of (..., 3, H, W) floats in [0, 1]."""
    m = torch.tensor(mean, dtype=video.dtype, device=video.device).view(3, 1, 1)
    s = torch.tensor(std, dtype=video.dtype, device=video.device).view(3, 1, 1)
    return (video - m) / s


def prepare_video(
    video: torch.Tensor,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    jitter: float = 0.0,
    generator: torch.Generator | None = None,
    shuffle: float = 0.0,
) -> torch.Tensor:
    """Collated (B, V, T, H, W, 3) frames -> normalised float32 (B, V, T, 3, H, W).

    uint8 frames are scaled to [0, 1], jittered when `jitter` > 0 and their channels permuted
    with probability `shuffle` (training batches); float frames were normalised per sample
    already (a `video.normalize` transform) and are only made channels-first.
    """
    x = rearrange(video, "b v t h w c -> b v t c h w")
    if video.dtype != torch.uint8:
        return x.float()
    x = x.float() / 255.0
    if jitter > 0:
        x = color_jitter(x, jitter, generator)
    if shuffle > 0:
        x = shuffle_channels(x, shuffle, generator)
    return normalize(x, mean, std)
