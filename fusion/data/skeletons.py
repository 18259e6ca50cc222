"""Skeleton layouts kept as data: joint names, kinematic parents, bones and left/right pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


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


# FLEX-21, in the order of the dataset's skeleton_points.csv (docs/data-layouts.md).
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


# NTU RGB+D 25 (Kinect v2) in dataset order. The tree follows pyskl's NTU layout (rooted at
# spine_shoulder, hand tips and thumbs hanging from the hands), the same rooting as FLEX-21.
# fmt: off
NTU25 = SkeletonLayout(
    name="ntu25",
    joints=(
        "spine_base", "spine_mid", "neck", "head",
        "left_shoulder", "left_elbow", "left_wrist", "left_hand",
        "right_shoulder", "right_elbow", "right_wrist", "right_hand",
        "left_hip", "left_knee", "left_ankle", "left_foot",
        "right_hip", "right_knee", "right_ankle", "right_foot",
        "spine_shoulder", "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
    ),
    parents=(
        1, 20, 20, 2, 20, 4, 5, 6, 20, 8, 9, 10, 0, 12, 13, 14, 0, 16, 17, 18, -1, 7, 7, 11, 11
    ),
)

# The 22 body joints of SMPL-X (smplx.joint_names.JOINT_NAMES[:22]) with the model's tree.
SMPLX_BODY22 = SkeletonLayout(
    name="smplx_body22",
    joints=(
        "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
        "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
        "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
        "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    ),
    parents=(-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19),
)
# fmt: on

LAYOUTS: dict[str, SkeletonLayout] = {
    layout.name: layout for layout in (FLEX21, NTU25, SMPLX_BODY22)
}


# Short names accepted in configs.
LAYOUT_ALIASES: dict[str, str] = {"smplx22": "smplx_body22"}


def layout_named(name: str) -> SkeletonLayout:
    """The layout registered under `name` (or an alias), or a ValueError listing the known ones."""
    name = LAYOUT_ALIASES.get(name, name)
    if name not in LAYOUTS:
        known = sorted([*LAYOUTS, *LAYOUT_ALIASES])
        raise ValueError(f"unknown skeleton layout {name!r}; known: {known}")
    return LAYOUTS[name]


# Side tokens of joint names (`l_hip`, `left_hip`), swapped to mirror a body.
SIDE_TOKENS: dict[str, str] = {"l": "r", "r": "l", "left": "right", "right": "left"}


def swap_side_tokens(name: str, tokens: dict[str, str] = SIDE_TOKENS) -> str:
    """The name with every side token (between underscores) swapped: l_hip -> r_hip."""
    return "_".join(tokens.get(part, part) for part in name.split("_"))


def mirror_permutation(layout: SkeletonLayout) -> np.ndarray:
    """Index of each joint's mirror image (left <-> right, by name; central joints stay)."""
    mirrored = [swap_side_tokens(joint) for joint in layout.joints]
    unmatched = [m for m in mirrored if m not in layout.joints]
    if unmatched:
        raise ValueError(f"{layout.name}: no joint named {unmatched} to mirror onto")
    return np.array([layout.index(m) for m in mirrored])


# A conversion recipe gives each target joint as weights over source joints.
Recipe = dict[str, float]


def _at(joint: str) -> Recipe:
    """The joint itself, unchanged."""
    return {joint: 1.0}


def _lerp(a: Recipe, b: Recipe, fraction: float) -> Recipe:
    """The point `fraction` of the way from a to b (0.5 = midpoint)."""
    joints = dict.fromkeys([*a, *b])
    return {j: (1 - fraction) * a.get(j, 0.0) + fraction * b.get(j, 0.0) for j in joints}


_FLEX_HIP_CENTRE = _lerp(_at("r_hip"), _at("l_hip"), 0.5)

