"""Loader throughput: a FLEX-reference-style reader against the cached DataModule.

The naive reader does what the reference code does for every sample: PIL per JPEG, pandas
per CSV, batch size 1. It returns the same content as a cached item (clip frames per view at
the cache's image size, skeleton, EMG, physio), so the two rates compare like for like.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from tqdm import tqdm

from fusion.data.align import clip_indices
from fusion.data.datamodule import FusionDataModule


class NaiveFlexDataset(Dataset):
    """Per-sample decoding in the reference style: PIL per frame, pandas per CSV."""

    def __init__(self, root: str | Path, keys: list[str], frames: int, size: int) -> None:
        self.root, self.keys, self.frames, self.size = Path(root), keys, frames, size

    def __len__(self) -> int:
        return len(self.keys)

    def __getitem__(self, i: int) -> dict[str, Any]:
        action, sample = self.keys[i].split("/")
        views = []
        for view in sorted((self.root / action / sample).glob("View-*")):
            files = sorted(view.glob("img_*.JPG"))
            chosen = clip_indices(len(files), self.frames)
            views.append(
                np.stack(
                    [
                        np.asarray(
                            Image.open(files[j]).convert("RGB").resize((self.size, self.size))
                        )
                        for j in chosen
                    ]
                )
            )
        item = {"video": torch.from_numpy(np.stack(views)).float() / 255.0}
        for name, folder, file, header in (
            ("pose", "Skeleton", "skeleton_points.csv", 0),
            ("emg", "EMG", "EMG.csv", None),
            ("physio", "Physio", "physio.csv", 0),
        ):
            table = pd.read_csv(self.root / folder / action / sample / file, header=header)
            item[name] = torch.from_numpy(table.to_numpy(np.float32))
        return item


def _rate(loader: DataLoader, samples: int, desc: str) -> tuple[float, int]:
    """Samples per second over `samples` samples (cycling the loader), timed from the start."""
    seen = 0
    bar = tqdm(total=samples, desc=desc, unit="sample")
    started = time.perf_counter()
    while seen < samples:
        for batch in loader:
            n = len(batch["video"])
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
    batch_size: int = 16,
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
            NaiveFlexDataset(root, keys, clip.frames, module.config.cache.image_size),
            batch_size=1,
            shuffle=True,
            num_workers=workers,
            collate_fn=lambda items: {"video": [item["video"] for item in items]},
        )
        naive_rate, naive_seen = _rate(naive, min(samples, len(keys)), "naive reader")
        cached_rate, cached_seen = _rate(module.train_dataloader(), samples, "cached loader")
        return {
            "root": str(root),
            "samples_in_dataset": len(keys),
            "workers": workers,
            "batch_size": batch_size,
            "clip_frames": clip.frames,
            "cache_frames": clip.cache_frames,
            "image_size": module.config.cache.image_size,
            "cache_build_s": round(build_s, 2),
            "cache_bytes": module.source.size_bytes,
            "naive_samples_per_s": round(naive_rate, 2),
            "naive_samples_timed": naive_seen,
            "cached_samples_per_s": round(cached_rate, 2),
            "cached_samples_timed": cached_seen,
            "speedup": round(cached_rate / naive_rate, 1),
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
