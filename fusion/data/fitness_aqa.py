"""Read the Fitness-AQA layout (docs/data-layouts.md): one mp4 per clip, per-error label files,
key splits.

A clip's labelled errors are the `Labels/error_<name>.json` files that list its key; a file
giving `[start_s, end_s]` marks the error as observed in that span, `[]` as absent. The layout
carries no pose, sEMG or physio: those are None and `summary()` says so once.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

import av
import numpy as np

from fusion.data.align import clip_indices
from fusion.data.config import ReaderConfig, requested_modalities
from fusion.data.files import as_span, dataset_folder, read_json
from fusion.data.layouts import FITNESS_AQA_ERRORS, FITNESS_AQA_EXERCISES
from fusion.data.sample import (
    DataError,
    ErrorLabel,
    Labels,
    Provenance,
    Sample,
    SampleInfo,
    TimeSeries,
)
from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.fkg.loader import load_fkg

KEY_SHAPE = re.compile(r"^(?P<exercise>[A-Za-z]+)_(?P<subject>[A-Za-z0-9]+)_(?P<rep>\d+)$")
EXERCISE_ACTIONS = {exercise: action for action, exercise in FITNESS_AQA_EXERCISES.items()}
SPLITS = ("train", "val", "test")
ABSENT_MODALITIES = ("pose", "emg", "physio")

Span = tuple[float, float] | None  # None: the error is labelled absent


def decode_mp4(
    path: Path, fallback_fps: float, keep: int | None = None
) -> tuple[np.ndarray, np.ndarray, int, float]:
    """A video's frames as (T, H, W, 3) uint8 RGB (PyAV), their 0-based frame numbers, the
    video's frame count and its frame rate. With `keep`, every frame is decoded but only that
    uniform grid is converted to RGB (the conversion is most of the cost)."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DataError(path, "expected a video stream, found none")
            stream = container.streams.video[0]
            rate = stream.average_rate or stream.guessed_rate
            announced = stream.frames
            decoded = list(container.decode(stream))
            if not decoded:
                raise DataError(path, "expected video frames, decoded none")
            count = len(decoded)
            rows = np.arange(count) if keep is None else clip_indices(count, keep)
            frames = np.stack([decoded[row].to_ndarray(format="rgb24") for row in rows])
    except (av.FFmpegError, OSError) as exc:
        raise DataError(path, f"expected a decodable video: {exc}") from exc
    if announced and count != announced:
        raise DataError(path, f"decoded {count} frames, the container announces {announced}")
    return frames, rows, count, float(rate) if rate else fallback_fps


def read_label_file(path: Path) -> dict[str, Span]:
    """`{key: [start_s, end_s] or []}` -> key -> span (None for []); bad entries are DataErrors."""
    data = read_json(path)
    if not isinstance(data, dict):
        raise DataError(path, f"expected an object {{key: [start_s, end_s] or []}}, got {data!r}")
    spans: dict[str, Span] = {}
    for key, value in data.items():
        if value == []:
            spans[key] = None
            continue
        span = as_span(value)
        if span is None or span[0] < 0:
            expected = "[] or [start_s, end_s] with 0 <= start_s <= end_s"
            raise DataError(path, f"expected {expected}, got {value!r}", f"key {key!r}")
        spans[key] = span
    return spans


def read_split_file(path: Path) -> list[str]:
    """Splits/<split>_keys.json: a list of clip keys."""
    keys = read_json(path)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise DataError(path, "expected a JSON list of clip keys")
    return keys


