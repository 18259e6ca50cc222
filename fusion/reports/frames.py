"""Frames of one sample from the run's dataset for a report card: up to two views, a few
frames spread over the repetition, and the error spans the dataset labels.

The dataset is opened with the package's readers (`open_reader`), video only. When it cannot
be (its folder is gone, it is not a dataset, the sample is not in it), `FramesUnavailable`
says why in words the card can print.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from fusion.data.config import ReaderConfig
from fusion.data.readers import LAYOUT_NAMES, open_reader
from fusion.data.sample import DataError

VIEWS_SHOWN = 2
FRAMES_SHOWN = 8
THUMBNAIL_PX = 160  # longest side of a frame on the page


class FramesUnavailable(Exception):
    """Why a card shows no frames (a sentence naming the folder or file)."""


@dataclass(frozen=True)
class Clip:
    """The frames a card shows and the labels they are compared with.

    `frames[v][f]` is view `views[v]` at `times[f]` seconds; `views_found` every view the
    dataset has for the sample; `tested_views` the run's test views (cross-view protocol);
    `true_spans` error name -> labelled span; `labelled` whether the dataset annotates errors
    for the sample at all.
    """

    key: str
    dataset: str
    views: tuple[int, ...]
    views_found: tuple[int, ...]
    times: tuple[float, ...]
    frames: list[list[np.ndarray]]
    duration_s: float
    tested_views: tuple[int, ...]
    true_spans: dict[str, tuple[float, float]]
    labelled: bool


def frame_rows(count: int, shown: int = FRAMES_SHOWN) -> list[int]:
    """Indices of `shown` frames spread evenly from the first to the last of `count`."""
    return sorted({int(i) for i in np.linspace(0, count - 1, min(shown, count)).round()})


def thumbnail(frame: np.ndarray) -> np.ndarray:
    """A frame scaled down to THUMBNAIL_PX on its longest side (never up)."""
    image = Image.fromarray(frame)
    image.thumbnail((THUMBNAIL_PX, THUMBNAIL_PX))
    return np.asarray(image)


def shown_views(found: tuple[int, ...], preferred: list[int] | None) -> tuple[int, ...]:
    """Two of the sample's views: the first and last of the preferred ones (the views the run
    was tested on) that it has, topped up with the first other view; without preferred
    views, the first and last found, the two furthest apart in the camera order."""
    tested = [v for v in preferred or () if v in found]
    if len(tested) >= VIEWS_SHOWN:
        return (tested[0], tested[-1])
    others = [v for v in found if v not in tested]
    if tested:
        return (*tested, *others[: VIEWS_SHOWN - len(tested)])
    return (others[0], others[-1]) if len(others) > 1 else tuple(others)


class Dataset:
    """The run's dataset opened once (`data.reader` of its config), or the reason it cannot be."""

    def __init__(self, data: dict[str, Any]) -> None:
        reader = dict(data.get("reader") or {})
        self.root = Path(str(reader.get("root", "")))
        self.test_views = (data.get("split") or {}).get("test_views")
        self.problem: str | None = None
        names = {f.name for f in dataclasses.fields(ReaderConfig)}
        options = {k: v for k, v in reader.items() if k in names}
        options.update(modalities=["video"], views=None)
        if not self.root.is_dir():
            where = "" if self.root.is_absolute() else f", looked for {self.root.absolute()}"
            self.problem = (
                f"dataset folder {self.root} (data.reader.root in config.yaml) is missing{where}"
            )
            return
        try:
            self.reader = open_reader(ReaderConfig(**options))
            self.infos = {info.key: info for info in self.reader.index()}
        except (DataError, ValueError) as error:
            self.problem = f"dataset folder {self.root} could not be read: {error}"

    @property
    def layout(self) -> str:
        """FLEX, Fitness-AQA or MIA: the layout the reader found."""
        return LAYOUT_NAMES.get(self.reader.dataset, self.reader.dataset)

    def clip(self, key: str) -> Clip:
        """The frames and labels of one sample; FramesUnavailable says why there are none."""
        if self.problem is not None:
            raise FramesUnavailable(self.problem)
        if key not in self.infos:
            raise FramesUnavailable(f"sample {key} is not in the dataset folder {self.root}")
        info = self.infos[key]
        views = shown_views(info.views, self.test_views)
        try:
            sample = self.reader.read(dataclasses.replace(info, views=views))
        except (DataError, ValueError) as error:
            raise FramesUnavailable(f"sample {key} could not be read: {error}") from None
        if sample.video is None:
            raise FramesUnavailable(f"the dataset folder {self.root} has no video of {key}")
        video = sample.video
        rows = frame_rows(len(video.values))
        labels = sample.labels
        return Clip(
            key=key,
            dataset=self.layout,
            views=sample.provenance.views or views,
            views_found=info.views,
            times=tuple(float(video.times[r]) for r in rows),
            frames=[
                [thumbnail(video.values[r, v]) for r in rows] for v in range(video.values.shape[1])
            ],
            duration_s=video.duration_s,
            tested_views=tuple(self.test_views or ()),
            true_spans={e.name: e.span_s for e in labels.errors if e.span_s is not None},
            labelled=labels.labelled_errors is not None,
        )
