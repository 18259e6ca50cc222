"""Map-style datasets over a sample source (the cache or the live reader), and the collate.

An entry is (source index, flip, clip index). Training entries come from a balancing plan;
evaluation entries repeat each sample once per test clip. Items are dicts of tensors keyed by
modality with their time stamps; `collate` pads the time axes and adds `<modality>_mask`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import torch
from einops import rearrange
from torch.utils.data import Dataset

from fusion.constants import MODALITIES
from fusion.data.align import clip_indices, to_frame_grid
from fusion.data.sample import DataError, Labels, Sample, SampleInfo

Transform = Callable[[Sample, np.random.Generator], Sample]
# Sample -> target fields of its item (`TargetEncoder` for AQA, `EnvelopeTargets` for Video->EMG).
Targets = Callable[[Sample], dict[str, Any]]
SIGNALS: tuple[str, ...] = ("pose", "emg", "physio")
log = logging.getLogger(__name__)


class SampleSource(Protocol):
    """Where samples come from: the cache, or the reader decoding on every access."""

    keys: list[str]
    view_ids: tuple[int, ...]
    frames: int

    def __len__(self) -> int: ...

    def labels(self, i: int) -> Labels: ...

    def sample(
        self, i: int, frame_rows: np.ndarray | None = None, views: Sequence[int] | None = None
    ) -> Sample: ...

    def view_mask(self, i: int, views: Sequence[int] | None = None) -> np.ndarray: ...


@dataclass
class LiveSource:
    """Reads, aligns and preprocesses every sample on access (no cache)."""

    infos: Sequence[SampleInfo]
    read: Callable[[SampleInfo], Sample]
    preprocess: Transform
    frames: int
    view_ids: tuple[int, ...]

    def __post_init__(self) -> None:
        self.keys = [info.key for info in self.infos]

    def __len__(self) -> int:
        return len(self.infos)

    def labels(self, i: int) -> Labels:
        return self.read(self.infos[i]).labels

    def sample(
        self, i: int, frame_rows: np.ndarray | None = None, views: Sequence[int] | None = None
    ) -> Sample:
        sample = to_frame_grid(self.read(self.infos[i]), self.frames)
        sample = self.preprocess(sample, np.random.default_rng(0))
        if sample.video is not None:
            video = sample.video.take(frame_rows if frame_rows is not None else slice(None))
            sample = sample.replace(
                video=video.with_values(self._views(video.values, sample, views))
            )
        return sample

    def _views(self, values: np.ndarray, sample: Sample, views: Sequence[int] | None) -> np.ndarray:
        """Frames of the requested views in order; a view the sample lacks is zeros (masked)."""
        have = sample.provenance.views
        out = np.zeros(
            (values.shape[0], len(views or self.view_ids), *values.shape[2:]), values.dtype
        )
        for slot, view in enumerate(views or self.view_ids):
            if view in have:
                out[:, slot] = values[:, have.index(view)]
        return out

    def view_mask(self, i: int, views: Sequence[int] | None = None) -> np.ndarray:
        have = set(self.infos[i].views)
        return np.array([v in have for v in (views or self.view_ids)])


@dataclass(frozen=True)
class Entry:
    index: int
    flip: bool = False
    clip: int = 0


class ClipDataset(Dataset):
    """Items for a list of entries: clip frames chosen, transforms applied, targets encoded.

    With `skip_bad`, a sample whose files are broken yields None (logged) and `collate`
    counts it in the batch's `skipped`; otherwise the `DataError` propagates. `modalities`
    limits what an item carries (targets still see the whole sample): a pose model's items
    need no frames, and a Video->EMG item no raw EMG once its envelope is made.
    """

    def __init__(
        self,
        source: SampleSource,
        entries: Sequence[Entry],
        targets: Targets,
        *,
        frames: int,
        clips: int = 1,
        views: Sequence[int] | None = None,
        train: bool = False,
        jitter: bool = True,
        augment: Transform | None = None,
        transform: Transform | None = None,
        flip: Transform | None = None,
        skip_bad: bool = False,
        modalities: Sequence[str] | None = None,
    ) -> None:
        self.source, self.entries, self.targets = source, list(entries), targets
        self.frames, self.clips = frames, clips
        self.views = tuple(views) if views is not None else source.view_ids
        self.modalities = tuple(modalities) if modalities is not None else MODALITIES
        self.train, self.jitter = train, jitter
        self.augment, self.transform, self.flip = augment, transform, flip
        self.skip_bad = skip_bad

    def __len__(self) -> int:
        return len(self.entries)

    def __getitem__(self, i: int) -> dict[str, Any] | None:
        entry = self.entries[i]
        rng = np.random.default_rng(int(torch.randint(2**62, ()).item()))
        jitter = rng if self.train and self.jitter else None
        rows = clip_indices(self.source.frames, self.frames, jitter, entry.clip, self.clips)
        views = self.views if "video" in self.modalities else ()
        try:
            sample = self.source.sample(entry.index, rows, views)
        except DataError as error:
            if not self.skip_bad:
                raise
            log.warning("skipped %s: %s", self.source.keys[entry.index], error)
            return None
        if entry.flip and self.flip is not None:
            sample = self.flip(sample, rng)
        if self.train and self.augment is not None:
            sample = self.augment(sample, rng)
        if self.transform is not None:
            sample = self.transform(sample, rng)
        targets = self.targets(sample)
        dropped = sample.replace(**{m: None for m in MODALITIES if m not in self.modalities})
        item = to_item(dropped, self.source.view_mask(entry.index, views))
        item.update(targets)
        item.update(index=entry.index, clip=entry.clip, flipped=entry.flip)
        return item


def to_item(sample: Sample, view_mask: np.ndarray) -> dict[str, Any]:
    """Tensors of one sample, as compact as cached: video uint8 channels-last (V, T, H, W, 3),
    signals float16 when the cache gave float16 (else float32); `duration` in seconds (NaN
    when unknown).

    The DataModule makes them float32 (video channels-first, normalised) per batch on the device.
    """
    item: dict[str, Any] = {"key": sample.key, "subject": sample.provenance.subject}
    item["duration"] = float("nan") if sample.duration_s is None else float(sample.duration_s)
    if sample.video is not None:
        values = torch.from_numpy(np.ascontiguousarray(sample.video.values))
        item["video"] = rearrange(values, "t v h w c -> v t h w c")
        item["video_times"] = torch.from_numpy(sample.video.times).float()
        item["video_mask"] = torch.from_numpy(np.asarray(view_mask, dtype=bool))
    for name in SIGNALS:
        series = sample.modality(name)
        if series is not None:
            values = series.values
            dtype = np.float16 if values.dtype == np.float16 else np.float32
            item[name] = torch.from_numpy(np.ascontiguousarray(values, dtype))
            item[f"{name}_times"] = torch.from_numpy(series.times).float()
    return item


def collate(items: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """Stack items; pad time axes with zeros and say what is real in `<modality>_mask`.

    video_mask is (B, V): views with frames. Signal masks are (B, L): rows that exist. A
    modality absent from every item is left out of the batch; absent from some, it is
    zero-filled there with an all-False mask.
    """
    kept = [item for item in items if item is not None]
    batch: dict[str, Any] = {"skipped": len(items) - len(kept)}
    if not kept:
        return batch
    for name in MODALITIES:
        have = [item for item in kept if name in item]
        if not have:
            continue
        if name == "video":
            _collate_video(kept, have[0], batch)
        else:
            _collate_signal(name, kept, batch)
    first = kept[0]
    for name in first:
        if f"{name}_times" in first and name not in batch:  # a timed target (the envelope)
            _collate_signal(name, kept, batch)
    for key, value in first.items():
        if key in batch or any(key.startswith(m) for m in MODALITIES):
            continue
        values = [item[key] for item in kept]
        if isinstance(value, np.ndarray | np.generic):
            batch[key] = torch.from_numpy(np.stack(values))
        elif isinstance(value, bool | int | float):
            batch[key] = torch.tensor(values)
        else:
            batch[key] = values
    return batch


def _collate_video(kept: list[dict], template: dict, batch: dict) -> None:
    shape = template["video"].shape
    zeros = torch.zeros(shape, dtype=template["video"].dtype)
    batch["video"] = torch.stack([item.get("video", zeros) for item in kept])
    batch["video_times"] = torch.stack(
        [item.get("video_times", torch.zeros(shape[1])) for item in kept]
    )
    batch["video_mask"] = torch.stack(
        [item.get("video_mask", torch.zeros(shape[0], dtype=torch.bool)) for item in kept]
    )


def _collate_signal(name: str, kept: list[dict], batch: dict) -> None:
    template = next(item[name] for item in kept if name in item)
    length = max(len(item[name]) for item in kept if name in item)
    values = torch.zeros((len(kept), length, *template.shape[1:]), dtype=template.dtype)
    times = torch.zeros((len(kept), length))
    mask = torch.zeros((len(kept), length), dtype=torch.bool)
    for row, item in enumerate(kept):
        if name in item:
            n = len(item[name])
            values[row, :n] = item[name]
            times[row, :n] = item[f"{name}_times"]
            mask[row, :n] = True
    batch[name], batch[f"{name}_times"], batch[f"{name}_mask"] = values, times, mask
