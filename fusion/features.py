"""Feature-cache mode: frozen encoders run once per (encoder weights, data); the fuser and the
heads then train on the stored tokens, which costs a fraction of running the encoders.

The cache lives under `features.dir/<data key>/`: `labels.pt` (each clip's targets, key and
origin) and one `<modality>-<encoder key>.pt` per modality and encoder weights, so studies
that differ in which modalities they fuse share every modality's tokens. Training clips are
`features.train_passes` augmented passes over the training set (augmentation and colour
jitter drawn from `features.seed`, one seed per clip, so each modality's pass sees the same
clip whichever modalities are computed with it); an epoch draws one pass per clip. Validation
and test clips are the deterministic ones of the end-to-end path, so a model trained here and
evaluated end to end (`fusion eval`) gives the same predictions.

It runs a model's encoders over a data module's batches, so it sits with the runners, above
both `fusion.data` and `fusion.models` (docs/architecture.md), not in the data layer.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from filelock import FileLock
from omegaconf import OmegaConf
from torch import nn
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from fusion.config import FeaturesConfig
from fusion.constants import MODALITIES
from fusion.data.datamodule import FusionDataModule
from fusion.data.dataset import collate
from fusion.models.backbone import encode, load_backbone

VERSION = 1
PARTS = ("train", "val", "test")
EXTRACT_BATCH = 16  # fixed, so the jitter drawn per batch does not depend on loader settings


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def weights_digest(module: nn.Module) -> str:
    """SHA-256 of a module's parameters and buffers (names, shapes and bytes)."""
    digest = hashlib.sha256()
    for name, tensor in sorted(module.state_dict().items()):
        digest.update(f"{name}{tuple(tensor.shape)}{tensor.dtype}".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


class _SeededClips(Dataset):
    """Clip `i` of a dataset drawn with its own seed, whatever the worker or batch."""

    def __init__(self, dataset: Dataset, seed: int) -> None:
        self.dataset, self.seed = dataset, seed

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, i: int) -> Any:
        torch.manual_seed(self.seed * 1_000_003 + i)
        return self.dataset[i]


def _label_fields(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if not any(k.startswith(m) for m in MODALITIES)}


