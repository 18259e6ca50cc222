"""Skeleton layouts kept as data: joint names, kinematic parents, bones and left/right pairs."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SkeletonLayout:
    """A joint set with its tree (parent index per joint, -1 for the root) and drawing bones."""

    name: str
    joints: tuple[str, ...]
    parents: tuple[int, ...]

    def index(self, joint: str) -> int:
        return self.joints.index(joint)

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """(parent, child) pairs of the tree."""
        return tuple((p, c) for c, p in enumerate(self.parents) if p >= 0)


# FLEX-21, in the order of the dataset's skeleton_points.csv (see DESIGN.md).
FLEX21 = SkeletonLayout(
    name="flex21",
    joints=(
        "head",
        "neck",
        "spine_shoulder",
        "r_shoulder",
        "r_elbow",
        "r_wrist",
        "r_hand",
        "l_shoulder",
        "l_elbow",
        "l_wrist",
        "l_hand",
        "r_hip",
        "r_knee",
        "r_ankle",
        "r_heel",
        "r_toe",
        "l_hip",
        "l_knee",
        "l_ankle",
        "l_heel",
        "l_toe",
    ),  # fmt: skip
    # FLEX-21 has no pelvis joint: the tree is rooted at spine_shoulder and the hips hang from it.
    parents=(1, 2, -1, 2, 3, 4, 5, 2, 7, 8, 9, 2, 11, 12, 13, 13, 2, 16, 17, 18, 18),
)
