"""Pose transforms on (T, J, 3) joints in metres: centre, scale, input streams, layout change.

The joint layout is named by `sample.skeleton` (see fusion.data.skeletons); joints are found
by name, so the same transform works on FLEX-21, NTU-25 and SMPL-X body joints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fusion.data.sample import Sample
from fusion.data.skeletons import SkeletonLayout, conversion, layout_named
from fusion.data.transforms.base import Transform, register, sample_error

STREAMS: tuple[str, ...] = ("joint", "bone", "motion")
# Joints found by name, first match wins (FLEX-21 spells sides l_/r_, NTU and SMPL-X left_/right_).
LEFT_HIP, RIGHT_HIP = ("l_hip", "left_hip"), ("r_hip", "right_hip")
SPINE_TOP = ("spine_shoulder", "neck")  # SMPL-X has no spine_shoulder: its neck is the top


def joint_index(layout: SkeletonLayout, names: tuple[str, ...]) -> int:
    """Index of the first of `names` the layout has."""
    for name in names:
        if name in layout.joints:
            return layout.index(name)
    raise ValueError(f"{layout.name} has none of the joints {list(names)}")


def hip_centre(joints: np.ndarray, layout: SkeletonLayout) -> np.ndarray:
    """(T, 3) midpoint of the left and right hips of (T, J, 3) joints."""
    left, right = joint_index(layout, LEFT_HIP), joint_index(layout, RIGHT_HIP)
    return 0.5 * (joints[:, left] + joints[:, right])


def _joints(sample: Sample) -> tuple[np.ndarray, SkeletonLayout]:
    """Pose values checked to be (T, J, 3) for the sample's layout, and that layout."""
    layout = layout_named(sample.skeleton)
    values = sample.pose.values
    if values.ndim != 3 or values.shape[1:] != (len(layout.joints), 3):
        raise sample_error(
            sample,
            "pose",
            f"expected (T, {len(layout.joints)}, 3) {layout.name} joints, got {values.shape}",
        )
    return values, layout


@register("pose.center")
@dataclass
class Center(Transform):
    """Subtract the hip centre of each frame, so the pelvis sits at the origin."""

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.pose is None:
            return sample
        joints, layout = _joints(sample)
        centred = joints - hip_centre(joints, layout)[:, None, :]
        return sample.replace(pose=sample.pose.with_values(centred))


@register("pose.scale")
@dataclass
class Scale(Transform):
    """Divide by the mean spine length (hip centre to spine top), removing body size."""

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.pose is None:
            return sample
        joints, layout = _joints(sample)
        top = joints[:, joint_index(layout, SPINE_TOP)]
        length = float(np.linalg.norm(top - hip_centre(joints, layout), axis=-1).mean())
        if not np.isfinite(length) or length < 1e-6:
            raise sample_error(sample, "pose", f"mean spine length is {length}, cannot scale")
        return sample.replace(pose=sample.pose.with_values(joints / length))


@register("pose.streams")
@dataclass
class Streams(Transform):
    """Joint, bone (child - parent) and motion (next - this frame, 0 last) streams -> (T, J, 3k)."""

    streams: tuple[str, ...] = STREAMS

    def __post_init__(self) -> None:
        self.streams = tuple(self.streams)
        bad = [s for s in self.streams if s not in STREAMS]
        if not self.streams or bad or len(set(self.streams)) != len(self.streams):
            raise ValueError(f"streams must be distinct names from {list(STREAMS)}, got {bad}")

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.pose is None:
            return sample
        joints, layout = _joints(sample)
        parents = np.array(layout.parents)
        parents = np.where(parents >= 0, parents, np.arange(len(parents)))  # root: bone 0
        made = {
            "joint": joints,
            "bone": joints - joints[:, parents],
            "motion": np.diff(joints, axis=0, append=joints[-1:]),
        }
        values = np.concatenate([made[name] for name in self.streams], axis=-1)
        return sample.replace(pose=sample.pose.with_values(values))


@register("pose.to_layout")
@dataclass
class ToLayout(Transform):
    """Convert the joints to another layout (FLEX-21 -> NTU-25 / SMPL-X body, and back)."""

    layout: str

    def __post_init__(self) -> None:
        layout_named(self.layout)

    def __call__(self, sample: Sample, rng: np.random.Generator) -> Sample:
        if sample.pose is None or sample.skeleton == self.layout:
            return sample
        joints, _ = _joints(sample)
        convert = conversion(sample.skeleton, self.layout)
        if not convert.complete:
            raise ValueError(
                f"{sample.skeleton} -> {self.layout} cannot make the joints {list(convert.missing)}"
            )
        return sample.replace(pose=sample.pose.with_values(convert(joints)), skeleton=self.layout)
