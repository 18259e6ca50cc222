"""Typed data configuration: reader, clip, cache, split, balancing and loader options.

These are OmegaConf structured configs: `OmegaConf.structured(DataConfig)` merged with YAML
from `configs/data/` rejects unknown keys and wrong types with the key's name.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig, OmegaConf

from fusion.constants import MODALITIES


@dataclass
class ReaderConfig:
    """How to read a dataset folder; rates are used only where the files do not give them."""

    root: str = "data/synth-small"
    format: str = "auto"  # auto | flex | fitness-aqa | mia
    modalities: list[str] = field(default_factory=lambda: list(MODALITIES))
    views: list[int] | None = None  # 1-based view ids; None = every view found
    video_fps: float = 30.0
    skeleton_rate_hz: float | None = None  # None = one skeleton row per video frame
    skeleton_unit: str = "mm"  # mm | m
    emg_rate_hz: float = 2000.0
    emg_channels: int | None = None  # expected count; None = whatever the file has
    tolerance_s: float = 0.25  # allowed disagreement between modality durations
    on_bad_sample: str = "raise"  # raise | skip


def requested_modalities(config: ReaderConfig) -> tuple[str, ...]:
    """The modalities a reader should read, in MODALITIES order; unknown names are refused."""
    unknown = sorted(set(config.modalities) - set(MODALITIES))
    if unknown:
        raise ValueError(f"unknown modalities {unknown}: expected some of {list(MODALITIES)}")
    return tuple(m for m in MODALITIES if m in config.modalities)


@dataclass
class ClipConfig:
    """Frames per training clip, the cached frame grid it is drawn from, clips at test time."""

    frames: int = 8
    cache_frames: int = 16
    test_clips: int = 1
    jitter: bool = True  # random offset inside each segment while training
    views: list[int] | None = None  # views the clips show (1-based ids); None = all, same cache


@dataclass
class CacheConfig:
    enabled: bool = True
    dir: str = "data/cache"
    image_size: int | None = 64  # frames resized and centre-cropped to this square; None = keep
    workers: int = 2


@dataclass
class SplitConfig:
    """random | cross-subject | cross-view | dataset (the dataset's own split files)."""

    protocol: str = "cross-subject"
    seed: int = 0
    val_fraction: float = 0.1
    test_fraction: float = 0.25
    test_subjects: list[str] | None = None
    train_views: list[int] | None = None  # cross-view
    test_views: list[int] | None = None


@dataclass
class LoaderConfig:
    batch_size: int = 16
    num_workers: int = 2
    pin_memory: bool = False
    persistent_workers: bool = True


@dataclass
class EnvelopeConfig:
    """The Video->EMG target: output rate (null = the video frame rate), RMS window (null = two
    output periods), what the EMG files hold (signal | envelope) and the per-subject scale
    (percentile; null = none)."""

    rate_hz: float | None = None
    window_s: float | None = None
    kind: str = "signal"
    percentile: float | None = 99.0


@dataclass
class DataConfig:
    reader: ReaderConfig = field(default_factory=ReaderConfig)
    clip: ClipConfig = field(default_factory=ClipConfig)
    cache: CacheConfig = field(default_factory=CacheConfig)
    split: SplitConfig = field(default_factory=SplitConfig)
    loader: LoaderConfig = field(default_factory=LoaderConfig)
    preprocess: list[Any] = field(default_factory=list)  # transforms applied before caching
    augment: list[Any] = field(default_factory=list)  # random transforms, training samples only
    transform: list[Any] = field(default_factory=list)  # applied to every sample after augment
    video_mean: list[float] = field(default_factory=lambda: [0.485, 0.456, 0.406])
    video_std: list[float] = field(default_factory=lambda: [0.229, 0.224, 0.225])
    color_jitter: float = 0.0  # training batches: brightness/contrast/saturation in [1-x, 1+x]
    color_shuffle: float = 0.0  # training batches: chance a sample's RGB channels are permuted
    balance: str = "none"  # none | dynamic-step | two-step
    balance_from_epoch: int = 0  # two-step: epochs on the full set before the balanced subset


def data_config(config: DataConfig | Mapping | DictConfig | None = None) -> DataConfig:
    """A typed DataConfig from a partial mapping; unknown keys and wrong types are refused."""
    schema = OmegaConf.structured(DataConfig)
    merged = OmegaConf.merge(schema, config or {})
    data = OmegaConf.to_object(merged)
    if not 0.0 <= data.color_shuffle <= 1.0:
        raise ValueError(
            f"data.color_shuffle: expected a chance in [0, 1], got {data.color_shuffle}"
        )
    return data


def preprocess_specs(config: DataConfig) -> list[Any]:
    """The cached preprocessing: the configured steps, then resizing and centre-cropping the
    frames to `cache.image_size` when it is set."""
    specs = list(config.preprocess)
    size = config.cache.image_size
    if size:
        specs += [
            {"name": "video.resize", "size": size},
            {"name": "video.center_crop", "size": size},
        ]
    return specs