# FLEX-21 -> NTU-25 exactly as the FLEX reference loader's remap21_to_25 builds it.
FLEX21_TO_NTU25: dict[str, Recipe] = {
    "spine_base": _FLEX_HIP_CENTRE,
    "spine_mid": _lerp(_FLEX_HIP_CENTRE, _at("spine_shoulder"), 0.5),
    "neck": _at("neck"),
    "head": _at("head"),
    **{
        f"{side}_{part}": _at(f"{side[0]}_{part}")
        for side in ("left", "right")
        for part in ("shoulder", "elbow", "wrist", "hand", "hip", "knee", "ankle")
    },
    # NTU's foot is the middle of FLEX's heel and toe.
    "left_foot": _lerp(_at("l_heel"), _at("l_toe"), 0.5),
    "right_foot": _lerp(_at("r_heel"), _at("r_toe"), 0.5),
    "spine_shoulder": _at("spine_shoulder"),
    # FLEX has no fingers: hand tips and thumbs repeat the hand.
    "left_hand_tip": _at("l_hand"),
    "left_thumb": _at("l_hand"),
    "right_hand_tip": _at("r_hand"),
    "right_thumb": _at("r_hand"),
}

# FLEX-21 -> SMPL-X body joints. Copied: hips, knees, ankles, shoulders, elbows, wrists, neck,
# head; the SMPL-X foot joint (ball of the foot) takes FLEX's toe. Derived:
# pelvis = midpoint of the hips; spine1/2/3 = 1/4, 1/2, 3/4 of the way from the pelvis to
# spine_shoulder (evenly spaced up the trunk); collar = midpoint of spine_shoulder and that
# side's shoulder. FLEX's hands and heels have no SMPL-X body joint and are dropped.
FLEX21_TO_SMPLX_BODY22: dict[str, Recipe] = {
    "pelvis": _FLEX_HIP_CENTRE,
    **{f"spine{k}": _lerp(_FLEX_HIP_CENTRE, _at("spine_shoulder"), k / 4) for k in (1, 2, 3)},
    **{
        f"{side}_{part}": _at(f"{side[0]}_{part}")
        for side in ("left", "right")
        for part in ("hip", "knee", "ankle", "shoulder", "elbow", "wrist")
    },
    **{f"{side}_foot": _at(f"{side[0]}_toe") for side in ("left", "right")},
    **{
        f"{side}_collar": _lerp(_at("spine_shoulder"), _at(f"{side[0]}_shoulder"), 0.5)
        for side in ("left", "right")
    },
    "neck": _at("neck"),
    "head": _at("head"),
}

CONVERSION_RECIPES: dict[tuple[str, str], dict[str, Recipe]] = {
    (FLEX21.name, NTU25.name): FLEX21_TO_NTU25,
    (FLEX21.name, SMPLX_BODY22.name): FLEX21_TO_SMPLX_BODY22,
}


@dataclass(frozen=True, eq=False)
class LayoutConversion:
    """A linear joint map: output joint k = sum_j weights[k, j] * source joint j.

    `joints` are the target joints it defines, in target order; a conversion is complete when
    it defines all of them (inverses only recover the joints the forward map kept apart).
    """

    source: SkeletonLayout
    target: SkeletonLayout
    joints: tuple[str, ...]
    weights: np.ndarray  # (len(joints), len(source.joints))

    @property
    def complete(self) -> bool:
        return self.joints == self.target.joints

    @property
    def missing(self) -> tuple[str, ...]:
        """Target joints this conversion cannot produce."""
        return tuple(j for j in self.target.joints if j not in self.joints)

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """(T, J_source, D) -> (T, len(joints), D)."""
        return np.einsum("kj,tjd->tkd", self.weights, values).astype(values.dtype, copy=False)

    @staticmethod
    def from_recipes(
        source: SkeletonLayout, target: SkeletonLayout, recipes: dict[str, Recipe]
    ) -> LayoutConversion:
        """Weights from per-joint recipes, checked against both layouts' joint names."""
        unknown = set(recipes) - set(target.joints)
        unknown |= {j for recipe in recipes.values() for j in recipe} - set(source.joints)
        if unknown:
            raise ValueError(f"{source.name} -> {target.name}: unknown joints {sorted(unknown)}")
        joints = tuple(j for j in target.joints if j in recipes)
        weights = np.zeros((len(joints), len(source.joints)))
        for k, joint in enumerate(joints):
            for src, w in recipes[joint].items():
                weights[k, source.index(src)] = w
        return LayoutConversion(source, target, joints, weights)

    def inverse(self, tol: float = 1e-9) -> LayoutConversion:
        """The map back, for the source joints the forward map's output determines exactly.

        Least squares (pseudo-inverse) recovers a source joint exactly when its unit row lies
        in the row space of the weights; joints that were dropped or only averaged are left out.
        """
        back = np.linalg.pinv(self.weights)
        exact = np.abs(back @ self.weights - np.eye(len(self.source.joints))).max(axis=1) < tol
        rows = np.flatnonzero(exact)
        weights = np.zeros((len(rows), len(self.target.joints)))
        columns = [self.target.index(j) for j in self.joints]
        weights[:, columns] = np.where(np.abs(back[rows]) < tol, 0.0, np.round(back[rows], 12))
        joints = tuple(self.source.joints[i] for i in rows)
        return LayoutConversion(self.target, self.source, joints, weights)


