"""Motion of one repetition: phase timing, family pose controls, FKG error deviations, joints.

Everything is an analytic function of time, so the same repetition can be sampled on the video
timeline (joints, frames) and on the muscle timeline (activation, EMG, physio) consistently.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import numpy as np

from fusion.fkg.graph import Action, ErrorType
from fusion.synth.kinematics import (
    TREE_TO_FLEX21,
    BodyDims,
    axis_rotation,
    direction,
    pose_joints,
    rotation_between,
    two_bone_ik,
)

SIDE_SIGN = {"r": -1.0, "l": 1.0}
UP = np.array([0.0, 1.0, 0.0])
# Families whose concentric phase extends the body (q goes 1 -> 0); the others flex (0 -> 1).
EXTENDING_FAMILIES = {"squat", "hinge", "lunge", "extension"}
ARM_POSES: dict[str, dict[str, tuple[float, float]]] = {
    # name -> control -> (value at q=0, value at q=1); angles in radians in the arm's frame.
    "hanging": {"uarm_fwd": (0.0, 0.0), "uarm_out": (0.12, 0.12), "farm_fwd": (0.05, 0.05)},
    "back_bar": {"uarm_fwd": (-0.5, -0.5), "uarm_out": (1.2, 1.2), "farm_fwd": (2.9, 2.9)},
    "front_rack": {"uarm_fwd": (1.45, 1.45), "uarm_out": (0.4, 0.4), "farm_fwd": (3.9, 3.9)},
    "goblet": {"uarm_fwd": (0.45, 0.55), "uarm_out": (0.15, 0.25), "farm_fwd": (2.6, 2.6)},
    "row": {"uarm_fwd": (0.0, -1.0), "uarm_out": (0.15, 0.3), "farm_fwd": (0.05, 0.3)},
    "press": {"uarm_fwd": (0.5, 2.95), "uarm_out": (1.15, 0.25), "farm_fwd": (2.95, 3.05)},
    "curl": {"uarm_fwd": (0.0, 0.12), "uarm_out": (0.12, 0.12), "farm_fwd": (0.1, 2.4)},
    "lateral_raise": {"uarm_fwd": (0.2, 0.25), "uarm_out": (0.15, 1.5), "farm_fwd": (0.3, 0.3)},
    "front_raise": {"uarm_fwd": (0.1, 1.55), "uarm_out": (0.1, 0.1), "farm_fwd": (0.15, 1.65)},
    "overhead_extension": {
        "uarm_fwd": (2.9, 2.85),
        "uarm_out": (0.15, 0.2),
        "farm_fwd": (3.0, 5.6),
    },
    "hand_on_knee": {"uarm_fwd": (0.9, 0.9), "uarm_out": (0.1, 0.1), "farm_fwd": (0.9, 0.9)},
}


@dataclass(frozen=True)
class MotionSpec:
    """How an action moves: body path per unit of range q, arm pose, stance, equipment."""

    hip_drop: tuple[float, float] = (0.01, 0.01)  # fraction of standing hip height, q=0 / q=1
    pelvis_back: tuple[float, float] = (0.0, 0.0)  # metres behind the mid-foot
    trunk: tuple[float, float] = (0.05, 0.05)  # forward lean, radians
    arms: str = "hanging"
    arm_frame: str = "trunk"  # "trunk": arms move with the torso; "world": they hang plumb
    stance_width: float = 0.06  # metres added to the hip width on each side
    split: float = 0.0  # fore-aft distance between the feet (lunges)
    moving_arms: tuple[str, ...] = ("r", "l")
    still_arm_pose: str = "hanging"
    equipment: str = "barbell"


MOTIONS: dict[str, MotionSpec] = {
    "A01": MotionSpec((0.01, 0.45), (0.0, 0.2), (0.15, 0.75), "back_bar", stance_width=0.1),
    "A02": MotionSpec((0.01, 0.47), (0.0, 0.12), (0.08, 0.4), "front_rack", stance_width=0.09),
    "A03": MotionSpec((0.02, 0.3), (0.0, 0.16), (0.05, 1.05), "hanging", "world"),
    "A04": MotionSpec((0.02, 0.07), (0.0, 0.2), (0.05, 1.2), "hanging", "world"),
    "A05": MotionSpec((0.1, 0.1), (0.15, 0.15), (0.85, 0.85), "row", "world"),
    "A06": MotionSpec(arms="press"),
    "A07": MotionSpec(arms="curl"),
    "A08": MotionSpec((0.1, 0.4), (0.0, 0.0), (0.1, 0.2), "back_bar", split=0.6),
    "A09": MotionSpec((0.02, 0.05), (0.0, 0.15), (0.05, 1.3), "back_bar"),
    "A10": MotionSpec(arms="hanging", arm_frame="world"),
    "A11": MotionSpec((0.01, 0.44), (0.0, 0.15), (0.1, 0.45), "goblet", stance_width=0.12),
    "A12": MotionSpec((0.02, 0.07), (0.0, 0.2), (0.05, 1.2), "hanging", "world"),
    "A13": MotionSpec(
        (0.1, 0.1),
        (0.1, 0.1),
        (1.0, 1.0),
        "row",
        "world",
        split=0.5,
        moving_arms=("r",),
        still_arm_pose="hand_on_knee",
    ),
    "A14": MotionSpec(arms="press"),
    "A15": MotionSpec(arms="lateral_raise"),
    "A16": MotionSpec(arms="front_raise"),
    "A17": MotionSpec(arms="curl"),
    "A18": MotionSpec(arms="curl"),
    "A19": MotionSpec(arms="overhead_extension"),
    "A20": MotionSpec((0.1, 0.4), (0.0, 0.0), (0.08, 0.15), "hanging", "world", split=0.6),
}


def smoothstep(x: np.ndarray) -> np.ndarray:
    """Cosine ease from 0 to 1 on [0, 1], flat outside."""
    return 0.5 - 0.5 * np.cos(np.pi * np.clip(x, 0.0, 1.0))


def span_envelope(t: np.ndarray, on: float, off: float, ramp: float = 0.25) -> np.ndarray:
    """1 inside [on, off] with raised-cosine ramps just inside the edges, exactly 0 outside."""
    ramp = min(ramp, 0.3 * (off - on))
    rise = smoothstep((t - on) / ramp)
    fall = smoothstep((off - t) / ramp)
    return np.where((t >= on) & (t <= off), np.minimum(rise, fall), 0.0)


@dataclass(frozen=True)
class InjectedError:
    """One FKG error performed in a repetition: its magnitude (0..1] and time span (seconds)."""

    error: ErrorType
    magnitude: float
    span: tuple[float, float]

    @property
    def side(self) -> str:
        return self.error.deviation.side

    def envelope(self, t: np.ndarray) -> np.ndarray:
        return self.magnitude * span_envelope(t, *self.span)

    def side_weight(self, side: str) -> float:
        """How much a per-side control of `side` ("r"/"l") is affected (1 or 0)."""
        return 1.0 if self.side == "both" or self.side[0] == side else 0.0


@dataclass(frozen=True)
class SmoothNoise:
    """A few random sinusoids: natural sway that is the same function on every time grid."""

    amplitude: np.ndarray  # (K, C)
    frequency: np.ndarray  # (K, C)
    phase: np.ndarray  # (K, C)

    @staticmethod
    def sample(rng: np.random.Generator, channels: int, scale: float) -> SmoothNoise:
        k = 3
        return SmoothNoise(
            amplitude=scale * rng.uniform(0.3, 1.0, (k, channels)) / k,
            frequency=rng.uniform(0.2, 1.5, (k, channels)),
            phase=rng.uniform(0, 2 * np.pi, (k, channels)),
        )

    def __call__(self, t: np.ndarray) -> np.ndarray:
        """Values (T, C)."""
        arg = 2 * np.pi * self.frequency[None] * t[:, None, None] + self.phase[None]
        return np.sum(self.amplitude[None] * np.sin(arg), axis=1)


@dataclass(frozen=True)
class RepPlan:
    """The repetition to simulate: action, phase boundaries, style, injected errors."""

    action: Action
    dims: BodyDims
    phase_bounds: tuple[float, float, float, float]  # start of each phase and end of the last
    duration: float
    style: dict[str, float]
    errors: tuple[InjectedError, ...]
    sway: SmoothNoise
    yaw: float = 0.0
    position: tuple[float, float] = (0.0, 0.0)
    intensity: float = 0.7  # relative load (fraction of one-repetition maximum)
    fatigue: float = 0.0  # 0 fresh .. 1 exhausted, from the position in the set

    @property
    def motion(self) -> MotionSpec:
        return MOTIONS[self.action.id]

    @property
    def q_start(self) -> float:
        """Range position at the start: 1 (bottom) when the first movement extends the body."""
        first = self.action.phases[1]
        extending = self.action.family in EXTENDING_FAMILIES
        return 1.0 if (first == "concentric") == extending else 0.0

    def phase_window(self, phase: str) -> tuple[float, float]:
        i = self.action.phases.index(phase)
        return self.phase_bounds[i], self.phase_bounds[i + 1]

    def phase_index(self, t: np.ndarray) -> np.ndarray:
        """Phase index per time (0..2); times after the last phase count as the last phase."""
        return np.clip(np.searchsorted(self.phase_bounds, t, side="right") - 1, 0, 2)

    def deviation(self, kind: str, t: np.ndarray, side: str | None = None) -> np.ndarray:
        """Summed envelope (T,) of the injected errors of a deviation type (for one side)."""
        total = np.zeros_like(t)
        for injected in self.errors:
            if injected.error.deviation.type == kind:
                weight = 1.0 if side is None else injected.side_weight(side)
                total = total + weight * injected.envelope(t)
        return total

    def excursion(self, t: np.ndarray, side: str) -> np.ndarray:
        """Fraction (T,) of the range travelled from the start position, 0..1, for one side."""
        _, t1, t2, t3 = self.phase_bounds
        out_and_back = np.where(
            t < t2, smoothstep((t - t1) / (t2 - t1)), 1 - smoothstep((t - t2) / (t3 - t2))
        )
        reach = 1.0 - 0.45 * min(1.0, self.deviation_peak("partial_range"))
        lag = 1.0 - 0.35 * self.deviation("asymmetric_lockout", t, side)
        return out_and_back * reach * lag * self.style["range"]

    def deviation_peak(self, kind: str) -> float:
        return max(
            (e.magnitude for e in self.errors if e.error.deviation.type == kind), default=0.0
        )

    def q(self, t: np.ndarray, side: str) -> np.ndarray:
        """Position in the movement's range (T,): 0 = start/top, 1 = end/bottom of the family."""
        x = self.excursion(t, side)
        return self.q_start + (1.0 - 2.0 * self.q_start) * x


