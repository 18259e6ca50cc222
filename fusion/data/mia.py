"""Read the Muscles in Action layout (Chiquier & Vondrick, ICCV 2023): per-clip .npy files.

Layout: `ROOT/<split>/<subject>/<exercise>/<id>/` with split one of train, val, test (other
root folders are ignored), each sample folder holding `emgvalues.npy`, (8, T) muscles x frames,
and `joints3d.npy`, (T, J, 3) VIBE joints; a released clip is T = 30, J = 49. Both are on the
video frame grid, so one rate serves both: `ReaderConfig.video_fps` (30 by default);
`emg_rate_hz`, `skeleton_rate_hz` and `skeleton_unit` are FLEX options and unused here (VIBE
joints are in metres already). The EMG is already an envelope, not a raw signal.

What the reference code confirms (mchiquier/musclesinaction, musclesinaction/dataloader/
data.py): it loads `<clip>/emgvalues.npy` and `<clip>/joints3d.npy`, transposes the EMG
(`emg_values.transpose(1, 0)`, so it is stored muscles first) and keeps `joints3d[:, :25]`
(the OpenPose BODY_25 part of VIBE's 49 joints); its channel order is `self.muscles =
['rightquad', 'leftquad', 'rightham', 'leftham', 'rightglutt', 'leftglutt', 'leftbicep',
'rightbicep']` (the biceps pair is left first). `MIA_CHANNELS` keeps that order and spells
it `<muscle>_<side>` like FLEX's channels, so the flip transform and the envelope's muscle
pairs find the left/right partners. Not confirmed: the row rate. The same repository's plot
helper and its older loader (3 video frames per EMG row) suggest 10 rows a second; set
`video_fps: 10` if a copy's clips turn out to last 3 s.

Pose is named `vibe49` or `openpose25` (fusion.data.skeletons) when J is 49 or 25, else
`mia_<J>joints`, which no transform or encoder knows. MIA frames, physio, scores and error
labels are not read: video and physio are None, labels carry the exercise only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np

from fusion.data.config import ReaderConfig, requested_modalities
from fusion.data.files import dataset_folder
from fusion.data.sample import DataError, Labels, Provenance, Sample, SampleInfo, TimeSeries
from fusion.data.skeletons import OPENPOSE25, VIBE49
from fusion.fkg.graph import FitnessKnowledgeGraph
from fusion.fkg.loader import load_fkg

SPLITS = ("train", "val", "test")
FILE_NAMES = {"emg": "emgvalues.npy", "pose": "joints3d.npy"}
ABSENT_MODALITIES = ("video", "physio")
# The reference loader's muscles, in its order: rightquad, leftquad, rightham, leftham,
# rightglutt, leftglutt, leftbicep, rightbicep.
MIA_CHANNELS: tuple[str, ...] = (
    "quadriceps_right",
    "quadriceps_left",
    "hamstrings_right",
    "hamstrings_left",
    "gluteus_maximus_right",
    "gluteus_maximus_left",
    "biceps_left",
    "biceps_right",
)
SKELETONS = {len(layout.joints): layout.name for layout in (VIBE49, OPENPOSE25)}
_DIGITS = re.compile(r"(\d+)")


def skeleton_name(num_joints: int) -> str:
    """The registered layout for VIBE's 49 or BODY_25's 25 joints, else a descriptive name."""
    return SKELETONS.get(num_joints, f"mia_{num_joints}joints")


def load_array(path: Path) -> np.ndarray:
    """One .npy file as a real-valued array; anything numpy cannot load is a DataError."""
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise DataError(path, "missing file") from None
    except (OSError, ValueError, EOFError) as exc:
        raise DataError(path, f"expected a .npy array numpy can load: {exc}") from exc
    if not isinstance(array, np.ndarray):
        raise DataError(path, f"expected one .npy array, got {type(array).__name__}")
    kind = array.dtype
    if not (np.issubdtype(kind, np.integer) or np.issubdtype(kind, np.floating)):
        raise DataError(path, f"expected real numbers, got dtype {kind}", "dtype")
    return array


def check_finite(path: Path, values: np.ndarray) -> None:
    """Every value finite, else a DataError naming the first bad element's index."""
    bad = np.argwhere(~np.isfinite(values))
    if len(bad):
        index = tuple(int(i) for i in bad[0])
        where = f"index {list(index)}"
        raise DataError(path, f"expected a finite number, got {values[index]}", where)


def read_emg(path: Path, channels: int) -> np.ndarray:
    """emgvalues.npy, (C, T) muscles x frames, as (T, C) float32."""
    values = load_array(path)
    shape = tuple(values.shape)
    expected = f"shape ({channels}, T): {channels} muscles x T frames"
    if values.ndim != 2 or shape[0] != channels or shape[1] < 1:
        hint = " (frames first? MIA stores muscles first)" if shape[-1:] == (channels,) else ""
        raise DataError(path, f"expected {expected}, got {shape}{hint}", "shape")
    check_finite(path, values)
    return np.ascontiguousarray(values.T, dtype=np.float32)


def read_joints(path: Path) -> np.ndarray:
    """joints3d.npy, (T, J, 3) frames x joints x xyz, as float32."""
    values = load_array(path)
    shape = tuple(values.shape)
    if values.ndim != 3 or shape[2] != 3 or min(shape) < 1:
        raise DataError(
            path, f"expected shape (T, J, 3): frames x joints x xyz, got {shape}", "shape"
        )
    check_finite(path, values)
    return values.astype(np.float32)


