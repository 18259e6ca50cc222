"""Muscle activation (T, 16) of a repetition from load, kinematics and muscular FKG errors.

Activation is a mechanical-demand model: prime movers follow the joint torque of the movement
(more torque deeper in the range, more in concentric than eccentric work), stabilisers hold
a steady fraction, and errors shift work between muscles and sides inside their span.
"""

from __future__ import annotations

import numpy as np

from fusion.constants import MUSCLES
from fusion.synth.motion import EXTENDING_FAMILIES, RepPlan
from fusion.synth.subjects import Subject

N_MUSCLES = len(MUSCLES)
ARM_MUSCLES = {"deltoid", "biceps", "triceps", "latissimus", "trapezius"}
PHASE_WORK = {"preparation": 0.2, "eccentric": 0.65, "concentric": 1.0}
# Static fraction of activation held by muscles that stabilise each family.
STABILISERS: dict[str, dict[str, float]] = {
    "squat": {"erector_spinae": 0.35, "trapezius": 0.12, "latissimus": 0.1},
    "hinge": {"latissimus": 0.3, "trapezius": 0.3, "quadriceps": 0.2},
    "row": {"erector_spinae": 0.4, "biceps": 0.3, "gluteus_maximus": 0.15},
    "press": {"trapezius": 0.35, "erector_spinae": 0.2, "gluteus_maximus": 0.1},
    "curl": {"deltoid": 0.15, "erector_spinae": 0.1},
    "raise": {"trapezius": 0.35, "erector_spinae": 0.1},
    "lunge": {"erector_spinae": 0.25, "trapezius": 0.1},
    "extension": {"deltoid": 0.3, "latissimus": 0.1},
    "shrug": {"deltoid": 0.1, "biceps": 0.1, "erector_spinae": 0.15},
}
# Kinematic errors that also change muscle work: deviation -> muscle -> relative change at m=1.
KINEMATIC_MUSCLE_EFFECTS: dict[str, dict[str, float]] = {
    "knee_valgus": {"gluteus_maximus": -0.3},
    "lumbar_flexion": {"erector_spinae": 0.5},
    "lumbar_hyperextension": {"erector_spinae": 0.4},
    "trunk_swing": {"erector_spinae": 0.4, "biceps": -0.15, "deltoid": -0.15},
    "trunk_lean": {"erector_spinae": 0.3, "quadriceps": -0.1},
    "shoulder_shrug": {"trapezius": 0.7},
    "knee_drive": {"quadriceps": 0.6, "gluteus_maximus": 0.3},
    "elbow_flare": {"deltoid": 0.25, "triceps": -0.1},
    "hips_rise_early": {"erector_spinae": 0.3, "quadriceps": -0.2},
}
BASELINE = 0.03


def channel(muscle: str, side: str) -> int:
    """sEMG channel of a muscle: 0-7 left, 8-15 right (fusion.constants.EMG_CHANNELS)."""
    return MUSCLES.index(muscle) + (0 if side == "l" else N_MUSCLES)


def demand(plan: RepPlan, t: np.ndarray, side: str) -> np.ndarray:
    """Mechanical demand (T,) of the prime movers on one side, about 0..1."""
    q = plan.q(t, side)
    torque = q if plan.action.family in EXTENDING_FAMILIES else 0.4 + 0.6 * np.sin(0.5 * np.pi * q)
    phases = np.array([PHASE_WORK[p] for p in plan.action.phases])[plan.phase_index(t)]
    speed = np.abs(np.gradient(q, t)) if len(t) > 1 else np.zeros_like(t)
    return (0.35 + 0.65 * torque) * phases + 0.08 * np.clip(speed, 0.0, 3.0)


def muscle_activation(
    plan: RepPlan, t: np.ndarray, subject: Subject, intensity: float
) -> np.ndarray:
    """Activation (T, 16) in [0, 1] for the repetition at relative load `intensity` (0..1)."""
    action, spec = plan.action, plan.motion
    stabilisers = STABILISERS[action.family]
    act = np.full((len(t), 2 * N_MUSCLES), BASELINE)
    side_strength = {"l": subject.left_right_strength, "r": 1.0}
    for side in ("r", "l"):
        work = demand(plan, t, side) * intensity / side_strength[side] ** 0.5
        for muscle in MUSCLES:
            weight = 0.8 if muscle in action.primary_muscles else 0.0
            hold = stabilisers.get(muscle, 0.0) * intensity
            if muscle in ARM_MUSCLES and side not in spec.moving_arms:
                weight, hold = 0.1 * weight, 0.3 * hold
            act[:, channel(muscle, side)] += weight * work + hold
    _apply_error_effects(plan, t, act)
    return np.clip(act, 0.0, 1.0)


def _apply_error_effects(plan: RepPlan, t: np.ndarray, act: np.ndarray) -> None:
    """Scale muscles inside the spans of errors that change muscle work."""
    primary = plan.action.primary_muscles
    for injected in plan.errors:
        deviation = injected.error.deviation
        env = injected.envelope(t)
        for side in ("r", "l"):
            weight = injected.side_weight(side)
            for muscle, change in KINEMATIC_MUSCLE_EFFECTS.get(deviation.type, {}).items():
                act[:, channel(muscle, side)] *= 1.0 + change * weight * env
        if deviation.type == "muscle_imbalance":
            strong = deviation.side[0]
            for muscle in primary:
                for side in ("r", "l"):
                    change = 0.7 if side == strong else -0.3
                    act[:, channel(muscle, side)] *= 1.0 + change * env
        elif deviation.type == "muscle_substitution":
            source, target = deviation.params["primary"], deviation.params["compensator"]
            for side in ("r", "l"):
                moved = 0.6 * env * act[:, channel(source, side)]
                act[:, channel(source, side)] -= moved
                act[:, channel(target, side)] += moved


def effort(activation: np.ndarray, plan: RepPlan) -> np.ndarray:
    """Whole-body effort (T,) in [0, 1]: mean activation of the action's primary muscles."""
    cols = [channel(m, s) for m in plan.action.primary_muscles for s in ("r", "l")]
    return np.clip(activation[:, cols].mean(axis=1), 0.0, 1.0)
