"""Simulate one repetition end to end: plan, errors, joints, views, sEMG, physio and labels."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fusion.constants import EMG_CHANNELS, EMG_SAMPLE_RATE
from fusion.data.skeletons import FLEX21
from fusion.fkg.graph import Action
from fusion.fkg.scoring import breakdown
from fusion.synth.cameras import Camera, camera_rig
from fusion.synth.emg import synthesize_emg
from fusion.synth.kinematics import BodyDims
from fusion.synth.motion import MOTIONS, InjectedError, RepPlan, SmoothNoise, body_joints
from fusion.synth.muscles import effort, muscle_activation
from fusion.synth.physio import PHYSIO_RATE_HZ, synthesize_physio
from fusion.synth.render import Appearance, Equipment, render_views
from fusion.synth.subjects import SKILLS, Subject

MUSCLE_RATE_HZ = 50  # activation timeline that drives the 2 kHz sEMG and the physio signals
SKELETON_JITTER_M = 0.004
WHOLE_PHASE_DEVIATIONS = {"partial_range", "rushed_tempo"}
MAX_LOST_FRACTION = 0.8  # FLEX scores range 20-100: no repetition loses more than 80 points
# Load-velocity profile: concentric speed falls linearly with relative load (about 0.2 of the
# speed per 0.1 of 1RM near 70 %) and with fatigue along a set (velocity loss, about 30 % at
# fatigue 1). Lifts are done with full intent, so the lifter's own tempo sets the set-up and
# the lowering, but load and fatigue set how fast the weight comes up.
REFERENCE_INTENSITY = 0.7
VELOCITY_PER_INTENSITY = 2.0
VELOCITY_LOSS_AT_FATIGUE = 0.3


@dataclass(frozen=True)
class RenderSettings:
    """Video geometry of a preset."""

    fps: float
    width: int
    height: int
    views: int = 5


@dataclass
class Repetition:
    """Everything written for one sample."""

    frames: np.ndarray  # (V, T, H, W, 3) uint8
    skeleton_mm: np.ndarray  # (T, 21, 3) float32, with capture jitter
    emg: np.ndarray  # (N, 16) float32 mV at 2 kHz
    physio: tuple[np.ndarray, np.ndarray, np.ndarray]  # time_s, hr_bpm, rr_bpm
    annotation: dict
    activation: np.ndarray  # (M, 16) on the muscle timeline, for tests
    activation_times: np.ndarray


def sample_errors(
    action: Action,
    rates: dict[str, float],
    magnitude: tuple[float, float],
    rng: np.random.Generator,
) -> list[tuple[str, float]]:
    """Choose which errors occur (error id, magnitude), losing at most 80% of the weight."""
    chosen = [
        (e.id, float(rng.uniform(*magnitude)))
        for e in action.errors
        if rng.random() < rates.get(e.name, rates["default"])
    ]
    while sum(action.error(i).weight for i, _ in chosen) > MAX_LOST_FRACTION * action.max_weight:
        chosen.pop(int(rng.integers(len(chosen))))
    return chosen


def set_fatigue(subject: Subject, rep_index: int) -> float:
    """Fatigue (0..1) at a repetition of a 10-repetition set; fitter subjects tire less."""
    return rep_index / 10.0 * (1.0 - 0.6 * subject.fitness)


def concentric_velocity(intensity: float, fatigue: float) -> float:
    """Concentric speed relative to a fresh lift at the reference load (load-velocity profile)."""
    load = 1.0 - VELOCITY_PER_INTENSITY * (intensity - REFERENCE_INTENSITY)
    return max(load, 0.2) * (1.0 - VELOCITY_LOSS_AT_FATIGUE * float(np.clip(fatigue, 0.0, 1.0)))


def plan_repetition(
    action: Action,
    subject: Subject,
    rng: np.random.Generator,
    error_rates: dict[str, float] | None = None,
    rep_index: int = 0,
) -> RepPlan:
    """Load, fatigue, phase timing, style and injected errors of one repetition by this subject.

    The relative load varies from repetition to repetition and fatigue builds along the set;
    both raise muscle activation and slow the concentric phase, which is how a camera sees them.
    """
    skill = SKILLS[subject.skill]
    intensity = float(np.clip(rng.normal(REFERENCE_INTENSITY, 0.06), 0.5, 0.9))
    fatigue = set_fatigue(subject, rep_index)
    rates = error_rates or {"default": skill.error_rate}
    chosen = sample_errors(action, rates, skill.magnitude, rng)
    rushed = {
        action.error(i).phase: m
        for i, m in chosen
        if action.error(i).deviation.type == "rushed_tempo"
    }
    durations = [rng.uniform(0.5, 0.9) * subject.tempo]
    for phase in action.phases[1:]:
        if phase == "concentric":
            base = rng.uniform(0.92, 1.08) / concentric_velocity(intensity, fatigue)
        else:
            base = rng.uniform(0.8, 1.3) * subject.tempo
        durations.append(base * (1.0 - 0.5 * rushed.get(phase, 0.0)))
    bounds = tuple(float(b) for b in np.concatenate([[0.0], np.cumsum(durations)]))
    injected = []
    for error_id, magnitude in chosen:
        error = action.error(error_id)
        start, end = bounds[action.phases.index(error.phase) : action.phases.index(error.phase) + 2]
        if error.deviation.type in WHOLE_PHASE_DEVIATIONS:
            span = (start, end)
        else:
            length = end - start
            span = (start + rng.uniform(0.0, 0.3) * length, end - rng.uniform(0.0, 0.15) * length)
        injected.append(InjectedError(error, magnitude, (round(span[0], 3), round(span[1], 3))))
    level = {"novice": 1.0, "amateur": 0.6, "expert": 0.3}[subject.skill]
    style = {
        "range": float(rng.uniform(0.9, 1.0)),
        "depth": float(rng.normal(1.0, 0.06)),
        "trunk": float(rng.normal(0.0, 0.05)),
        "neck": float(rng.normal(0.0, 0.05)),
        "knee_in": float(rng.normal(0.0, 0.04)),
        "stance": float(rng.uniform(0.7, 1.3)),
    }
    return RepPlan(
        action=action,
        dims=BodyDims.from_height(subject.height, np.asarray(subject.proportions)),
        phase_bounds=(bounds[0], bounds[1], bounds[2], bounds[3]),
        duration=bounds[-1] + 0.2,
        style=style,
        errors=tuple(injected),
        sway=SmoothNoise.sample(rng, 5, level),
        yaw=float(rng.normal(0.0, 0.08)),
        position=(float(rng.normal(0.0, 0.05)), float(rng.normal(0.0, 0.05))),
        intensity=intensity,
        fatigue=fatigue,
    )


def simulate_repetition(
    plan: RepPlan,
    subject: Subject,
    rep_index: int,
    render: RenderSettings,
    rng: np.random.Generator,
    cameras: list[Camera] | None = None,
) -> Repetition:
    """Run the plan through kinematics, rendering and signal synthesis; label it from the FKG."""
    n_frames = max(2, int(round(plan.duration * render.fps)))
    duration = n_frames / render.fps  # every modality covers exactly the video's clip
    frame_times = np.arange(n_frames) / render.fps
    joints, _ = body_joints(plan, frame_times)
    cameras = cameras or camera_rig(render.width, render.height, jitter=0.03, rng=rng)
    cameras = cameras[: render.views]
    appearance = Appearance.sample(np.random.default_rng([subject.index, 7]))
    equipment = Equipment(_equipment_kind(plan.action))
    frames = render_views(
        joints, cameras, appearance, equipment, scene_seed=int(rng.integers(2**31))
    )

    muscle_times = np.arange(int(duration * MUSCLE_RATE_HZ) + 1) / MUSCLE_RATE_HZ
    activation = muscle_activation(plan, muscle_times, subject, plan.intensity)
    emg = synthesize_emg(
        activation,
        muscle_times,
        duration,
        rng,
        channel_gain=np.asarray(subject.channel_gain),
        fatigue=plan.fatigue,
    )
    breath_hold = plan.deviation("breath_hold", muscle_times) > 0
    physio = synthesize_physio(
        muscle_times,
        effort(activation, plan),
        duration,
        rng,
        resting_hr=subject.resting_hr,
        resting_rr=subject.resting_rr,
        fitness=subject.fitness,
        set_progress=rep_index / 10.0,
        breath_hold=breath_hold,
    )
    skeleton = joints + rng.normal(0.0, SKELETON_JITTER_M, joints.shape)
    annotation = annotate(plan, subject, rep_index, render, cameras, n_frames)
    return Repetition(
        frames=frames,
        skeleton_mm=(skeleton * 1000.0).astype(np.float32),
        emg=emg,
        physio=physio,
        annotation=annotation,
        activation=activation,
        activation_times=muscle_times,
    )


def _equipment_kind(action: Action) -> str:
    if action.equipment == "barbell":
        return "barbell"
    return (
        "dumbbell_single"
        if MOTIONS[action.id].arms in {"goblet", "overhead_extension"}
        else "dumbbells"
    )


def annotate(
    plan: RepPlan,
    subject: Subject,
    rep_index: int,
    render: RenderSettings,
    cameras: list[Camera],
    n_frames: int,
) -> dict:
    """The per-sample annotation: FKG labels plus everything needed to use the files."""
    action = plan.action
    observed = [e.error.id for e in plan.errors]
    report = breakdown(action, observed)
    phases = [
        {
            "name": name,
            "start_s": round(plan.phase_bounds[i], 3),
            "end_s": round(plan.phase_bounds[i + 1], 3),
        }
        for i, name in enumerate(action.phases)
    ]
    key_steps = []
    for phase in phases:
        steps = action.steps_in(phase["name"])
        edges = np.linspace(phase["start_s"], phase["end_s"], len(steps) + 1)
        key_steps += [
            {"id": s.id, "phase": s.phase, "start_s": round(a, 3), "end_s": round(b, 3)}
            for s, a, b in zip(steps, edges[:-1], edges[1:], strict=True)
        ]
    errors = [
        {
            "id": e.error.id,
            "name": e.error.name,
            "phase": e.error.phase,
            "span_s": list(e.span),
            "magnitude": round(e.magnitude, 3),
            "severity": e.error.severity,
            "weight": e.error.weight,
            "side": e.side,
            "modalities": list(e.error.modalities),
            "feedback": e.error.feedback.text,
        }
        for e in plan.errors
    ]
    return {
        "action": action.id,
        "action_name": action.name,
        "subject": subject.to_dict(),
        "skill": subject.skill,
        "repetition": rep_index + 1,
        "load_intensity": round(plan.intensity, 3),
        "fatigue": round(plan.fatigue, 3),
        "duration_s": round(n_frames / render.fps, 3),
        "num_frames": n_frames,
        "phases": phases,
        "key_steps": key_steps,
        "errors": errors,
        "score": round(report.score, 4),
        "max_weight": report.max_weight,
        "feedback": [item.feedback for item in report.items],
        "sample_rates": {
            "video": render.fps,
            "skeleton": render.fps,
            "emg": EMG_SAMPLE_RATE,
            "physio": PHYSIO_RATE_HZ,
        },
        "emg_channels": list(EMG_CHANNELS),
        "emg_unit": "mV",
        "skeleton_joints": list(FLEX21.joints),
        "skeleton_unit": "mm",
        "cameras": [c.to_dict() for c in cameras],
    }
