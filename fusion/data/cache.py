"""The preprocessed dataset as memory-mapped arrays, built once per (dataset, preprocessing).

The first pass reads every sample, cuts it to its clip window, keeps a uniform grid of video
frames, runs the deterministic preprocessing and writes: uint8 frames (N, F, V, H, W, 3) and,
per signal, float16 rows of all samples end to end with an (offset, length) index and a
(start_s, rate_hz) clock. Later runs, epochs and workers only slice these arrays.

The folder is named by a hash of the dataset's files (path, size, mtime) and of every setting
that changes the arrays, so a changed config makes a new cache. It is built in a hidden
sibling and renamed into place; a file lock makes concurrent builders wait for the first.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from filelock import FileLock
from tqdm import tqdm

from fusion.data.align import to_frame_grid
from fusion.data.sample import (
    DataError,
    ErrorLabel,
    Labels,
    Phase,
    Provenance,
    Sample,
    SampleInfo,
    TimeSeries,
)
from fusion.pools import worker_context

CACHE_VERSION = 3  # 2: samples.json keeps duration_s; 3: provenance notes (masked views)
SIGNALS: tuple[str, ...] = ("pose", "emg", "physio")
Preprocess = Callable[[Sample, np.random.Generator], Sample]
log = logging.getLogger(__name__)


def dataset_fingerprint(root: str | Path, exclude: Sequence[str | Path] = ()) -> str:
    """Hash of every file's relative path, size and modification time under `root`."""
    root = Path(root).resolve()
    skip = {Path(p).resolve() for p in exclude}
    digest = hashlib.sha256()
    stack = [root]
    while stack:
        folder = stack.pop()
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                path = Path(entry.path)
                if entry.name.startswith(".") or path in skip:
                    continue
                if entry.is_dir(follow_symlinks=False):
                    stack.append(path)
                else:
                    stat = entry.stat()
                    rel = path.relative_to(root).as_posix()
                    digest.update(f"{rel}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def cache_key(parts: dict[str, Any]) -> str:
    """Short stable hash of the settings that determine the cached arrays."""
    text = json.dumps({"version": CACHE_VERSION, **parts}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CacheBuild:
    """What `ensure_cache` needs: the reader's index, how to read and preprocess a sample."""

    infos: Sequence[SampleInfo]
    read: Callable[[SampleInfo], Sample]
    preprocess: Preprocess
    frames: int
    view_ids: tuple[int, ...]
    skip_bad: bool = False
    workers: int = 1
    progress: bool = True


def ensure_cache(folder: str | Path, key: str, build: CacheBuild) -> Path:
    """The cache for `key` under `folder`, built first if it does not exist yet."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / key
    with FileLock(str(folder / f".{key}.lock")):
        if (final / "manifest.json").exists():
            return final
        tmp = folder / f".{key}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        try:
            _write(tmp, key, build)
            tmp.rename(final)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return final


_JOB: dict[str, Any] = {}


def _process(index: int) -> tuple[int, dict | str]:
    """Read, align and preprocess one sample in a worker; a bad sample returns its message."""
    build: CacheBuild = _JOB["build"]
    info = build.infos[index]
    try:
        sample = to_frame_grid(build.read(info), build.frames)
        sample = build.preprocess(sample, np.random.default_rng(0))
        return index, _pack(sample, build.view_ids)
    except DataError as error:
        if not build.skip_bad:
            raise
        return index, str(error)


def _init_worker(build: CacheBuild) -> None:
    _JOB["build"] = build
    torch.set_num_threads(1)


def _map(build: CacheBuild) -> Iterator[tuple[int, dict | str]]:
    """Processed samples in index order, from a pool of `build.workers` processes.

    Workers start from the forkserver (`fusion.pools`), never forked from this process:
    by the time `prepare_data` runs the caller has usually built a model or decoded a video,
    and a forked child that enters an inherited native thread pool hangs. They run torch
    single-threaded, as DataLoader workers do.
    """
    indices = range(len(build.infos))
    if build.workers <= 1:
        _JOB["build"] = build
        yield from map(_process, indices)
        return
    with worker_context().Pool(build.workers, initializer=_init_worker, initargs=(build,)) as pool:
        yield from pool.imap(_process, indices, chunksize=1)


def _pack(sample: Sample, view_ids: tuple[int, ...]) -> dict:
    """A sample as plain arrays and JSON-ready metadata, ready to append to the cache files."""
    packed: dict[str, Any] = {"meta": _meta(sample)}
    if sample.video is not None:
        values = np.asarray(sample.video.values)
        if values.dtype != np.uint8 or values.ndim != 5:
            raise DataError(sample.provenance.root, "preprocessed video must be uint8 (T,V,H,W,3)")
        slots = [view_ids.index(v) for v in sample.provenance.views]
        packed["video"] = (values, sample.video.times.astype(np.float32), slots)
    for name in SIGNALS:
        series = sample.modality(name)
        if series is not None:
            packed[name] = (np.asarray(series.values, dtype=np.float16), _clock(series, sample))
    return packed


def _clock(series: TimeSeries, sample: Sample) -> tuple[float, float]:
    """(start_s, rate_hz) of a uniformly sampled signal; the cache stores no other kind."""
    times = series.times
    if len(times) > 1 and not np.allclose(np.diff(times), 1.0 / series.rate_hz, atol=1e-6):
        raise DataError(sample.key, "signal time stamps are not uniform after preprocessing")
    return (float(times[0]) if len(times) else 0.0), series.rate_hz


def _meta(sample: Sample) -> dict:
    return {
        "key": sample.key,
        "labels": asdict(sample.labels),
        "provenance": asdict(sample.provenance),
        "emg_channels": list(sample.emg_channels),
        "skeleton": sample.skeleton,
        "present": list(sample.present),
        "rates": {m: sample.modality(m).rate_hz for m in sample.present},
        "duration_s": sample.duration_s,
    }


class _RaggedWriter:
    """Appends one signal's rows sample after sample into a flat float16 file."""

    def __init__(self, path: Path, n: int) -> None:
        self.path, self.handle = path, path.open("wb")
        self.index = np.zeros((n, 2), np.int64)
        self.clock = np.zeros((n, 2), np.float64)
        self.rows, self.feature_shape = 0, None

    def append(self, slot: int, values: np.ndarray, clock: tuple[float, float]) -> None:
        if self.feature_shape is None:
            self.feature_shape = values.shape[1:]
        elif values.shape[1:] != self.feature_shape:
            raise DataError(
                self.path.stem,
                f"rows of shape {values.shape[1:]}, expected {self.feature_shape} as in "
                "earlier samples (preprocessing must give every sample the same features)",
            )
        self.handle.write(np.ascontiguousarray(values).tobytes())
        self.index[slot] = (self.rows, len(values))
        self.clock[slot] = clock
        self.rows += len(values)

    def close(self, folder: Path) -> dict | None:
        self.handle.close()
        if self.feature_shape is None:
            self.path.unlink()
            return None
        np.save(folder / f"{self.path.stem}.index.npy", self.index)
        np.save(folder / f"{self.path.stem}.clock.npy", self.clock)
        return {"rows": self.rows, "feature_shape": list(self.feature_shape)}


def _write(folder: Path, key: str, build: CacheBuild) -> None:
    started = time.perf_counter()
    n_total = len(build.infos)
    signals = {name: _RaggedWriter(folder / f"{name}.f2", n_total) for name in SIGNALS}
    video: np.memmap | None = None
    video_times = np.zeros((n_total, build.frames), np.float32)
    video_views = np.zeros((n_total, len(build.view_ids)), bool)
    metas: list[dict | None] = [None] * n_total
    skipped: list[dict[str, str]] = []
    bar = tqdm(total=n_total, desc="cache", unit="sample", disable=not build.progress)
    for index, packed in _map(build):
        bar.update()
        if isinstance(packed, str):
            log.warning("skipped %s: %s", build.infos[index].key, packed)
            skipped.append({"key": build.infos[index].key, "error": packed})
            continue
        metas[index] = packed["meta"]
        if "video" in packed:
            values, times, slots = packed["video"]
            if video is None:
                shape = (n_total, build.frames, len(build.view_ids), *values.shape[2:])
                video = np.lib.format.open_memmap(folder / "video.npy", "w+", np.uint8, shape)
            if values.shape[0] != build.frames or values.shape[2:] != video.shape[3:]:
                raise DataError(
                    metas[index]["key"],
                    f"preprocessed video of shape {values.shape}, expected "
                    f"({build.frames}, V, {', '.join(map(str, video.shape[3:]))})",
                )
            video[index, :, slots] = values.swapaxes(0, 1)
            video_times[index] = times
            video_views[index, slots] = True
        for name in SIGNALS:
            if name in packed:
                signals[name].append(index, *packed[name])
    bar.close()
    if video is not None:
        video.flush()
        del video
        np.save(folder / "video_times.npy", video_times)
        np.save(folder / "video_views.npy", video_views)
    kept = [i for i, meta in enumerate(metas) if meta is not None]
    arrays = {name: signals[name].close(folder) for name in SIGNALS}
    manifest = {
        "version": CACHE_VERSION,
        "key": key,
        "frames": build.frames,
        "view_ids": list(build.view_ids),
        "kept": kept,
        "skipped": skipped,
        "notes": [
            {"key": meta["key"], "note": note}
            for meta in metas
            if meta is not None
            for note in meta["provenance"]["notes"]
        ],
        "signals": {name: spec for name, spec in arrays.items() if spec is not None},
        "has_video": bool(video_views.any()),
        "build_s": round(time.perf_counter() - started, 2),
    }
    (folder / "samples.json").write_text(json.dumps(metas))
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1))


