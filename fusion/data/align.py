"""One clip timeline for every modality, and the choice of frames that make a clip.

Time 0 is the repetition's first video frame. A sample is cut to the video's time range, its
video reduced to a uniform grid of frames (the cache keeps that grid), and clips of T frames
are drawn from the grid: segment-jittered while training (TSN), evenly offset at test time.
"""

from __future__ import annotations

import numpy as np

from fusion.constants import MODALITIES
from fusion.data.sample import Sample, TimeSeries


def clip_indices(
    n: int,
    count: int,
    rng: np.random.Generator | None = None,
    clip: int = 0,
    clips: int = 1,
) -> np.ndarray:
    """Indices of `count` frames spread over `n`: one per equal segment.

    With `rng`, each frame is drawn uniformly inside its segment (training jitter); without,
    clip `clip` of `clips` takes the point at fraction (clip + 0.5) / clips of each segment,
    so test clips interleave. Fewer than `count` frames repeat the nearest ones.
    """
    if n < 1 or count < 1:
        raise ValueError(f"need at least one frame and one index, got n={n}, count={count}")
    if not 0 <= clip < clips:
        raise ValueError(f"clip {clip} outside 0..{clips - 1}")
    segment = n / count
    offset = rng.random(count) if rng is not None else np.full(count, (clip + 0.5) / clips)
    return np.minimum((np.arange(count) + offset) * segment, n - 1).astype(np.int64)


def crop_to(series: TimeSeries, start_s: float, end_s: float) -> TimeSeries:
    """The rows whose time stamps fall in [start_s, end_s)."""
    keep = (series.times >= start_s - 1e-9) & (series.times < end_s - 1e-9)
    return series.take(np.flatnonzero(keep))


def clip_window(sample: Sample) -> tuple[float, float]:
    """The time range shared by the sample: the video's (its full length when the reader kept
    only some frames and said how long it was), else the shortest signal's."""
    if sample.video is not None:
        return 0.0, sample.duration_s or sample.video.duration_s
    durations = [sample.modality(m).duration_s for m in sample.present]
    if not durations:
        raise ValueError(f"{sample.key}: no modality to align")
    return 0.0, min(durations)


def to_frame_grid(sample: Sample, frames: int) -> Sample:
    """Cut every modality to the clip window and keep `frames` evenly spaced video frames;
    the window's length is kept as the sample's `duration_s`."""
    start, end = clip_window(sample)
    changes: dict[str, TimeSeries] = {}
    for name in MODALITIES:
        series = sample.modality(name)
        if series is None:
            continue
        if name == "video" and len(series.values) != frames:
            changes[name] = series.take(clip_indices(len(series.values), frames))
        else:
            changes[name] = crop_to(series, start, end)
    return sample.replace(**changes, duration_s=end - start)
