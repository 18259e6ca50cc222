"""Video transforms on (T, V, H, W, 3) uint8 frames: resize, crops, colour jitter, normalize.

Everything but `video.normalize` keeps uint8 in and out (the cache stores uint8 frames);
normalize goes last and gives float32. Resampling is torch's antialiased bilinear interpolation,
colour changes are torchvision's functional ops.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
import torchvision.transforms.v2.functional as TF
from einops import rearrange

from fusion.data.sample import Sample
from fusion.data.transforms.base import Transform, register, sample_error

IMAGENET_MEAN: tuple[float, float, float] = (0.485, 0.456, 0.406)
IMAGENET_STD: tuple[float, float, float] = (0.229, 0.224, 0.225)


def _frames(sample: Sample) -> np.ndarray:
    """The video values, checked to be uint8 (T, V, H, W, 3)."""
    values = sample.video.values
    if values.dtype != np.uint8 or values.ndim != 5 or values.shape[-1] != 3:
        raise sample_error(
            sample,
            "video",
            f"expected uint8 (T, V, H, W, 3) frames, got {values.dtype} {values.shape} "
            "(video.normalize must come last)",
        )
    return values


def _positive_int(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _range(name: str, value: tuple[float, float], low: float) -> tuple[float, float]:
    """A (min, max) pair with low < min <= max."""
    pair = tuple(float(v) for v in value)
    if len(pair) != 2 or not low < pair[0] <= pair[1]:
        raise ValueError(f"{name} must be [min, max] with {low} < min <= max, got {value!r}")
    return pair


def resize_frames(frames: np.ndarray, height: int, width: int) -> np.ndarray:
    """uint8 (..., H, W, 3) -> (..., height, width, 3), antialiased bilinear, rounded."""
    lead = frames.shape[:-3]
    x = torch.from_numpy(frames.reshape(-1, *frames.shape[-3:]).astype(np.float32))
    x = rearrange(x, "n h w c -> n c h w")
    y = F.interpolate(x, size=(height, width), mode="bilinear", antialias=True, align_corners=False)
    y = rearrange(y.round().clamp(0, 255).to(torch.uint8), "n c h w -> n h w c")
    return y.numpy().reshape(*lead, height, width, 3)


def resized_shape(height: int, width: int, size: int, square: bool) -> tuple[int, int]:
    """(size, size) when square, else the shorter side scaled to size (aspect kept)."""
    if square:
        return size, size
    if height <= width:
        return size, max(1, round(width * size / height))
    return max(1, round(height * size / width)), size


def crop_box(
    height: int,
    width: int,
    scale: tuple[float, float],
    ratio: tuple[float, float],
    rng: np.random.Generator,
) -> tuple[int, int, int, int]:
    """A random (top, left, h, w) box inside the frame: area fraction in `scale`, w/h in `ratio`.

    The box is clipped to the frame when the drawn shape does not fit, so it always lies inside.
    """
    area = height * width * rng.uniform(*scale)
    aspect = np.exp(rng.uniform(np.log(ratio[0]), np.log(ratio[1])))
    w = int(min(width, max(1, round(np.sqrt(area * aspect)))))
    h = int(min(height, max(1, round(np.sqrt(area / aspect)))))
    top = int(rng.integers(0, height - h + 1))
    left = int(rng.integers(0, width - w + 1))
    return top, left, h, w


@register("video.resize")
@dataclass
class Resize(Transform):
    """Scale frames so the shorter side is `size` (or to size x size when `square`)."""

    size: int
    square: bool = False

    def __post_init__(self) -> None:
        self.size = _positive_int("size", self.size)
        self.square = bool(self.square)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.video is None:
            return sample
        frames = _frames(sample)
        height, width = resized_shape(*frames.shape[2:4], self.size, self.square)
        if (height, width) == frames.shape[2:4]:
            return sample
        return sample.replace(video=sample.video.with_values(resize_frames(frames, height, width)))


@register("video.center_crop")
@dataclass
class CenterCrop(Transform):
    """The central size x size window of every frame."""

    size: int

    def __post_init__(self) -> None:
        self.size = _positive_int("size", self.size)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.video is None:
            return sample
        frames = _frames(sample)
        height, width = frames.shape[2:4]
        if height < self.size or width < self.size:
            raise sample_error(
                sample, "video", f"{height}x{width} frames are smaller than a {self.size} crop"
            )
        top, left = (height - self.size) // 2, (width - self.size) // 2
        crop = frames[:, :, top : top + self.size, left : left + self.size].copy()
        return sample.replace(video=sample.video.with_values(crop))


@register("video.random_crop")
@dataclass
class RandomResizedCrop(Transform):
    """A random box per view (the same for all its frames), resized to size x size."""

    size: int
    scale: tuple[float, float] = (0.6, 1.0)
    ratio: tuple[float, float] = (3 / 4, 4 / 3)

    def __post_init__(self) -> None:
        self.size = _positive_int("size", self.size)
        self.scale = _range("scale", self.scale, 0.0)
        self.ratio = _range("ratio", self.ratio, 0.0)
        if self.scale[1] > 1.0:
            raise ValueError(f"scale must not exceed 1, got {self.scale}")

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.video is None:
            return sample
        frames = _frames(sample)
        height, width = frames.shape[2:4]
        views = []
        for view in range(frames.shape[1]):
            top, left, h, w = crop_box(height, width, self.scale, self.ratio, rng)
            crop = frames[:, view, top : top + h, left : left + w]
            views.append(resize_frames(crop, self.size, self.size))
        return sample.replace(video=sample.video.with_values(np.stack(views, axis=1)))


@register("video.color_jitter")
@dataclass
class ColorJitter(Transform):
    """Brightness, contrast, saturation factors drawn once per clip from [1 - x, 1 + x]."""

    brightness: float = 0.2
    contrast: float = 0.2
    saturation: float = 0.2

    def __post_init__(self) -> None:
        for name in ("brightness", "contrast", "saturation"):
            value = float(getattr(self, name))
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
            setattr(self, name, value)

    def factors(self, rng: np.random.Generator) -> tuple[float, float, float]:
        """One draw of (brightness, contrast, saturation) factors."""
        amounts = (self.brightness, self.contrast, self.saturation)
        return tuple(float(rng.uniform(max(0.0, 1.0 - a), 1.0 + a)) for a in amounts)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.video is None:
            return sample
        frames = _frames(sample)
        brightness, contrast, saturation = self.factors(rng)
        x = rearrange(torch.from_numpy(frames.copy()), "t v h w c -> t v c h w")
        x = TF.adjust_brightness(x, brightness)
        x = TF.adjust_contrast(x, contrast)
        x = TF.adjust_saturation(x, saturation)
        out = rearrange(x, "t v c h w -> t v h w c").numpy()
        return sample.replace(video=sample.video.with_values(out))


@register("video.normalize")
@dataclass
class Normalize(Transform):
    """uint8 frames -> float32 (x / 255 - mean) / std per RGB channel (ImageNet by default)."""

    mean: tuple[float, float, float] = IMAGENET_MEAN
    std: tuple[float, float, float] = IMAGENET_STD

    def __post_init__(self) -> None:
        self.mean = tuple(float(v) for v in self.mean)
        self.std = tuple(float(v) for v in self.std)
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            raise ValueError(f"mean and std need 3 values, std > 0; got {self.mean} {self.std}")

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.video is None:
            return sample
        frames = _frames(sample).astype(np.float32) / np.float32(255.0)
        mean, std = np.asarray(self.mean, np.float32), np.asarray(self.std, np.float32)
        return sample.replace(video=sample.video.with_values((frames - mean) / std))
