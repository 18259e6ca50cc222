"""The LightningDataModule: reader -> split -> cache -> clip datasets -> padded batches.

`prepare_data` builds the cache (Lightning calls it on one process per node while the others
wait at a barrier); `setup` opens it. Two-step balancing switches the training set to the
balanced subset from `balance_from_epoch` on, so the Trainer must reload the train dataloader
every epoch (`reload_dataloaders_every_n_epochs=1`) for it to take effect.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader

from fusion.data.balance import balance_plan
from fusion.data.batch_video import prepare_video
from fusion.data.cache import CacheBuild, CacheStore, cache_key, dataset_fingerprint, ensure_cache
from fusion.data.config import DataConfig, data_config, preprocess_specs
from fusion.data.dataset import SIGNALS, ClipDataset, Entry, LiveSource, SampleSource, collate
from fusion.data.readers import open_reader
from fusion.data.sample import Sample, SampleInfo
from fusion.data.splits import Split, make_split
from fusion.data.targets import TargetEncoder
from fusion.data.transforms import build_transforms
from fusion.data.transforms.flip import HorizontalFlip
from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.fkg.loader import load_fkg
from fusion.pools import worker_context

log = logging.getLogger(__name__)


class FusionDataModule(pl.LightningDataModule):
    """Batches of every modality with masks, for one dataset folder and one split protocol."""

    def __init__(
        self,
        config: DataConfig | Mapping | DictConfig | None = None,
        fkg: FitnessKnowledgeGraph | None = None,
        progress: bool = True,
    ) -> None:
        super().__init__()
        self.config = data_config(config)
        self.fkg = fkg or load_fkg()
        self.progress = progress
        self.reader = open_reader(self.config.reader)
        self.preprocess = build_transforms(preprocess_specs(self.config))
        self.augment = build_transforms(self.config.augment)
        self.transform = build_transforms(self.config.transform)
        self.targets = TargetEncoder(self.fkg)
        self.infos: list[SampleInfo] = []
        self.split: Split | None = None
        self.source: SampleSource | None = None
        self._positions: dict[str, int] = {}
        self.item_modalities: tuple[str, ...] | None = None  # None: every modality read
        self._cache_key: str | None = None

    @property
    def view_ids(self) -> tuple[int, ...]:
        """Every view id the index lists, in order."""
        return tuple(sorted({v for info in self.infos for v in info.views}))

    def cache_key(self) -> str:
        """Hash of the dataset files and every setting that shapes the cached arrays; worked
        out once per module (walking a large dataset's files takes seconds)."""
        if self._cache_key is None:
            self._cache_key = self._compute_cache_key()
        return self._cache_key

    def _compute_cache_key(self) -> str:
        self._index()
        reader = OmegaConf.to_container(OmegaConf.structured(self.config.reader))
        return cache_key(
            {
                "dataset": dataset_fingerprint(
                    self.config.reader.root, exclude=[self.config.cache.dir]
                ),
                "reader": {k: v for k, v in reader.items() if k != "root"},
                "frames": self.config.clip.cache_frames,
                "preprocess": self.preprocess.spec(),
                "views": self.view_ids,
            }
        )

    def _index(self) -> None:
        if not self.infos:
            self.infos = self.reader.index()
            if not self.infos:
                raise ValueError(f"{self.config.reader.root}: the dataset lists no samples")

    @property
    def _read(self) -> partial[Sample]:
        """The reader's `read` that decodes only the frame grid the clips are drawn from."""
        return partial(self.reader.read, frames=self.config.clip.cache_frames)

    def _build(self) -> Path:
        build = CacheBuild(
            infos=self.infos,
            read=self._read,
            preprocess=self.preprocess,
            frames=self.config.clip.cache_frames,
            view_ids=self.view_ids,
            skip_bad=self.config.reader.on_bad_sample == "skip",
            workers=self.config.cache.workers,
            progress=self.progress,
        )
        return ensure_cache(self.config.cache.dir, self.cache_key(), build)

    def prepare_data(self) -> None:
        self._index()
        if self.config.cache.enabled:
            self._build()

    def setup(self, stage: str | None = None) -> None:
        if self.source is not None:
            return
        self._index()
        summary = self.reader.summary()
        for name, count in summary["missing"].items():
            log.warning(
                "%s: %s is missing for %d samples (masked)", summary["dataset"], name, count
            )
        for note in summary["notes"]:
            log.warning("%s: %s", summary["dataset"], note)
        if self.config.cache.enabled:
            store = CacheStore(self._build())
            for skipped in store.skipped:
                log.warning("cache left out %s: %s", skipped["key"], skipped["error"])
            for noted in store.manifest["notes"]:
                log.warning("cache: %s: %s", noted["key"], noted["note"])
            self.source = store
        else:
            self.source = LiveSource(
                self.infos,
                self._read,
                self.preprocess,
                self.config.clip.cache_frames,
                self.view_ids,
            )
        self._positions = {key: i for i, key in enumerate(self.source.keys)}
        usable = [info for info in self.infos if info.key in self._positions]
        self.split = make_split(usable, self.config.split)

    @property
    def skipped(self) -> list[dict[str, str]]:
        """Samples the cache build left out (on_bad_sample: skip), with their error."""
        return self.source.skipped if isinstance(self.source, CacheStore) else []

    def _infos(self, keys: Sequence[str]) -> list[SampleInfo]:
        by_key = {info.key: info for info in self.infos}
        return [by_key[key] for key in keys]

    def _dataset(self, part: str, entries: list[Entry], train: bool) -> ClipDataset:
        split = self.split
        views = split.train_views if part == "train" else split.test_views
        chosen = self.config.clip.views
        if chosen is not None:
            unknown = sorted(set(chosen) - set(self.view_ids))
            allowed = [v for v in (views or self.view_ids) if v in chosen]
            if unknown or not allowed:
                raise ValueError(
                    f"data.clip.views: {list(chosen)} leaves the {part} clips no view; "
                    f"{self.config.reader.root} has views {list(self.view_ids)}"
                    + (f" and the {part} side of the split {list(views)}" if views else "")
                )
            views = allowed
        return ClipDataset(
            self.source,
            entries,
            self.targets,
            frames=self.config.clip.frames,
            clips=1 if train else self.config.clip.test_clips,
            views=views,
            train=train,
            jitter=self.config.clip.jitter,
            augment=self.augment,
            transform=self.transform,
            flip=HorizontalFlip(p=1.0),
            skip_bad=self.config.reader.on_bad_sample == "skip",
            modalities=self.item_modalities,
        )

    def dataset(self, part: str, evaluation: bool = False) -> ClipDataset:
        """The dataset of one part: train follows the balancing plan, val/test every clip.

        With `evaluation`, any part (train included) gives every sample once per test clip,
        without jitter or augmentation: what a non-learned baseline fits on.
        """
        if self.split is None:
            self.setup()
        keys = getattr(self.split, part)
        if part == "train" and not evaluation:
            strategy = self.config.balance
            trainer = getattr(self, "trainer", None)
            epoch = trainer.current_epoch if trainer is not None else 0
            if strategy == "two-step" and epoch < self.config.balance_from_epoch:
                strategy = "none"
            infos = self._infos(keys)
            plan = balance_plan(infos, strategy, seed=self.config.split.seed + epoch)
            entries = [Entry(self._positions[infos[i].key], flip) for i, flip in plan]
            return self._dataset(part, entries, train=True)
        clips = range(self.config.clip.test_clips)
        entries = [Entry(self._positions[key], False, c) for key in keys for c in clips]
        return self._dataset(part, entries, train=False)

    def part_targets(self, part: str) -> list[dict[str, Any]]:
        """The targets of every sample of a part, once each and in split order, from the labels
        alone (with the cache, its metadata: no frame is read), for scoring answers that never
        look at a sample. They equal an evaluation item's: only the flip, which evaluation never
        applies, changes labels."""
        if self.split is None:
            self.setup()
        return [
            self.targets.encode(self.source.labels(self._positions[key]), key)
            for key in getattr(self.split, part)
        ]

    def _loader(self, dataset: ClipDataset, shuffle: bool) -> DataLoader:
        loader = self.config.loader
        workers = loader.num_workers
        # Live workers decode files: forked after PyAV or torch ran here they can hang
        # (fusion.pools). Cached workers only slice memory maps, and fork is fastest for them.
        live = isinstance(self.source, LiveSource) and workers > 0
        return DataLoader(
            dataset,
            batch_size=loader.batch_size,
            shuffle=shuffle,
            num_workers=workers,
            multiprocessing_context=worker_context() if live else None,
            pin_memory=loader.pin_memory,
            persistent_workers=loader.persistent_workers and workers > 0,
            collate_fn=collate,
            drop_last=False,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.dataset("train"), shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.dataset("val"), shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.dataset("test"), shuffle=False)

    def on_after_batch_transfer(self, batch: dict[str, Any], dataloader_idx: int) -> dict:
        """On the device: float16 signals -> float32; uint8 frames -> normalised float32
        (B, V, T, 3, H, W), colour-jittered while training."""
        trainer = getattr(self, "trainer", None)
        return self.prepare_batch(batch, training=trainer is not None and trainer.training)

    def prepare_batch(
        self, batch: dict[str, Any], training: bool, generator: torch.Generator | None = None
    ) -> dict[str, Any]:
        """A collated batch made ready for the encoders (see `on_after_batch_transfer`);
        `generator` draws the colour jitter of a training batch."""
        for name in SIGNALS:
            if name in batch and batch[name].dtype == torch.float16:
                batch[name] = batch[name].float()
        if "video" in batch:
            batch["video"] = prepare_video(
                batch["video"],
                tuple(self.config.video_mean),
                tuple(self.config.video_std),
                jitter=self.config.color_jitter if training else 0.0,
                generator=generator,
                shuffle=self.config.color_shuffle if training else 0.0,
            )
        return batch

    def describe(self) -> dict[str, Any]:
        """Counts a person wants before training: samples, split sizes, skipped, cache folder."""
        if self.split is None:
            self.setup()
        info = {
            "root": self.config.reader.root,
            "samples": len(self.infos),
            "split": self.split.describe(),
            "skipped": len(self.skipped),
            "reader": self.reader.summary(),
        }
        if isinstance(self.source, CacheStore):
            info["cache"] = {"folder": str(self.source.folder), "bytes": self.source.size_bytes}
        return info