def _lerp(pair: tuple[float, float], q: np.ndarray) -> np.ndarray:
    return pair[0] + (pair[1] - pair[0]) * q


def controls(plan: RepPlan, t: np.ndarray) -> dict[str, np.ndarray]:
    """Named per-time controls (T,) of the body: pelvis path, trunk, head, arms, knees, feet."""
    spec, style = plan.motion, plan.style
    q_mean = 0.5 * (plan.q(t, "r") + plan.q(t, "l"))
    sway = plan.sway(t)
    c = {
        "hip_drop": _lerp(spec.hip_drop, q_mean) * style["depth"],
        "pelvis_back": _lerp(spec.pelvis_back, q_mean),
        "pelvis_side": 0.01 * sway[:, 0],
        "trunk_fwd": _lerp(spec.trunk, q_mean) + style["trunk"] + 0.03 * sway[:, 1],
        "trunk_side": 0.02 * sway[:, 2],
        "neck": np.full_like(t, style["neck"]),
    }
    for s in ("r", "l"):
        pose_name = spec.arms if s in spec.moving_arms else spec.still_arm_pose
        pose = ARM_POSES[pose_name]
        q_side = plan.q(t, s) if s in spec.moving_arms else np.zeros_like(t)
        jitter = 0.04 * sway[:, 3 if s == "r" else 4]
        c[f"{s}_uarm_fwd"] = _lerp(pose["uarm_fwd"], q_side) + jitter
        c[f"{s}_uarm_out"] = _lerp(pose["uarm_out"], q_side)
        c[f"{s}_farm_fwd"] = _lerp(pose["farm_fwd"], q_side) + jitter
        c[f"{s}_farm_out"] = c[f"{s}_uarm_out"] * 0.5
        c[f"{s}_clav_elev"] = np.zeros_like(t)
        c[f"{s}_clav_protract"] = np.zeros_like(t)
        c[f"{s}_knee_in"] = np.full_like(t, style["knee_in"])
        c[f"{s}_heel_lift"] = np.zeros_like(t)
    _apply_kinematic_deviations(plan, t, c)
    return c