def _collate_with_labels(items: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    """`collate`, plus each kept item's labels, key and origin under `clip_labels` (built in
    the loader's worker, so it travels with the batch)."""
    batch = collate(items)
    batch["clip_labels"] = [_label_fields(item) for item in items if item is not None]
    return batch


class FeatureCache:
    """Reads, and builds when missing, the cached tokens of a data module's clips."""

    def __init__(
        self,
        data: FusionDataModule,
        encoders: nn.ModuleDict,
        encoder_configs: Mapping[str, Any],
        config: FeaturesConfig,
        progress: bool = True,
    ) -> None:
        if data.config.balance != "none":
            raise ValueError(
                f"features.enabled: data.balance must be none, got {data.config.balance!r} "
                "(the cached training passes follow one plan)"
            )
        if config.train_passes < 1:
            raise ValueError(f"features.train_passes: expected >= 1, got {config.train_passes}")
        self.data, self.encoders, self.config, self.progress = data, encoders, config, progress
        self.encoder_configs = encoder_configs
        self._data_key: str | None = None

    def data_key(self) -> str:
        """Everything that shapes the clips and their labels (not the encoders, nor the
        cameras the video shows)."""
        if self._data_key is None:
            self._data_key = self._compute_data_key()
        return self._data_key

    def _compute_data_key(self) -> str:
        self.data.setup()  # the key holds the split
        data = self.data.config
        return _digest(
            {
                "version": VERSION,
                "cache": self.data.cache_key(),
                "clip": {k: v for k, v in self._clip().items() if k != "views"},
                "augment": self.data.augment.spec(),
                "transform": self.data.transform.spec(),
                "color_jitter": data.color_jitter,
                "color_shuffle": data.color_shuffle,
                "video": [list(data.video_mean), list(data.video_std)],
                "split": json.loads(self.data.split.to_json()),
                "passes": self.config.train_passes,
                "seed": self.config.seed,
            }
        )[:16]

    def _clip(self) -> dict[str, Any]:
        return OmegaConf.to_container(OmegaConf.structured(self.data.config.clip))

    def encoder_key(self, modality: str) -> str:
        """The modality's encoder options and weights; for video also the cameras shown
        (`data.clip.views`), which no other modality's tokens or the labels depend on."""
        encoder = self.encoders[modality]
        parts = [modality, self.encoder_configs.get(modality), weights_digest(encoder)]
        if modality == "video":
            parts.append(self._clip()["views"])
        return _digest(parts)[:16]

    def folder(self) -> Path:
        return Path(self.config.dir) / self.data_key()

    def load(self) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
        """(labels, {modality: tokens}) of every part, built first where missing."""
        self.data.setup()
        folder = self.folder()
        folder.mkdir(parents=True, exist_ok=True)
        files = {m: folder / f"{m}-{self.encoder_key(m)}.pt" for m in self.encoders}
        with FileLock(str(folder / ".lock")):
            missing = [m for m, path in files.items() if not path.is_file()]
            if missing or not (folder / "labels.pt").is_file():
                # The passes reseed torch; a run trains the same whether it built the cache or
                # found it built.
                with torch.random.fork_rng(devices=[]):
                    self._build(folder, missing, files)
        labels = torch.load(folder / "labels.pt", weights_only=False)
        return labels, {m: torch.load(path, weights_only=True) for m, path in files.items()}

    def _build(self, folder: Path, modalities: list[str], files: Mapping[str, Path]) -> None:
        """Run the frozen encoders of `modalities` over every pass; write labels and tokens."""
        self.data.item_modalities = tuple(modalities)
        labels: dict[str, Any] = {}
        tokens: dict[str, dict[str, Any]] = {m: {} for m in modalities}
        runs = [("train", p) for p in range(self.config.train_passes)] + [("val", 0), ("test", 0)]
        try:
            for part, index in runs:
                rows, table = self._pass(part, index, modalities)
                if part == "train":
                    labels.setdefault("train", []).append(rows)
                    for m in modalities:
                        tokens[m].setdefault("train", []).append(table[m])
                else:
                    labels[part] = rows
                    for m in modalities:
                        tokens[m][part] = table[m]
        finally:
            self.data.item_modalities = None
        _save(labels, folder / "labels.pt")
        for m in modalities:
            _save(tokens[m], files[m])

    @torch.no_grad()
    def _pass(
        self, part: str, index: int, modalities: list[str]
    ) -> tuple[list[dict[str, Any]], dict[str, dict[str, torch.Tensor]]]:
        """One pass over a part: each clip's labels, and per modality its real tokens
        flattened (`values` (R, D), `times` (R,)) with `offsets` (clips + 1,)."""
        training = part == "train"
        seed = self.config.seed * 7919 + index
        labels: list[dict[str, Any]] = []
        loader = DataLoader(
            _SeededClips(self.data.dataset(part), seed),
            batch_size=EXTRACT_BATCH,
            num_workers=self.data.config.loader.num_workers,
            collate_fn=_collate_with_labels,
        )
        parts: dict[str, list[tuple[torch.Tensor, torch.Tensor]]] = {m: [] for m in modalities}
        was_training = [e.training for e in self.encoders.values()]
        self.encoders.eval()
        generator = torch.Generator().manual_seed(seed)
        chosen = nn.ModuleDict({m: self.encoders[m] for m in modalities})
        desc = f"features {','.join(modalities)}: {part}" + (f" pass {index}" if training else "")
        for batch in tqdm(loader, desc=desc, disable=not self.progress, leave=False):
            if "key" not in batch:
                continue
            labels += batch.pop("clip_labels")
            batch = self.data.prepare_batch(batch, training=training, generator=generator)
            encoded = encode(chosen, batch)
            for m in modalities:
                found = encoded[m]
                for row in range(len(batch["key"])):
                    real = found.mask[row]
                    parts[m].append((found.values[row][real], found.times[row][real]))
        for encoder, mode in zip(self.encoders.values(), was_training, strict=True):
            encoder.train(mode)
        table = {}
        for m, rows in parts.items():
            lengths = torch.tensor([len(v) for v, _ in rows])
            width = self.encoders[m].out_dim
            table[m] = {
                "values": torch.cat([v for v, _ in rows]) if rows else torch.zeros(0, width),
                "times": torch.cat([t for _, t in rows]) if rows else torch.zeros(0),
                "offsets": torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)]),
            }
        return labels, table