class CacheStore:
    """Read access to a built cache: metadata in memory, arrays memory-mapped on first use.

    Memory maps are opened lazily so that each DataLoader worker opens its own.
    """

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.manifest = json.loads((self.folder / "manifest.json").read_text())
        self._metas = json.loads((self.folder / "samples.json").read_text())
        self.kept: list[int] = self.manifest["kept"]
        self.keys: list[str] = [self._metas[i]["key"] for i in self.kept]
        self.view_ids: tuple[int, ...] = tuple(self.manifest["view_ids"])
        self.frames: int = self.manifest["frames"]
        self._arrays: dict[str, np.ndarray] | None = None

    def __len__(self) -> int:
        return len(self.kept)

    @property
    def skipped(self) -> list[dict[str, str]]:
        return self.manifest["skipped"]

    @property
    def size_bytes(self) -> int:
        return sum(p.stat().st_size for p in self.folder.iterdir() if p.is_file())

    def _open(self) -> dict[str, np.ndarray]:
        if self._arrays is None:
            arrays: dict[str, np.ndarray] = {}
            if self.manifest["has_video"]:
                arrays["video"] = np.load(self.folder / "video.npy", mmap_mode="r")
                arrays["video_times"] = np.load(self.folder / "video_times.npy")
                arrays["video_views"] = np.load(self.folder / "video_views.npy")
            for name, spec in self.manifest["signals"].items():
                shape = (spec["rows"], *spec["feature_shape"])
                arrays[name] = np.memmap(self.folder / f"{name}.f2", np.float16, "r", shape=shape)
                arrays[f"{name}.index"] = np.load(self.folder / f"{name}.index.npy")
                arrays[f"{name}.clock"] = np.load(self.folder / f"{name}.clock.npy")
            self._arrays = arrays
        return self._arrays

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_arrays": None}

    def labels(self, i: int) -> Labels:
        return _labels(self._metas[self.kept[i]]["labels"])

    def sample(
        self,
        i: int,
        frame_rows: np.ndarray | None = None,
        views: Sequence[int] | None = None,
    ) -> Sample:
        """Sample `i` (0..len-1) with the chosen cached frames and view ids (default: all)."""
        row = self.kept[i]
        meta = self._metas[row]
        arrays = self._open()
        present = set(meta["present"])
        changes: dict[str, Any] = {}
        view_ids = tuple(views) if views is not None else self.view_ids
        if "video" in present:
            rows = np.arange(self.frames) if frame_rows is None else np.asarray(frame_rows)
            slots = [self.view_ids.index(v) for v in view_ids]
            values = arrays["video"][row][np.ix_(rows, slots)]
            times = arrays["video_times"][row][rows].astype(np.float64)
            changes["video"] = TimeSeries(values, times, meta["rates"]["video"])
        for name in SIGNALS:
            if name in present:
                offset, length = arrays[f"{name}.index"][row]
                start, rate = arrays[f"{name}.clock"][row]
                values = np.array(arrays[name][offset : offset + length])  # float16, as stored
                changes[name] = TimeSeries.uniform(values, rate, start)
        stored = meta["provenance"]
        provenance = Provenance(
            **{**stored, "views": tuple(stored["views"]), "notes": tuple(stored["notes"])}
        )
        return Sample(
            key=meta["key"],
            labels=_labels(meta["labels"]),
            provenance=provenance,
            emg_channels=tuple(meta["emg_channels"]),
            skeleton=meta["skeleton"],
            duration_s=meta["duration_s"],
            **changes,
        )

    def view_mask(self, i: int, views: Sequence[int] | None = None) -> np.ndarray:
        """Which of the requested view ids hold frames for sample i."""
        arrays = self._open()
        mask = arrays["video_views"][self.kept[i]] if "video_views" in arrays else None
        view_ids = tuple(views) if views is not None else self.view_ids
        if mask is None:
            return np.zeros(len(view_ids), bool)
        return np.array([bool(mask[self.view_ids.index(v)]) for v in view_ids])


def _labels(data: dict) -> Labels:
    """Labels back from their JSON form (tuples were written as lists)."""
    errors = tuple(
        ErrorLabel(**{**e, "span_s": tuple(e["span_s"]) if e["span_s"] is not None else None})
        for e in data["errors"]
    )
    labelled = data["labelled_errors"]
    return Labels(
        action=data["action"],
        score=data["score"],
        errors=errors,
        labelled_errors=tuple(labelled) if labelled is not None else None,
        phases=tuple(Phase(**p) for p in data["phases"]),
        skill=data["skill"],
        feedback=tuple(data["feedback"]),
    )
