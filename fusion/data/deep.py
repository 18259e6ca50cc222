"""`fusion data check --deep`: decode every frame of every view, whatever frames training reads.

A reader (and the cache's frame grid) may decode only some frames, so a corrupt JPEG or a
frame missing from the middle of a view can go unnoticed until it shifts every later frame's
time. This pass looks at every file: FLEX views must number their frames `img_00001.JPG`
upward without a gap and hold the same count; every JPEG and every mp4 frame must decode.
"""

from __future__ import annotations

from pathlib import Path

import av
from PIL import Image

from fusion.data.flex import FRAME_FILE, VIEW_DIR
from fusion.data.sample import DataError, SampleInfo


def deep_problems(root: Path, fmt: str, info: SampleInfo) -> list[DataError]:
    """Every problem with the sample's frames (none: all decode and none is missing)."""
    if fmt == "fitness-aqa":
        video = root / "videos" / f"{info.key}.mp4"
        return _mp4_problems(video) if video.is_file() else []
    folder = root / info.key
    if fmt != "flex" or not folder.is_dir():
        return []
    problems, counts = [], {}
    for view in sorted(p for p in folder.iterdir() if VIEW_DIR.match(p.name)):
        counts[view], found = _view_problems(view)
        problems += found
    if problems or not counts:
        return problems
    most = max(counts, key=counts.get)
    return [
        DataError(
            view / f"img_{count + 1:05d}.JPG",
            f"missing frame: {count} frames, expected {counts[most]} like {most.name}",
        )
        for view, count in counts.items()
        if count < counts[most]
    ]


def _view_problems(view: Path) -> tuple[int, list[DataError]]:
    """(frame count, problems) of one View-k folder: numbering and decoding."""
    numbered = {}
    for path in view.iterdir():
        match = FRAME_FILE.match(path.name)
        if match:
            numbered[int(match[1])] = path
    last = max(numbered, default=0)
    problems = [
        DataError(view / f"img_{n:05d}.JPG", f"missing frame (frames go up to {last})")
        for n in range(1, last + 1)
        if n not in numbered
    ]
    for number in sorted(numbered):
        path = numbered[number]
        try:
            with Image.open(path, formats=("JPEG",)) as image:
                image.load()
        except (OSError, SyntaxError, ValueError) as exc:
            problems.append(DataError(path, f"expected a decodable JPEG: {exc}"))
    return len(numbered), problems


def _mp4_problems(path: Path) -> list[DataError]:
    """A problem when some frame of the video does not decode, or it has none."""
    try:
        with av.open(str(path)) as container:
            frames = sum(1 for _ in container.decode(video=0))
    except (av.error.FFmpegError, OSError, ValueError, IndexError) as exc:
        return [DataError(path, f"expected an mp4 whose every frame decodes: {exc}")]
    return [] if frames else [DataError(path, "expected video frames, found none")]
