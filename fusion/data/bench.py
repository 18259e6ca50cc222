"""Loader throughput: a FLEX-reference-style reader against the cached DataModule.

The naive reader does what the reference code does for every sample: PIL per JPEG, pandas
per CSV, batch size 1. The cached loader serves training clips (uint8 frames) with skeleton,
sEMG and physio; it is timed as delivered, and again with the per-batch video normalisation
that a GPU run does on the device done here on the CPU.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from fusion.data.datamodule import FusionDataModule
from fusion.data.transforms.video import IMAGENET_MEAN, IMAGENET_STD


class NaiveFlexDataset(Dataset):
    """Per-sample decoding as the FLEX reference loader does it.

    Every frame of every view is opened with PIL, resized and turned into a normalised float
    tensor one by one (the reference feeds whole clips to I3D), and each CSV is parsed with
    pandas. The reference's second, paired sample per item is left out, which favours it.
    """

    def __init__(self, root: str | Path, keys: list[str], size: int) -> None:
        self.root, self.keys, self.size = Path(root), keys, size
        self.mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
        self.std = torch.tensor(IMAGENET_STD).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.keys)

    def _frame(self, path: Path) -> torch.Tensor:
        image = Image.open(path).convert("RGB").resize((self.size, self.size))
        x = torch.from_numpy(np.array(image)).permute(2, 0, 1).float() / 255.0
        return (x - self.mean) / self.std

    def __getitem__(self, i: int) -> dict[str, Any]:
        action, sample = self.keys[i].split("/")
        views = [
            torch.stack([self._frame(path) for path in sorted(view.glob("img_*.JPG"))])
            for view in sorted((self.root / action / sample).glob("View-*"))
        ]
        item = {"video": views}
        for name, folder, file, header in (
            ("pose", "Skeleton", "skeleton_points.csv", 0),
            ("emg", "EMG", "EMG.csv", None),
            ("physio", "Physio", "physio.csv", 0),
        ):
            table = pd.read_csv(self.root / folder / action / sample / file, header=header)
            item[name] = torch.from_numpy(table.to_numpy(np.float32))
        return item


def _rate(
    loader: DataLoader, samples: int, desc: str, finish: Callable[[dict], dict] = lambda b: b
) -> tuple[float, int]:
    """Samples per second over `samples` samples (cycling the loader), timed from the start.

    `finish` is the per-batch work after loading (the device-side video preparation).
    """
    seen = 0
    bar = tqdm(total=samples, desc=desc, unit="sample")
    started = time.perf_counter()
    while seen < samples:
        for batch in loader:
            n = len(finish(batch)["video"])
            seen += n
            bar.update(n)
            if seen >= samples:
                break
    elapsed = time.perf_counter() - started
    bar.close()
    return seen / elapsed, seen


def bench_data(
    root: str | Path,
    samples: int = 240,
    workers: int = 2,
    batch_size: int = 32,
    cache_dir: str | Path | None = None,
) -> dict[str, Any]:
    """Build a fresh cache, then time the naive reader and the cached loader on `samples`."""
    scratch = Path(cache_dir or tempfile.mkdtemp(prefix="fusion-bench-"))
    config = {
        "reader": {"root": str(root), "format": "flex"},
        "cache": {"dir": str(scratch), "workers": workers},
        "loader": {"batch_size": batch_size, "num_workers": workers},
        "split": {"protocol": "random", "test_fraction": 0.0, "val_fraction": 0.0},
    }
    module = FusionDataModule(config)
    try:
        started = time.perf_counter()
        module.prepare_data()
        build_s = time.perf_counter() - started
        module.setup()
        keys = [info.key for info in module.infos]
        clip = module.config.clip
        naive = DataLoader(
            NaiveFlexDataset(root, keys, module.config.cache.image_size),
            batch_size=1,
            shuffle=True,
            num_workers=workers,
            collate_fn=lambda items: {"video": [item["video"] for item in items]},
        )
        naive_rate, naive_seen = _rate(naive, min(samples, len(keys)), "naive reader")
        loader = module.train_dataloader()
        cached_rate, cached_seen = _rate(loader, samples, "cached loader")
        prepared_rate, _ = _rate(
            loader,
            samples,
            "cached loader + video prep on CPU",
            lambda batch: module.on_after_batch_transfer(batch, 0),
        )
        return {
            "root": str(root),
            "samples_in_dataset": len(keys),
            "workers": workers,
            "batch_size": batch_size,
            "naive_frames": "every frame of every view",
            "cached_clip_frames": clip.frames,
            "cache_frames": clip.cache_frames,
            "image_size": module.config.cache.image_size,
            "cache_build_s": round(build_s, 2),
            "cache_bytes": module.source.size_bytes,
            "naive_samples_per_s": round(naive_rate, 2),
            "naive_samples_timed": naive_seen,
            "cached_samples_per_s": round(cached_rate, 2),
            "cached_samples_timed": cached_seen,
            "speedup": round(cached_rate / naive_rate, 1),
            "cached_with_cpu_video_prep_per_s": round(prepared_rate, 2),
            "speedup_with_cpu_video_prep": round(prepared_rate / naive_rate, 1),
        }
    finally:
        if cache_dir is None:
            shutil.rmtree(scratch, ignore_errors=True)


def write_report(result: dict[str, Any], out: str | Path) -> Path:
    """Write the result as JSON through a temporary file."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp")
    tmp.write_text(json.dumps(result, indent=1) + "\n")
    tmp.rename(out)
    return out
