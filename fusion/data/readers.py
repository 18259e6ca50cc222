"""Pick the reader for a dataset folder: detect FLEX, Fitness-AQA or MIA by its layout; open it."""

from __future__ import annotations

from pathlib import Path

from fusion.data.config import ReaderConfig
from fusion.data.fitness_aqa import FitnessAQAReader
from fusion.data.flex import ACTION_DIR, FlexReader
from fusion.data.mia import SPLITS as MIA_SPLITS
from fusion.data.mia import MIAReader
from fusion.data.sample import DataError

Reader = FlexReader | FitnessAQAReader | MIAReader
READERS: dict[str, type[Reader]] = {
    "flex": FlexReader,
    "fitness-aqa": FitnessAQAReader,
    "mia": MIAReader,
}
FLEX_FOLDERS = ("Skeleton", "EMG", "Split_4")
LAYOUT_NAMES = {"flex": "FLEX", "fitness-aqa": "Fitness-AQA", "mia": "MIA"}


def _is_mia(root: Path) -> bool:
    """A train/, val/ or test/ folder holding Subject* folders."""
    return any(
        p.is_dir() and p.name.startswith("Subject")
        for split in MIA_SPLITS
        if (root / split).is_dir()
        for p in (root / split).iterdir()
    )


def detect_format(root: str | Path) -> str:
    """`flex` (A01-style, Skeleton/, EMG/, Split_4/), `fitness-aqa` (videos/, Labels/) or `mia`
    (train/, val/ or test/ holding Subject* folders)."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(root, "expected a dataset folder")
    flex = any(ACTION_DIR.match(p.name) and p.is_dir() for p in root.iterdir()) or any(
        (root / name).is_dir() for name in FLEX_FOLDERS
    )
    fitness_aqa = (root / "videos").is_dir() and (root / "Labels").is_dir()
    found = [fmt for fmt, hit in (("flex", flex), ("fitness-aqa", fitness_aqa)) if hit]
    if _is_mia(root):
        found.append("mia")
    if len(found) > 1:
        names = [LAYOUT_NAMES[fmt] for fmt in found]
        layouts = " and ".join(names) if len(names) == 2 else ", ".join(names)
        which = "both" if len(names) == 2 else "all of"
        raise DataError(root, f"holds {which} {layouts} folders: pass the format explicitly")
    if found:
        return found[0]
    raise DataError(
        root,
        "not a dataset: expected A01-style, Skeleton/, EMG/ or Split_4/ folders (FLEX), "
        "videos/ and Labels/ (Fitness-AQA) or train/, val/ or test/ holding Subject* folders (MIA)",
    )


def open_reader(config: ReaderConfig) -> Reader:
    """The reader for `config.root`: `config.format`, or the detected one when it is `auto`."""
    fmt = detect_format(config.root) if config.format == "auto" else config.format
    if fmt not in READERS:
        raise ValueError(f"format {fmt!r}: expected auto or one of {', '.join(READERS)}")
    if config.format == "flex":
        _check_flex_layout(Path(config.root))
    return READERS[fmt](config)


def _check_flex_layout(root: Path) -> None:
    """A folder read as FLEX that holds another layout's folders and no FLEX one is named so,
    rather than as a FLEX dataset with no video."""
    try:
        found = detect_format(root)
    except DataError:
        return  # no layout or several: the reader names what it misses
    if found != "flex":
        raise DataError(
            root,
            f"not a FLEX layout (expected A01-style, Skeleton/, EMG/ or Split_4/ folders); it "
            f"looks like {LAYOUT_NAMES[found]}: set data.reader.format={found} or auto",
        )