def _apply_kinematic_deviations(plan: RepPlan, t: np.ndarray, c: dict[str, np.ndarray]) -> None:
    """Add each injected error's kinematic deviation to the controls inside its span."""
    dev = plan.deviation
    family = plan.action.family
    c["trunk_fwd"] += 0.3 * dev("lumbar_flexion", t) + 0.35 * dev("trunk_lean", t)
    c["trunk_fwd"] -= 0.3 * dev("trunk_swing", t) + 0.3 * dev("lumbar_hyperextension", t)
    c["trunk_fwd"] -= 0.15 * dev("knee_forward", t)
    c["pelvis_back"] -= 0.14 * dev("knee_forward", t)
    c["neck"] += 0.25 * dev("lumbar_flexion", t) - 0.55 * dev("neck_hyperextension", t)
    c["hip_drop"] += 0.08 * dev("knee_drive", t)
    rise = dev("hips_rise_early", t)
    c["hip_drop"] *= 1.0 - 0.5 * rise
    c["trunk_fwd"] += 0.35 * rise
    if family in {"squat", "lunge"}:
        c["trunk_fwd"] += 0.12 * dev("bar_path_drift", t)
    for s in ("r", "l"):
        side_dev = partial(dev, t=t, side=s)
        c[f"{s}_knee_in"] += 0.5 * side_dev("knee_valgus")
        c[f"{s}_heel_lift"] += 0.45 * side_dev("heel_lift")
        c[f"{s}_uarm_out"] += 0.55 * side_dev("elbow_flare")
        c[f"{s}_farm_out"] += 0.2 * side_dev("elbow_flare")
        c[f"{s}_uarm_fwd"] += 0.5 * side_dev("elbow_drift")
        if family not in {"squat", "lunge"}:
            c[f"{s}_uarm_fwd"] += 0.3 * side_dev("bar_path_drift")
            c[f"{s}_farm_fwd"] += 0.3 * side_dev("bar_path_drift")
        c[f"{s}_clav_elev"] += 0.35 * side_dev("shoulder_shrug") + 0.15 * side_dev("trunk_swing")
        c[f"{s}_clav_protract"] += 0.35 * side_dev("lumbar_flexion")
    shift = dev("lateral_shift", t, "l") - dev("lateral_shift", t, "r")
    c["pelvis_side"] += 0.09 * shift
    c["trunk_side"] -= 0.12 * shift
    if plan.action.family == "shrug":
        for s in ("r", "l"):
            c[f"{s}_clav_elev"] += 0.35 * plan.q(t, s)


