"""Body kinematics of the simulator: a joint tree, segment directions -> joint rotations -> joints.

The body is posed by giving each segment a world direction (from family motion and IK); the
rotations that realise those directions run through `smplx.lbs.batch_rigid_transform`, so the
joints come out of real forward kinematics with the subject's bone lengths preserved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from smplx.lbs import batch_rigid_transform

from fusion.data.skeletons import FLEX21

# Simulation tree in topological order (parent before child). `lumbar` and the clavicles sit at
# their parent's position: they only carry the rotations of the trunk and the shoulder girdle.
TREE_JOINTS: tuple[str, ...] = (
    "pelvis", "lumbar", "spine_shoulder", "neck", "head",
    "r_clav", "r_shoulder", "r_elbow", "r_wrist", "r_hand",
    "l_clav", "l_shoulder", "l_elbow", "l_wrist", "l_hand",
    "r_hip", "r_knee", "r_ankle", "r_heel", "r_toe",
    "l_hip", "l_knee", "l_ankle", "l_heel", "l_toe",
)  # fmt: skip
TREE_PARENTS: tuple[int, ...] = (
    -1, 0, 1, 2, 3, 2, 5, 6, 7, 8, 2, 10, 11, 12, 13, 0, 15, 16, 17, 17, 0, 20, 21, 22, 22
)  # fmt: skip
J = {name: i for i, name in enumerate(TREE_JOINTS)}
TREE_TO_FLEX21: np.ndarray = np.array([J[name] for name in FLEX21.joints])
SIDES = ("r", "l")
# Segments posed by a direction: joint whose rotation moves the segment -> its distal child.
SEGMENTS: dict[str, tuple[str, str]] = {
    "trunk": ("lumbar", "spine_shoulder"),
    "head": ("neck", "head"),
    **{f"{s}_uarm": (f"{s}_shoulder", f"{s}_elbow") for s in SIDES},
    **{f"{s}_farm": (f"{s}_elbow", f"{s}_wrist") for s in SIDES},
    **{f"{s}_thigh": (f"{s}_hip", f"{s}_knee") for s in SIDES},
    **{f"{s}_shank": (f"{s}_knee", f"{s}_ankle") for s in SIDES},
}


@dataclass(frozen=True)
class BodyDims:
    """Segment lengths (metres) derived from stature with per-subject proportions."""

    height: float
    thigh: float
    shank: float
    ankle_height: float
    heel: float
    toe: float
    hip_half_width: float
    trunk: float
    neck: float
    head: float
    shoulder_half_width: float
    upper_arm: float
    forearm: float
    hand: float

    @staticmethod
    def from_height(height: float, proportions: np.ndarray | None = None) -> BodyDims:
        """Anthropometric fractions of stature (Drillis & Contini) scaled by `proportions` (4,)."""
        leg, trunk, arm, width = (1.0, 1.0, 1.0, 1.0) if proportions is None else proportions
        h = height
        return BodyDims(
            height=h,
            thigh=0.245 * h * leg,
            shank=0.246 * h * leg,
            ankle_height=0.039 * h,
            heel=0.045 * h,
            toe=0.11 * h,
            hip_half_width=0.052 * h * width,
            trunk=0.288 * h * trunk,
            neck=0.05 * h,
            head=0.07 * h,
            shoulder_half_width=0.122 * h * width,
            upper_arm=0.186 * h * arm,
            forearm=0.146 * h * arm,
            hand=0.05 * h * arm,
        )

    @property
    def hip_height(self) -> float:
        """Height of the hip joints when standing straight."""
        return self.thigh + self.shank + self.ankle_height


def rest_joints(dims: BodyDims) -> np.ndarray:
    """Rest pose (standing, arms hanging, facing +z, left = +x) as absolute positions (J, 3)."""
    offsets = {
        "pelvis": (0.0, dims.hip_height, 0.0),
        "lumbar": (0.0, 0.0, 0.0),
        "spine_shoulder": (0.0, dims.trunk, 0.0),
        "neck": (0.0, dims.neck, 0.0),
        "head": (0.0, dims.head, 0.01 * dims.height),
    }
    for side, sign in (("r", -1.0), ("l", 1.0)):
        offsets |= {
            f"{side}_clav": (0.0, 0.0, 0.0),
            f"{side}_shoulder": (sign * dims.shoulder_half_width, -0.01 * dims.height, 0.0),
            f"{side}_elbow": (0.0, -dims.upper_arm, 0.0),
            f"{side}_wrist": (0.0, -dims.forearm, 0.0),
            f"{side}_hand": (0.0, -dims.hand, 0.0),
            f"{side}_hip": (sign * dims.hip_half_width, 0.0, 0.0),
            f"{side}_knee": (0.0, -dims.thigh, 0.0),
            f"{side}_ankle": (0.0, -dims.shank, 0.0),
            f"{side}_heel": (0.0, -dims.ankle_height, -dims.heel),
            f"{side}_toe": (0.0, -dims.ankle_height, dims.toe),
        }
    joints = np.zeros((len(TREE_JOINTS), 3))
    for i, name in enumerate(TREE_JOINTS):
        parent = TREE_PARENTS[i]
        joints[i] = np.asarray(offsets[name]) + (joints[parent] if parent >= 0 else 0.0)
    return joints


def axis_rotation(axis: str, angle: np.ndarray) -> np.ndarray:
    """Rotation matrices (..., 3, 3) about a world axis; angles in radians."""
    c, s = np.cos(angle), np.sin(angle)
    one, zero = np.ones_like(c), np.zeros_like(c)
    rows = {
        "x": ((one, zero, zero), (zero, c, -s), (zero, s, c)),
        "y": ((c, zero, s), (zero, one, zero), (-s, zero, c)),
        "z": ((c, -s, zero), (s, c, zero), (zero, zero, one)),
    }[axis]
    return np.stack([np.stack(r, axis=-1) for r in rows], axis=-2)


def rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotations (..., 3, 3) taking unit vectors a to unit vectors b (Rodrigues)."""
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    v = np.cross(a, b)
    c = np.sum(a * b, axis=-1)[..., None, None]
    vx = np.zeros(v.shape[:-1] + (3, 3))
    vx[..., 0, 1], vx[..., 0, 2], vx[..., 1, 2] = -v[..., 2], v[..., 1], -v[..., 0]
    vx = vx - np.swapaxes(vx, -1, -2)
    general = np.eye(3) + vx + vx @ vx / np.clip(1.0 + c, 1e-9, None)
    # Opposite vectors: a half turn about any axis perpendicular to a.
    helper = np.where(np.abs(a[..., :1]) < 0.9, [1.0, 0.0, 0.0], [0.0, 1.0, 0.0])
    n = np.cross(a, helper)
    n = n / np.linalg.norm(n, axis=-1, keepdims=True)
    half_turn = 2.0 * n[..., :, None] * n[..., None, :] - np.eye(3)
    return np.where(1.0 + c < 1e-6, half_turn, general)


