"""Pick the reader for a dataset folder: detect FLEX or Fitness-AQA from its layout, open it."""

from __future__ import annotations

from pathlib import Path

from fusion.data.config import ReaderConfig
from fusion.data.fitness_aqa import FitnessAQAReader
from fusion.data.flex import ACTION_DIR, FlexReader
from fusion.data.sample import DataError

Reader = FlexReader | FitnessAQAReader
READERS: dict[str, type[Reader]] = {"flex": FlexReader, "fitness-aqa": FitnessAQAReader}
FLEX_FOLDERS = ("Skeleton", "EMG", "Split_4")


def detect_format(root: str | Path) -> str:
    """`flex` (A01-style, Skeleton/, EMG/, Split_4/ folders) or `fitness-aqa` (videos/, Labels/)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "expected a dataset folder")
    flex = any(ACTION_DIR.match(p.name) and p.is_dir() for p in root.iterdir()) or any(
        (root / name).is_dir() for name in FLEX_FOLDERS
    )
    fitness_aqa = (root / "videos").is_dir() and (root / "Labels").is_dir()
    if flex and fitness_aqa:
        raise DataError(root, "holds both FLEX and Fitness-AQA folders: pass the format explicitly")
    if flex:
        return "flex"
    if fitness_aqa:
        return "fitness-aqa"
    raise DataError(
        root,
        "not a dataset: expected A01-style, Skeleton/, EMG/ or Split_4/ folders (FLEX) "
        "or videos/ and Labels/ (Fitness-AQA)",
    )


def open_reader(config: ReaderConfig) -> Reader:
    """The reader for `config.root`: `config.format`, or the detected one when it is `auto`."""
    fmt = detect_format(config.root) if config.format == "auto" else config.format
    if fmt not in READERS:
        raise ValueError(f"format {fmt!r}: expected auto or one of {', '.join(READERS)}")
    return READERS[fmt](config)