def body_joints(plan: RepPlan, t: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """FLEX-21 joints (T, 21, 3) in metres (world frame, floor y=0) and the controls used."""
    c = controls(plan, t)
    dims, spec = plan.dims, plan.motion
    n = len(t)
    trunk_dir = direction(c["trunk_fwd"], c["trunk_side"], 1.0, up=True)
    trunk_rot = rotation_between(np.broadcast_to(UP, (n, 3)), trunk_dir)
    arm_rot = trunk_rot if spec.arm_frame == "trunk" else np.eye(3)
    directions = {
        "trunk": trunk_dir,
        "head": direction(c["trunk_fwd"] + c["neck"], c["trunk_side"], 1.0, up=True),
    }
    frames: dict[str, np.ndarray] = {}
    pelvis = np.stack(
        [c["pelvis_side"], dims.hip_height * (1.0 - c["hip_drop"]), -c["pelvis_back"]], axis=-1
    )
    ankles = {s: _planted_ankle(plan, c, s, sign) for s, sign in SIDE_SIGN.items()}
    pelvis = _within_leg_reach(plan, ankles, pelvis)
    for s, sign in SIDE_SIGN.items():
        local_u = direction(c[f"{s}_uarm_fwd"], c[f"{s}_uarm_out"], sign, up=False)
        local_f = direction(c[f"{s}_farm_fwd"], c[f"{s}_farm_out"], sign, up=False)
        directions[f"{s}_uarm"] = np.einsum("...ij,...j->...i", arm_rot, local_u)
        directions[f"{s}_farm"] = np.einsum("...ij,...j->...i", arm_rot, local_f)
        elevation = axis_rotation("z", sign * c[f"{s}_clav_elev"])
        protraction = axis_rotation("y", -sign * c[f"{s}_clav_protract"])
        frames[f"{s}_clav"] = trunk_rot @ protraction @ elevation
        thigh, shank, ankle_rot = _leg(plan, c, s, sign, pelvis, ankles[s])
        directions[f"{s}_thigh"], directions[f"{s}_shank"] = thigh, shank
        frames[f"{s}_ankle"] = ankle_rot
    joints = pose_joints(dims, directions, frames, pelvis)
    rotation = axis_rotation("y", np.asarray(plan.yaw))
    joints = joints @ rotation.T + np.array([plan.position[0], 0.0, plan.position[1]])
    return joints[:, TREE_TO_FLEX21], c


def _planted_ankle(plan: RepPlan, c: dict[str, np.ndarray], s: str, sign: float) -> np.ndarray:
    """(T, 3) position of one ankle: on its stance spot, raised only by an injected heel lift."""
    dims, spec = plan.dims, plan.motion
    heel = c[f"{s}_heel_lift"]
    fore_aft = spec.split * (0.45 if s == "r" else -0.55)
    side = sign * (dims.hip_half_width + spec.stance_width * plan.style["stance"])
    return np.stack(
        [
            np.full(heel.shape, side),
            dims.ankle_height + dims.toe * np.sin(heel),
            fore_aft - dims.toe * (1.0 - np.cos(heel)),
        ],
        axis=-1,
    )


def _within_leg_reach(
    plan: RepPlan, ankles: dict[str, np.ndarray], pelvis: np.ndarray
) -> np.ndarray:
    """Lower the pelvis (T, 3) where a hip would be farther from its ankle than the leg reaches.

    A wide stance or a sideways sway with straight legs would otherwise pull the feet off the
    floor; a person standing like that softens the knees instead.
    """
    dims = plan.dims
    reach = (dims.thigh + dims.shank) * (1.0 - 1e-3)
    height = pelvis[:, 1]
    for s, sign in SIDE_SIGN.items():
        ankle = ankles[s]
        hip = pelvis + np.array([sign * dims.hip_half_width, 0.0, 0.0])
        across = np.hypot(hip[:, 0] - ankle[:, 0], hip[:, 2] - ankle[:, 2])
        height = np.minimum(height, ankle[:, 1] + np.sqrt(np.clip(reach**2 - across**2, 0, None)))
    return np.concatenate([pelvis[:, :1], height[:, None], pelvis[:, 2:]], axis=1)


def _leg(
    plan: RepPlan,
    c: dict[str, np.ndarray],
    s: str,
    sign: float,
    pelvis: np.ndarray,
    ankle: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Thigh and shank directions by IK from the hip to the planted ankle, and the foot frame."""
    dims = plan.dims
    n = pelvis.shape[0]
    heel = c[f"{s}_heel_lift"]
    hip = pelvis + np.array([sign * dims.hip_half_width, 0.0, 0.0])
    turn_out = 0.15 - c[f"{s}_knee_in"]
    pole = np.stack([sign * np.sin(turn_out), np.zeros(n), np.cos(turn_out)], axis=-1)
    knee = two_bone_ik(hip, ankle, dims.thigh, dims.shank, pole)
    thigh = knee - hip
    shank = ankle - knee
    foot = axis_rotation("y", np.full(n, -sign * 0.15)) @ axis_rotation("x", heel)
    return thigh, shank, foot
