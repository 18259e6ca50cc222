"""Sample paths -> the batches an exported model was evaluated on, with fusion's own data code.

A FLEX sample folder (`ROOT/A01/002`, with `ROOT/Skeleton|EMG|Physio/A01/002/` and
`ROOT/annotations/A01/002.json` where they exist) or an mp4 is linked into a one-sample
dataset of its layout in a scratch folder, then read, preprocessed and cached by the reader
and cache that `fusion eval` uses, and clipped, transformed and collated by its dataset code.
So a sample reaches the model exactly as it did in evaluation, float16 signals included.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch

from fusion.data.batch_video import prepare_video
from fusion.data.cache import CacheBuild, CacheStore, ensure_cache
from fusion.data.config import DataConfig, preprocess_specs
from fusion.data.dataset import SIGNALS, ClipDataset, Entry, LiveSource, collate
from fusion.data.flex import ACTION_DIR, FILE_NAMES, SAMPLE_DIR
from fusion.data.readers import open_reader
from fusion.data.sample import DataError, Sample
from fusion.data.transforms import build_transforms

FLEX_SOURCES = {"pose": "Skeleton", "emg": "EMG", "physio": "Physio"}
EXPECTED = "a FLEX sample folder (ROOT/A01/002 holding View-k/ folders) or an .mp4 video"
# Names the reader accepts; anything else in an mp4's stem is replaced.
KEY_CHARACTERS = re.compile(r"[^A-Za-z0-9_]")
Targets = Callable[[Sample], dict[str, Any]]


@dataclass(frozen=True)
class SamplePath:
    """A sample given on the command line: its path, layout and the key it is read under."""

    path: Path
    layout: str  # flex | fitness-aqa
    key: str


def sample_path(path: str | Path) -> SamplePath:
    """What `path` is: a FLEX sample folder or an mp4; anything else is a DataError."""
    path = Path(path)
    if path.is_file() and path.suffix.lower() == ".mp4":
        return SamplePath(path, "fitness-aqa", KEY_CHARACTERS.sub("_", path.stem))
    if not path.is_dir():
        raise DataError(path, f"no such file or folder; expected {EXPECTED}")
    if not (SAMPLE_DIR.match(path.name) and ACTION_DIR.match(path.parent.name)):
        raise DataError(path, f"not named like A01/002; expected {EXPECTED}")
    return SamplePath(path, "flex", f"{path.parent.name}/{path.name}")


def link_layout(sample: SamplePath, root: Path) -> None:
    """Make `root` a one-sample dataset of the sample's layout, by symbolic links."""
    if sample.layout == "fitness-aqa":
        (root / "videos").mkdir(parents=True)
        (root / "Labels").mkdir()
        (root / "videos" / f"{sample.key}.mp4").symlink_to(sample.path.absolute())
        return
    source = sample.path.absolute().parent.parent
    action, number = sample.key.split("/")
    links = {Path(action) / number: sample.path.absolute()}
    for modality, folder in FLEX_SOURCES.items():
        base = source / folder
        doubled = base / folder  # FLEX ships Skeleton/Skeleton/
        base = doubled if doubled.is_dir() else base
        if (base / action / number / FILE_NAMES[modality]).is_file():
            links[Path(folder) / action / number] = base / action / number
    annotation = source / "annotations" / action / f"{number}.json"
    if annotation.is_file():
        links[Path("annotations") / action / f"{number}.json"] = annotation
    for link, target in links.items():
        (root / link).parent.mkdir(parents=True, exist_ok=True)
        (root / link).symlink_to(target)


def open_source(
    data: DataConfig, root: Path, scratch: Path, views: list[int] | None
) -> tuple[CacheStore | LiveSource, tuple[int, ...]]:
    """The one-sample dataset at `root` as eval reads it: through the cache (built in
    `scratch`) when the model's data config caches, else decoded live; and its views."""
    reader = open_reader(replace(data.reader, root=str(root), views=views or data.reader.views))
    infos = reader.index()
    view_ids = tuple(sorted({v for info in infos for v in info.views}))
    preprocess = build_transforms(preprocess_specs(data))
    frames = data.clip.cache_frames
    if not data.cache.enabled:
        return LiveSource(infos, reader.read, preprocess, frames, view_ids), view_ids
    build = CacheBuild(infos, reader.read, preprocess, frames, view_ids, progress=False)
    return CacheStore(ensure_cache(scratch, "sample", build)), view_ids


def sample_batch(
    data: DataConfig,
    sample: SamplePath,
    scratch: Path,
    targets: Targets,
    modalities: tuple[str, ...],
    views: list[int] | None = None,
) -> dict[str, Any]:
    """The collated, device-ready batch of one sample's test clips (data.clip.test_clips)."""
    root = scratch / "dataset"
    link_layout(sample, root)
    source, view_ids = open_source(data, root, scratch / "cache", views)
    clips = data.clip.test_clips
    chosen = tuple(data.clip.views or view_ids)
    dataset = ClipDataset(
        source,
        [Entry(0, False, c) for c in range(clips)],
        targets,
        frames=data.clip.frames,
        clips=clips,
        views=[v for v in view_ids if v in chosen] or view_ids,
        transform=build_transforms(data.transform),
        modalities=modalities,
    )
    batch = collate([dataset[i] for i in range(len(dataset))])
    for name in SIGNALS:
        if name in batch:
            batch[name] = batch[name].float()
    if "video" in batch:
        batch["video"] = prepare_video(
            batch["video"], tuple(data.video_mean), tuple(data.video_std)
        )
    return batch


def model_inputs(specs: list[dict[str, Any]], batch: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The artifact's named inputs from a batch: a modality the sample lacks is one zero row
    (one zero frame of one view for video) with an all-False mask, as if left out."""
    size = len(batch["key"])
    inputs: dict[str, torch.Tensor] = {}
    for spec in specs:
        name = spec["name"]
        if name in batch:
            inputs[name] = batch[name]
        elif name == "action":
            inputs[name] = torch.full((size,), -1, dtype=torch.int64)
        else:
            inputs[name] = _absent(spec, size)
    return inputs


def _absent(spec: dict[str, Any], size: int) -> torch.Tensor:
    """Zeros of the spec's shape with every symbolic dimension 1 (the batch's is `size`)."""
    shape = [size if d == "batch" else d if isinstance(d, int) else 1 for d in spec["shape"]]
    dtype = {"float32": torch.float32, "bool": torch.bool, "int64": torch.int64}[spec["dtype"]]
    return torch.zeros(shape, dtype=dtype)


def no_targets(sample: Sample) -> dict[str, Any]:
    """An AQA sample to predict for carries no targets."""
    return {}