def _save(data: Any, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    torch.save(data, tmp)
    tmp.replace(path)


class FeatureClips(Dataset):
    """Items of cached clips: the labels plus `<m>_features` (N, D) and `_times` per
    modality; training draws one of the passes per clip each time it is read."""

    def __init__(
        self, labels: Sequence[list[dict[str, Any]]], tokens: Mapping[str, Sequence[dict]]
    ) -> None:
        self.labels, self.tokens = labels, tokens
        sizes = {len(rows) for rows in labels}
        sizes |= {len(t["offsets"]) - 1 for passes in tokens.values() for t in passes}
        if len(sizes) != 1:
            raise ValueError(f"feature cache: passes of different sizes {sorted(sizes)}; delete it")

    def __len__(self) -> int:
        return len(self.labels[0])

    def __getitem__(self, i: int) -> dict[str, Any]:
        p = int(torch.randint(len(self.labels), ())) if len(self.labels) > 1 else 0
        item = dict(self.labels[p][i])
        for m, passes in self.tokens.items():
            table = passes[p]
            start, end = int(table["offsets"][i]), int(table["offsets"][i + 1])
            if end > start:  # a clip without the modality leaves it out, as its raw item does
                item[f"{m}_features"] = table["values"][start:end]
                item[f"{m}_features_times"] = table["times"][start:end]
        return item


class FeatureDataModule(pl.LightningDataModule):
    """The batches of a FusionDataModule with the encoders' cached tokens instead of inputs."""

    def __init__(self, data: FusionDataModule, cache: FeatureCache) -> None:
        super().__init__()
        self.data, self.cache = data, cache
        self.datasets: dict[str, FeatureClips] = {}

    @property
    def split(self) -> Any:
        return self.data.split

    def prepare_data(self) -> None:
        self.data.prepare_data()

    def setup(self, stage: str | None = None) -> None:
        if self.datasets:
            return
        labels, tokens = self.cache.load()
        for part in PARTS:
            passes = labels[part] if part == "train" else [labels[part]]
            per_modality = {m: t[part] if part == "train" else [t[part]] for m, t in tokens.items()}
            self.datasets[part] = FeatureClips(passes, per_modality)

    def _loader(self, part: str, shuffle: bool) -> DataLoader:
        self.setup()
        return DataLoader(
            self.datasets[part],
            batch_size=self.data.config.loader.batch_size,
            shuffle=shuffle,
            collate_fn=collate,
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader("train", shuffle=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader("val", shuffle=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader("test", shuffle=False)


def feature_datamodule(config: Any, data: FusionDataModule, model: nn.Module) -> FeatureDataModule:
    """Feature-cache mode for a run: `model`'s encoders (loaded from `features.encoders_from`
    when set) are frozen, and the batches carry their cached tokens."""
    features = config.features
    if features.encoders_from:
        load_backbone(model, features.encoders_from, ("encoders",), "features.encoders_from")
    model.encoders.requires_grad_(False)
    specs = OmegaConf.to_container(config.model.encoders, resolve=True)
    cache = FeatureCache(
        data,
        model.encoders,
        {m: specs.get(m) for m in model.encoders},
        features,
        progress=bool(config.trainer.enable_progress_bar),
    )
    return FeatureDataModule(data, cache)
