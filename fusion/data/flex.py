"""Read the FLEX layout (docs/data-layouts.md): JPEG views, skeleton/EMG/physio CSVs,
annotations, Split_4.

`FlexReader.index()` lists samples from folder names, annotation JSONs and the split files
without decoding media; `read()` decodes one sample at full rate and checks that its files
agree (column counts, finite values, frames per view, durations). A modality whose folder is
absent for every sample is masked (None) and reported once by `summary()`; a file missing for
one sample while the others have it is a `DataError`.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import scipy.io
from PIL import Image

from fusion.constants import EMG_CHANNELS, MODALITIES
from fusion.data.align import clip_indices
from fusion.data.cameras import Calibration, parse_calibrations
from fusion.data.config import ReaderConfig, requested_modalities
from fusion.data.files import JsonFields, dataset_folder, read_csv, read_json
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
from fusion.data.skeletons import FLEX21
from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.fkg.loader import load_fkg

ACTION_DIR = re.compile(r"^A\d{2}$")
SAMPLE_DIR = re.compile(r"^\d{3}$")
VIEW_DIR = re.compile(r"^View-(\d+)$")
FRAME_FILE = re.compile(r"^img_(\d+)\.jpe?g$", re.IGNORECASE)
FILE_NAMES = {"pose": "skeleton_points.csv", "emg": "EMG.csv", "physio": "physio.csv"}
SPLIT_FILES = {
    "train": ("split_4_train_list.mat", "consolidated_train_list"),
    "test": ("split_4_test_list.mat", "consolidated_test_list"),
}
UNIT_TO_METRES = {"mm": 1e-3, "cm": 1e-2, "m": 1.0}
PHYSIO_HEADER = ("time_s", "hr_bpm", "rr_bpm")
SIDES = ("both", "left", "right")


@dataclass(frozen=True)
class Annotation:
    """The parts of an annotation JSON the reader uses, checked against the FKG."""

    labels: Labels
    subject: str | None
    duration_s: float | None
    num_frames: int | None
    rates: dict[str, float]
    emg_channels: tuple[str, ...] | None
    skeleton_unit: str | None
    cameras: dict[int, Calibration] = field(default_factory=dict)


def parse_annotation(path: Path, action_id: str, fkg: FitnessKnowledgeGraph) -> Annotation:
    """Read annotations/Axx/nnn.json: labels, subject, duration, rates, channel names, unit."""
    fields = JsonFields(read_json(path), path)
    if fields.text("action") not in (None, action_id):
        raise fields.invalid("action", f"{action_id!r} (the folder it is in)")
    try:
        action = fkg.action(action_id)
    except KeyError:
        raise DataError(
            path, f"{action_id} is not an action of the FKG {fkg.name}", "action"
        ) from None
    known = {e.name: e for e in action.errors}
    errors = []
    for item in fields.objects("errors"):
        name = item.text("name")
        if name not in known:
            raise item.invalid("name", f"an error of {action_id} in the FKG ({', '.join(known)})")
        error_id = item.text("id")
        if error_id not in (None, known[name].id):
            raise item.invalid("id", f"{known[name].id} (the FKG id of {name})")
        side = item.text("side", SIDES) or "both"
        span = item.span("span_s")
        errors.append(ErrorLabel(name, span, known[name].id, side, item.number("magnitude")))
    phases = []
    for item in fields.objects("phases"):
        name, start, end = item.text("name"), item.number("start_s"), item.number("end_s")
        if name is None or start is None or end is None or start > end:
            raise DataError(
                path, "expected name, start_s and end_s with start_s <= end_s", item.prefix
            )
        phases.append(Phase(name, start, end))
    score = fields.number("score")
    if score is not None and not 0 <= score <= 100:
        raise fields.invalid("score", "a score in [0, 100]")
    labels = Labels(
        action=action_id,
        score=score,
        errors=tuple(errors),
        labelled_errors=tuple(known),
        phases=tuple(phases),
        skill=fields.text("skill"),
        feedback=fields.texts("feedback") or (),
    )
    joints = fields.texts("skeleton_joints")
    if joints is not None and joints != FLEX21.joints:
        raise fields.invalid("skeleton_joints", "the FLEX-21 joints in order")
    num_frames = fields.number("num_frames", positive=True)
    if num_frames is not None and not num_frames.is_integer():
        raise fields.invalid("num_frames", "a whole number of frames")
    rates = fields.child("sample_rates")
    has_cameras = fields.data.get("cameras") is not None
    return Annotation(
        labels=labels,
        subject=_subject_id(fields),
        duration_s=fields.number("duration_s", positive=True),
        num_frames=None if num_frames is None else int(num_frames),
        rates={} if rates is None else _rates(rates),
        emg_channels=fields.texts("emg_channels"),
        skeleton_unit=fields.text("skeleton_unit", tuple(UNIT_TO_METRES)),
        cameras=parse_calibrations(fields.data["cameras"], path) if has_cameras else {},
    )


def _subject_id(fields: JsonFields) -> str | None:
    """`subject` is an object with an id (the generator's form) or a bare id."""
    subject = fields.data.get("subject")
    if subject is None or isinstance(subject, str):
        return subject
    return JsonFields(subject, fields.path, "subject").text("id")


def _rates(fields: JsonFields) -> dict[str, float]:
    found = {name: fields.number(name, positive=True) for name in fields.data}
    return {name: rate for name, rate in found.items() if rate is not None}


def read_split_file(path: Path, variable: str) -> dict[str, float]:
    """A Split_4 .mat: key `A01/003` -> score, from rows [action, sample id, score, ...]."""
    try:
        table = scipy.io.loadmat(str(path), variable_names=[variable]).get(variable)
    except Exception as exc:  # noqa: BLE001 - scipy raises IndexError, TypeError... on damage
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
        raise DataError(
            path, f"expected a MATLAB .mat file (truncated or corrupt?): {reason}"
        ) from None
    if table is None:
        raise DataError(
            path, "missing: expected a variable of rows [action, sample id, score]", variable
        )
    if table.size == 0:
        return {}
    if table.ndim != 2 or table.shape[1] < 3 or not np.issubdtype(table.dtype, np.number):
        raise DataError(
            path,
            f"expected numeric rows [action, sample id, score], got {table.dtype} {table.shape}",
            variable,
        )
    scores: dict[str, float] = {}
    for row, (action, sample, score) in enumerate(table[:, :3].astype(np.float64), start=1):
        if not (action.is_integer() and 1 <= action <= 99 and sample.is_integer() and sample >= 1):
            raise DataError(
                path,
                f"expected action 1..99 and sample id >= 1, got {action:g}, {sample:g}",
                f"{variable} row {row}",
            )
        if not math.isfinite(score):
            raise DataError(path, f"expected a finite score, got {score}", f"{variable} row {row}")
        key = f"A{int(action):02d}/{int(sample):03d}"
        if key in scores:
            raise DataError(path, f"{key} listed twice", f"{variable} row {row}")
        scores[key] = float(score)
    return scores


def _sample_folders(base: Path) -> dict[str, Path]:
    """`A01/001` -> base/A01/001 for every action/sample folder pair under base."""
    found = {}
    for action in _subfolders(base, ACTION_DIR):
        for sample in _subfolders(action, SAMPLE_DIR):
            found[f"{action.name}/{sample.name}"] = sample
    return found


def _subfolders(base: Path, pattern: re.Pattern) -> list[Path]:
    try:
        entries = list(os.scandir(base))
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [Path(e.path) for e in entries if pattern.match(e.name) and e.is_dir()]


def _frame_files(folder: Path) -> list[Path]:
    """img_00001.JPG ... of one view, in order; a gap in the numbering is a DataError."""
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        raise DataError(folder, "missing view folder") from None
    numbered = {}
    for entry in entries:
        match = FRAME_FILE.match(entry.name)
        if match:
            numbered[int(match[1])] = Path(entry.path)
    if not numbered:
        raise DataError(folder, "expected frames img_00001.JPG, img_00002.JPG, ...: none found")
    for number in range(1, len(numbered) + 1):
        if number not in numbered:
            last = max(numbered)
            raise DataError(
                folder / f"img_{number:05d}.JPG", f"missing frame (frames go up to {last})"
            )
    return [numbered[n] for n in range(1, len(numbered) + 1)]


def decode_jpeg(path: Path) -> np.ndarray:
    """One JPEG as (H, W, 3) uint8 RGB; an unreadable or corrupt file is a DataError."""
    try:
        with Image.open(path, formats=("JPEG",)) as image:
            return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    except (OSError, SyntaxError, ValueError) as exc:
        raise DataError(path, f"expected a decodable JPEG: {exc}") from exc


def read_views(
    folder: Path, views: Sequence[int], frames: int | None, keep: int | None = None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Decode folder/View-k/img_%05d.JPG for each view k into (T, V, H, W, 3) uint8 RGB.

    Every view must hold the same frames (`frames` of them when the annotation says how many)
    at the same size. With `keep`, only that uniform grid of frames is decoded (the grid
    `to_frame_grid` keeps). Returns the frames, their 0-based frame numbers and the count.
    """
    if not views:
        raise DataError(folder, "expected View-1 ... View-k folders, found none")
    files = {view: _frame_files(folder / f"View-{view}") for view in views}
    first = views[0]
    expected = frames if frames is not None else len(files[first])
    reason = "annotation num_frames" if frames is not None else f"like View-{first}"
    for view, names in files.items():
        if len(names) < expected:
            missing = folder / f"View-{view}" / f"img_{len(names) + 1:05d}.JPG"
            raise DataError(
                missing, f"missing frame: {len(names)} frames, expected {expected} ({reason})"
            )
        if len(names) > expected:
            raise DataError(names[expected], f"extra frame: expected {expected} frames ({reason})")
    rows = np.arange(expected) if keep is None else clip_indices(expected, keep)
    out = None
    for v, view in enumerate(views):
        for t, row in enumerate(rows):
            path = files[view][row]
            frame = decode_jpeg(path)
            if out is None:
                out = np.empty((len(rows), len(views), *frame.shape), np.uint8)
                size_of = path
            elif frame.shape != out.shape[2:]:
                h, w = out.shape[2:4]
                got = f"{frame.shape[1]}x{frame.shape[0]}"
                raise DataError(path, f"{got} frame, expected {w}x{h} like {size_of}")
            out[t, v] = frame
    return out, rows, expected


SKELETON_HEADER = tuple(f"{joint}_{axis}" for joint in FLEX21.joints for axis in "xyz")


def read_skeleton(path: Path, unit: str) -> np.ndarray:
    """skeleton_points.csv (header + T x 63, joints x xyz) as (T, 21, 3) float32 metres; the
    header is checked by name, since the columns are read by position."""
    names, values = read_csv(path, header=True)
    for column, (got, wanted) in enumerate(zip(names, SKELETON_HEADER, strict=False), start=1):
        if got != wanted:
            raise DataError(
                path,
                f"column {column}: expected {wanted!r} (FLEX-21 joints x xyz: "
                f"{','.join(SKELETON_HEADER[:3])},...), got {got!r}",
                "line 1",
            )
    n_joints = len(FLEX21.joints)
    if values.shape[1] != 3 * n_joints:
        raise DataError(
            path,
            f"expected {3 * n_joints} columns ({n_joints} joints x xyz), got {values.shape[1]}",
            "line 2",
        )
    return (values * UNIT_TO_METRES[unit]).reshape(len(values), n_joints, 3).astype(np.float32)


def read_physio(path: Path, fallback_rate: float | None) -> TimeSeries:
    """physio.csv (time_s,hr_bpm,rr_bpm) as (T, 2) float32 on its own time column."""
    names, values = read_csv(path, header=True)
    if tuple(names) != PHYSIO_HEADER:
        raise DataError(
            path, f"expected header {','.join(PHYSIO_HEADER)}, got {','.join(names)}", "line 1"
        )
    times = values[:, 0]
    steps = np.diff(times)
    if np.any(steps <= 0):
        line = int(np.argmax(steps <= 0)) + 3
        raise DataError(path, "expected time_s to increase", f"line {line}")
    if len(times) > 1:
        rate = float(np.round(1.0 / np.median(steps), 6))
    elif fallback_rate is not None:
        rate = fallback_rate
    else:
        raise DataError(path, "expected at least 2 rows to derive the rate from time_s")
    return TimeSeries(values[:, 1:].astype(np.float32), times, rate)


@dataclass(frozen=True)
class _Scan:
    """What is on disk: the files each source has, views found, split verdicts and scores."""

    keys: tuple[str, ...]
    has: dict[str, frozenset[str]]  # video | pose | emg | physio | annotation -> keys
    views: tuple[int, ...]
    skeleton_root: Path
    splits: dict[str, tuple[str, float]]  # key -> (train|test, score)
    split_only: int  # split rows naming samples with no files


class FlexReader:
    """Lists and reads a FLEX-layout folder into `SampleInfo` and `Sample` records."""

    dataset = "flex"

    def __init__(self, config: ReaderConfig) -> None:
        self.modalities = requested_modalities(config)
        self.config = config
        self.root = dataset_folder(config.root)
        if config.skeleton_unit not in UNIT_TO_METRES:
            raise ValueError(
                f"skeleton_unit {config.skeleton_unit!r}: expected one of {list(UNIT_TO_METRES)}"
            )

    @cached_property
    def fkg(self) -> FitnessKnowledgeGraph:
        return load_fkg()

    @cached_property
    def _scan(self) -> _Scan:
        root = self.root
        doubled = root / "Skeleton" / "Skeleton"
        skeleton_root = doubled if doubled.is_dir() else root / "Skeleton"
        wanted = set(self.modalities)
        has: dict[str, frozenset[str]] = {m: frozenset() for m in MODALITIES}
        if "video" in wanted:
            has["video"] = frozenset(_sample_folders(root))
        bases = {"pose": skeleton_root, "emg": root / "EMG", "physio": root / "Physio"}
        for modality in wanted & set(bases):
            folders = _sample_folders(bases[modality])
            has[modality] = frozenset(
                k for k, f in folders.items() if (f / FILE_NAMES[modality]).is_file()
            )
        has["annotation"] = frozenset(
            f"{action.name}/{file.stem}"
            for action in _subfolders(root / "annotations", ACTION_DIR)
            for file in action.glob("*.json")
            if SAMPLE_DIR.match(file.stem)
        )
        keys = tuple(sorted(set().union(*has.values())))
        views: set[int] = set()
        if has["video"]:
            for key in keys:
                for folder in _subfolders(root / key, VIEW_DIR):
                    views.add(int(VIEW_DIR.match(folder.name)[1]))
        splits = {}
        for split, (name, variable) in SPLIT_FILES.items():
            path = root / "Split_4" / name
            if path.is_file():
                for key, score in read_split_file(path, variable).items():
                    if key in splits:
                        raise DataError(
                            path, f"{key} is also in the {splits[key][0]} split", variable
                        )
                    splits[key] = (split, score)
        return _Scan(
            keys=keys,
            has=has,
            views=tuple(sorted(views)),
            skeleton_root=skeleton_root,
            splits=splits,
            split_only=len(set(splits) - set(keys)),
        )

    def _views(self) -> tuple[int, ...]:
        if "video" not in self.modalities or not self._scan.has["video"]:
            return ()
        return tuple(self.config.views) if self.config.views else self._scan.views

    def _annotation(self, key: str) -> Annotation | None:
        """The sample's annotation; None when the dataset has none at all."""
        path = self._path(key, "annotation")
        if not self._expects(key, "annotation", path):
            return None
        return parse_annotation(path, key.split("/")[0], self.fkg)

    def _path(self, key: str, source: str) -> Path:
        action, sample = key.split("/")
        if source == "video":
            return self.root / action / sample
        if source == "annotation":
            return self.root / "annotations" / action / f"{sample}.json"
        base = {"pose": self._scan.skeleton_root, "emg": self.root / "EMG"}
        return base.get(source, self.root / "Physio") / action / sample / FILE_NAMES[source]

    def _expects(self, key: str, source: str, path: Path) -> bool:
        """Read `source` here? No if no sample has it; a DataError if only this one lacks it."""
        others = len(self._scan.has[source] - {key})
        if not others and key not in self._scan.has[source]:
            return False
        if not path.exists():
            raise DataError(path, f"missing ({others} other samples have it)")
        return True

    def index(self, lenient: bool = False) -> list[SampleInfo]:
        """Every sample, sorted by key, from folder names, annotations and split files.

        `lenient` (for `fusion data check`): a sample whose annotation is unreadable is listed
        without its labels, and reading it raises the annotation's DataError."""
        scan = self._scan
        infos = []
        for key in scan.keys:
            action, sample = key.split("/")
            try:
                annotation = self._annotation(key) if key in scan.has["annotation"] else None
            except DataError:
                if not lenient:
                    raise
                annotation = None
            split, split_score = scan.splits.get(key, (None, None))
            labels = annotation.labels if annotation else None
            infos.append(
                SampleInfo(
                    key=key,
                    dataset=self.dataset,
                    action=action,
                    subject=annotation.subject if annotation else None,
                    views=self._views(),
                    score=labels.score if labels and labels.score is not None else split_score,
                    skill=labels.skill if labels else None,
                    error_names=tuple(e.name for e in labels.errors) if labels else None,
                    official_split=split,
                    sample_id=int(sample),
                )
            )
        return infos

    def read(self, info: SampleInfo, frames: int | None = None) -> Sample:
        """Decode one sample: every requested modality at full rate, checked for consistency;
        with `frames`, only that uniform grid of video frames (what the cache keeps)."""
        key, scan, config = info.key, self._scan, self.config
        annotation = self._annotation(key)
        rates = annotation.rates if annotation else {}
        fps = rates.get("video", config.video_fps)
        series: dict[str, TimeSeries] = {}
        files: dict[str, Path] = {}
        views: tuple[int, ...] = ()
        if annotation is not None:
            files["annotation"] = self._path(key, "annotation")
        for modality in self.modalities:
            path = self._path(key, modality)
            if self._expects(key, modality, path):
                files[modality] = path
        if "pose" in files:
            unit = (annotation and annotation.skeleton_unit) or config.skeleton_unit
            pose_rate = rates.get("skeleton", config.skeleton_rate_hz or fps)
            series["pose"] = TimeSeries.uniform(read_skeleton(files["pose"], unit), pose_rate)
        channels: tuple[str, ...] = ()
        if "emg" in files:
            emg, channels = self._read_emg(files["emg"], annotation)
            series["emg"] = TimeSeries.uniform(emg, rates.get("emg", config.emg_rate_hz))
        if "physio" in files:
            series["physio"] = read_physio(files["physio"], rates.get("physio"))
        durations = {m: ts.duration_s for m, ts in series.items()}
        duration_s = None
        if "video" in files:
            views = info.views or self._views()
            num_frames = annotation.num_frames if annotation else None
            values, rows, count = read_views(files["video"], views, num_frames, frames)
            series["video"] = TimeSeries(values, rows / fps, float(fps))
            duration_s = durations["video"] = count / fps
        self._check_durations(series, durations, files, annotation)
        split_score = scan.splits.get(key, (None, None))[1]
        labels = annotation.labels if annotation else Labels(action=info.action, score=split_score)
        subject = annotation.subject if annotation else None
        return Sample(
            key=key,
            labels=labels,
            provenance=Provenance(
                dataset=self.dataset,
                root=str(self.root),
                key=key,
                subject=subject,
                views=views,
                files={name: str(path) for name, path in files.items()},
            ),
            emg_channels=channels,
            skeleton=FLEX21.name,
            duration_s=duration_s,
            cameras=annotation.cameras if annotation and "video" in series else {},
            **series,
        )

    def _read_emg(
        self, path: Path, annotation: Annotation | None
    ) -> tuple[np.ndarray, tuple[str, ...]]:
        """EMG values and channel names: the annotation's, the 16 FLEX muscles, or ch00..."""
        names = annotation.emg_channels if annotation else None
        _, values = read_csv(path, header=False)
        count = values.shape[1]
        expectations = (
            (self.config.emg_channels, "config emg_channels"),
            (None if names is None else len(names), "annotation emg_channels"),
        )
        for expected, source in expectations:
            if expected is not None and count != expected:
                raise DataError(
                    path, f"expected {expected} columns ({source}), got {count}", "line 1"
                )
        if names is None:
            generic = tuple(f"ch{i:02d}" for i in range(count))
            names = EMG_CHANNELS if count == len(EMG_CHANNELS) else generic
        return values.astype(np.float32), names

    def _check_durations(
        self,
        series: dict[str, TimeSeries],
        durations: dict[str, float],
        files: dict[str, Path],
        annotation: Annotation | None,
    ) -> None:
        """Every modality must last as long as the annotation (or the first modality read) says.

        `durations` holds each modality's full length (the video's even when only a grid of
        its frames was decoded)."""
        tolerance = self.config.tolerance_s
        if annotation is not None and annotation.duration_s is not None:
            reference = annotation.duration_s
            source = f"annotation duration_s in {files['annotation']}"
        elif series:
            first = next(m for m in MODALITIES if m in series)
            reference, source = durations[first], f"the {first} in {files[first]}"
        else:
            return
        for modality, ts in series.items():
            slack = 1.0 / ts.rate_hz if modality == "physio" else 0.0
            if abs(durations[modality] - reference) > tolerance + slack:
                rows = "frames" if modality == "video" else "rows"
                count = round(durations[modality] * ts.rate_hz) if modality == "video" else None
                count = len(ts.values) if count is None else count
                measured = f"{count} {rows} at {ts.rate_hz:g} Hz = {durations[modality]:.3f} s"
                expected = f"expected {reference:.3f} s ± {tolerance:g} s ({source})"
                raise DataError(files[modality], f"{measured}, {expected}", "length")

    def summary(self) -> dict:
        """Sample count, samples lacking each requested modality, and notes on what is absent."""
        scan = self._scan
        n = len(scan.keys)
        missing = {m: n - len(scan.has[m]) for m in self.modalities if len(scan.has[m]) < n}
        notes = []
        if not scan.has["annotation"]:
            if scan.splits:
                notes.append("no annotations/ folder: scores from Split_4 .mat, errors unknown")
            else:
                notes.append("no annotations/ or Split_4/ folder: scores and errors unknown")
        if not scan.splits:
            notes.append("no Split_4/ .mat files: no official split")
        if scan.skeleton_root == self.root / "Skeleton" / "Skeleton" and scan.has["pose"]:
            notes.append("skeleton files read from the doubled Skeleton/Skeleton/ folder")
        if scan.split_only:
            notes.append(f"Split_4 lists {scan.split_only} samples that have no files (ignored)")
        return {"dataset": self.dataset, "samples": n, "missing": missing, "notes": notes}