def direction(forward: np.ndarray, outward: np.ndarray, side_sign: float, up: bool) -> np.ndarray:
    """Unit direction (T, 3) of a segment tilted `outward` then `forward` (radians).

    Hanging segments start pointing down and `forward` = pi points them straight up; upright
    segments (trunk, head) start pointing up. Outward is toward `side_sign` * x (-1 = right side),
    whatever the forward angle, so an overhead arm with outward > 0 still points away from the body.
    """
    vertical = 1.0 if up else -1.0
    cf, sf, co, so = np.cos(forward), np.sin(forward), np.cos(outward), np.sin(outward)
    return np.stack([side_sign * so, vertical * co * cf, co * sf], axis=-1)


def two_bone_ik(
    root: np.ndarray, target: np.ndarray, upper: float, lower: float, pole: np.ndarray
) -> np.ndarray:
    """Middle-joint positions (T, 3) of a two-bone chain from root to target, bent toward pole."""
    axis = target - root
    dist = np.clip(np.linalg.norm(axis, axis=-1, keepdims=True), 1e-6, None)
    u = axis / dist
    dist = np.clip(dist, abs(upper - lower) + 1e-4, upper + lower - 1e-4)
    along = (upper**2 - lower**2 + dist**2) / (2.0 * dist)
    radius = np.sqrt(np.clip(upper**2 - along**2, 0.0, None))
    w = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    w = w / np.clip(np.linalg.norm(w, axis=-1, keepdims=True), 1e-9, None)
    return root + along * u + radius * w


def pose_joints(
    dims: BodyDims,
    directions: dict[str, np.ndarray],
    frames: dict[str, np.ndarray],
    root_position: np.ndarray,
) -> np.ndarray:
    """Joints (T, 25, 3) of the simulation tree from segment directions and frame rotations.

    `directions[segment]` (T, 3) gives each SEGMENTS entry's world direction; `frames[joint]`
    (T, 3, 3) gives the world rotation of the remaining joints (pelvis, spine_shoulder, clavicles,
    wrists, ankles); unspecified joints follow their parent. `root_position` (T, 3) places
    the pelvis.
    """
    rest = rest_joints(dims)
    n_frames = root_position.shape[0]
    segment_of = {joint: (segment, child) for segment, (joint, child) in SEGMENTS.items()}
    world = np.empty((n_frames, len(TREE_JOINTS), 3, 3))
    for i, name in enumerate(TREE_JOINTS):
        if name in segment_of:
            segment, child = segment_of[name]
            rest_dir = np.broadcast_to(rest[J[child]] - rest[i], (n_frames, 3))
            world[:, i] = rotation_between(rest_dir, directions[segment])
        elif name in frames:
            world[:, i] = frames[name]
        elif name == "spine_shoulder":  # the top of the spine turns with the trunk
            world[:, i] = world[:, J["lumbar"]]
        else:
            world[:, i] = world[:, TREE_PARENTS[i]] if TREE_PARENTS[i] >= 0 else np.eye(3)
    local = world.copy()
    for i, parent in enumerate(TREE_PARENTS):
        if parent >= 0:
            local[:, i] = np.swapaxes(world[:, parent], -1, -2) @ world[:, i]
    posed, _ = batch_rigid_transform(
        torch.from_numpy(local).float(),
        torch.from_numpy(np.broadcast_to(rest, (n_frames,) + rest.shape).copy()).float(),
        torch.tensor(TREE_PARENTS),
    )
    return posed.numpy().astype(np.float64) - rest[0] + root_position[:, None, :]


def standing_pose(height: float = 1.75, arms_up: bool = False) -> np.ndarray:
    """FLEX-21 joints (21, 3) of a subject standing at the origin, arms hanging or straight up."""
    joints = rest_joints(BodyDims.from_height(height))
    if arms_up:
        for side in SIDES:
            shoulder_y = joints[J[f"{side}_shoulder"], 1]
            for part in ("elbow", "wrist", "hand"):
                joints[J[f"{side}_{part}"], 1] = 2.0 * shoulder_y - joints[J[f"{side}_{part}"], 1]
    return joints[TREE_TO_FLEX21]
