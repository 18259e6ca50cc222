"""Horizontal flip: the sample as if the subject were mirrored left <-> right.

Frames are mirrored, pose joints are reflected across the sagittal plane and their left/right
names swapped, `<muscle>_left` and `<muscle>_right` EMG columns trade places, and error labels
swap their side (names with a left/right token are renamed). HR/RR do not change. `hflip`
is the deterministic core, also used to make the flipped copies of class balancing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from fusion.data.sample import Labels, Sample, TimeSeries
from fusion.data.skeletons import layout_named, mirror_permutation, swap_side_tokens
from fusion.data.transforms.base import Transform, register, sample_error

LEFT_RIGHT: dict[str, str] = {"left": "right", "right": "left"}


def mirror_name(name: str) -> str:
    """A channel or error name with its left/right tokens swapped (knee_left -> knee_right)."""
    return swap_side_tokens(name, LEFT_RIGHT)


def flip_labels(labels: Labels) -> Labels:
    """Error sides swapped and side-specific error names mirrored (also in labelled_errors)."""
    errors = tuple(
        replace(e, name=mirror_name(e.name), side=LEFT_RIGHT.get(e.side, e.side))
        for e in labels.errors
    )
    labelled = labels.labelled_errors
    if labelled is not None:
        labelled = tuple(mirror_name(name) for name in labelled)
    return replace(labels, errors=errors, labelled_errors=labelled)


def _flip_video(video: TimeSeries) -> TimeSeries:
    """Every frame mirrored along its width axis (T, V, H, W, C)."""
    return video.with_values(np.ascontiguousarray(video.values[:, :, :, ::-1]))


def _flip_pose(sample: Sample, lateral_axis: int) -> TimeSeries:
    """Lateral coordinate negated and left/right joints swapped."""
    layout = layout_named(sample.skeleton)
    values = sample.pose.values
    if values.ndim != 3 or values.shape[1:] != (len(layout.joints), 3):
        raise sample_error(
            sample,
            "pose",
            f"expected (T, {len(layout.joints)}, 3) joints to flip (flip before pose.streams), "
            f"got {values.shape}",
        )
    mirrored = values[:, mirror_permutation(layout)]  # fancy indexing: a new array
    mirrored[..., lateral_axis] *= -1
    return sample.pose.with_values(mirrored)


def _flip_emg(sample: Sample) -> TimeSeries:
    """Columns permuted so each `<muscle>_left` takes its `<muscle>_right` partner's place."""
    channels = sample.emg_channels
    values = sample.emg.values
    if values.ndim < 2 or len(channels) != values.shape[1]:
        raise sample_error(
            sample, "emg", f"{len(channels)} channel names for EMG of shape {values.shape}"
        )
    mirrored = [mirror_name(name) for name in channels]
    sideless = [name for name, m in zip(channels, mirrored, strict=True) if name == m]
    if sideless:
        raise sample_error(sample, "emg", f"channels {sideless} name no left/right side to swap")
    unpaired = [m for m in mirrored if m not in channels]
    if unpaired:
        raise sample_error(sample, "emg", f"no channels {unpaired} to swap with")
    return sample.emg.with_values(values[:, [channels.index(m) for m in mirrored]])


def hflip(sample: Sample, lateral_axis: int = 0) -> Sample:
    """The sample mirrored left <-> right (lateral_axis 0 = x, the generator's world frame)."""
    return sample.replace(
        video=None if sample.video is None else _flip_video(sample.video),
        pose=None if sample.pose is None else _flip_pose(sample, lateral_axis),
        emg=None if sample.emg is None else _flip_emg(sample),
        labels=flip_labels(sample.labels),
    )


@register("flip.horizontal")
@dataclass
class HorizontalFlip(Transform):
    """`hflip` with probability p (one draw from rng per call, whatever p is)."""

    p: float = 0.5
    lateral_axis: int = 0

    def __post_init__(self) -> None:
        self.p = float(self.p)
        if not 0.0 <= self.p <= 1.0:
            raise ValueError(f"p must lie in [0, 1], got {self.p}")
        if self.lateral_axis not in (0, 1, 2):
            raise ValueError(f"lateral_axis must be 0, 1 or 2, got {self.lateral_axis!r}")

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        return hflip(sample, self.lateral_axis) if rng.random() < self.p else sample
