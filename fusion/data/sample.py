"""The typed records every reader returns and every transform passes on.

A `Sample` holds one repetition: each modality as a `TimeSeries` on its own clock (time is
always the first axis), the labels, and where it came from. `SampleInfo` is the cheap index
entry a reader lists before anything heavy is decoded; splits and balancing work on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from fusion.constants import MODALITIES

if TYPE_CHECKING:  # cameras.py raises this module's DataError
    from fusion.data.cameras import Calibration


class DataError(ValueError):
    """An unusable dataset file: names the file, the field or row, and what was expected."""

    def __init__(self, path: object, problem: str, where: str | None = None) -> None:
        self.path = str(path)
        self.where = where
        self.problem = problem
        location = f"{self.path}: {where}" if where else self.path
        super().__init__(f"{location}: {problem}")


@dataclass(frozen=True)
class TimeSeries:
    """Values (T, ...) with one time stamp per row, in seconds from the repetition's start.

    `rate_hz` is the nominal rate of the source; `times` may be a subset of its grid (a clip).
    Layouts: video (T, V, H, W, 3) uint8 RGB; pose (T, J, 3) metres; emg (T, C); physio (T, 2).
    """

    values: np.ndarray
    times: np.ndarray
    rate_hz: float

    def __post_init__(self) -> None:
        if len(self.values) != len(self.times):
            raise ValueError(f"{len(self.values)} rows but {len(self.times)} time stamps")

    @classmethod
    def uniform(cls, values: np.ndarray, rate_hz: float, start_s: float = 0.0) -> TimeSeries:
        """Rows sampled every 1/rate_hz seconds from start_s."""
        times = start_s + np.arange(len(values), dtype=np.float64) / rate_hz
        return cls(values=values, times=times, rate_hz=float(rate_hz))

    @property
    def duration_s(self) -> float:
        """Time covered by the rows: the last stamp plus one sample period."""
        return float(self.times[-1] + 1.0 / self.rate_hz) if len(self.times) else 0.0

    def take(self, rows: np.ndarray) -> TimeSeries:
        """The rows at the given indices, with their time stamps."""
        return replace(self, values=self.values[rows], times=self.times[rows])

    def with_values(self, values: np.ndarray) -> TimeSeries:
        """Same clock, new values (a transform's output with the same number of rows)."""
        return replace(self, values=values)


@dataclass(frozen=True)
class ErrorLabel:
    """One observed error: FKG id when known, its name, time span, body side."""

    name: str
    span_s: tuple[float, float] | None = None
    id: str | None = None
    side: str = "both"  # both | left | right
    magnitude: float | None = None


@dataclass(frozen=True)
class Phase:
    name: str
    start_s: float
    end_s: float


@dataclass(frozen=True)
class Labels:
    """What is known about the repetition; None means not annotated (the loss masks it).

    `labelled_errors` lists the error names that were annotated for this sample, so an error
    in that list but absent from `errors` is a known negative (Fitness-AQA labels only some).
    """

    action: str | None = None
    score: float | None = None
    errors: tuple[ErrorLabel, ...] = ()
    labelled_errors: tuple[str, ...] | None = None
    phases: tuple[Phase, ...] = ()
    skill: str | None = None
    feedback: tuple[str, ...] = ()


@dataclass(frozen=True)
class Provenance:
    """Where a sample came from: dataset kind, root, key, subject, views and files read."""

    dataset: str  # flex | fitness-aqa
    root: str
    key: str
    subject: str | None = None
    views: tuple[int, ...] = ()
    files: dict[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()  # what preprocessing changed, e.g. a view masked by a crop


@dataclass(frozen=True)
class Sample:
    """One repetition: modalities (None when missing), labels, provenance.

    `emg_channels` and `skeleton` name the columns of emg and the joints of pose.
    `duration_s` is the repetition's length: set by a reader that keeps only some frames, and
    once aligned. `cameras` holds the views' calibrations where the dataset has them.
    """

    key: str
    labels: Labels
    provenance: Provenance
    video: TimeSeries | None = None
    pose: TimeSeries | None = None
    emg: TimeSeries | None = None
    physio: TimeSeries | None = None
    emg_channels: tuple[str, ...] = ()
    skeleton: str = "flex21"
    duration_s: float | None = None  # the repetition's length (the reader's, or its clip window)
    cameras: Mapping[int, Calibration] = field(default_factory=dict)  # view id -> calibration

    def modality(self, name: str) -> TimeSeries | None:
        return getattr(self, name)

    @property
    def present(self) -> tuple[str, ...]:
        return tuple(m for m in MODALITIES if self.modality(m) is not None)

    @property
    def missing(self) -> tuple[str, ...]:
        return tuple(m for m in MODALITIES if self.modality(m) is None)

    def replace(self, **changes: object) -> Sample:
        return replace(self, **changes)


@dataclass(frozen=True)
class SampleInfo:
    """An index entry, listed without decoding: enough for splits, balancing and checks.

    `official_split` is the dataset's own split file's verdict (train/val/test) when present.
    `error_names` is None when errors are not annotated for the sample.
    """

    key: str
    dataset: str
    action: str | None
    subject: str | None
    views: tuple[int, ...]
    score: float | None = None
    skill: str | None = None
    error_names: tuple[str, ...] | None = None
    official_split: str | None = None
    sample_id: int | None = None