def conversion(source: str, target: str) -> LayoutConversion:
    """The joint map from one layout to another (a recipe table, or the inverse of one)."""
    if (source, target) in CONVERSION_RECIPES:
        recipes = CONVERSION_RECIPES[source, target]
        return LayoutConversion.from_recipes(layout_named(source), layout_named(target), recipes)
    if (target, source) in CONVERSION_RECIPES:
        return conversion(target, source).inverse()
    known = sorted({f"{a} <-> {b}" for a, b in CONVERSION_RECIPES})
    raise ValueError(f"no conversion from {source!r} to {target!r}; known: {known}")


# OpenPose BODY_25 in keypoint order, rooted at the mid hip; edges are OpenPose's limb pairs.
# fmt: off
OPENPOSE25 = SkeletonLayout(
    name="openpose25",
    joints=(
        "nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
        "left_shoulder", "left_elbow", "left_wrist", "mid_hip",
        "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
        "right_eye", "left_eye", "right_ear", "left_ear",
        "left_big_toe", "left_small_toe", "left_heel",
        "right_big_toe", "right_small_toe", "right_heel",
    ),
    parents=(1, 8, 1, 2, 3, 1, 5, 6, -1, 8, 9, 10, 8, 12, 13, 0, 0, 15, 16, 14, 19, 14, 11, 22, 11),
)

# VIBE/SPIN's 49 3D joints (Muscles in Action's joints3d.npy): BODY_25, then the 24 joints
# SPIN regresses from SMPL (LSP, MPII and H36M names; `spin_` keeps them apart from their
# OpenPose twins). The SPIN joints form their own tree, hung from the OpenPose mid hip.
_SPIN24 = (
    ("spin_right_ankle", 26), ("spin_right_knee", 27), ("spin_right_hip", 39),
    ("spin_left_hip", 39), ("spin_left_knee", 28), ("spin_left_ankle", 29),
    ("spin_right_wrist", 32), ("spin_right_elbow", 33), ("spin_right_shoulder", 40),
    ("spin_left_shoulder", 40), ("spin_left_elbow", 34), ("spin_left_wrist", 35),
    ("spin_neck", 40), ("spin_head_top", 43), ("spin_pelvis", 8), ("spin_thorax", 41),
    ("spin_spine", 39), ("spin_jaw", 37), ("spin_head", 37), ("spin_nose", 43),
    ("spin_left_eye", 44), ("spin_right_eye", 44), ("spin_left_ear", 45), ("spin_right_ear", 46),
)
# fmt: on
VIBE49 = SkeletonLayout(
    name="vibe49",
    joints=OPENPOSE25.joints + tuple(name for name, _ in _SPIN24),
    parents=OPENPOSE25.parents + tuple(parent for _, parent in _SPIN24),
)
LAYOUTS.update({layout.name: layout for layout in (OPENPOSE25, VIBE49)})
