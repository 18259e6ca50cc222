"""Simulated subjects: anthropometry, skill, strength, left/right asymmetry, tempo, physiology."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fusion.constants import EMG_CHANNELS


@dataclass(frozen=True)
class SkillProfile:
    """How often and how badly a skill level makes FKG errors."""

    error_rate: float
    magnitude: tuple[float, float]
    tempo: tuple[float, float]  # multiplier on phase durations


# Magnitudes start at 0.35: a FLEX annotator labels an error they can see, and below about a
# third of its full scale several deviations (a 0.1 rad lumbar flexion, a range 15 % short)
# sit inside the repetition-to-repetition style spread (trunk +-0.05 rad, range 0.9-1.0), so
# such a label is noise rather than a subtle error. Expert errors stay the subtlest.
SKILLS: dict[str, SkillProfile] = {
    "expert": SkillProfile(0.12, (0.35, 0.65), (1.0, 1.25)),
    "amateur": SkillProfile(0.3, (0.45, 0.85), (0.9, 1.15)),
    "novice": SkillProfile(0.42, (0.55, 1.0), (0.75, 1.1)),
}


@dataclass(frozen=True)
class Subject:
    """One simulated person; every repetition of theirs shares these traits."""

    index: int
    skill: str
    sex: str
    height: float  # metres
    mass: float  # kg
    proportions: tuple[float, float, float, float]  # leg, trunk, arm, width scale
    strength: float  # relative to an average trained adult
    left_right_strength: float  # left / right; < 1 means the left side is weaker
    tempo: float
    fitness: float  # 0..1
    resting_hr: float
    resting_rr: float
    channel_gain: tuple[float, ...]  # per sEMG channel: electrode placement and skin

    @property
    def id(self) -> str:
        return f"S{self.index + 1:02d}"

    def to_dict(self) -> dict:
        """JSON-ready traits for the annotation file."""
        return {
            "id": self.id,
            "skill": self.skill,
            "sex": self.sex,
            "height_m": round(self.height, 3),
            "mass_kg": round(self.mass, 1),
            "strength": round(self.strength, 3),
            "left_right_strength": round(self.left_right_strength, 3),
            "fitness": round(self.fitness, 3),
        }


def sample_subject(index: int, skill: str, rng: np.random.Generator) -> Subject:
    """Draw a subject's traits; experts are stronger, fitter and more symmetric."""
    level = {"novice": 0.0, "amateur": 0.5, "expert": 1.0}[skill]
    sex = "female" if rng.random() < 0.4 else "male"
    height = rng.normal(1.66 if sex == "female" else 1.78, 0.06)
    bmi = rng.normal(22.5 + 1.5 * level, 2.0)
    return Subject(
        index=index,
        skill=skill,
        sex=sex,
        height=float(np.clip(height, 1.5, 2.0)),
        mass=float(np.clip(bmi, 18, 32) * height**2),
        proportions=tuple(float(v) for v in rng.normal(1.0, 0.03, 4)),
        strength=float(np.clip(rng.normal(0.85 + 0.35 * level, 0.12), 0.5, 1.6)),
        left_right_strength=float(np.clip(rng.normal(1.0, 0.08 * (1.3 - level)), 0.75, 1.25)),
        tempo=float(rng.uniform(*SKILLS[skill].tempo)),
        fitness=float(np.clip(rng.normal(0.35 + 0.45 * level, 0.12), 0.05, 0.95)),
        resting_hr=float(rng.uniform(58, 72) if level > 0.7 else rng.uniform(64, 84)),
        resting_rr=float(rng.uniform(11, 17)),
        channel_gain=tuple(float(g) for g in rng.lognormal(0.0, 0.2, len(EMG_CHANNELS))),
    )


def sample_subjects(skills: dict[str, int], seed: int) -> list[Subject]:
    """Subjects in a fixed order (by skill as listed, then index), each from its own seed."""
    subjects: list[Subject] = []
    for skill, count in skills.items():
        for _ in range(count):
            index = len(subjects)
            rng = np.random.default_rng([seed, 1, index])
            subjects.append(sample_subject(index, skill, rng))
    return subjects