def natural_key(key: str) -> tuple:
    """Sort key that orders numbers by value (Subject2 before Subject10, 9 before 10)."""
    return tuple(int(part) if part.isdecimal() else part for part in _DIGITS.split(key))


def _subfolders(folder: Path) -> list[Path]:
    """Visible subfolders of `folder`."""
    return [p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")]


@dataclass(frozen=True)
class _Folder:
    """One sample folder found on disk and the parts of its key."""

    path: Path
    split: str
    subject: str
    exercise: str
    clip: str


class MIAReader:
    """Lists and reads a Muscles-in-Action-layout folder into `SampleInfo` and `Sample` records."""

    dataset = "mia"

    def __init__(self, config: ReaderConfig) -> None:
        self.modalities = requested_modalities(config)
        if config.views:
            raise ValueError(f"views {list(config.views)}: MIA clips are read without video")
        self.config = config
        self.root = dataset_folder(config.root)
        self.channels = config.emg_channels or len(MIA_CHANNELS)

    @cached_property
    def fkg(self) -> FitnessKnowledgeGraph:
        return load_fkg()

    @cached_property
    def _folders(self) -> dict[str, _Folder]:
        """Key -> sample folder, in natural key order; a root without any is a DataError."""
        found = {}
        for split in SPLITS:
            if not (self.root / split).is_dir():
                continue
            for subject in _subfolders(self.root / split):
                for exercise in _subfolders(subject):
                    for clip in _subfolders(exercise):
                        key = f"{split}/{subject.name}/{exercise.name}/{clip.name}"
                        found[key] = _Folder(clip, split, subject.name, exercise.name, clip.name)
        if not found:
            raise DataError(
                self.root,
                "expected train/, val/ or test/ folders holding <subject>/<exercise>/<id>/ "
                "sample folders (point root at the folder that holds the splits), found none",
            )
        return {key: found[key] for key in sorted(found, key=natural_key)}

    def index(self) -> list[SampleInfo]:
        """Every sample folder, from folder names only: split, subject, exercise, clip id."""
        return [
            SampleInfo(
                key=key,
                dataset=self.dataset,
                action=folder.exercise,
                subject=folder.subject,
                views=(),
                official_split=folder.split,
                sample_id=int(folder.clip) if folder.clip.isdecimal() else None,
            )
            for key, folder in self._folders.items()
        ]

    def read(self, info: SampleInfo, frames: int | None = None) -> Sample:
        """Load the requested pose and EMG of one clip, checked to cover the same frames
        (`frames`, the video grid of the other readers, is unused: MIA has no video here)."""
        folder = self._folders.get(info.key)
        if folder is None:
            raise DataError(self.root / info.key, "expected a sample folder listed by index()")
        files = {m: folder.path / FILE_NAMES[m] for m in ("pose", "emg") if m in self.modalities}
        for path in files.values():
            if not path.is_file():
                raise DataError(path, f"missing: every MIA sample folder holds {path.name}")
        fps = self.config.video_fps
        series: dict[str, TimeSeries] = {}
        skeleton = skeleton_name(len(VIBE49.joints))
        if "pose" in files:
            joints = read_joints(files["pose"])
            skeleton = skeleton_name(joints.shape[1])
            series["pose"] = TimeSeries.uniform(joints, fps)
        channels: tuple[str, ...] = ()
        if "emg" in files:
            emg = read_emg(files["emg"], self.channels)
            channels = self._channel_names(emg.shape[1])
            series["emg"] = TimeSeries.uniform(emg, fps)
        if len(series) == 2 and len(series["pose"].values) != len(series["emg"].values):
            frames = len(series["emg"].values)
            raise DataError(
                files["pose"],
                f"{len(series['pose'].values)} frames, expected {frames} like {files['emg']}",
                "shape[0]",
            )
        return Sample(
            key=info.key,
            labels=Labels(action=folder.exercise),
            provenance=Provenance(
                dataset=self.dataset,
                root=str(self.root),
                key=info.key,
                subject=folder.subject,
                files={name: str(path) for name, path in files.items()},
            ),
            emg_channels=channels,
            skeleton=skeleton,
            **series,
        )

    def _channel_names(self, count: int) -> tuple[str, ...]:
        """MIA's 8 muscles, or ch00... when a configured channel count differs from 8."""
        if count == len(MIA_CHANNELS):
            return MIA_CHANNELS
        return tuple(f"ch{i:02d}" for i in range(count))

    def summary(self) -> dict:
        """Sample count, the modalities the layout lacks, and notes on what is not read."""
        folders = self._folders
        n = len(folders)
        missing = {m: n for m in ABSENT_MODALITIES if m in self.modalities}
        notes = []
        if "video" in self.modalities:
            notes.append("MIA frames are not read: video is None")
        if "physio" in self.modalities:
            notes.append("the MIA layout has no physio: it is None")
        notes.append("MIA has no scores or error labels: labels carry the exercise only")
        for modality in ("pose", "emg"):
            name = FILE_NAMES[modality]
            if modality in self.modalities:
                lacking = sum(1 for f in folders.values() if not (f.path / name).is_file())
                if lacking:
                    notes.append(f"{lacking} sample folders lack {name} (a DataError when read)")
        ignored = sorted(p.name for p in _subfolders(self.root) if p.name not in SPLITS)
        if ignored:
            notes.append(f"folders other than {'/'.join(SPLITS)} are ignored: {', '.join(ignored)}")
        return {"dataset": self.dataset, "samples": n, "missing": missing, "notes": notes}