class FitnessAQAReader:
    """Lists and reads a Fitness-AQA-layout folder into `SampleInfo` and `Sample` records."""

    dataset = "fitness-aqa"

    def __init__(self, config: ReaderConfig) -> None:
        self.modalities = requested_modalities(config)
        if config.views and list(config.views) != [1]:
            raise ValueError(f"views {list(config.views)}: Fitness-AQA clips have one view, 1")
        self.config = config
        self.root = dataset_folder(config.root)

    @cached_property
    def fkg(self) -> FitnessKnowledgeGraph:
        return load_fkg()

    @cached_property
    def _videos(self) -> dict[str, Path]:
        folder = self.root / "videos"
        return {p.stem: p for p in sorted(folder.glob("*.mp4"))} if folder.is_dir() else {}

    @cached_property
    def _labels(self) -> dict[str, dict[str, Span]]:
        """Error name -> key -> span, one entry per Labels/error_<name>.json."""
        folder = self.root / "Labels"
        files = sorted(folder.glob("error_*.json")) if folder.is_dir() else []
        return {p.stem.removeprefix("error_"): read_label_file(p) for p in files}

    @cached_property
    def _splits(self) -> dict[str, str]:
        """Key -> train | val | test from Splits/<split>_keys.json; a key in two is a DataError."""
        verdicts: dict[str, str] = {}
        for split in SPLITS:
            path = self.root / "Splits" / f"{split}_keys.json"
            if not path.is_file():
                continue
            for key in read_split_file(path):
                if key in verdicts:
                    raise DataError(path, f"{key} is also in the {verdicts[key]} split")
                verdicts[key] = split
        return verdicts

    @cached_property
    def _keys(self) -> tuple[str, ...]:
        labelled = {key for spans in self._labels.values() for key in spans}
        return tuple(sorted(set(self._videos) | labelled))

    def _label_path(self, name: str) -> Path:
        return self.root / "Labels" / f"error_{name}.json"

    def _labelled(self, key: str) -> dict[str, Span]:
        """Error name -> span for every label file that lists the key."""
        return {name: spans[key] for name, spans in self._labels.items() if key in spans}

    def _action(self, key: str, labelled: dict[str, Span]) -> str | None:
        """The FKG action named by the key's exercise and by the error files listing the key."""
        match = KEY_SHAPE.match(key)
        claims: dict[str, str] = {}  # action -> what says so
        if match and match["exercise"] in EXERCISE_ACTIONS:
            claims[EXERCISE_ACTIONS[match["exercise"]]] = "its key"
        for name in labelled:
            if name in FITNESS_AQA_ERRORS:
                claims.setdefault(FITNESS_AQA_ERRORS[name][0], f"error_{name}.json")
        if len(claims) > 1:
            said = ", ".join(f"{FITNESS_AQA_EXERCISES[a]} by {src}" for a, src in claims.items())
            raise DataError(
                self.root / "Labels", f"expected one exercise, got {said}", f"key {key!r}"
            )
        return next(iter(claims), None)

    def _errors(self, labelled: dict[str, Span]) -> tuple[ErrorLabel, ...]:
        """Observed errors (a span in their file), with the FKG id when the error maps to one."""
        errors = []
        for name, span in sorted(labelled.items()):
            if span is None:
                continue
            error_id = None
            if name in FITNESS_AQA_ERRORS:
                action_id, fkg_name = FITNESS_AQA_ERRORS[name]
                error_id = self.fkg.action(action_id).error(fkg_name).id
            errors.append(ErrorLabel(name=name, span_s=span, id=error_id))
        return tuple(errors)

    def index(self) -> list[SampleInfo]:
        """Every clip, sorted by key, from the video names, label files and split files."""
        infos = []
        for key in self._keys:
            labelled = self._labelled(key)
            observed = tuple(name for name in sorted(labelled) if labelled[name])
            match = KEY_SHAPE.match(key)
            infos.append(
                SampleInfo(
                    key=key,
                    dataset=self.dataset,
                    action=self._action(key, labelled),
                    subject=match["subject"] if match else None,
                    views=(1,) if "video" in self.modalities and self._videos else (),
                    error_names=observed if labelled else None,
                    official_split=self._splits.get(key),
                    sample_id=int(match["rep"]) if match else None,
                )
            )
        return infos

    def read(self, info: SampleInfo, frames: int | None = None) -> Sample:
        """Decode one clip (if video is requested) and its labels; spans must fit in the clip.
        With `frames`, only that uniform grid of frames is kept (what the cache keeps)."""
        key = info.key
        labelled = self._labelled(key)
        action = self._action(key, labelled)
        files = {f"error_{name}": str(self._label_path(name)) for name in labelled}
        video = duration_s = None
        if "video" in self.modalities and self._videos:
            path = self.root / "videos" / f"{key}.mp4"
            if not path.is_file():
                raise DataError(path, f"missing ({len(self._videos)} other clips have a video)")
            values, rows, count, fps = decode_mp4(path, self.config.video_fps, frames)
            video = TimeSeries(values[:, None], rows / fps, fps)
            duration_s = count / fps
            files["video"] = str(path)
            self._check_spans(key, labelled, duration_s)
        match = KEY_SHAPE.match(key)
        labels = Labels(
            action=action,
            errors=self._errors(labelled),
            labelled_errors=tuple(sorted(labelled)) or None,
        )
        return Sample(
            key=key,
            labels=labels,
            provenance=Provenance(
                dataset=self.dataset,
                root=str(self.root),
                key=key,
                subject=match["subject"] if match else None,
                views=(1,) if video is not None else (),
                files=files,
            ),
            video=video,
            duration_s=duration_s,
        )

    def _check_spans(self, key: str, labelled: dict[str, Span], duration_s: float) -> None:
        """Every labelled span must end within the clip (plus the reader's tolerance)."""
        for name, span in labelled.items():
            if span is not None and span[1] > duration_s + self.config.tolerance_s:
                raise DataError(
                    self._label_path(name),
                    f"span ends at {span[1]:g} s, after the {duration_s:.3f} s clip",
                    f"key {key!r}",
                )

    def summary(self) -> dict:
        """Clip count, samples lacking each requested modality, and notes on what is absent."""
        n = len(self._keys)
        missing = {m: n for m in ABSENT_MODALITIES if m in self.modalities}
        if "video" in self.modalities and len(self._videos) < n:
            missing = {"video": n - len(self._videos)} | missing
        notes = []
        if missing.keys() & set(ABSENT_MODALITIES):
            notes.append("the Fitness-AQA layout has no pose, EMG or physio: they are None")
        if not self._labels:
            notes.append("no Labels/error_*.json files: errors unknown")
        unlabelled = sum(1 for key in self._keys if not self._labelled(key))
        if self._labels and unlabelled:
            notes.append(f"{unlabelled} clips are in no label file: their errors are unknown")
        if not self._splits:
            notes.append("no Splits/ files: no official split")
        split_only = len(set(self._splits) - set(self._keys))
        if split_only:
            notes.append(f"Splits/ lists {split_only} keys that have no files (ignored)")
        return {"dataset": self.dataset, "samples": n, "missing": missing, "notes": notes}
